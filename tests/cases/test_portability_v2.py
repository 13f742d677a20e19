"""Case files, version 2: the decision view (both sides' ratings of the buying
elements and the seller's recommendation) travels in the file, and version-1 files
stay importable."""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from datetime import date
from typing import Any

import pytest

from cases import services
from cases.models import (
    BuyingElement,
    BuyingRating,
    Case,
    Recommendation,
    StageRecord,
    Verdict,
)
from cases.portability import (
    CaseFormatError,
    dump_json,
    export_case,
    import_case,
    import_case_file,
)
from cases.portability.spec import (
    RATING_FIELDS,
    RECOMMENDATION_FIELDS,
    SUPPORTED_VERSIONS,
    VERSION,
)
from cases.stages import STAGES
from tests.cases.portability_helpers import (
    Change,
    assert_refused,
    delete_at,
    example,
    example_v2,
    export_query_count,
    exported_text,
    row_counts,
    set_at,
)
from tests.factories import (
    CaseFactory,
    ChangeItemFactory,
    LaggingMetricFactory,
)

pytestmark = pytest.mark.django_db


def _rate(case: Case, side: str, ratings: dict[str, tuple[int, str]]) -> None:
    services.save_buying_ratings(case=case, side=side, user=None, ratings=ratings)


@pytest.fixture
def decided_case(db):
    """A case with items, both sides' ratings (saved out of the elements' order)
    and a recommendation."""
    case = CaseFactory(title="Direct-to-site delivery")
    ChangeItemFactory(case=case, title="Plan routes per site")
    LaggingMetricFactory(case=case)
    _rate(
        case,
        "client",
        {
            "ease": (2, "Three contracts today — one would help."),
            "product": (4, "Fits our depots."),
            "value": (5, ""),
        },
    )
    _rate(
        case,
        "seller",
        {
            "risk": (3, "Drivers."),
            "price": (4, ""),
            "product": (5, "Proven at two distributors."),
            "value": (4, ""),
            "ease": (3, ""),
        },
    )
    services.record_recommendation(
        case=case,
        user=None,
        verdict=Verdict.DEFER,
        defer_until=date(2027, 3, 31),
        rationale="Wait for the new warehouse system.",
    )
    return case


# --- Export ---------------------------------------------------------------------


def test_export_writes_version_2_with_the_decision_last(decided_case):
    document = export_case(decided_case)

    assert VERSION == 2
    assert sorted(SUPPORTED_VERSIONS) == [1, 2]
    assert document["version"] == 2
    assert list(document)[-1] == "decision"
    assert list(document["decision"]) == ["buying_view", "recommendation"]


def test_export_writes_ratings_per_side_in_the_elements_order(decided_case):
    buying_view = export_case(decided_case)["decision"]["buying_view"]

    assert list(buying_view) == ["client", "seller"]
    assert buying_view["client"] == [
        {"element": "product", "score": 4, "comment": "Fits our depots."},
        {"element": "value", "score": 5, "comment": ""},
        {
            "element": "ease",
            "score": 2,
            "comment": "Three contracts today — one would help.",
        },
    ]
    assert [r["element"] for r in buying_view["seller"]] == list(BuyingElement.values)
    assert buying_view["seller"][0] == {
        "element": "product",
        "score": 5,
        "comment": "Proven at two distributors.",
    }


def test_export_writes_the_recommendation_with_every_key(decided_case):
    assert export_case(decided_case)["decision"]["recommendation"] == {
        "verdict": "defer",
        "conditions": "",
        "defer_until": "2027-03-31",
        "other_provider": "",
        "rationale": "Wait for the new warehouse system.",
    }


def test_export_of_a_case_without_ratings_or_recommendation(db):
    document = export_case(CaseFactory())

    assert document["version"] == 2
    assert document["decision"] == {
        "buying_view": {"client": [], "seller": []},
        "recommendation": None,
    }
    assert '"recommendation": null' in dump_json(document)


