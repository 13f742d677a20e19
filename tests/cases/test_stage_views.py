"""The stage pages as a user meets them: adding, editing and deleting items of
every stage (plain form posts and htmx), the validation messages, escaping of
what people type, opening a case, the case settings, stage status and members.

The helpers at the top (one valid form per stage, one item per stage) are also
used by test_access.py.
"""

from __future__ import annotations

import re
from datetime import date, timedelta
from decimal import Decimal
from html import unescape
from html.parser import HTMLParser

import pytest
from django.apps import apps
from django.db.models import Model
from django.urls import reverse

from cases.models import (
    Benefit,
    Case,
    ClientModel,
    EcosystemParty,
    Investment,
    LaggingMetric,
    LeadingMetric,
    Membership,
    ModelChange,
    Role,
    Side,
    StageRecord,
    StageSignOff,
    StageStatus,
)
from cases.stages import BY_SLUG, STAGES
from ecosystem.models import Organisation, OrganisationKind

from ..factories import (
    BenefitFactory,
    BenefitYearFactory,
    BusinessUnitFactory,
    CaseFactory,
    ChangeItemFactory,
    ClientFactory,
    EcosystemPartyFactory,
    InactionCostFactory,
    InvestmentFactory,
    LaggingMetricFactory,
    LeadingMetricFactory,
    MembershipFactory,
    ModelChangeFactory,
    OrganisationFactory,
    RiskOfActingFactory,
    RiskOfNotActingFactory,
    UserFactory,
)

HTMX = {"HX-Request": "true"}
TODAY = date.today()
FUTURE = (TODAY + timedelta(days=365)).isoformat()
YESTERDAY = (TODAY - timedelta(days=1)).isoformat()
SLUGS = [stage.slug for stage in STAGES]

# The field of each stage's item where the user's own words go, and which the
# stage page shows.
TEXT_FIELD = {
    "models": "today",
    "changes": "title",
    "ecosystem": "role",
    "leading-metrics": "name",
    "lagging-metrics": "name",
    "benefits": "title",
    "investments": "title",
    "risks-of-acting": "title",
    "risks-of-not-acting": "title",
}


# --- Shared helpers (imported by test_access.py) -----------------------------


def make_item(slug: str, case: Case) -> Model:
    """One complete item of a stage in a case, with its yearly rows and links."""
    if slug == "models":
        return ModelChangeFactory(case=case)
    if slug == "changes":
        return ChangeItemFactory(case=case)
    if slug == "ecosystem":
        unit = BusinessUnitFactory(parent=case.client)
        return EcosystemPartyFactory(case=case, organisation=unit)
    if slug == "leading-metrics":
        leading = LeadingMetricFactory(case=case)
        leading.drives.add(LaggingMetricFactory(case=case))
        return leading
    if slug == "lagging-metrics":
        return LaggingMetricFactory(case=case)
    if slug == "benefits":
        benefit = BenefitFactory(case=case)
        BenefitYearFactory(benefit=benefit, year=1)
        return benefit
    if slug == "investments":
        return InvestmentFactory(case=case)
    if slug == "risks-of-acting":
        return RiskOfActingFactory(case=case)
    if slug == "risks-of-not-acting":
        risk = RiskOfNotActingFactory(case=case)
        InactionCostFactory(risk=risk, year=2)
        return risk
    raise AssertionError(slug)


def _unused_client_model(case: Case) -> str:
    used = set(ModelChange.objects.filter(case=case).values_list("model", flat=True))
    return next(choice for choice in ClientModel.values if choice not in used)


def create_data(slug: str, case: Case, text: str, **overrides) -> dict:
    """A valid "add" form of a stage, with `text` where the user's words go."""
    metric = {
        "name": text,
        "unit": "%",
        "baseline": "10",
        "target": "20",
        "target_date": FUTURE,
        "owner": "Ops",
        "frequency": "monthly",
        "source": "ERP",
    }
    data = {
        "models": {
            "model": _unused_client_model(case),
            "today": text,
            "future": "Sites order straight from the hub.",
            "rationale": "Two steps cost a day.",
        },
        "changes": {"leg": "people", "title": text, "description": "", "owner": "HR"},
        "ecosystem": {
            "organisation": "",
            "new_organisation": text,
            "new_kind": OrganisationKind.PARTNER,
            "role": text,
            "responsibilities": "Last mile",
            "commitment": "likely",
        },
        "leading-metrics": metric,
        "lagging-metrics": metric,
        "benefits": {
            "title": text,
            "category": "cost",
            "metric": "",
            "owner": "CFO",
            "confidence": "medium",
            "description": "",
            "y1_low": "100",
            "y1_expected": "150",
            "y1_high": "200",
        },
        "investments": {
            "title": text,
            "kind": "opex",
            "organisation": str(case.client_id),
            "year": "1",
            "amount": "1000",
            "person_days": "",
            "day_rate": "",
        },
        "risks-of-acting": {
            "title": text,
            "leg": "people",
            "likelihood": "3",
            "impact": "4",
            "mitigation": "Train early",
            "owner": "HR",
        },
        "risks-of-not-acting": {
            "title": text,
            "likelihood": "4",
            "impact": "5",
            "description": "",
            "y2_amount": "300000",
        },
    }[slug]
    return {**data, **overrides}


def _post_value(value):
    if value is None:
        return ""
    if isinstance(value, (list, tuple)):
        return [str(v) for v in value]
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def edit_data(slug: str, case: Case, item: Model, text: str, **overrides) -> dict:
    """What the edit form of `item` posts when the user changes only its text
    (and `overrides`): the form's own initial values, as the browser sends them."""
    form = BY_SLUG[slug].form(instance=item, case=case)
    data = {bound.name: _post_value(bound.value()) for bound in form}
    data[TEXT_FIELD[slug]] = text
    return {**data, **overrides}


def item_with_text(slug: str, case: Case, text: str):
    return BY_SLUG[slug].model.objects.filter(case=case, **{TEXT_FIELD[slug]: text})


def stage_url(case: Case, slug: str) -> str:
    return reverse("cases:stage", args=[case.pk, slug])


def create_url(case: Case, slug: str) -> str:
    return reverse("cases:item_create", args=[case.pk, slug])


def item_url(name: str, case: Case, slug: str, item: Model) -> str:
    return reverse(f"cases:{name}", args=[case.pk, slug, item.pk])


def row_counts() -> dict[str, int]:
    """Rows of every model of the cases and ecosystem apps."""
    return {
        model._meta.label: model._default_manager.count()
        for app in ("cases", "ecosystem")
        for model in apps.get_app_config(app).get_models()
    }


def errors_at(html: str, field: str, action: str) -> list[str]:
    """The error messages the form posting to `action` shows right under `field`
    (between its input and the next field), where the user typed."""
    form = html[html.index(f'action="{action}"') :]
    form = form[: form.index("</form>")]
    start = form.index(f'name="{field}"')
    end = len(form)
    for match in re.finditer(r' name="([^"]+)"', form[start:]):
        if match.group(1) != field:
            end = start + match.start()
            break
    segment = form[start:end]
    return [
        " ".join(unescape(re.sub(r"<[^>]+>", " ", message)).split())
        for message in re.findall(
            r'<div[^>]*class="invalid-feedback[^"]*"[^>]*>(.*?)</div>', segment, re.S
        )
    ]


