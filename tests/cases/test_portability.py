"""Case files: export, import, and the round trip between them."""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from datetime import date
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from cases.models import (
    Benefit,
    BenefitYear,
    Case,
    ChangeItem,
    EcosystemParty,
    InactionCost,
    Investment,
    LaggingMetric,
    LeadingMetric,
    Membership,
    StageRecord,
)
from cases.portability import (
    CASE_FIELDS,
    ITEM_SPECS,
    CaseFormatError,
    export_case,
    import_case,
    import_case_file,
)
from cases.stages import STAGES
from ecosystem.models import Organisation, OrganisationKind
from tests.cases.portability_helpers import (
    as_file,
    assert_refused,
    delete_at,
    example,
    export_query_count,
    exported_text,
    row_counts,
    set_at,
)
from tests.factories import (
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
    SellerFactory,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def full_case(db):
    """A case with every stage filled: links, yearly rows, time, units, extras, and
    organisation names whose slugs collide."""
    client = ClientFactory(name="Harbour Building Supplies")
    seller = SellerFactory(name="Northwind Logistics Software")
    case = CaseFactory(
        title="Direct-to-site delivery",
        client=client,
        seller=seller,
        horizon_years=5,
        discount_rate=Decimal("0.0750"),
        status="in_review",
        extra={"crm": {"opportunity": "OPP-17", "weights": [1, 2.5]}},
    )
    unit = BusinessUnitFactory(name="Regional Operations", parent=client)
    partner = OrganisationFactory(name="Fast Freight", kind=OrganisationKind.PARTNER)
    partner_2 = OrganisationFactory(name="Fast-Freight", kind=OrganisationKind.PARTNER)
    named_client = OrganisationFactory(name="Client", kind=OrganisationKind.PARTNER)

    ModelChangeFactory(case=case, model="operating")
    ModelChangeFactory(case=case, model="economic", today="", future="", rationale="")
    ChangeItemFactory(case=case, leg="people", title="Train dispatchers", owner="")
    ChangeItemFactory(case=case, leg="technology", extra={"jira": "LOG-4"})
    for organisation in (unit, partner, partner_2, named_client):
        EcosystemPartyFactory(case=case, organisation=organisation)

    cost = LaggingMetricFactory(
        case=case, baseline=Decimal("41.5000"), target=Decimal("33.0000")
    )
    churn = LaggingMetricFactory(
        case=case,
        baseline=None,
        target=Decimal("0.0000"),
        target_date=None,
        frequency="",
        unit="",
    )
    direct = LeadingMetricFactory(
        case=case, baseline=Decimal("-2.2500"), target_date=date(2020, 1, 31)
    )
    direct.drives.set([cost, churn])
    LeadingMetricFactory(case=case)  # drives nothing

    benefit = BenefitFactory(case=case, metric=cost, description="Fewer trucks.")
    BenefitYearFactory(benefit=benefit, year=1)
    BenefitYearFactory(
        benefit=benefit,
        year=3,
        low=Decimal("0"),
        expected=Decimal("1250000.50"),
        high=Decimal("1250000.50"),
    )
    BenefitFactory(case=case, metric=None, category="strategic", extra={"note": "x"})

    InvestmentFactory(case=case, kind="opex", organisation=client, year=2)
    InvestmentFactory(
        case=case,
        kind="time",
        organisation=unit,
        year=0,
        amount=None,
        person_days=Decimal("45.50"),
        day_rate=Decimal("650"),
    )
    InvestmentFactory(case=case, kind="capex", organisation=seller, year=1)

    RiskOfActingFactory(case=case, leg="people")
    risk = RiskOfNotActingFactory(case=case)
    InactionCostFactory(risk=risk, year=2)
    InactionCostFactory(risk=risk, year=5, amount=Decimal("410000.25"))
    RiskOfNotActingFactory(case=case, description="")
    return case


# --- Export ---------------------------------------------------------------------


def test_export_writes_the_format(full_case):
    document = export_case(full_case)

    assert list(document) == [
        "format",
        "version",
        "case",
        "organisations",
        "stages",
        "decision",
    ]
    assert (document["format"], document["version"]) == ("nine-stage-business-case", 2)
    assert list(document["stages"]) == [stage.key for stage in STAGES]
    assert document["case"] == {
        "title": "Direct-to-site delivery",
        "idea": "Ship from the hub straight to building sites.",
        "currency": "EUR",
        "horizon_years": 5,
        "discount_rate": "0.075",
        "status": "in_review",
        "extra": {"crm": {"opportunity": "OPP-17", "weights": [1, 2.5]}},
    }


def test_export_writes_decimals_as_strings_and_missing_values_as_null(full_case):
    stages = export_case(full_case)["stages"]

    cost, churn = stages["lagging_metrics"]
    assert (cost["ref"], cost["baseline"], cost["target"]) == ("G1", "41.5", "33")
    assert (churn["ref"], churn["baseline"], churn["target"]) == ("G2", None, "0")
    assert (churn["target_date"], churn["frequency"], churn["unit"]) == (None, "", "")
    assert stages["leading_metrics"][0]["baseline"] == "-2.25"
    assert stages["leading_metrics"][0]["target_date"] == "2020-01-31"

    benefit = stages["benefits"][0]
    assert benefit["yearly"] == [
        {"year": 1, "low": "100000.00", "expected": "150000.00", "high": "200000.00"},
        {"year": 3, "low": "0.00", "expected": "1250000.50", "high": "1250000.50"},
    ]
    time = next(i for i in stages["investments"] if i["kind"] == "time")
    assert (time["amount"], time["person_days"], time["day_rate"]) == (
        None,
        "45.5",
        "650.00",
    )
    opex = next(i for i in stages["investments"] if i["kind"] == "opex")
    assert (opex["amount"], opex["person_days"], opex["day_rate"]) == (
        "90000.00",
        None,
        None,
    )


def test_export_numbers_refs_and_writes_links_as_refs(full_case):
    stages = export_case(full_case)["stages"]

    assert [m["ref"] for m in stages["leading_metrics"]] == ["L1", "L2"]
    assert [m["drives"] for m in stages["leading_metrics"]] == [["G1", "G2"], []]
    assert [b["metric"] for b in stages["benefits"]] == ["G1", None]
    # Investments come in the stage's order: by year.
    assert [(i["year"], i["organisation"]) for i in stages["investments"]] == [
        (0, "regional-operations"),
        (1, "seller"),
        (2, "client"),
    ]


def test_export_lists_the_organisations_the_case_names(full_case):
    OrganisationFactory(name="Unrelated Partner")
    BusinessUnitFactory(name="Unrelated unit", parent=full_case.client)

    organisations = export_case(full_case)["organisations"]

    assert organisations == [
        {"ref": "client", "name": "Harbour Building Supplies", "kind": "client"},
        {"ref": "seller", "name": "Northwind Logistics Software", "kind": "seller"},
        {
            "ref": "regional-operations",
            "name": "Regional Operations",
            "kind": "business_unit",
            "parent": "client",
        },
        {"ref": "fast-freight", "name": "Fast Freight", "kind": "partner"},
        {"ref": "fast-freight-2", "name": "Fast-Freight", "kind": "partner"},
        {"ref": "client-2", "name": "Client", "kind": "partner"},
    ]
    assert [
        e["organisation"] for e in export_case(full_case)["stages"]["ecosystem"]
    ] == [
        "regional-operations",
        "fast-freight",
        "fast-freight-2",
        "client-2",
    ]


def test_export_includes_a_business_units_parent_company(db):
    case = CaseFactory()
    partner = OrganisationFactory(name="Carrier Group")
    depot = BusinessUnitFactory(name="Depot", parent=partner)
    EcosystemPartyFactory(case=case, organisation=depot)

    refs = [(o["ref"], o.get("parent")) for o in export_case(case)["organisations"]]

    assert refs == [
        ("client", None),
        ("seller", None),
        ("carrier-group", None),
        ("depot", "carrier-group"),
    ]


def test_export_keeps_extra_only_where_there_is_some(full_case):
    stages = export_case(full_case)["stages"]

    assert [c.get("extra") for c in stages["changes"]] == [None, {"jira": "LOG-4"}]
    assert "extra" not in stages["models"][0]
    assert stages["benefits"][1]["extra"] == {"note": "x"}


def test_export_of_a_case_without_items_or_extra(db):
    document = export_case(CaseFactory())

    assert "extra" not in document["case"]
    assert document["stages"] == {stage.key: [] for stage in STAGES}
    assert [o["ref"] for o in document["organisations"]] == ["client", "seller"]


def test_every_item_field_is_in_the_format():
    """A field added to an item's model must be added to the file too, or every
    export would silently lose it."""
    internal = {
        "id",
        "case",
        "position",
        "created_at",
        "updated_at",
        "created_by",
        "updated_by",
        "extra",
        "version",  # the compare-and-swap counter: a new item starts again at 1
        "snapshot",  # the yearly rows or links again, for the history: derived
    }
    for stage in STAGES:
        meta = stage.model._meta
        model_fields = {f.name for f in (*meta.fields, *meta.many_to_many)} - internal
        assert model_fields == {f.name for f in ITEM_SPECS[stage.key].fields}, stage.key
        rows = ITEM_SPECS[stage.key].rows
        if rows:
            row_fields = {f.name for f in rows.model._meta.fields} - {"id", rows.parent}
            assert row_fields == {f.name for f in rows.fields}, rows.key


def test_every_case_field_is_in_the_format():
    written_elsewhere = {
        "id",
        "client",
        "seller",
        "created_by",
        "created_at",
        "updated_at",
        "revision",  # not the case's content: the page cache's counter
    }
    case_fields = {f.name for f in Case._meta.fields} - written_elsewhere
    assert case_fields == {*(f.name for f in CASE_FIELDS), "extra"}


# --- Round trip -----------------------------------------------------------------


def test_export_import_export_gives_the_same_document(full_case, user):
    first = exported_text(full_case)
    organisations_before = Organisation.objects.count()

    imported = import_case_file(io.BytesIO(first.encode()), user=user)

    assert imported.pk != full_case.pk
    assert exported_text(imported) == first
    # The same organisations, found by name and kind, not copies of them.
    assert Organisation.objects.count() == organisations_before


def test_round_trip_keeps_links_to_the_new_cases_own_items(full_case, user):
    imported = import_case_file(as_file(export_case(full_case)), user=user)

    new_cost = LaggingMetric.objects.get(case=imported, position=0)
    benefit = Benefit.objects.get(case=imported, position=0)
    leading = LeadingMetric.objects.get(case=imported, position=0)
    assert benefit.metric == new_cost
    assert set(leading.drives.all()) == set(LaggingMetric.objects.filter(case=imported))
    assert LaggingMetric.objects.filter(case=full_case).count() == 2  # untouched


# --- Import ---------------------------------------------------------------------


def test_the_spec_example_imports(user):
    case = import_case(example(), user=user)

    assert case.title == "Direct-to-site delivery for regional distribution"
    assert (case.currency, case.horizon_years, case.status) == ("EUR", 5, "draft")
    assert case.discount_rate == Decimal("0.08")
    assert case.client.name == "Harbour Building Supplies"
    assert case.seller.name == "Northwind Logistics Software"
    membership = Membership.objects.get(case=case)
    assert (membership.user, membership.role, membership.side) == (
        user,
        "facilitator",
        "seller",
    )

    party = EcosystemParty.objects.get(case=case)
    assert party.organisation.name == "Regional Operations"
    assert party.organisation.parent == case.client
    lagging = LaggingMetric.objects.get(case=case)
    assert lagging.baseline == Decimal("41.5")
    assert list(LeadingMetric.objects.get(case=case).drives.all()) == [lagging]
    benefit = Benefit.objects.get(case=case)
    assert benefit.metric == lagging
    assert benefit.created_by == user
    assert [(y.year, y.low, y.expected, y.high) for y in benefit.yearly.all()] == [
        (1, Decimal("150000"), Decimal("240000"), Decimal("310000"))
    ]
    time = Investment.objects.get(case=case, kind="time")
    assert time.value == Decimal("29250")
    assert InactionCost.objects.get(risk__case=case).amount == Decimal("300000")


def test_import_sets_every_stage_in_progress(user):
    case = import_case(example(), user=user)

    statuses = dict(
        StageRecord.objects.filter(case=case).values_list("stage", "status")
    )
    assert statuses == {stage.slug: "in_progress" for stage in STAGES}


def test_import_leaves_stages_without_items_empty(user):
    document = example()
    del document["stages"]["risks_of_acting"]
    document["stages"]["models"] = []

    case = import_case(document, user=user)

    statuses = dict(
        StageRecord.objects.filter(case=case).values_list("stage", "status")
    )
    assert statuses["risks-of-acting"] == statuses["models"] == "empty"
    assert statuses["changes"] == "in_progress"


def test_import_keeps_the_files_order(user):
    document = example()
    changes = document["stages"]["changes"]
    changes.append({**changes[0], "title": "Second"})
    changes.append({**changes[0], "title": "Third"})

    case = import_case(document, user=user)

    titles = [i.title for i in STAGES[1].items(case)]
    assert titles == ["Plan routes per site", "Second", "Third"]


def test_import_reuses_organisations_by_name_ignoring_case(user):
    client = ClientFactory(name="Harbour Building Supplies")
    document = example()
    document["organisations"][0]["name"] = "HARBOUR building supplies"

    first = import_case(document, user=user)
    count = Organisation.objects.count()
    second = import_case(document, user=user)

    assert first.client == second.client == client
    assert Organisation.objects.count() == count
    assert first.pk != second.pk


def test_import_accepts_json_numbers_for_decimals(user):
    document = example()
    document["stages"]["benefits"][0]["yearly"][0].update(
        low=150000, expected=240000.5, high="310000.75"
    )
    document["case"]["discount_rate"] = 0.1

    case = import_case_file(io.BytesIO(json.dumps(document).encode()), user=user)

    row = BenefitYear.objects.get(benefit__case=case)
    assert (row.low, row.expected, row.high) == (
        Decimal("150000"),
        Decimal("240000.50"),
        Decimal("310000.75"),
    )
    assert Case.objects.get(pk=case.pk).discount_rate == Decimal("0.1")


def test_import_allows_target_dates_in_the_past(user):
    document = example()
    document["stages"]["leading_metrics"][0]["target_date"] = "2019-03-31"

    case = import_case(document, user=user)

    assert LeadingMetric.objects.get(case=case).target_date == date(2019, 3, 31)


def test_import_fills_optional_fields_left_out(user):
    document = example()
    document["stages"]["lagging_metrics"][0] = {"ref": "G1", "name": "Cost to serve"}
    document["stages"]["ecosystem"][0] = {
        "organisation": "fastfreight",
        "role": "Carrier",
    }

    case = import_case(document, user=user)

    metric = LaggingMetric.objects.get(case=case)
    assert (metric.unit, metric.baseline, metric.target_date) == ("", None, None)
    assert EcosystemParty.objects.get(case=case).commitment == "to_confirm"


def test_import_keeps_extra_objects_as_they_are(user):
    document = example()
    document["case"]["extra"] = {"crm": {"id": "OPP-17", "stage": 3, "score": 0.75}}
    document["stages"]["changes"][0]["extra"] = {"tags": ["pilot", None, True]}
    text = json.dumps(document)

    case = import_case_file(io.BytesIO(text.encode()), user=user)

    assert Case.objects.get(pk=case.pk).extra == {
        "crm": {"id": "OPP-17", "stage": 3, "score": 0.75}
    }
    assert ChangeItem.objects.get(case=case).extra == {"tags": ["pilot", None, True]}


def test_import_without_a_user_makes_a_case_without_members():
    case = import_case(example(), user=None)

    assert not Membership.objects.filter(case=case).exists()
    assert Benefit.objects.get(case=case).created_by is None


def test_import_accepts_a_utf8_byte_order_mark(user):
    data = b"\xef\xbb\xbf" + json.dumps(example(), ensure_ascii=False).encode()

    case = import_case_file(io.BytesIO(data), user=user)

    assert case.title == "Direct-to-site delivery for regional distribution"


# --- Refused files: the error names the path, and nothing is saved ---------------


def _add_organisation(organisation: dict) -> Callable[[dict], None]:
    return lambda document: document["organisations"].append(organisation)


def _second_lagging_metric(document: dict) -> None:
    metrics = document["stages"]["lagging_metrics"]
    metrics.append({**metrics[0], "name": "Another"})


def _second_year(document: dict) -> None:
    yearly = document["stages"]["benefits"][0]["yearly"]
    yearly.append(dict(yearly[0]))


def _second_operating_model(document: dict) -> None:
    models = document["stages"]["models"]
    models.append(dict(models[0]))


BAD_DOCUMENTS = {
    "unknown top-level key": (set_at(["colour"], "blue"), "colour", "unknown key"),
    "unknown case key": (set_at(["case", "budget"], 1), "case.budget", "unknown key"),
    "unknown item key": (
        set_at(["stages", "changes", 0, "titel"], "x"),
        "stages.changes[0].titel",
        "unknown key",
    ),
    "unknown yearly key": (
        set_at(["stages", "benefits", 0, "yearly", 0, "median"], "1"),
        "stages.benefits[0].yearly[0].median",
        "unknown key",
    ),
    "unknown stage": (
        set_at(["stages", "risks"], []),
        "stages.risks",
        "is not a stage",
    ),
    "bad choice": (
        set_at(["stages", "changes", 0, "leg"], "finance"),
        "stages.changes[0].leg",
        "not a valid choice",
    ),
    "bad case status": (
        set_at(["case", "status"], "finished"),
        "case.status",
        "not a valid choice",
    ),
    "bad organisation kind": (
        set_at(["organisations", 3, "kind"], "supplier"),
        "organisations[3].kind",
        "not a valid choice",
    ),
    "likelihood 7": (
        set_at(["stages", "risks_of_acting", 0, "likelihood"], 7),
        "stages.risks_of_acting[0].likelihood",
        "1 to 5",
    ),
    "impact 0": (
        set_at(["stages", "risks_of_not_acting", 0, "impact"], 0),
        "stages.risks_of_not_acting[0].impact",
        "1 to 5",
    ),
    "low above expected": (
        set_at(["stages", "benefits", 0, "yearly", 0, "low"], "250000"),
        "stages.benefits[0].yearly[0].low",
        "Low cannot be more than expected",
    ),
    "expected above high": (
        set_at(["stages", "benefits", 0, "yearly", 0, "expected"], "320000"),
        "stages.benefits[0].yearly[0].high",
        "High cannot be less than expected",
    ),
    "negative benefit": (
        set_at(["stages", "benefits", 0, "yearly", 0, "low"], "-1"),
        "stages.benefits[0].yearly[0].low",
        "0 or more",
    ),
    "negative amount": (
        set_at(["stages", "investments", 0, "amount"], "-90000"),
        "stages.investments[0].amount",
        "0 or more",
    ),
    "negative inaction cost": (
        set_at(["stages", "risks_of_not_acting", 0, "yearly_cost", 0, "amount"], -5),
        "stages.risks_of_not_acting[0].yearly_cost[0].amount",
        "0 or more",
    ),
    "too many decimal places": (
        set_at(["stages", "investments", 0, "amount"], "90000.125"),
        "stages.investments[0].amount",
        "2 decimal places",
    ),
    "investment year beyond horizon": (
        set_at(["stages", "investments", 0, "year"], 6),
        "stages.investments[0].year",
        "beyond the case's horizon of 5 years",
    ),
    "benefit year beyond horizon": (
        set_at(["stages", "benefits", 0, "yearly", 0, "year"], 9),
        "stages.benefits[0].yearly[0].year",
        "beyond the case's horizon",
    ),
    "inaction year beyond horizon": (
        set_at(["stages", "risks_of_not_acting", 0, "yearly_cost", 0, "year"], 6),
        "stages.risks_of_not_acting[0].yearly_cost[0].year",
        "beyond the case's horizon",
    ),
    "negative year": (
        set_at(["stages", "investments", 0, "year"], -1),
        "stages.investments[0].year",
        "before the decision",
    ),
    "two ranges for one year": (
        _second_year,
        "stages.benefits[0].yearly[1].year",
        "year 1 is given twice",
    ),
    "time with an amount": (
        set_at(["stages", "investments", 1, "amount"], "1000"),
        "stages.investments[1].amount",
        "leave the amount empty",
    ),
    "time without a day rate": (
        delete_at(["stages", "investments", 1, "day_rate"]),
        "stages.investments[1].day_rate",
        "day rate",
    ),
    "cash without an amount": (
        delete_at(["stages", "investments", 0, "amount"]),
        "stages.investments[0].amount",
        "Give the amount",
    ),
    "unknown currency": (
        set_at(["case", "currency"], "XYZ"),
        "case.currency",
        "ISO 4217",
    ),
    "horizon of 11 years": (
        set_at(["case", "horizon_years"], 11),
        "case.horizon_years",
        "at most 10",
    ),
    "discount rate above 1": (
        set_at(["case", "discount_rate"], "1.5"),
        "case.discount_rate",
        "at most 1",
    ),
    "unresolved metric ref": (
        set_at(["stages", "benefits", 0, "metric"], "G9"),
        "stages.benefits[0].metric",
        'no lagging metric with ref "G9"',
    ),
    "unresolved drives ref": (
        set_at(["stages", "leading_metrics", 0, "drives"], ["G1", "G2"]),
        "stages.leading_metrics[0].drives[1]",
        'no lagging metric with ref "G2"',
    ),
    "leading metric named as lagging": (
        set_at(["stages", "benefits", 0, "metric"], "L1"),
        "stages.benefits[0].metric",
        'no lagging metric with ref "L1"',
    ),
    "unresolved organisation ref": (
        set_at(["stages", "investments", 0, "organisation"], "acme"),
        "stages.investments[0].organisation",
        'no organisation with ref "acme"',
    ),
    "duplicate metric ref": (
        _second_lagging_metric,
        "stages.lagging_metrics[1].ref",
        'duplicate ref "G1"',
    ),
    "duplicate organisation ref": (
        set_at(["organisations", 3, "ref"], "ops"),
        "organisations[3].ref",
        'duplicate ref "ops"',
    ),
    "same organisation twice": (
        _add_organisation({"ref": "ff2", "name": "fastfreight LTD", "kind": "partner"}),
        "organisations[4].name",
        "same organisation as organisations[3]",
    ),
    "two clients": (
        _add_organisation({"ref": "other", "name": "Other Client", "kind": "client"}),
        "organisations[4].kind",
        "a case has one client",
    ),
    "no seller": (
        set_at(["organisations", 1, "kind"], "partner"),
        "organisations",
        'needs one organisation of kind "seller"',
    ),
    "business unit without parent": (
        delete_at(["organisations", 2, "parent"]),
        "organisations[2].parent",
        "is required for a business unit",
    ),
    "business unit of an unknown company": (
        set_at(["organisations", 2, "parent"], "head-office"),
        "organisations[2].parent",
        'no organisation with ref "head-office"',
    ),
    "partner with a parent": (
        set_at(["organisations", 3, "parent"], "client"),
        "organisations[3].parent",
        "only a business unit has a parent",
    ),
    "same model twice": (
        _second_operating_model,
        "stages.models[1]",
        "already describes that model",
    ),
    "missing title": (
        delete_at(["stages", "changes", 0, "title"]),
        "stages.changes[0].title",
        "is required",
    ),
    "missing case title": (delete_at(["case", "title"]), "case.title", "is required"),
    "missing yearly amount": (
        delete_at(["stages", "benefits", 0, "yearly", 0, "high"]),
        "stages.benefits[0].yearly[0].high",
        "is required",
    ),
    "missing organisations": (
        delete_at(["organisations"]),
        "organisations",
        "is required",
    ),
    "empty required text": (
        set_at(["stages", "changes", 0, "title"], ""),
        "stages.changes[0].title",
        "cannot be blank",
    ),
    "number as string": (
        set_at(["case", "horizon_years"], "5"),
        "case.horizon_years",
        'must be a whole number, not the string "5"',
    ),
    "fraction as likelihood": (
        set_at(["stages", "risks_of_acting", 0, "likelihood"], 3.5),
        "stages.risks_of_acting[0].likelihood",
        "must be a whole number",
    ),
    "boolean as number": (
        set_at(["stages", "risks_of_acting", 0, "impact"], True),
        "stages.risks_of_acting[0].impact",
        "must be a whole number, not true",
    ),
    "boolean as amount": (
        set_at(["stages", "investments", 0, "amount"], False),
        "stages.investments[0].amount",
        "must be a number or a decimal string",
    ),
    "words as amount": (
        set_at(["stages", "investments", 0, "amount"], "ninety thousand"),
        "stages.investments[0].amount",
        "must be a number or a decimal string",
    ),
    "number as text": (
        set_at(["stages", "changes", 0, "title"], 12),
        "stages.changes[0].title",
        "must be a string, not the number 12",
    ),
    "null as required text": (
        set_at(["stages", "changes", 0, "leg"], None),
        "stages.changes[0].leg",
        "must be a string, not null",
    ),
    "not a date": (
        set_at(["stages", "lagging_metrics", 0, "target_date"], "31/12/2029"),
        "stages.lagging_metrics[0].target_date",
        'must be a date such as "2027-06-30"',
    ),
    "date not in the calendar": (
        set_at(["stages", "lagging_metrics", 0, "target_date"], "2029-02-30"),
        "stages.lagging_metrics[0].target_date",
        "not a date in the calendar",
    ),
    "drives not a list": (
        set_at(["stages", "leading_metrics", 0, "drives"], "G1"),
        "stages.leading_metrics[0].drives",
        "must be a list",
    ),
    "stage not a list": (
        set_at(["stages", "benefits"], {"title": "x"}),
        "stages.benefits",
        "must be a list",
    ),
    "item not an object": (
        set_at(["stages", "changes", 0], "Plan routes"),
        "stages.changes[0]",
        "must be an object",
    ),
    "extra not an object": (
        set_at(["stages", "changes", 0, "extra"], ["a"]),
        "stages.changes[0].extra",
        "must be an object",
    ),
    "wrong format": (
        set_at(["format"], "business-case"),
        "format",
        'must be "nine-stage-business-case"',
    ),
    "missing format": (delete_at(["format"]), "format", "it is missing"),
    "version 3": (
        set_at(["version"], 3),
        "version",
        "version 3 is not supported (this product reads 1, 2)",
    ),
    "version 0": (set_at(["version"], 0), "version", "version 0 is not supported"),
    "version as string": (
        set_at(["version"], "1"),
        "version",
        "must be a whole number",
    ),
    "missing version": (delete_at(["version"]), "version", "is required"),
    "too-long title": (
        set_at(["stages", "changes", 0, "title"], "x" * 201),
        "stages.changes[0].title",
        "at most 200 characters",
    ),
    "too-long text": (
        set_at(["stages", "models", 0, "rationale"], "x" * 4001),
        "stages.models[0].rationale",
        "at most 4000 characters",
    ),
    "too-long case idea": (
        set_at(["case", "idea"], "x" * 4001),
        "case.idea",
        "at most 4000",
    ),
    "too-long organisation name": (
        set_at(["organisations", 3, "name"], "x" * 201),
        "organisations[3].name",
        "at most 200 characters",
    ),
    "NUL character": (
        set_at(["stages", "changes", 0, "owner"], "Head\x00of Logistics"),
        "stages.changes[0].owner",
        "NUL",
    ),
    "NUL character in extra": (
        set_at(["case", "extra"], {"note": ["ok", "bad\x00"]}),
        "case.extra.note[1]",
        "NUL",
    ),
}


@pytest.mark.parametrize("name", BAD_DOCUMENTS)
def test_bad_document_is_refused_with_its_path_and_nothing_is_saved(name, user):
    assert_refused(example(), *BAD_DOCUMENTS[name], user=user)


def test_an_error_in_the_last_stage_undoes_everything_before_it(user):
    """All or nothing: organisations, the case and eight stages' items were saved
    before the bad row was reached, and none of them remain."""
    document = example()
    document["organisations"].append(
        {"ref": "new", "name": "Brand New Partner", "kind": "partner"}
    )
    document["stages"]["risks_of_not_acting"][0]["yearly_cost"][0]["amount"] = "-1"
    before = row_counts()

    with pytest.raises(CaseFormatError, match=r"^stages\.risks_of_not_acting\[0\]"):
        import_case(document, user=user)

    assert row_counts() == before
    assert not Organisation.objects.filter(name="Brand New Partner").exists()


def test_a_top_level_array_is_refused(user):
    with pytest.raises(
        CaseFormatError, match=r"^file: must be a JSON object, not a list"
    ):
        import_case_file(as_file([example()]), user=user)


# --- Refused files: the bytes themselves --------------------------------------------


BAD_FILES = {
    "invalid JSON": (
        b'{\n  "format": "nine-stage-business-case",\n  "version": 1,,\n}',
        "is not valid JSON: Expecting property name enclosed in double quotes at line 3, column 16",
    ),
    "truncated JSON": (
        b'{"format": "nine-stage',
        "is not valid JSON: Unterminated string",
    ),
    "empty file": (b"", "is not valid JSON: Expecting value at line 1, column 1"),
    "not UTF-8": (
        '{"case": {"title": "Café"}}'.encode("latin-1"),
        "is not UTF-8 text (byte 0xe9",
    ),
    "NaN": (b'{"version": NaN}', "NaN is not a number JSON allows"),
    "duplicate key": (
        b'{"format": "nine-stage-business-case", "format": "other"}',
        'the key "format" appears twice in one object',
    ),
}


@pytest.mark.parametrize("name", BAD_FILES)
def test_bad_file_is_refused_and_nothing_is_saved(name, user):
    data, message = BAD_FILES[name]
    before = row_counts()

    with pytest.raises(CaseFormatError) as caught:
        import_case_file(io.BytesIO(data), user=user)

    assert caught.value.path == "file"
    assert message in caught.value.message
    assert row_counts() == before


def test_a_lone_surrogate_escape_is_refused_with_its_path(user):
    text = json.dumps(example()).replace("Plan routes per site", "Plan \\ud800 routes")
    before = row_counts()

    with pytest.raises(CaseFormatError) as caught:
        import_case_file(io.BytesIO(text.encode()), user=user)

    assert caught.value.path == "stages.changes[0].title"
    assert "lone surrogate" in caught.value.message
    assert row_counts() == before


def test_a_file_above_the_size_limit_is_refused(user, settings):
    data = json.dumps(example()).encode()
    settings.CASE_FILE_MAX_BYTES = len(data) - 1
    before = row_counts()

    with pytest.raises(CaseFormatError, match=r"^file: is larger than the limit of"):
        import_case_file(io.BytesIO(data), user=user)

    assert row_counts() == before


def test_a_file_at_the_size_limit_is_accepted(user, settings):
    data = json.dumps(example()).encode()
    settings.CASE_FILE_MAX_BYTES = len(data)

    assert import_case_file(io.BytesIO(data), user=user).pk


def test_export_costs_the_same_queries_however_many_items(full_case):
    before = export_query_count(full_case)
    for _ in range(3):
        benefit = BenefitFactory(case=full_case)
        BenefitYearFactory(benefit=benefit)
        LeadingMetricFactory(case=full_case).drives.set(
            LaggingMetric.objects.filter(case=full_case)
        )
        unit = BusinessUnitFactory(parent=OrganisationFactory())
        EcosystemPartyFactory(case=full_case, organisation=unit)
        InvestmentFactory(case=full_case, organisation=unit)

    assert export_query_count(full_case) == before


# --- Through the web pages ------------------------------------------------------------


def _upload(document_bytes: bytes) -> SimpleUploadedFile:
    return SimpleUploadedFile(
        "case.json", document_bytes, content_type="application/json"
    )


def test_uploading_a_case_file_opens_the_new_case(client, user):
    client.force_login(user)

    response = client.post(
        reverse("cases:import"), {"file": _upload(json.dumps(example()).encode())}
    )

    case = Case.objects.get(title="Direct-to-site delivery for regional distribution")
    assert response.status_code == 302
    assert response["Location"] == case.get_absolute_url()
    assert Membership.objects.get(case=case).user == user


def test_uploading_a_bad_file_shows_the_path_and_saves_nothing(client, user):
    client.force_login(user)
    document = example()
    document["stages"]["risks_of_acting"][0]["likelihood"] = 7
    before = row_counts()

    response = client.post(
        reverse("cases:import"), {"file": _upload(json.dumps(document).encode())}
    )

    assert response.status_code == 200
    assert "stages.risks_of_acting[0].likelihood: Use a whole number from 1 to 5." in (
        response.content.decode()
    )
    assert row_counts() == before


def test_the_download_is_the_export(client, full_case, user):
    MembershipFactory(case=full_case, user=user)
    client.force_login(user)

    response = client.get(reverse("cases:export", args=[full_case.pk]))

    assert json.loads(response.content) == export_case(full_case)