def test_export_of_one_sides_ratings_leaves_the_other_empty(db):
    case = CaseFactory()
    _rate(case, "seller", {"price": (3, "")})

    assert export_case(case)["decision"]["buying_view"] == {
        "client": [],
        "seller": [{"element": "price", "score": 3, "comment": ""}],
    }


def test_every_decision_field_is_in_the_format():
    """A field added to the decision models must be added to the file too, or
    every export would silently lose it."""
    for model, fields, internal in (
        (
            BuyingRating,
            RATING_FIELDS,
            {"id", "case", "side", "updated_by", "updated_at"},
        ),
        (
            Recommendation,
            RECOMMENDATION_FIELDS,
            {"id", "case", "recorded_by", "recorded_at"},
        ),
    ):
        model_fields = {f.name for f in model._meta.fields} - internal
        assert model_fields == {f.name for f in fields}, model.__name__


def test_export_costs_the_same_queries_however_many_ratings(db):
    case = CaseFactory()
    before = export_query_count(case)
    everything = {element: (3, "") for element in BuyingElement.values}
    _rate(case, "client", everything)
    _rate(case, "seller", everything)
    services.record_recommendation(
        case=case, user=None, verdict=Verdict.PROCEED, rationale="Go."
    )

    assert export_query_count(case) == before


# --- Round trip -----------------------------------------------------------------


def test_export_import_export_gives_the_same_document(decided_case, user):
    first = exported_text(decided_case)

    imported = import_case_file(io.BytesIO(first.encode()), user=user)

    assert imported.pk != decided_case.pk
    assert exported_text(imported) == first
    assert BuyingRating.objects.filter(case=imported).count() == 8
    assert BuyingRating.objects.filter(case=decided_case).count() == 8  # untouched


RECOMMENDATIONS = {
    "proceed": {},
    "proceed_with_conditions": {"conditions": "Budget approved by March."},
    "defer": {"defer_until": date(2028, 1, 15)},
    "do_not_proceed": {},
    "other_provider": {"other_provider": "Carrier Group"},
}


@pytest.mark.parametrize("verdict", RECOMMENDATIONS)
def test_every_verdict_survives_the_round_trip(verdict, user):
    case = CaseFactory()
    services.record_recommendation(
        case=case,
        user=None,
        verdict=verdict,
        rationale="Because.",
        **RECOMMENDATIONS[verdict],
    )
    first = dump_json(export_case(case))

    imported = import_case_file(io.BytesIO(first.encode()), user=user)

    assert dump_json(export_case(imported)) == first
    assert Recommendation.objects.get(case=imported).verdict == verdict


def test_round_trip_of_a_case_without_a_decision(user):
    case = CaseFactory()
    first = dump_json(export_case(case))

    imported = import_case_file(io.BytesIO(first.encode()), user=user)

    assert dump_json(export_case(imported)) == first
    assert not BuyingRating.objects.filter(case=imported).exists()
    assert not Recommendation.objects.filter(case=imported).exists()


# --- Import ---------------------------------------------------------------------


def test_a_version_2_file_imports_the_decision(user):
    case = import_case(example_v2(), user=user)

    ratings = {
        (r.side, r.element): (r.score, r.comment, r.updated_by)
        for r in BuyingRating.objects.filter(case=case)
    }
    assert ratings == {
        ("client", "product"): (4, "Fits our depots.", user),
        ("client", "price"): (3, "", user),
        ("client", "risk"): (2, "Drivers may resist.", user),
        ("seller", "product"): (5, "", user),
        ("seller", "ease"): (4, "One contract.", user),
    }
    recommendation = Recommendation.objects.get(case=case)
    assert (
        recommendation.verdict,
        recommendation.conditions,
        recommendation.defer_until,
        recommendation.recorded_by,
    ) == ("proceed_with_conditions", "A pilot in two regions first.", None, user)