def text_of(response) -> str:
    return response.content.decode()


def item_list(html: str) -> str:
    """The list of items on a stage page (not the messages above it)."""
    start = html.index('id="item-list"')
    return html[start : html.index("</section>", start)]


# --- Fixtures -------------------------------------------------------------------


@pytest.fixture
def editor(as_user, facilitator):
    return as_user(facilitator)


@pytest.fixture
def other_case(db):
    """A case of another client, which our facilitator is not part of."""
    return CaseFactory(
        title="Another client's case", client=ClientFactory(name="Rival")
    )


# --- Add, edit, delete: plain form posts ---------------------------------------


@pytest.mark.parametrize("slug", SLUGS)
def test_add_item_with_plain_post(slug, case, editor):
    response = editor.post(
        create_url(case, slug), create_data(slug, case, "Pilot item")
    )

    item = item_with_text(slug, case, "Pilot item").get()
    assert response.status_code == 302
    assert response["Location"] == f"{stage_url(case, slug)}#item-{item.pk}"
    page = text_of(editor.get(stage_url(case, slug)))
    assert f'id="item-{item.pk}"' in page
    assert "Pilot item" in page


@pytest.mark.parametrize("slug", SLUGS)
def test_edit_item_with_plain_post(slug, case, editor):
    item = make_item(slug, case)

    response = editor.post(
        item_url("item_edit", case, slug, item),
        edit_data(slug, case, item, "Revised wording"),
    )

    assert response.status_code == 302
    assert response["Location"] == f"{stage_url(case, slug)}#item-{item.pk}"
    item.refresh_from_db()
    assert getattr(item, TEXT_FIELD[slug]) == "Revised wording"
    assert "Revised wording" in text_of(editor.get(stage_url(case, slug)))


@pytest.mark.parametrize("slug", SLUGS)
def test_edit_page_without_htmx_shows_the_filled_form(slug, case, editor):
    item = make_item(slug, case)
    response = editor.get(item_url("item_edit", case, slug, item))
    page = text_of(response)
    assert response.status_code == 200
    assert "<html" in page
    form = page[page.index(f'action="{item_url("item_edit", case, slug, item)}"') :]
    form = form[: form.index("</form>")]
    assert getattr(item, TEXT_FIELD[slug]) in form


@pytest.mark.parametrize("slug", SLUGS)
def test_delete_item_with_plain_post(slug, case, editor):
    item = make_item(slug, case)
    shown = getattr(item, TEXT_FIELD[slug])

    confirm = editor.get(item_url("item_delete", case, slug, item))
    response = editor.post(item_url("item_delete", case, slug, item))

    assert confirm.status_code == 200
    assert "Delete this" in text_of(confirm)
    assert response.status_code == 302
    assert response["Location"] == stage_url(case, slug)
    assert not BY_SLUG[slug].model.objects.filter(pk=item.pk).exists()
    page = text_of(editor.get(stage_url(case, slug)))
    assert f'id="item-{item.pk}"' not in page
    assert shown not in item_list(page)


# --- Add, edit, delete: htmx -------------------------------------------------------


@pytest.mark.parametrize("slug", SLUGS)
def test_add_item_with_htmx_returns_the_list_partial(slug, case, editor):
    response = editor.post(
        create_url(case, slug), create_data(slug, case, "Pilot item"), headers=HTMX
    )

    item = item_with_text(slug, case, "Pilot item").get()
    html = text_of(response)
    assert response.status_code == 200
    assert "<html" not in html
    assert f'id="item-{item.pk}"' in html
    assert "Pilot item" in html
    # The stepper beside the page is updated out of band with the new count.
    assert 'id="stepper" hx-swap-oob="true"' in html
    assert re.search(rf'data-stage-count="{slug}">\s*1\s*<', html)


@pytest.mark.parametrize("slug", SLUGS)
def test_edit_item_with_htmx(slug, case, editor):
    item = make_item(slug, case)
    url = item_url("item_edit", case, slug, item)

    form = editor.get(url, headers=HTMX)
    saved = editor.post(
        url, edit_data(slug, case, item, "Revised wording"), headers=HTMX
    )

    assert form.status_code == 200
    assert "<html" not in text_of(form)
    assert f'id="item-{item.pk}"' in text_of(form)
    assert f'hx-post="{url}"' in text_of(form)
    assert saved.status_code == 200
    assert "<html" not in text_of(saved)
    assert f'id="item-{item.pk}"' in text_of(saved)
    assert "Revised wording" in text_of(saved)
    assert "<form" not in text_of(saved)
    item.refresh_from_db()
    assert getattr(item, TEXT_FIELD[slug]) == "Revised wording"


@pytest.mark.parametrize("slug", SLUGS)
def test_cancel_edit_with_htmx_shows_the_item_again(slug, case, editor):
    item = make_item(slug, case)
    response = editor.get(item_url("item_detail", case, slug, item), headers=HTMX)
    assert response.status_code == 200
    assert "<html" not in text_of(response)
    assert f'id="item-{item.pk}"' in text_of(response)
    assert getattr(item, TEXT_FIELD[slug]) in text_of(response)


@pytest.mark.parametrize("slug", SLUGS)
def test_item_link_without_htmx_goes_to_the_item_on_its_stage(slug, case, editor):
    item = make_item(slug, case)
    response = editor.get(item_url("item_detail", case, slug, item))
    assert response.status_code == 302
    assert response["Location"] == f"{stage_url(case, slug)}#item-{item.pk}"


@pytest.mark.parametrize("slug", SLUGS)
def test_delete_item_with_htmx_updates_the_stepper(slug, case, editor):
    item = make_item(slug, case)

    response = editor.post(item_url("item_delete", case, slug, item), headers=HTMX)

    html = text_of(response)
    assert response.status_code == 200
    assert "<html" not in html
    assert not BY_SLUG[slug].model.objects.filter(pk=item.pk).exists()
    assert "hx-swap-oob" in html
    assert re.search(rf'data-stage-count="{slug}">\s*0\s*<', html)
    assert getattr(item, TEXT_FIELD[slug]) not in html
    assert StageRecord.objects.get(case=case, stage=slug).status == StageStatus.EMPTY


# --- Validation: the error where the user typed, nothing saved ------------------

LONG_TITLE = "x" * 201
LONG_TEXT = "x" * 4001

NEGATIVE = "0 or more|greater than or equal to 0"
ONE_TO_FIVE = "from 1 to 5"

