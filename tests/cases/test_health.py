"""Case health, rule by rule.

Each test starts from a case with no weak spot at all, opens one weakness,
checks its code is reported (with a message and a link to the stage where it
is fixed), then fixes it and checks the code is gone.
"""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.urls import reverse

from cases import figures, health
from cases.models import (
    Benefit,
    Case,
    ChangeItem,
    Commitment,
    EcosystemParty,
    InactionCost,
    Investment,
    InvestmentKind,
    LaggingMetric,
    LeadingMetric,
    Leg,
    RiskOfActing,
    RiskOfNotActing,
    Role,
    Side,
)
from cases.stages import BY_KEY, STAGES

from ..factories import (
    BenefitFactory,
    BenefitYearFactory,
    BusinessUnitFactory,
    CaseFactory,
    ChangeItemFactory,
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
)

D = Decimal


def issues(case: Case) -> list[dict]:
    fresh = Case.objects.get(pk=case.pk)
    found = health.check(fresh, figures.compute(fresh))
    for issue in found:  # every check a rule test opens has its label in words
        assert issue.code in health.LABELS, issue.code
        assert issue.label == health.LABELS[issue.code]
    return [i.as_dict(fresh) for i in found]


def codes(case: Case) -> list[str]:
    return [i["code"] for i in issues(case)]


def only(case: Case, code: str) -> list[dict]:
    return [i for i in issues(case) if i["code"] == code]


def stage_url(case: Case, key: str) -> str:
    return reverse("cases:stage", args=[case.pk, BY_KEY[key].slug])


@pytest.fixture
def sound(db) -> Case:
    """A case with no weak spot: every stage filled, changes on all three legs,
    an external partner committed, complete metrics that drive each other, a
    benefit proved by a metric, cash and time invested, a risk with a mitigation
    and an owner, a cost of not acting, and a payback within the horizon."""
    case = CaseFactory(horizon_years=3, discount_rate=D("0.10"))
    ModelChangeFactory(case=case)
    for leg in (Leg.PEOPLE, Leg.PROCESS, Leg.TECHNOLOGY):
        ChangeItemFactory(case=case, leg=leg)
    EcosystemPartyFactory(case=case, organisation=OrganisationFactory(name="Carrier"))
    lagging = LaggingMetricFactory(case=case, name="Cost per delivery")
    leading = LeadingMetricFactory(case=case, name="Sites ordering direct")
    leading.drives.add(lagging)
    benefit = BenefitFactory(case=case, metric=lagging, title="Fewer trucks")
    for year in (1, 2, 3):
        BenefitYearFactory(
            benefit=benefit,
            year=year,
            low=D("40000"),
            expected=D("50000"),
            high=D("60000"),
        )
    InvestmentFactory(case=case, kind=InvestmentKind.CAPEX, year=0, amount=D("80000"))
    InvestmentFactory(
        case=case,
        kind=InvestmentKind.TIME,
        year=1,
        amount=None,
        person_days=D("10"),
        day_rate=D("700"),
    )
    RiskOfActingFactory(case=case, mitigation="Train early.", owner="HR")
    InactionCostFactory(risk=RiskOfNotActingFactory(case=case), year=2)
    return case


def test_each_check_has_a_label_in_plain_words():
    """The PDF's appendix shows the label to executives, never the code."""
    for code, label in health.LABELS.items():
        assert label[0].isupper(), code
        assert "_" not in label, code
    assert health.HealthIssue("not_a_check", "Message").label == "Weak spot"


def test_a_sound_case_has_no_weak_spot(sound):
    assert issues(sound) == []


def test_an_empty_case_reports_each_empty_stage_and_no_risk_of_not_acting(db):
    case = CaseFactory()

    found = issues(case)

    empty = [i["stage"] for i in found if i["code"] == "empty_stage"]
    assert empty == [s.slug for s in STAGES if s.key != "risks_of_not_acting"]
    assert [i["code"] for i in found if i["code"] != "empty_stage"] == [
        "no_risk_of_not_acting"
    ]


# --- empty_stage --------------------------------------------------------------