def test_import_without_a_user_leaves_the_decisions_authors_empty():
    case = import_case(example_v2(), user=None)

    assert set(
        BuyingRating.objects.filter(case=case).values_list("updated_by", flat=True)
    ) == {None}
    assert Recommendation.objects.get(case=case).recorded_by is None


def test_a_version_1_file_still_imports_without_a_decision(user):
    document = example()
    assert document["version"] == 1 and "decision" not in document

    case = import_case(document, user=user)

    assert case.title == "Direct-to-site delivery for regional distribution"
    assert not BuyingRating.objects.filter(case=case).exists()
    assert not Recommendation.objects.filter(case=case).exists()
    assert export_case(case)["decision"] == {
        "buying_view": {"client": [], "seller": []},
        "recommendation": None,
    }


def test_a_version_1_file_with_a_decision_is_refused(user):
    document = example_v2()
    document["version"] = 1
    before = row_counts()

    with pytest.raises(CaseFormatError) as caught:
        import_case(document, user=user)

    assert caught.value.path == "decision"
    assert "is not part of a version-1 file" in caught.value.message
    assert '"version": 2' in caught.value.message
    assert row_counts() == before


def test_a_version_1_files_unknown_key_message_does_not_offer_decision(user):
    document = example()
    document["colour"] = "blue"

    with pytest.raises(CaseFormatError) as caught:
        import_case(document, user=user)

    assert caught.value.path == "colour"
    assert "decision" not in caught.value.message


@pytest.mark.parametrize(
    "decision",
    [
        {},
        {"buying_view": {}},
        {"buying_view": {"client": [], "seller": []}, "recommendation": None},
        {"recommendation": None},
    ],
)
def test_an_empty_decision_saves_nothing(decision, user):
    document = example()
    document["version"] = 2
    document["decision"] = decision

    case = import_case(document, user=user)

    assert not BuyingRating.objects.filter(case=case).exists()
    assert not Recommendation.objects.filter(case=case).exists()


def test_a_version_2_file_without_a_decision_imports(user):
    document = example()
    document["version"] = 2

    case = import_case(document, user=user)

    assert not BuyingRating.objects.filter(case=case).exists()


def test_import_accepts_ratings_in_any_order_and_a_comment_left_out(user):
    document = example_v2()
    document["decision"]["buying_view"] = {
        "seller": [{"element": "ease", "score": 1}, {"element": "price", "score": 2}]
    }
    document["decision"]["recommendation"] = {
        "verdict": "proceed",
        "rationale": "The case holds.",
    }

    case = import_case(document, user=user)

    decision = export_case(case)["decision"]
    assert decision["buying_view"] == {
        "client": [],
        "seller": [
            {"element": "price", "score": 2, "comment": ""},
            {"element": "ease", "score": 1, "comment": ""},
        ],
    }
    assert decision["recommendation"] == {
        "verdict": "proceed",
        "conditions": "",
        "defer_until": None,
        "other_provider": "",
        "rationale": "The case holds.",
    }


def test_the_decision_does_not_change_the_stages(user):
    case = import_case(example_v2(), user=user)

    statuses = dict(
        StageRecord.objects.filter(case=case).values_list("stage", "status")
    )
    assert statuses == {stage.slug: "in_progress" for stage in STAGES}


# --- Refused decisions ------------------------------------------------------------


def _set(path: list[Any], value: Any) -> Change:
    return set_at(["decision", *path], value)


def _delete(path: list[Any]) -> Change:
    return delete_at(["decision", *path])


def _recommend(**fields: Any) -> Callable[[dict], None]:
    def change(document: dict) -> None:
        document["decision"]["recommendation"] = {
            "verdict": "proceed",
            "rationale": "Because.",
            **fields,
        }

    return change


def _replace(value: Any) -> Callable[[dict], None]:
    def change(document: dict) -> None:
        document["decision"] = value

    return change


def _second_product_rating(document: dict) -> None:
    document["decision"]["buying_view"]["seller"].append(
        {"element": "product", "score": 3, "comment": ""}
    )