INVALID_ITEMS = [
    # stage, what the user typed, the field that shows the error, words of the error
    pytest.param(
        "investments", {"amount": "-5"}, "amount", NEGATIVE, id="negative-amount"
    ),
    pytest.param(
        "benefits", {"y1_low": "-1"}, "y1_low", NEGATIVE, id="negative-benefit-low"
    ),
    pytest.param(
        "risks-of-acting",
        {"likelihood": "0"},
        "likelihood",
        ONE_TO_FIVE,
        id="likelihood-0",
    ),
    pytest.param(
        "risks-of-acting",
        {"likelihood": "6"},
        "likelihood",
        ONE_TO_FIVE,
        id="likelihood-6",
    ),
    pytest.param(
        "risks-of-acting", {"impact": "9"}, "impact", ONE_TO_FIVE, id="impact-9"
    ),
    pytest.param(
        "risks-of-not-acting",
        {"impact": "0"},
        "impact",
        ONE_TO_FIVE,
        id="inaction-impact-0",
    ),
    pytest.param(
        "benefits",
        {"y1_low": "160"},
        "y1_low",
        "low cannot be more than expected",
        id="low-above-expected",
    ),
    pytest.param(
        "benefits",
        {"y1_expected": "250"},
        "y1_high",
        "high cannot be less than expected",
        id="expected-above-high",
    ),
    pytest.param(
        "benefits",
        {"y1_expected": ""},
        "y1_expected",
        "fill in all",
        id="half-filled-year",
    ),
    pytest.param(
        "risks-of-not-acting",
        {"y2_amount": "-1"},
        "y2_amount",
        NEGATIVE,
        id="negative-cost",
    ),
    pytest.param(
        "investments", {"year": "6"}, "year", "beyond .*horizon", id="year-6-of-5"
    ),
    pytest.param(
        "investments",
        {
            "kind": "time",
            "amount": "",
            "person_days": "99999999",
            "day_rate": "999999999999",
        },
        "person_days",
        "one trillion or more",
        id="time-worth-a-trillion",
    ),
    pytest.param(
        "leading-metrics",
        {"target_date": YESTERDAY},
        "target_date",
        "cannot be in the past",
        id="leading-date-past",
    ),
    pytest.param(
        "lagging-metrics",
        {"target_date": YESTERDAY},
        "target_date",
        "cannot be in the past",
        id="lagging-date-past",
    ),
    pytest.param(
        "changes", {"title": LONG_TITLE}, "title", "at most 200", id="title-201"
    ),
    pytest.param(
        "risks-of-acting", {"title": LONG_TITLE}, "title", "at most 200", id="risk-201"
    ),
    pytest.param(
        "changes",
        {"description": LONG_TEXT},
        "description",
        "at most 4000",
        id="text-4001",
    ),
    pytest.param(
        "benefits",
        {"description": LONG_TEXT},
        "description",
        "at most 4000",
        id="benefit-4001",
    ),
    pytest.param(
        "investments",
        {"kind": "time", "amount": "", "person_days": "", "day_rate": "800"},
        "person_days",
        "person-days",
        id="time-without-days",
    ),
    pytest.param(
        "investments",
        {"kind": "time", "amount": "", "person_days": "20", "day_rate": ""},
        "day_rate",
        "day rate",
        id="time-without-rate",
    ),
    pytest.param(
        "ecosystem",
        {"organisation": "", "new_organisation": ""},
        "organisation",
        "pick an organisation",
        id="ecosystem-neither",
    ),
]


@pytest.mark.parametrize("htmx", [False, True], ids=["plain", "htmx"])
@pytest.mark.parametrize(("slug", "typed", "field", "words"), INVALID_ITEMS)
def test_invalid_item_shows_the_error_at_the_field(
    slug, typed, field, words, htmx, case, editor
):
    before = row_counts()
    response = editor.post(
        create_url(case, slug),
        create_data(slug, case, "Refused item", **typed),
        headers=HTMX if htmx else {},
    )

    html = text_of(response)
    assert response.status_code == 400
    assert ("<html" in html) is not htmx
    errors = errors_at(html, field, create_url(case, slug))
    assert re.search(words, " ".join(errors).lower()), errors
    assert row_counts() == before


@pytest.mark.parametrize(
    ("slug", "field", "words"),
    [
        ("investments", "amount", NEGATIVE),
        ("risks-of-acting", "likelihood", ONE_TO_FIVE),
        ("benefits", "y1_low", "low cannot be more than expected"),
        ("changes", "title", "at most 200"),
    ],
)
@pytest.mark.parametrize("htmx", [False, True], ids=["plain", "htmx"])
def test_invalid_edit_keeps_the_item_as_it_was(slug, field, words, htmx, case, editor):
    item = make_item(slug, case)
    bad = {"amount": "-5", "likelihood": "6", "y1_low": "999999", "title": LONG_TITLE}
    url = item_url("item_edit", case, slug, item)

    response = editor.post(
        url,
        edit_data(slug, case, item, "Should not stick", **{field: bad[field]}),
        headers=HTMX if htmx else {},
    )

    assert response.status_code == 400
    assert ("<html" in text_of(response)) is not htmx
    assert f'id="item-{item.pk}"' in text_of(response)
    assert re.search(words, " ".join(errors_at(text_of(response), field, url)).lower())
    item.refresh_from_db()
    assert getattr(item, TEXT_FIELD[slug]) != "Should not stick"


def test_year_beyond_horizon_message_names_the_horizon(case, editor):
    response = editor.post(
        create_url(case, "investments"),
        create_data("investments", case, "Late spend", year="6"),
    )
    errors = errors_at(text_of(response), "year", create_url(case, "investments"))
    assert any("horizon" in e and "5" in e for e in errors), errors
    assert not Investment.objects.filter(case=case).exists()


@pytest.mark.parametrize("slug", ["leading-metrics", "lagging-metrics"])
def test_editing_a_metric_whose_date_has_passed_is_allowed(slug, case, editor):
    model = BY_SLUG[slug].model
    metric = make_item(slug, case)
    model.objects.filter(pk=metric.pk).update(target_date=TODAY - timedelta(days=30))
    metric.refresh_from_db()

    response = editor.post(
        item_url("item_edit", case, slug, metric),
        edit_data(slug, case, metric, "Renamed after the date"),
    )

    assert response.status_code == 302
    metric.refresh_from_db()
    assert metric.name == "Renamed after the date"
    assert metric.target_date == TODAY - timedelta(days=30)


@pytest.mark.parametrize("slug", ["leading-metrics", "lagging-metrics"])
@pytest.mark.parametrize("days_ago", [1, 60], ids=["to-yesterday", "to-older-day"])
def test_moving_a_metrics_date_into_the_past_is_refused(slug, days_ago, case, editor):
    """A date on record may stay once it has passed, but moving it (even from one
    past day to another) must pick a day still to come."""
    model = BY_SLUG[slug].model
    metric = make_item(slug, case)
    kept = TODAY - timedelta(days=30)
    model.objects.filter(pk=metric.pk).update(target_date=kept)
    metric.refresh_from_db()
    url = item_url("item_edit", case, slug, metric)
    moved = (TODAY - timedelta(days=days_ago)).isoformat()

    response = editor.post(
        url, edit_data(slug, case, metric, "Renamed", target_date=moved)
    )

    assert response.status_code == 400
    errors = errors_at(text_of(response), "target_date", url)
    assert any("cannot be in the past" in e for e in errors), errors
    metric.refresh_from_db()
    assert metric.target_date == kept
    assert metric.name != "Renamed"


# --- Tampered forms: links to another case's items --------------------------------