@pytest.mark.parametrize(
    "stage", [s for s in STAGES if s.key != "risks_of_not_acting"], ids=str
)
def test_empty_stage(sound, stage):
    stage.model.objects.filter(case=sound).delete()

    assert {
        "code": "empty_stage",
        "message": f"Stage {stage.number}, {stage.title}, is empty.",
        "stage": stage.slug,
        "url": f"/cases/{sound.pk}/stages/{stage.slug}/",
    } in issues(sound)
    assert len(only(sound, "empty_stage")) == 1


def test_an_empty_stage_nine_is_reported_as_no_risk_of_not_acting(sound):
    RiskOfNotActing.objects.filter(case=sound).delete()

    found = issues(sound)

    assert "empty_stage" not in [i["code"] for i in found]
    assert {
        "code": "no_risk_of_not_acting",
        "message": "No risk of not acting is recorded: what does doing nothing cost?",
        "stage": "risks-of-not-acting",
        "url": stage_url(sound, "risks_of_not_acting"),
    } in found

    InactionCostFactory(risk=RiskOfNotActingFactory(case=sound), year=1)
    assert "no_risk_of_not_acting" not in codes(sound)


# --- stage 2: the three legs ----------------------------------------------------


def test_change_on_one_leg(sound):
    ChangeItem.objects.filter(case=sound).update(leg=Leg.PEOPLE)

    [issue] = only(sound, "change_on_one_leg")
    assert issue["message"].startswith("Every change is about people:")
    assert issue["url"] == stage_url(sound, "changes")

    ChangeItemFactory(case=sound, leg=Leg.PROCESS)
    assert "change_on_one_leg" not in codes(sound)


def test_only_technology_is_one_leg_not_technology_heavy(sound):
    ChangeItem.objects.filter(case=sound).update(leg=Leg.TECHNOLOGY)

    found = codes(sound)

    assert "change_on_one_leg" in found
    assert "technology_heavy" not in found


def test_technology_heavy_above_sixty_percent(sound):
    # 3 technology of 4 changes = 75 %
    ChangeItemFactory(case=sound, leg=Leg.TECHNOLOGY)
    ChangeItem.objects.filter(case=sound, leg=Leg.PROCESS).update(leg=Leg.TECHNOLOGY)

    [issue] = only(sound, "technology_heavy")
    assert issue["message"].startswith("75% of the changes are technology")
    assert issue["url"] == stage_url(sound, "changes")

    # 3 technology of 5 = 60 %: not above the limit
    ChangeItemFactory(case=sound, leg=Leg.PROCESS)
    assert "technology_heavy" not in codes(sound)


def test_technology_heavy_two_of_three(sound):
    ChangeItem.objects.filter(case=sound, leg=Leg.PEOPLE).update(leg=Leg.TECHNOLOGY)

    [issue] = only(sound, "technology_heavy")
    assert issue["message"].startswith("67% of the changes")


# --- stage 3: the ecosystem ------------------------------------------------------


def test_no_external_company(sound):
    EcosystemParty.objects.filter(case=sound).delete()
    EcosystemPartyFactory(
        case=sound, organisation=BusinessUnitFactory(parent=sound.client)
    )

    [issue] = only(sound, "no_external_company")
    assert issue["url"] == stage_url(sound, "ecosystem")

    EcosystemPartyFactory(case=sound, organisation=sound.seller)
    assert "no_external_company" not in codes(sound)


@pytest.mark.parametrize(
    ("commitment", "wording"),
    [
        (Commitment.TO_CONFIRM, "still to confirm their commitment"),
        (Commitment.DECLINED, "declined to take part"),
    ],
)
def test_party_not_committed(sound, commitment, wording):
    code = f"party_{commitment}"
    EcosystemParty.objects.filter(case=sound).update(commitment=commitment)

    [issue] = only(sound, code)
    assert issue["message"] == f"1 party has {wording}: “Carrier”."
    assert issue["url"] == stage_url(sound, "ecosystem")

    EcosystemPartyFactory(
        case=sound,
        organisation=OrganisationFactory(name="Crane hire"),
        commitment=commitment,
    )
    [issue] = only(sound, code)
    assert issue["message"] == f"2 parties have {wording}: “Carrier”, “Crane hire”."

    EcosystemParty.objects.filter(case=sound).update(commitment=Commitment.LIKELY)
    assert code not in codes(sound)


# --- stages 4 and 5: metrics ------------------------------------------------------