CLIENT_1 = ["buying_view", "client", 1]
RECOMMENDATION = ["recommendation"]

BAD_DECISIONS = {
    # Shapes and keys.
    "decision not an object": (
        _replace([]),
        "decision",
        "must be an object, not a list",
    ),
    "unknown decision key": (
        _set(["verdict"], "proceed"),
        "decision.verdict",
        "unknown key (the keys here are buying_view, recommendation)",
    ),
    "buying view not an object": (
        _set(["buying_view"], []),
        "decision.buying_view",
        "must be an object",
    ),
    "unknown side": (
        _set(["buying_view", "partner"], []),
        "decision.buying_view.partner",
        "is not a side that rates the decision (the sides are client, seller)",
    ),
    "side not a list": (
        _set(["buying_view", "client"], {"product": 4}),
        "decision.buying_view.client",
        "must be a list, not an object",
    ),
    "rating not an object": (
        _set(CLIENT_1, 4),
        "decision.buying_view.client[1]",
        "must be an object, not the number 4",
    ),
    "unknown rating key": (
        _set([*CLIENT_1, "weight"], 2),
        "decision.buying_view.client[1].weight",
        "unknown key (the keys here are element, score, comment)",
    ),
    # Ratings.
    "missing element": (
        _delete([*CLIENT_1, "element"]),
        "decision.buying_view.client[1].element",
        "is required",
    ),
    "unknown element": (
        _set([*CLIENT_1, "element"], "speed"),
        "decision.buying_view.client[1].element",
        "'speed' is not a valid choice",
    ),
    "element not a string": (
        _set([*CLIENT_1, "element"], 2),
        "decision.buying_view.client[1].element",
        "must be a string, not the number 2",
    ),
    "duplicate element": (
        _second_product_rating,
        "decision.buying_view.seller[2].element",
        '"product" is rated twice by this side (also decision.buying_view.seller[0])',
    ),
    "missing score": (
        _delete([*CLIENT_1, "score"]),
        "decision.buying_view.client[1].score",
        "is required",
    ),
    "score null": (
        _set([*CLIENT_1, "score"], None),
        "decision.buying_view.client[1].score",
        "must be a whole number, not null",
    ),
    "score 0": (
        _set([*CLIENT_1, "score"], 0),
        "decision.buying_view.client[1].score",
        "Use a whole number from 1 to 5.",
    ),
    "score 6": (
        _set([*CLIENT_1, "score"], 6),
        "decision.buying_view.client[1].score",
        "Use a whole number from 1 to 5.",
    ),
    "negative score": (
        _set([*CLIENT_1, "score"], -1),
        "decision.buying_view.client[1].score",
        "Use a whole number from 1 to 5.",
    ),
    "score as string": (
        _set([*CLIENT_1, "score"], "4"),
        "decision.buying_view.client[1].score",
        'must be a whole number, not the string "4"',
    ),
    "fractional score": (
        _set([*CLIENT_1, "score"], 3.5),
        "decision.buying_view.client[1].score",
        "must be a whole number, not the number 3.5",
    ),
    "score true": (
        _set([*CLIENT_1, "score"], True),
        "decision.buying_view.client[1].score",
        "must be a whole number, not true",
    ),
    "comment not text": (
        _set([*CLIENT_1, "comment"], ["a"]),
        "decision.buying_view.client[1].comment",
        "must be a string, not a list",
    ),
    "too-long comment": (
        _set([*CLIENT_1, "comment"], "x" * 2001),
        "decision.buying_view.client[1].comment",
        "at most 2000 characters",
    ),
    "NUL in comment": (
        _set([*CLIENT_1, "comment"], "a\x00b"),
        "decision.buying_view.client[1].comment",
        "NUL",
    ),
    # The recommendation: shapes and values.
    "recommendation not an object": (
        _set(RECOMMENDATION, "proceed"),
        "decision.recommendation",
        'must be an object, not the string "proceed"',
    ),
    "unknown recommendation key": (
        _set([*RECOMMENDATION, "verdikt"], "proceed"),
        "decision.recommendation.verdikt",
        "unknown key (the keys here are verdict, conditions, defer_until, "
        "other_provider, rationale)",
    ),
    "missing verdict": (
        _delete([*RECOMMENDATION, "verdict"]),
        "decision.recommendation.verdict",
        "is required",
    ),
    "unknown verdict": (
        _set([*RECOMMENDATION, "verdict"], "maybe"),
        "decision.recommendation.verdict",
        "'maybe' is not a valid choice",
    ),
    "missing rationale": (
        _delete([*RECOMMENDATION, "rationale"]),
        "decision.recommendation.rationale",
        "is required",
    ),
    "empty rationale": (
        _set([*RECOMMENDATION, "rationale"], ""),
        "decision.recommendation.rationale",
        "cannot be blank",
    ),
    "bad date": (
        _recommend(verdict="defer", defer_until="2027-02-30"),
        "decision.recommendation.defer_until",
        '"2027-02-30" is not a date in the calendar',
    ),
    "date not ISO": (
        _recommend(verdict="defer", defer_until="31/03/2027"),
        "decision.recommendation.defer_until",
        'must be a date such as "2027-06-30"',
    ),
    "too-long provider": (
        _recommend(verdict="other_provider", other_provider="x" * 201),
        "decision.recommendation.other_provider",
        "at most 200 characters",
    ),
    # The recommendation: Recommendation.clean()'s rules.
    "conditions without conditions": (
        _recommend(verdict="proceed_with_conditions", conditions="  "),
        "decision.recommendation.conditions",
        "Say which conditions must hold.",
    ),
    "defer without a date": (
        _recommend(verdict="defer"),
        "decision.recommendation.defer_until",
        "Say until when to defer.",
    ),
    "defer with a null date": (
        _recommend(verdict="defer", defer_until=None),
        "decision.recommendation.defer_until",
        "Say until when to defer.",
    ),
    "other provider without a name": (
        _recommend(verdict="other_provider"),
        "decision.recommendation.other_provider",
        "Name the provider that is better suited.",
    ),
    "conditions on proceed": (
        _recommend(conditions="Only if ..."),
        "decision.recommendation.conditions",
        "Conditions belong to 'proceed with conditions' only.",
    ),
    "date on do not proceed": (
        _recommend(verdict="do_not_proceed", defer_until="2027-03-31"),
        "decision.recommendation.defer_until",
        "A date belongs to 'defer' only.",
    ),
    "provider on defer": (
        _recommend(
            verdict="defer", defer_until="2027-03-31", other_provider="Carrier Group"
        ),
        "decision.recommendation.other_provider",
        "A provider belongs to 'another provider' only.",
    ),
}


@pytest.mark.parametrize("name", BAD_DECISIONS)
def test_bad_decision_is_refused_with_its_path_and_nothing_is_saved(name, user):
    # Nothing saved: not the ratings before the bad one, nor the case, its items
    # and organisations saved before the decision was reached.
    assert_refused(example_v2(), *BAD_DECISIONS[name], user=user)


def test_a_bad_recommendation_undoes_the_ratings_saved_before_it(user):
    document = example_v2()
    document["decision"]["recommendation"]["verdict"] = "defer"
    before = row_counts()

    with pytest.raises(CaseFormatError, match=r"^decision\.recommendation\."):
        import_case(document, user=user)

    assert row_counts() == before


def test_a_fractional_score_in_a_file_is_refused(user):
    """From a file, 3.5 is parsed as a Decimal, not a float."""
    text = json.dumps(example_v2()).replace('"score": 3,', '"score": 3.5,')
    assert '"score": 3.5' in text

    with pytest.raises(CaseFormatError) as caught:
        import_case_file(io.BytesIO(text.encode()), user=user)

    assert caught.value.path == "decision.buying_view.client[1].score"
    assert caught.value.message == "must be a whole number, not the number 3.5"