def test_leading_metric_cannot_drive_another_cases_metric(case, other_case, editor):
    foreign = LaggingMetricFactory(case=other_case)
    mine = LaggingMetricFactory(case=case)
    before = row_counts()
    url = create_url(case, "leading-metrics")

    response = editor.post(
        url,
        create_data("leading-metrics", case, "Adoption", drives=[mine.pk, foreign.pk]),
    )

    assert response.status_code == 400
    assert errors_at(text_of(response), "drives", url)
    assert row_counts() == before
    assert not foreign.driven_by.exists()


def test_editing_a_leading_metric_cannot_link_another_case(case, other_case, editor):
    leading = make_item("leading-metrics", case)
    linked = list(leading.drives.all())
    foreign = LaggingMetricFactory(case=other_case)
    url = item_url("item_edit", case, "leading-metrics", leading)

    response = editor.post(
        url,
        edit_data("leading-metrics", case, leading, "Adoption", drives=[foreign.pk]),
    )

    assert response.status_code == 400
    assert errors_at(text_of(response), "drives", url)
    assert list(leading.drives.all()) == linked


def test_benefit_cannot_be_proved_by_another_cases_metric(case, other_case, editor):
    foreign = LaggingMetricFactory(case=other_case)
    before = row_counts()
    url = create_url(case, "benefits")

    response = editor.post(
        url, create_data("benefits", case, "Less freight", metric=str(foreign.pk))
    )

    assert response.status_code == 400
    assert errors_at(text_of(response), "metric", url)
    assert row_counts() == before


@pytest.fixture
def rival_unit(other_case):
    """A business unit of another client, used only by that client's case:
    its name must not be usable (or even visible) in our case."""
    unit = BusinessUnitFactory(name="Rival secret unit", parent=other_case.client)
    EcosystemPartyFactory(case=other_case, organisation=unit)
    return unit


def test_ecosystem_cannot_name_another_clients_unit(case, rival_unit, editor):
    before = row_counts()
    url = create_url(case, "ecosystem")

    response = editor.post(
        url,
        create_data(
            "ecosystem",
            case,
            "Carrier",
            organisation=str(rival_unit.pk),
            new_organisation="",
        ),
    )

    assert response.status_code == 400
    assert errors_at(text_of(response), "organisation", url)
    assert row_counts() == before
    assert "Rival secret unit" not in text_of(editor.get(stage_url(case, "ecosystem")))


def test_investment_cannot_name_another_clients_unit(case, rival_unit, editor):
    before = row_counts()
    url = create_url(case, "investments")

    response = editor.post(
        url, create_data("investments", case, "Trucks", organisation=str(rival_unit.pk))
    )

    assert response.status_code == 400
    assert errors_at(text_of(response), "organisation", url)
    assert row_counts() == before


# --- Ecosystem: naming a new organisation or picking one ---------------------------


def test_ecosystem_new_business_unit_belongs_to_the_client(case, editor):
    response = editor.post(
        create_url(case, "ecosystem"),
        create_data(
            "ecosystem",
            case,
            "Runs the yard",
            new_organisation="Site logistics",
            new_kind=OrganisationKind.BUSINESS_UNIT,
        ),
    )

    assert response.status_code == 302
    unit = Organisation.objects.get(name="Site logistics")
    assert unit.kind == OrganisationKind.BUSINESS_UNIT
    assert unit.parent == case.client
    party = EcosystemParty.objects.get(case=case)
    assert party.organisation == unit
    assert party.role == "Runs the yard"
    page = text_of(editor.get(stage_url(case, "ecosystem")))
    assert "Site logistics" in page
    assert f"Business unit of {case.client.name}" in page


def test_ecosystem_pick_an_existing_organisation(case, editor):
    unit = BusinessUnitFactory(name="Procurement", parent=case.client)

    response = editor.post(
        create_url(case, "ecosystem"),
        create_data(
            "ecosystem",
            case,
            "Buys trucks",
            organisation=str(unit.pk),
            new_organisation="",
        ),
    )

    assert response.status_code == 302
    assert EcosystemParty.objects.get(case=case).organisation == unit
    assert Organisation.objects.filter(name="Procurement").count() == 1


def test_ecosystem_pick_and_name_both_is_refused(case, editor):
    unit = BusinessUnitFactory(name="Procurement", parent=case.client)
    before = row_counts()
    url = create_url(case, "ecosystem")

    response = editor.post(
        url,
        create_data(
            "ecosystem",
            case,
            "Buys trucks",
            organisation=str(unit.pk),
            new_organisation="Also this one",
        ),
    )

    assert response.status_code == 400
    assert "not both" in " ".join(errors_at(text_of(response), "new_organisation", url))
    assert row_counts() == before


def test_ecosystem_same_organisation_twice_is_refused(case, editor):
    party = make_item("ecosystem", case)
    before = row_counts()
    url = create_url(case, "ecosystem")

    response = editor.post(
        url,
        create_data(
            "ecosystem",
            case,
            "Again",
            new_organisation=party.organisation.name,
            new_kind=OrganisationKind.BUSINESS_UNIT,
        ),
    )

    assert response.status_code == 400
    assert "already in the ecosystem" in text_of(response)
    assert row_counts() == before


def test_the_same_client_model_twice_is_refused(case, editor):
    ModelChangeFactory(case=case, model=ClientModel.TALENT)
    before = row_counts()

    response = editor.post(
        create_url(case, "models"),
        create_data("models", case, "Again", model=ClientModel.TALENT),
    )

    assert response.status_code == 400
    assert "already describes that model" in text_of(response)
    assert row_counts() == before


def test_changing_a_model_entry_to_one_already_described_is_refused(case, editor):
    ModelChangeFactory(case=case, model=ClientModel.TALENT)
    other = ModelChangeFactory(case=case, model=ClientModel.RISK)
    url = item_url("item_edit", case, "models", other)

    response = editor.post(
        url, edit_data("models", case, other, "Moved", model=ClientModel.TALENT)
    )

    assert response.status_code == 400
    assert "already describes that model" in text_of(response)
    other.refresh_from_db()
    assert other.model == ClientModel.RISK


def test_picking_an_organisation_already_in_the_ecosystem_is_refused(case, editor):
    EcosystemPartyFactory(case=case, organisation=case.client)
    before = row_counts()
    url = create_url(case, "ecosystem")

    response = editor.post(
        url,
        create_data(
            "ecosystem",
            case,
            "Twice",
            organisation=str(case.client_id),
            new_organisation="",
        ),
    )

    assert response.status_code == 400
    assert "already in the ecosystem" in text_of(response)
    assert row_counts() == before


def test_clearing_a_year_of_a_benefit_removes_it(case, editor):
    benefit = make_item("benefits", case)
    BenefitYearFactory(benefit=benefit, year=2)
    url = item_url("item_edit", case, "benefits", benefit)

    response = editor.post(
        url,
        edit_data(
            "benefits",
            case,
            benefit,
            "Less freight",
            y1_low="",
            y1_expected="",
            y1_high="",
        ),
    )

    assert response.status_code == 302
    assert list(benefit.yearly.values_list("year", flat=True)) == [2]