@pytest.mark.parametrize(
    ("model", "key", "name"),
    [
        (LeadingMetric, "leading_metrics", "Sites ordering direct"),
        (LaggingMetric, "lagging_metrics", "Cost per delivery"),
    ],
)
@pytest.mark.parametrize(
    ("field", "empty"), [("baseline", None), ("target", None), ("owner", "")]
)
def test_metric_incomplete(sound, model, key, name, field, empty):
    original = model.objects.filter(case=sound).values_list(field, flat=True).get()
    model.objects.filter(case=sound).update(**{field: empty})

    [issue] = only(sound, "metric_incomplete")
    assert issue["message"] == f"The metric “{name}” has no {field}."
    assert issue["url"] == stage_url(sound, key)

    model.objects.filter(case=sound).update(**{field: original})
    assert "metric_incomplete" not in codes(sound)


def test_metric_missing_everything_says_so_in_one_issue(sound):
    LaggingMetric.objects.filter(case=sound).update(
        baseline=None, target=None, owner=""
    )

    [issue] = only(sound, "metric_incomplete")
    assert issue["message"] == (
        "The metric “Cost per delivery” has no baseline, no target, no owner."
    )


def test_a_baseline_of_zero_is_a_baseline(sound):
    LeadingMetric.objects.filter(case=sound).update(baseline=D("0"))

    assert "metric_incomplete" not in codes(sound)


def test_lagging_without_leading(sound):
    LeadingMetric.objects.get(case=sound).drives.clear()

    [issue] = only(sound, "lagging_without_leading")
    assert "“Cost per delivery”" in issue["message"]
    assert issue["url"] == stage_url(sound, "leading_metrics")

    LeadingMetric.objects.get(case=sound).drives.add(LaggingMetric.objects.get())
    assert "lagging_without_leading" not in codes(sound)


# --- stage 6: benefits ------------------------------------------------------------


def test_benefit_without_metric(sound):
    Benefit.objects.filter(case=sound).update(metric=None)

    [issue] = only(sound, "benefit_without_metric")
    assert "“Fewer trucks”" in issue["message"]
    assert issue["url"] == stage_url(sound, "benefits")

    Benefit.objects.filter(case=sound).update(metric=LaggingMetric.objects.get())
    assert "benefit_without_metric" not in codes(sound)


def test_wide_range_high_confidence(sound):
    # high 3 x 60,000 = 180,000 against low 3 x 40,000 = 120,000: not wide yet
    Benefit.objects.filter(case=sound).update(confidence="high")
    assert "wide_range_high_confidence" not in codes(sound)

    # low 3 x 29,000 = 87,000; 2 x 87,000 = 174,000 < 180,000: too wide for "high"
    Benefit.objects.get(case=sound).yearly.update(low=D("29000"))
    [issue] = only(sound, "wide_range_high_confidence")
    assert issue["message"].startswith("“Fewer trucks” is marked high confidence")
    assert issue["url"] == stage_url(sound, "benefits")

    # exactly twice (2 x 90,000 = 180,000) is not more than twice
    Benefit.objects.get(case=sound).yearly.update(low=D("30000"))
    assert "wide_range_high_confidence" not in codes(sound)

    # as wide as before, but with medium confidence: honest
    Benefit.objects.get(case=sound).yearly.update(low=D("1000"))
    assert "wide_range_high_confidence" in codes(sound)
    Benefit.objects.filter(case=sound).update(confidence="medium")
    assert "wide_range_high_confidence" not in codes(sound)


def test_no_quantified_benefits(sound):
    Benefit.objects.get(case=sound).yearly.all().delete()

    [issue] = only(sound, "no_quantified_benefits")
    assert issue["url"] == stage_url(sound, "benefits")

    BenefitYearFactory(
        benefit=Benefit.objects.get(), year=1, low=0, expected=0, high=D("1")
    )
    assert "no_quantified_benefits" not in codes(sound)


def test_no_benefits_at_all_is_an_empty_stage_not_unquantified(sound):
    Benefit.objects.filter(case=sound).delete()

    found = codes(sound)

    assert "no_quantified_benefits" not in found
    assert "empty_stage" in found


# --- stage 7: investments -----------------------------------------------------------