def test_time_investment_is_valued_as_days_times_rate(case, editor):
    response = editor.post(
        create_url(case, "investments"),
        create_data(
            "investments",
            case,
            "Drivers' training",
            kind="time",
            amount="",
            person_days="20",
            day_rate="800",
        ),
    )
    assert response.status_code == 302
    page = text_of(editor.get(stage_url(case, "investments")))
    assert "16,000 EUR" in page


# --- The ecosystem picture: the stage page and the projector draw the parties ------


def picture_of(html: str) -> str | None:
    """The stage's picture (its SVG) on a page, or None."""
    found = re.search(
        r'<figure class="chart stage-picture[^"]*"[^>]*>(.*?)</figure>', html, re.S
    )
    return found.group(1) if found else None


def test_the_ecosystem_page_draws_its_parties_above_the_list(case, editor):
    unit = BusinessUnitFactory(name="Central planning", parent=case.client)
    EcosystemPartyFactory(case=case, organisation=unit)
    EcosystemPartyFactory(
        case=case, organisation=OrganisationFactory(name="Fast & Fair")
    )

    page = text_of(editor.get(stage_url(case, "ecosystem")))

    picture = picture_of(page)
    assert picture is not None and picture.lstrip().startswith("<svg")
    assert ">Central planning<" in picture
    assert ">Fast &amp; Fair<" in picture, "names are escaped in the SVG"
    assert f">{case.client.name}<" in picture, "the client in the middle"
    assert page.index("stage-picture") < page.index('<article class="item-card')
    assert 'aria-label="The ecosystem: the client in the middle' in page


def test_no_picture_without_parties_nor_on_stages_that_have_none(case, editor):
    assert picture_of(text_of(editor.get(stage_url(case, "ecosystem")))) is None
    ChangeItemFactory(case=case)
    assert picture_of(text_of(editor.get(stage_url(case, "changes")))) is None


def test_a_party_added_shows_in_the_picture_of_pages_open_on_the_stage(
    case, as_user, facilitator, viewer
):
    """The picture is part of the list that open pages receive on their poll."""
    EcosystemPartyFactory(
        case=case, organisation=OrganisationFactory(name="Crane hire")
    )
    page = text_of(as_user(viewer).get(stage_url(case, "ecosystem")))
    token = re.search(r'data-poll-token="([^"]+)"', page).group(1)

    added = as_user(facilitator).post(
        create_url(case, "ecosystem"),
        create_data(
            "ecosystem",
            case,
            "Checks site access",
            new_organisation="Safety board",
            new_kind=OrganisationKind.PARTNER,
        ),
    )
    assert added.status_code == 302
    changes = as_user(viewer).get(
        reverse("cases:stage_changes", args=[case.pk, "ecosystem"]), {"since": token}
    )

    assert changes.status_code == 200
    picture = picture_of(text_of(changes))
    assert picture is not None
    assert ">Crane hire<" in picture and ">Safety board<" in picture


def test_the_presenter_view_draws_the_ecosystem(case, as_user, facilitator):
    EcosystemPartyFactory(
        case=case, organisation=OrganisationFactory(name="Crane hire")
    )
    page = text_of(
        as_user(facilitator).get(
            reverse("cases:presenter", args=[case.pk, "ecosystem"])
        )
    )
    picture = picture_of(page)
    assert picture is not None and ">Crane hire<" in picture


# --- What people type is shown, never run ------------------------------------------

SCRIPT = "<script>alert(1)</script>"
IMG = "<img src=x onerror=alert(1)>"


def assert_escaped(html: str) -> None:
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "&lt;img src=x onerror=alert(1)&gt;" in html
    assert SCRIPT not in html
    assert IMG not in html


@pytest.mark.parametrize("slug", SLUGS)
def test_item_text_is_escaped_on_the_stage_page(slug, case, editor):
    for text in (f"A {SCRIPT} B", f"C {IMG} D"):
        response = editor.post(create_url(case, slug), create_data(slug, case, text))
        assert response.status_code == 302
    partial = editor.post(
        create_url(case, slug),
        create_data(slug, case, f"E {SCRIPT} {IMG}"),
        headers=HTMX,
    )

    assert_escaped(text_of(editor.get(stage_url(case, slug))))
    assert_escaped(text_of(partial))


def test_case_and_people_text_is_escaped_on_overview_dashboard_and_members(as_user, db):
    me = UserFactory(first_name=SCRIPT, last_name=IMG)
    browser = as_user(me)
    response = browser.post(
        reverse("cases:new"),
        new_case_data(
            title=f"Case {SCRIPT}",
            idea=f"Idea {IMG}",
            new_client=f"Client {SCRIPT} {IMG}",
            new_seller=f"Seller {IMG} {SCRIPT}",
        ),
    )
    assert response.status_code == 302
    case = Case.objects.get(created_by=me)
    for slug in SLUGS:
        browser.post(create_url(case, slug), create_data(slug, case, f"{SCRIPT} {IMG}"))

    assert_escaped(text_of(browser.get(reverse("cases:overview", args=[case.pk]))))
    assert_escaped(text_of(browser.get(reverse("cases:dashboard"))))
    assert_escaped(text_of(browser.get(reverse("cases:members", args=[case.pk]))))
    assert_escaped(text_of(browser.get(reverse("cases:settings", args=[case.pk]))))


# --- Opening a case --------------------------------------------------------------


def new_case_data(**overrides) -> dict:
    data = {
        "title": "Direct-to-site delivery",
        "idea": "Ship from the hub straight to building sites.",
        "client": "",
        "new_client": "Northwind Build",
        "seller": "",
        "new_seller": "Harbour Logistics",
        "side": Side.SELLER,
        "currency": "EUR",
        "horizon_years": "5",
        "discount_rate": "8",
    }
    return {**data, **overrides}


def test_new_case_with_new_client_and_seller(as_user, outsider):
    browser = as_user(outsider)

    response = browser.post(reverse("cases:new"), new_case_data(side=Side.CLIENT))

    case = Case.objects.get(title="Direct-to-site delivery")
    assert response.status_code == 302
    assert response["Location"] == reverse("cases:overview", args=[case.pk])
    assert case.client.name == "Northwind Build"
    assert case.client.kind == OrganisationKind.CLIENT
    assert case.seller.name == "Harbour Logistics"
    assert case.seller.kind == OrganisationKind.SELLER
    assert case.discount_rate == Decimal("0.08")
    assert sorted(
        StageRecord.objects.filter(case=case).values_list("stage", flat=True)
    ) == (sorted(SLUGS))
    me = Membership.objects.get(case=case)
    assert (me.user, me.role, me.side) == (outsider, Role.FACILITATOR, Side.CLIENT)
    assert "Direct-to-site delivery" in text_of(browser.get(reverse("cases:dashboard")))


def test_new_case_for_a_client_of_one_of_my_cases(case, facilitator, as_user):
    browser = as_user(facilitator)
    clients_before = Organisation.objects.filter(kind=OrganisationKind.CLIENT).count()

    response = browser.post(
        reverse("cases:new"),
        new_case_data(title="Second idea", client=str(case.client_id), new_client=""),
    )

    assert response.status_code == 302
    assert Case.objects.get(title="Second idea").client == case.client
    assert Organisation.objects.filter(kind=OrganisationKind.CLIENT).count() == (
        clients_before
    )


def test_new_case_cannot_pick_a_client_of_someone_elses_case(
    as_user, outsider, other_case
):
    before = row_counts()
    response = as_user(outsider).post(
        reverse("cases:new"),
        new_case_data(client=str(other_case.client_id), new_client=""),
    )
    assert errors_at(text_of(response), "client", reverse("cases:new"))
    assert row_counts() == before


@pytest.mark.parametrize(
    ("typed", "field", "words"),
    [
        pytest.param(
            {"client": "PICK", "new_client": "Also new"},
            "new_client",
            "not both",
            id="client-both",
        ),
        pytest.param(
            {"new_client": "  "}, "new_client", "name the client", id="client-neither"
        ),
        pytest.param(
            {"seller": "PICK", "new_seller": "Also new"},
            "new_seller",
            "not both",
            id="seller-both",
        ),
        pytest.param(
            {"new_seller": ""}, "new_seller", "name the seller", id="seller-neither"
        ),
        pytest.param({"currency": "XXX"}, "currency", "xxx", id="currency-XXX"),
        pytest.param({"currency": "EUR1"}, "currency", "eur1", id="currency-EUR1"),
        pytest.param({"title": LONG_TITLE}, "title", "at most 200", id="title-201"),
        pytest.param(
            {"horizon_years": "0"},
            "horizon_years",
            "at least 1|greater than or equal to 1",
            id="horizon-0",
        ),
        pytest.param(
            {"horizon_years": "11"},
            "horizon_years",
            "at most 10|less than or equal to 10",
            id="horizon-11",
        ),
        pytest.param(
            {"discount_rate": "-1"},
            "discount_rate",
            "greater than or equal to 0|cannot be negative",
            id="discount-negative",
        ),
        pytest.param(
            {"discount_rate": "150"},
            "discount_rate",
            "less than or equal to 100|at most",
            id="discount-150",
        ),
    ],
)
def test_new_case_refused(typed, field, words, case, facilitator, as_user):
    picks = {"client": str(case.client_id), "seller": str(case.seller_id)}
    typed = {k: picks[k] if v == "PICK" else v for k, v in typed.items()}
    before = row_counts()

    response = as_user(facilitator).post(reverse("cases:new"), new_case_data(**typed))

    assert response.status_code != 302
    errors = errors_at(text_of(response), field, reverse("cases:new"))
    assert re.search(words, " ".join(errors).lower()), errors
    assert row_counts() == before


# --- Case settings ---------------------------------------------------------------


def settings_data(case: Case, **overrides) -> dict:
    data = {
        "title": case.title,
        "idea": case.idea,
        "currency": case.currency,
        "horizon_years": str(case.horizon_years),
        "discount_rate": str(case.discount_percent),
    }
    return {**data, **overrides}


def test_settings_are_saved(case, facilitator, as_user):
    response = as_user(facilitator).post(
        reverse("cases:settings", args=[case.pk]),
        settings_data(case, title="Renamed", currency="USD", discount_rate="10"),
    )
    assert response.status_code == 302
    case.refresh_from_db()
    assert (case.title, case.currency, case.discount_rate) == (
        "Renamed",
        "USD",
        Decimal("0.1"),
    )


def test_a_new_currency_warns_that_nothing_was_converted(case, facilitator, as_user):
    InvestmentFactory(case=case, amount=Decimal("250000"))
    browser = as_user(facilitator)
    page = text_of(browser.get(reverse("cases:settings", args=[case.pk])))
    assert "relabels the case's amounts; it does not convert them" in page

    response = browser.post(
        reverse("cases:settings", args=[case.pk]),
        settings_data(case, currency="USD"),
        follow=True,
    )
    assert "Every amount is now shown in USD instead of EUR" in text_of(response)
    assert "nothing was converted" in text_of(response)
    # Saving again without changing the currency says nothing of it.
    case.refresh_from_db()
    response = browser.post(
        reverse("cases:settings", args=[case.pk]), settings_data(case), follow=True
    )
    assert "Case settings saved." in text_of(response)
    assert "nothing was converted" not in text_of(response)


@pytest.mark.parametrize("code", ["XXX", "EUR1", "eur"])
def test_settings_refuse_an_unknown_currency(code, case, facilitator, as_user):
    url = reverse("cases:settings", args=[case.pk])
    response = as_user(facilitator).post(url, settings_data(case, currency=code))
    assert response.status_code != 302
    assert errors_at(text_of(response), "currency", url)
    case.refresh_from_db()
    assert case.currency == "EUR"


@pytest.mark.parametrize(
    "use_year",
    [
        pytest.param(lambda c: InvestmentFactory(case=c, year=4), id="investment"),
        pytest.param(
            lambda c: BenefitYearFactory(benefit=BenefitFactory(case=c), year=4),
            id="benefit-year",
        ),
        pytest.param(
            lambda c: InactionCostFactory(risk=RiskOfNotActingFactory(case=c), year=4),
            id="inaction-cost",
        ),
    ],
)
def test_horizon_cannot_be_shortened_below_a_year_in_use(
    use_year, case, facilitator, as_user
):
    use_year(case)
    url = reverse("cases:settings", args=[case.pk])

    refused = as_user(facilitator).post(url, settings_data(case, horizon_years="3"))
    allowed = as_user(facilitator).post(url, settings_data(case, horizon_years="4"))

    errors = " ".join(errors_at(text_of(refused), "horizon_years", url))
    assert "year 4" in errors
    assert allowed.status_code == 302
    case.refresh_from_db()
    assert case.horizon_years == 4


def test_year_fields_beyond_the_horizon_are_ignored(case, editor):
    """A year field beyond the horizon (y6_low on a 5-year case) is not a field of
    the form: it cannot sneak a row past the horizon."""
    editor.post(
        create_url(case, "benefits"),
        create_data(
            "benefits", case, "Sneaky", y6_low="1", y6_expected="2", y6_high="3"
        ),
    )
    benefit = Benefit.objects.get(case=case, title="Sneaky")
    assert list(benefit.yearly.values_list("year", flat=True)) == [1]


# --- Stage status ----------------------------------------------------------------


def status_of(case: Case, slug: str) -> str:
    return StageRecord.objects.get(case=case, stage=slug).status


def test_stage_status_follows_the_items(case, editor):
    assert status_of(case, "changes") == StageStatus.EMPTY

    editor.post(create_url(case, "changes"), create_data("changes", case, "First"))
    item = item_with_text("changes", case, "First").get()
    in_progress = text_of(editor.get(stage_url(case, "changes")))
    editor.post(item_url("item_delete", case, "changes", item))
    emptied = text_of(editor.get(stage_url(case, "changes")))

    assert "Stage 2 of 9 · In progress" in in_progress
    assert "Stage 2 of 9 · Empty" in emptied
    assert status_of(case, "changes") == StageStatus.EMPTY