def test_no_time_invested(sound):
    Investment.objects.filter(case=sound, kind=InvestmentKind.TIME).delete()

    [issue] = only(sound, "no_time_invested")
    assert issue["url"] == stage_url(sound, "investments")

    InvestmentFactory(
        case=sound,
        kind=InvestmentKind.TIME,
        year=0,
        amount=None,
        person_days=D("1"),
        day_rate=D("500"),
    )
    assert "no_time_invested" not in codes(sound)


# --- stages 8 and 9: risks ------------------------------------------------------------


@pytest.mark.parametrize(
    "missing", [{"mitigation": ""}, {"owner": ""}, {"mitigation": "   "}]
)
def test_risk_without_mitigation_or_owner(sound, missing):
    RiskOfActing.objects.filter(case=sound).update(title="Drivers resist", **missing)

    [issue] = only(sound, "risk_without_mitigation_or_owner")
    assert issue["message"] == (
        "1 risk of acting has no mitigation or no owner: “Drivers resist”."
    )
    assert issue["url"] == stage_url(sound, "risks_of_acting")

    RiskOfActing.objects.filter(case=sound).update(mitigation="Ride along.", owner="HR")
    assert "risk_without_mitigation_or_owner" not in codes(sound)


def test_no_risk_of_not_acting_when_the_stage_is_empty(sound):
    InactionCost.objects.filter(risk__case=sound).delete()
    assert "no_risk_of_not_acting" not in codes(sound)  # a risk without cost counts

    RiskOfNotActing.objects.filter(case=sound).delete()
    assert "no_risk_of_not_acting" in codes(sound)


# --- payback ---------------------------------------------------------------------


def test_no_payback_expected(sound):
    # Expected: 3 x 50,000 = 150,000 of benefits against 80,000 + 7,000 invested.
    InvestmentFactory(case=sound, kind=InvestmentKind.OPEX, year=2, amount=D("70000"))
    # now 157,000 invested: the expected cumulative ends at -7,000
    [issue] = only(sound, "no_payback_expected")
    assert issue["message"] == (
        "The expected scenario does not pay back within the 3-year horizon."
    )
    assert issue["url"] == stage_url(sound, "benefits")

    Investment.objects.filter(case=sound, year=2).update(amount=D("63000"))
    # 150,000 invested: the expected cumulative is exactly 0 in year 3
    assert "no_payback_expected" not in codes(sound)


def test_a_return_too_good_to_believe(sound):
    # Expected: 150,000 of benefits against 87,000 invested, an ROI of 72 %.
    assert "return_too_good" not in codes(sound)
    cash = Investment.objects.filter(case=sound, kind=InvestmentKind.CAPEX)
    cash.update(amount=D("12500"))
    # 12,500 + 7,000 = 19,500 invested: an ROI of 669 %, high but possible
    assert "return_too_good" not in codes(sound)
    cash.update(amount=D("5000"))
    # 12,000 invested: benefits 12.5 times the investment, an ROI of 1,150 %

    [issue] = only(sound, "return_too_good")
    assert issue["message"].startswith(
        "The expected benefits are over 11 times the investment (ROI over 1,000 %)"
    )
    assert issue["url"] == stage_url(sound, "investments")


# --- co-creation ---------------------------------------------------------------------


def _member(case, side, role=Role.CONTRIBUTOR):
    return MembershipFactory(case=case, side=side, role=role).user


@pytest.fixture
def five_changes(db):
    case = CaseFactory()
    items = [ChangeItemFactory(case=case, leg=leg) for leg in (Leg.values * 2)[:5]]
    return case, items


def test_not_co_created_below_a_fifth(five_changes):
    case, items = five_changes
    seller = _member(case, Side.SELLER, Role.FACILITATOR)
    client = _member(case, Side.CLIENT)
    ChangeItem.objects.filter(case=case).update(created_by=seller)

    [issue] = only(case, "not_co_created")
    assert issue["message"].startswith("The client side wrote 0% of the items")
    assert issue["stage"] is None
    assert issue["url"] is None

    # 1 of 5 items by the client side = exactly a fifth: co-created enough
    ChangeItem.objects.filter(pk=items[0].pk).update(created_by=client)
    assert health.client_share(case) == D("0.2")
    assert "not_co_created" not in codes(case)