def sign_off(browser, case, slug, **kwargs):
    return browser.post(reverse("cases:stage_sign_off", args=[case.pk, slug]), **kwargs)


@pytest.mark.parametrize("change", ["add", "edit", "delete"])
def test_agreed_stage_reopens_on_a_later_change(
    change, case, facilitator, client_contributor, as_user
):
    first = make_item("risks-of-acting", case)
    second = make_item("risks-of-acting", case)
    sign_off(as_user(client_contributor), case, "risks-of-acting")
    sign_off(as_user(facilitator), case, "risks-of-acting")
    assert status_of(case, "risks-of-acting") == StageStatus.AGREED
    page = text_of(as_user(facilitator).get(stage_url(case, "risks-of-acting")))
    assert "Agreed by both sides" in page
    assert "reopens it for agreement" in page

    browser = as_user(client_contributor)
    if change == "add":
        browser.post(
            create_url(case, "risks-of-acting"),
            create_data("risks-of-acting", case, "New risk"),
        )
    elif change == "edit":
        browser.post(
            item_url("item_edit", case, "risks-of-acting", first),
            edit_data("risks-of-acting", case, first, "Reworded"),
        )
    else:
        browser.post(item_url("item_delete", case, "risks-of-acting", second))

    assert status_of(case, "risks-of-acting") == StageStatus.IN_PROGRESS
    assert not StageSignOff.objects.filter(case=case).exists()
    page = text_of(browser.get(stage_url(case, "risks-of-acting")))
    assert "Stage 8 of 9 · In progress" in page
    assert "Agreed by both sides" not in page


def test_a_signer_can_withdraw_and_the_stage_reopens(
    case, facilitator, client_contributor, as_user
):
    make_item("benefits", case)
    sign_off(as_user(client_contributor), case, "benefits")
    sign_off(as_user(facilitator), case, "benefits")
    assert status_of(case, "benefits") == StageStatus.AGREED
    as_user(facilitator).post(
        reverse("cases:stage_sign_off_withdraw", args=[case.pk, "benefits"])
    )
    assert status_of(case, "benefits") == StageStatus.IN_PROGRESS


def test_an_empty_stage_cannot_be_agreed(case, facilitator, as_user):
    response = sign_off(as_user(facilitator), case, "benefits", follow=True)
    assert "An empty stage cannot be signed off" in text_of(response)
    assert status_of(case, "benefits") == StageStatus.EMPTY
    assert not StageSignOff.objects.exists()


def test_stage_notes_are_saved_and_shown_to_a_viewer(case, editor, viewer, as_user):
    notes = reverse("cases:stage_notes", args=[case.pk, "changes"])
    response = editor.post(notes, {"notes": "Ask the site managers."})
    assert response.status_code == 302
    assert "Ask the site managers." in text_of(
        as_user(viewer).get(stage_url(case, "changes"))
    )


def test_stage_notes_too_long_are_refused(case, editor):
    notes = reverse("cases:stage_notes", args=[case.pk, "changes"])
    response = editor.post(notes, {"notes": LONG_TEXT}, headers=HTMX)
    assert response.status_code == 400
    assert "<html" not in text_of(response)
    assert errors_at(text_of(response), "notes", notes)
    assert StageRecord.objects.get(case=case, stage="changes").notes == ""


# --- Members ---------------------------------------------------------------------


def members_url(case: Case) -> str:
    return reverse("cases:members", args=[case.pk])


def test_facilitator_adds_an_existing_user_by_email(case, facilitator, as_user):
    newcomer = UserFactory(email="site.manager@client.example")

    response = as_user(facilitator).post(
        members_url(case),
        {
            "email": "Site.Manager@client.example",
            "side": Side.CLIENT,
            "role": Role.VIEWER,
        },
    )

    assert response.status_code == 302
    membership = Membership.objects.get(case=case, user=newcomer)
    assert (membership.side, membership.role) == (Side.CLIENT, Role.VIEWER)
    assert "site.manager@client.example" in text_of(
        as_user(facilitator).get(members_url(case))
    )


def test_adding_an_unknown_email_says_so(case, facilitator, as_user):
    before = row_counts()
    response = as_user(facilitator).post(
        members_url(case),
        {"email": "nobody@nowhere.example", "side": Side.CLIENT, "role": Role.VIEWER},
    )
    errors = " ".join(errors_at(text_of(response), "email", members_url(case)))
    assert "No one has an account with this email" in errors
    assert row_counts() == before


def test_adding_a_member_twice_says_so(case, facilitator, viewer, as_user):
    before = row_counts()
    response = as_user(facilitator).post(
        members_url(case),
        {"email": viewer.email, "side": Side.CLIENT, "role": Role.VIEWER},
    )
    assert "already a member" in " ".join(
        errors_at(text_of(response), "email", members_url(case))
    )
    assert row_counts() == before


def _membership(case: Case, user) -> Membership:
    return Membership.objects.get(case=case, user=user)


def test_last_facilitator_cannot_be_demoted(case, facilitator, as_user):
    mine = _membership(case, facilitator)
    url = reverse("cases:member_update", args=[case.pk, mine.pk])

    response = as_user(facilitator).post(
        url,
        {f"m{mine.pk}-side": Side.SELLER, f"m{mine.pk}-role": Role.VIEWER},
        follow=True,
    )

    assert "A case needs at least one facilitator." in text_of(response)
    mine.refresh_from_db()
    assert mine.role == Role.FACILITATOR


def test_last_facilitator_cannot_be_removed(case, facilitator, as_user):
    mine = _membership(case, facilitator)
    url = reverse("cases:member_remove", args=[case.pk, mine.pk])

    response = as_user(facilitator).post(url, follow=True)

    assert "A case needs at least one facilitator." in text_of(response)
    assert Membership.objects.filter(pk=mine.pk, role=Role.FACILITATOR).exists()


def test_with_a_second_facilitator_one_can_step_down(case, facilitator, as_user):
    MembershipFactory(case=case, role=Role.FACILITATOR, side=Side.CLIENT)
    mine = _membership(case, facilitator)
    url = reverse("cases:member_update", args=[case.pk, mine.pk])

    response = as_user(facilitator).post(
        url, {f"m{mine.pk}-side": Side.SELLER, f"m{mine.pk}-role": Role.CONTRIBUTOR}
    )

    assert response.status_code == 302
    mine.refresh_from_db()
    assert mine.role == Role.CONTRIBUTOR


def test_facilitator_who_leaves_goes_to_the_dashboard(case, facilitator, as_user):
    MembershipFactory(case=case, role=Role.FACILITATOR, side=Side.CLIENT)
    mine = _membership(case, facilitator)
    browser = as_user(facilitator)

    response = browser.post(reverse("cases:member_remove", args=[case.pk, mine.pk]))

    assert response.status_code == 302
    assert response["Location"] == reverse("cases:dashboard")
    assert browser.get(reverse("cases:overview", args=[case.pk])).status_code == 404