def test_co_creation_counts_items_of_every_stage(five_changes):
    case, _items = five_changes
    seller = _member(case, Side.SELLER, Role.FACILITATOR)
    client_viewer = _member(case, Side.CLIENT, Role.VIEWER)
    ChangeItem.objects.filter(case=case).update(created_by=seller)
    # 5 seller items and 1 client item, in another stage: 1/6 = 17 %
    BenefitFactory(case=case, created_by=client_viewer)

    [issue] = only(case, "not_co_created")
    assert issue["message"].startswith("The client side wrote 17% of the items")

    # 2 of 7 = 29 %
    RiskOfActingFactory(case=case, created_by=client_viewer)
    assert "not_co_created" not in codes(case)


def test_partners_and_former_members_do_not_count_as_client(five_changes):
    case, items = five_changes
    partner = _member(case, Side.PARTNER)
    client = _member(case, Side.CLIENT)
    ChangeItem.objects.filter(case=case).update(created_by=partner)
    ChangeItem.objects.filter(pk=items[0].pk).update(created_by=client)
    assert "not_co_created" not in codes(case)

    client.memberships.all().delete()  # left the case: no longer the client side
    assert "not_co_created" in codes(case)


def test_items_without_an_author_say_nothing_about_co_creation(five_changes):
    case, _items = five_changes
    _member(case, Side.SELLER, Role.FACILITATOR)

    assert health.client_share(case) is None
    assert "not_co_created" not in codes(case)


def test_items_without_an_author_are_not_counted(five_changes):
    case, items = five_changes
    client = _member(case, Side.CLIENT)
    # Only one item has an author, from the client side: 100 %.
    ChangeItem.objects.filter(pk=items[0].pk).update(created_by=client)

    assert health.client_share(case) == 1
    assert "not_co_created" not in codes(case)


# --- every issue links to its stage ------------------------------------------------


def test_every_issue_with_a_stage_links_to_that_stage(db):
    case = CaseFactory()
    seller = _member(case, Side.SELLER, Role.FACILITATOR)
    ChangeItemFactory(case=case, leg=Leg.TECHNOLOGY, created_by=seller)
    EcosystemPartyFactory(
        case=case,
        organisation=BusinessUnitFactory(parent=case.client),
        commitment=Commitment.DECLINED,
    )
    LaggingMetricFactory(case=case, owner="")
    BenefitFactory(case=case, confidence="high")
    InvestmentFactory(case=case, year=0)
    RiskOfActingFactory(case=case, owner="")

    found = issues(case)

    assert {i["code"] for i in found} >= {
        "empty_stage",
        "change_on_one_leg",
        "no_external_company",
        "party_declined",
        "metric_incomplete",
        "lagging_without_leading",
        "benefit_without_metric",
        "no_quantified_benefits",
        "no_time_invested",
        "risk_without_mitigation_or_owner",
        "no_risk_of_not_acting",
        "no_payback_expected",
        "not_co_created",
    }
    for issue in found:
        if issue["code"] == "not_co_created":
            continue
        assert issue["url"] == f"/cases/{case.pk}/stages/{issue['stage']}/", issue


# --- on the overview ---------------------------------------------------------------


def test_the_overview_lists_the_weak_spots_with_links(sound, as_user):
    seller = _member(sound, Side.SELLER, Role.FACILITATOR)
    viewer = _member(sound, Side.CLIENT, Role.VIEWER)
    Investment.objects.filter(case=sound, kind=InvestmentKind.TIME).delete()
    ChangeItem.objects.filter(case=sound).update(created_by=seller)

    page = as_user(viewer).get(reverse("cases:overview", args=[sound.pk]))

    assert page.status_code == 200
    html = page.content.decode()
    assert 'id="case-health"' in html
    assert 'data-code="no_time_invested"' in html
    investments = stage_url(sound, "investments")
    assert (
        f'<a href="{investments}">The investments count no one&#x27;s time: '
        "people&#x27;s time is part of the cost.</a>"
    ) in html
    # not_co_created has no stage: shown, without a link
    assert 'data-code="not_co_created"' in html
    assert "The client side wrote 0% of the items" in html
    assert "No weak spots found." not in html


def test_the_overview_of_a_sound_case_says_so(sound, as_user):
    viewer = _member(sound, Side.CLIENT, Role.VIEWER)

    page = as_user(viewer).get(reverse("cases:overview", args=[sound.pk]))

    assert "No weak spots found." in page.content.decode()
    assert "data-code=" not in page.content.decode()