def test_facilitator_changes_and_removes_a_member(
    case, facilitator, client_contributor, as_user
):
    theirs = _membership(case, client_contributor)
    browser = as_user(facilitator)

    browser.post(
        reverse("cases:member_update", args=[case.pk, theirs.pk]),
        {f"m{theirs.pk}-side": Side.PARTNER, f"m{theirs.pk}-role": Role.VIEWER},
    )
    theirs.refresh_from_db()
    assert (theirs.side, theirs.role) == (Side.PARTNER, Role.VIEWER)

    browser.post(reverse("cases:member_remove", args=[case.pk, theirs.pk]))
    assert not Membership.objects.filter(pk=theirs.pk).exists()
    page = text_of(browser.get(members_url(case)))
    people = page[page.index("<table") : page.index("</table>")]
    assert client_contributor.email not in people


# --- Leading metrics show what they drive ----------------------------------------


def test_leading_metric_links_show_on_both_stages(case, editor):
    lagging = LaggingMetricFactory(case=case, name="Cost per delivery")
    editor.post(
        create_url(case, "leading-metrics"),
        create_data(
            "leading-metrics", case, "Sites ordering direct", drives=[lagging.pk]
        ),
    )
    leading = LeadingMetric.objects.get(case=case, name="Sites ordering direct")
    assert list(leading.drives.all()) == [lagging]
    assert "Cost per delivery" in text_of(
        editor.get(stage_url(case, "leading-metrics"))
    )
    assert "Sites ordering direct" in text_of(
        editor.get(stage_url(case, "lagging-metrics"))
    )
    assert LaggingMetric.objects.filter(case=case).count() == 1


# --- What the browser posts back: the edit form's own values ---------------------


class _FormReader(HTMLParser):
    """The fields of the form posting to `action`, read as a browser reads them."""

    def __init__(self, action: str):
        super().__init__(convert_charrefs=True)
        self.action, self.inside = action, False
        self.fields: list[tuple[str, str, str]] = []  # tag or input type, name, value
        self._select: str | None = None
        self._options: list[tuple[str, bool]] = []
        self._textarea: str | None = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "form":
            self.inside = self.action in (a.get("action"), a.get("hx-post"))
        if not self.inside:
            return
        if tag == "input" and a.get("name"):
            kind = a.get("type", "text")
            if kind in ("checkbox", "radio") and "checked" not in a:
                return
            if kind not in ("submit", "button"):
                self.fields.append((kind, a["name"], a.get("value") or ""))
        elif tag == "select":
            self._select, self._options = a.get("name"), []
        elif tag == "option" and self._select:
            self._options.append((a.get("value", ""), "selected" in a))
        elif tag == "textarea":
            self._textarea = a.get("name")
            self.fields.append(("textarea", self._textarea, ""))

    def handle_data(self, data):
        if self._textarea:
            kind, name, value = self.fields[-1]
            self.fields[-1] = (kind, name, value + data)

    def handle_endtag(self, tag):
        if tag == "form":
            self.inside = False
        elif tag == "select" and self._select:
            chosen = [v for v, selected in self._options if selected]
            value = chosen[0] if chosen else (self._options or [("", False)])[0][0]
            self.fields.append(("select", self._select, value))
            self._select = None
        elif tag == "textarea":
            self._textarea = None


def form_inputs(html: str, action: str) -> list[tuple[str, str, str]]:
    """(input type, name, value) of every field of the form, in order."""
    reader = _FormReader(action)
    reader.feed(html)
    assert reader.fields, f"no form posting to {action}"
    return reader.fields


# A browser sends a date input's value only if it is an ISO date; any other
# value (16/05/2028) it shows as empty and posts as "".
ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def browser_post_data(html: str, action: str, **changes) -> dict:
    """What the browser posts when the user changes only `changes` in the form
    as the page gave it: a date input's value only if the browser can read it."""
    data: dict[str, list[str]] = {}
    for kind, name, value in form_inputs(html, action):
        if kind == "date" and not ISO_DATE.fullmatch(value):
            value = ""
        data.setdefault(name, []).append(value)
    data.update({name: [value] for name, value in changes.items()})
    return data


def input_value(html: str, action: str, name: str) -> str:
    return next(v for _kind, n, v in form_inputs(html, action) if n == name)


METRIC_SLUGS = ["leading-metrics", "lagging-metrics"]
METRIC_FACTORY = {
    "leading-metrics": LeadingMetricFactory,
    "lagging-metrics": LaggingMetricFactory,
}


@pytest.mark.parametrize("slug", METRIC_SLUGS)
def test_the_edit_form_shows_a_saved_date_as_an_iso_date(slug, case, editor):
    metric = METRIC_FACTORY[slug](case=case, target_date=date(2028, 5, 16))
    url = item_url("item_edit", case, slug, metric)

    for headers in ({}, HTMX):
        html = text_of(editor.get(url, headers=headers))
        assert re.search(
            r'<input type="date" name="target_date" value="2028-05-16"', html
        ), html


@pytest.mark.parametrize("slug", METRIC_SLUGS)
def test_editing_another_field_of_a_metric_keeps_its_date(slug, case, editor):
    metric = METRIC_FACTORY[slug](case=case, target_date=date(2028, 5, 16))
    url = item_url("item_edit", case, slug, metric)
    html = text_of(editor.get(url, headers=HTMX))

    response = editor.post(
        url, browser_post_data(html, url, owner="Head of Logistics"), headers=HTMX
    )

    assert response.status_code == 200, errors_at(text_of(response), "target_date", url)
    metric.refresh_from_db()
    assert (metric.owner, metric.target_date) == (
        "Head of Logistics",
        date(2028, 5, 16),
    )
    feed = text_of(editor.get(reverse("cases:activity", args=[case.pk])))
    assert "target date" not in feed


def test_no_form_of_the_app_shows_a_date_the_browser_cannot_read(case, editor):
    """Every date input of every add and edit form, the settings and the decision
    page carries an ISO value (or none)."""
    from cases.models import Recommendation

    for slug in METRIC_SLUGS:
        METRIC_FACTORY[slug](case=case)
    Recommendation.objects.create(
        case=case, verdict="defer", defer_until=date(2028, 5, 16), rationale="Later."
    )
    pages = [stage_url(case, slug) for slug in SLUGS]
    pages += [
        item_url("item_edit", case, slug, BY_SLUG[slug].model.objects.get(case=case))
        for slug in METRIC_SLUGS
    ]
    pages += [reverse("cases:decision", args=[case.pk])]
    seen = 0
    for page in pages:
        for tag in re.findall(
            r'<input[^>]*type="date"[^>]*>', text_of(editor.get(page))
        ):
            seen += 1
            value = re.search(r'value="([^"]*)"', tag)
            assert value is None or ISO_DATE.fullmatch(value.group(1)), (page, tag)
    assert seen >= 5  # two add forms, two edit forms, the decision


def test_the_first_stage_names_its_items_models_to_change(case, editor):
    """Its list's heading is the items' plural, "Models to change", not the
    "Model to changes" Django makes of the singular."""
    page = text_of(editor.get(stage_url(case, "models")))
    heading = re.search(r'<h3 class="h5 mb-0" id="items-heading">([^<]*)<', page)
    assert heading and heading.group(1).strip() == "Models to change"
    assert "Model to changes" not in page
