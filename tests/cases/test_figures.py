"""The case's figures against cases worked out by hand.

Every case here has a 3-year horizon (years 0, 1, 2, 3) and, unless said
otherwise, a 10 % discount rate, so the discount factors are easy to check:

    1.1^0 = 1      1.1^1 = 1.1      1.1^2 = 1.21      1.1^3 = 1.331

The arithmetic is written out beside each expectation; NPVs are checked to the
cent, ratios to the fourth decimal place.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

import pytest

from cases import figures as figures_module
from cases import health
from cases.figures import Figures
from cases.models import Case, InvestmentKind

from ..factories import (
    BenefitFactory,
    BenefitYearFactory,
    CaseFactory,
    InactionCostFactory,
    InvestmentFactory,
    RiskOfActingFactory,
    RiskOfNotActingFactory,
)

D = Decimal
CENT = D("0.01")
RATIO = D("0.0001")


def cents(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def ratio(value: Decimal) -> Decimal:
    return value.quantize(RATIO, rounding=ROUND_HALF_UP)


def compute(case: Case) -> Figures:
    """The figures as a page computes them: from the case as stored."""
    return figures_module.compute(Case.objects.get(pk=case.pk))


def codes(case: Case) -> list[str]:
    fresh = Case.objects.get(pk=case.pk)
    return [issue.code for issue in health.check(fresh, figures_module.compute(fresh))]


def three_year_case(rate: str = "0.10") -> Case:
    return CaseFactory(horizon_years=3, discount_rate=D(rate))


def benefit(case: Case, years: dict[int, tuple[str, str, str]], **kwargs):
    """A benefit with a (low, expected, high) range for each of `years`."""
    item = BenefitFactory(case=case, **kwargs)
    for year, (low, expected, high) in years.items():
        BenefitYearFactory(
            benefit=item, year=year, low=D(low), expected=D(expected), high=D(high)
        )
    return item


def cash(case: Case, year: int, amount: str, kind: str = InvestmentKind.CAPEX, **kw):
    return InvestmentFactory(case=case, kind=kind, year=year, amount=D(amount), **kw)


def time(case: Case, year: int, days: str, rate: str, organisation):
    return InvestmentFactory(
        case=case,
        kind=InvestmentKind.TIME,
        year=year,
        amount=None,
        person_days=D(days),
        day_rate=D(rate),
        organisation=organisation,
    )


# --- (a) Everything invested up front, benefits in years 1 to 3 -------------


@pytest.fixture
def upfront(db) -> Case:
    """I = 100,000 in year 0 only. Benefits 30,000 / 50,000 / 70,000 (low /
    expected / high) in each of years 1, 2 and 3."""
    case = three_year_case()
    cash(case, 0, "100000")
    benefit(case, {y: ("30000", "50000", "70000") for y in (1, 2, 3)})
    return case


def test_upfront_series(upfront):
    f = compute(upfront)

    assert f.years == [0, 1, 2, 3]
    assert f.investment == [100000, 0, 0, 0]
    assert f.benefits == {
        "low": [0, 30000, 30000, 30000],
        "expected": [0, 50000, 50000, 50000],
        "high": [0, 70000, 70000, 70000],
    }
    # N(t) = B(t) - I(t); C(t) = running sum of N.
    assert f.net["expected"] == [-100000, 50000, 50000, 50000]
    assert f.cumulative["expected"] == [-100000, -50000, 0, 50000]
    assert f.cumulative["low"] == [-100000, -70000, -40000, -10000]
    assert f.cumulative["high"] == [-100000, -30000, 40000, 110000]
    assert f.investment_time_days == [0, 0, 0, 0]
    assert f.investment_time_value == [0, 0, 0, 0]
    assert f.time_by_party == {}


def test_upfront_npv_to_the_cent(upfront):
    f = compute(upfront)

    # Annuity factor, 3 years at 10 %:
    #   1/1.1 + 1/1.21 + 1/1.331 = 0.909090.. + 0.826446.. + 0.751314.. = 2.486851991
    # expected: -100,000 + 50,000 x 2.486851991 = -100,000 + 124,342.5995 = 24,342.60
    # low:      -100,000 + 30,000 x 2.486851991 = -100,000 +  74,605.5597 = -25,394.44
    # high:     -100,000 + 70,000 x 2.486851991 = -100,000 + 174,079.6394 = 74,079.64
    assert cents(f.npv["expected"]) == D("24342.60")
    assert cents(f.npv["low"]) == D("-25394.44")
    assert cents(f.npv["high"]) == D("74079.64")


def test_upfront_payback_counts_a_cumulative_of_exactly_zero(upfront):
    f = compute(upfront)

    # expected: C = -100,000, -50,000, 0 -> year 2 (the first C >= 0)
    # low:      C never reaches 0 (-10,000 in year 3) -> not within the horizon
    # high:     C = -100,000, -30,000, +40,000 -> year 2
    assert f.payback_year == {"low": None, "expected": 2, "high": 2}


def test_upfront_roi_and_break_even_share(upfront):
    f = compute(upfront)

    # ROI = (sum B - sum I) / sum I, undiscounted:
    #   expected (150,000 - 100,000) / 100,000 = 0.5
    #   low      ( 90,000 - 100,000) / 100,000 = -0.1
    #   high     (210,000 - 100,000) / 100,000 = 1.1
    assert f.roi == {"low": D("-0.1"), "expected": D("0.5"), "high": D("1.1")}
    # Break-even share = PV(I) / PV(B_expected) = 100,000 / 124,342.5995 = 0.8042
    assert ratio(f.break_even_share) == D("0.8042")
    # and it is the share that makes the expected NPV zero:
    #   share x PV(B_expected) - PV(I) = 0
    pv_b = figures_module.present_value(f.benefits["expected"], D("0.10"))
    assert cents(f.break_even_share * pv_b) == D("100000.00")


# --- (b) Investment spread over the years, with people's time ---------------


@pytest.fixture
def spread(db) -> Case:
    """Investments (client = C, seller = S):

        year 0: capex 60,000 (C) + time 20 days x 800 = 16,000 (C)
        year 1: opex 10,000 (S) + time 12.5 days x 1,000 = 12,500 (S)
                + time 5 days x 800 = 4,000 (C)
        year 2: opex 10,000 (C)
        year 3: nothing

    Benefit A: 20,000 / 40,000 / 60,000 in years 1, 2 and 3.
    Benefit B: 10,000 / 20,000 / 30,000 in year 2; 20,000 / 40,000 / 60,000 in 3.
    """
    case = three_year_case()
    client, seller = case.client, case.seller
    cash(case, 0, "60000", organisation=client)
    time(case, 0, "20", "800", client)
    cash(case, 1, "10000", kind=InvestmentKind.OPEX, organisation=seller)
    time(case, 1, "12.5", "1000", seller)
    time(case, 1, "5", "800", client)
    cash(case, 2, "10000", kind=InvestmentKind.OPEX, organisation=client)
    benefit(case, {y: ("20000", "40000", "60000") for y in (1, 2, 3)})
    benefit(case, {2: ("10000", "20000", "30000"), 3: ("20000", "40000", "60000")})
    return case


def test_spread_investment_by_year_kind_and_party(spread):
    f = compute(spread)

    # I(0) = 60,000 + 16,000 = 76,000
    # I(1) = 10,000 + 12,500 + 4,000 = 26,500
    # I(2) = 10,000;  I(3) = 0;  total 112,500
    assert f.investment == [76000, 26500, 10000, 0]
    assert f.total_investment == 112500
    assert f.investment_by_kind == {
        "capex": [60000, 0, 0, 0],
        "opex": [0, 10000, 10000, 0],
        "time": [16000, 16500, 0, 0],
        "other": [0, 0, 0, 0],
    }
    # client: 60,000 + 16,000 + 4,000 + 10,000 = 90,000; seller: 10,000 + 12,500
    # = 22,500; the bigger investor first.
    assert list(f.investment_by_party.items()) == [
        (spread.client.name, 90000),
        (spread.seller.name, 22500),
    ]


def test_spread_time_in_days_and_value(spread):
    f = compute(spread)

    # days:  year 0: 20;  year 1: 12.5 + 5 = 17.5
    # value: year 0: 20 x 800 = 16,000;  year 1: 12,500 + 4,000 = 16,500
    assert f.investment_time_days == [20, D("17.5"), 0, 0]
    assert f.investment_time_value == [16000, 16500, 0, 0]
    assert f.total_time_days == D("37.5")
    # client: 20 + 5 = 25 days, 16,000 + 4,000 = 20,000; seller: 12.5 days, 12,500
    assert f.time_by_party == {
        spread.client.name: {"days": 25, "value": 20000},
        spread.seller.name: {"days": D("12.5"), "value": 12500},
    }


def test_spread_benefits_net_and_cumulative(spread):
    f = compute(spread)

    # B_expected = A + B = [0, 40,000, 40,000 + 20,000, 40,000 + 40,000]
    assert f.benefits["expected"] == [0, 40000, 60000, 80000]
    assert f.benefits["low"] == [0, 20000, 30000, 40000]
    assert f.benefits["high"] == [0, 60000, 90000, 120000]
    # N_expected = [0 - 76,000, 40,000 - 26,500, 60,000 - 10,000, 80,000 - 0]
    assert f.net["expected"] == [-76000, 13500, 50000, 80000]
    assert f.cumulative["expected"] == [-76000, -62500, -12500, 67500]
    # N_low = [-76,000, 20,000 - 26,500, 30,000 - 10,000, 40,000]
    assert f.cumulative["low"] == [-76000, -82500, -62500, -22500]
    # N_high = [-76,000, 33,500, 80,000, 120,000]
    assert f.cumulative["high"] == [-76000, -42500, 37500, 157500]
    assert f.payback_year == {"low": None, "expected": 3, "high": 2}


def test_spread_npv_roi_and_break_even(spread):
    f = compute(spread)

    # NPV_expected = -76,000 + 13,500/1.1 + 50,000/1.21 + 80,000/1.331
    #              = -76,000 + 12,272.7273 + 41,322.3140 + 60,105.1841 = 37,700.23
    assert cents(f.npv["expected"]) == D("37700.23")
    # NPV_low  = -76,000 - 6,500/1.1 + 20,000/1.21 + 40,000/1.331 = -35,327.57
    assert cents(f.npv["low"]) == D("-35327.57")
    # NPV_high = -76,000 + 33,500/1.1 + 80,000/1.21 + 120,000/1.331 = 110,728.02
    assert cents(f.npv["high"]) == D("110728.02")
    # ROI_expected = (180,000 - 112,500) / 112,500 = 0.6
    # ROI_low      = ( 90,000 - 112,500) / 112,500 = -0.2
    # ROI_high     = (270,000 - 112,500) / 112,500 = 1.4
    assert f.roi == {"low": D("-0.2"), "expected": D("0.6"), "high": D("1.4")}
    # PV(I) = 76,000 + 26,500/1.1 + 10,000/1.21
    #       = 76,000 + 24,090.9091 + 8,264.4628 = 108,355.3719
    # PV(B) = 40,000/1.1 + 60,000/1.21 + 80,000/1.331
    #       = 36,363.6364 + 49,586.7769 + 60,105.1841 = 146,055.5973
    # share = 108,355.3719 / 146,055.5973 = 0.7419
    assert ratio(f.break_even_share) == D("0.7419")


# --- (c) A case that never pays back ----------------------------------------


@pytest.fixture
def never(db) -> Case:
    """I = 500,000 in year 0; benefits 10,000 / 20,000 / 30,000 in years 1-3."""
    case = three_year_case()
    cash(case, 0, "500000")
    benefit(case, {y: ("10000", "20000", "30000") for y in (1, 2, 3)})
    return case


def test_never_pays_back_in_any_scenario(never):
    f = compute(never)

    # Even the high scenario ends at C(3) = -500,000 + 3 x 30,000 = -410,000.
    assert f.cumulative["high"][-1] == -410000
    assert f.payback_year == {"low": None, "expected": None, "high": None}
    # NPV_expected = -500,000 + 20,000 x 2.486851991 = -450,262.96
    assert cents(f.npv["expected"]) == D("-450262.96")
    # ROI_expected = (60,000 - 500,000) / 500,000 = -0.88
    assert f.roi["expected"] == D("-0.88")
    # PV(I) / PV(B) = 500,000 / 49,737.0398 = 10.0529: more than all of it
    assert ratio(f.break_even_share) == D("10.0529")
    assert "no_payback_expected" in codes(never)


def test_a_case_that_pays_back_has_no_payback_warning(upfront):
    assert "no_payback_expected" not in codes(upfront)


# --- (d) A discount rate of zero --------------------------------------------


def test_zero_discount_rate_npv_is_the_plain_sum(db):
    case = three_year_case(rate="0")
    cash(case, 0, "100000")
    benefit(case, {y: ("30000", "50000", "70000") for y in (1, 2, 3)})
    risk = RiskOfNotActingFactory(case=case)
    InactionCostFactory(risk=risk, year=1, amount=D("20000"))
    InactionCostFactory(risk=risk, year=3, amount=D("25000"))

    f = compute(case)

    # NPV = sum of N: expected -100,000 + 3 x 50,000 = 50,000
    #                 low      -100,000 + 3 x 30,000 = -10,000
    #                 high     -100,000 + 3 x 70,000 = 110,000
    assert f.npv == {"low": -10000, "expected": 50000, "high": 110000}
    assert all(f.npv[s] == sum(f.net[s]) for s in f.npv)
    # break-even = 100,000 / 150,000 = 0.6667
    assert ratio(f.break_even_share) == D("0.6667")
    # cost of inaction PV = 20,000 + 25,000 = 45,000, undiscounted
    assert f.cost_of_inaction_pv == 45000


# --- (e) No investment at all -----------------------------------------------


def test_no_investment_leaves_roi_break_even_and_payback_empty(db):
    case = three_year_case()
    benefit(case, {y: ("30000", "50000", "70000") for y in (1, 2, 3)})

    f = compute(case)  # must not divide by zero

    assert f.investment == [0, 0, 0, 0]
    assert not f.has_investment
    assert f.roi == {"low": None, "expected": None, "high": None}
    assert f.break_even_share is None
    # All cumulative nets are >= 0 from year 0, yet there is nothing to pay back.
    assert f.payback_year == {"low": None, "expected": None, "high": None}
    # NPV is still the discounted benefits: 50,000 x 2.486851991 = 124,342.60
    assert cents(f.npv["expected"]) == D("124342.60")

    fresh = Case.objects.get(pk=case.pk)
    issues = health.check(fresh, figures_module.compute(fresh))
    empty = [i.as_dict(fresh) for i in issues if i.code == "empty_stage"]
    assert {
        "code": "empty_stage",
        "message": "Stage 7, Investments, is empty.",
        "stage": "investments",
        "url": f"/cases/{case.pk}/stages/investments/",
    } in empty
    # Nothing invested: the missing payback is no weakness of its own.
    assert "no_payback_expected" not in [i.code for i in issues]


# --- (f) No benefits ----------------------------------------------------------


def test_no_benefits_has_no_break_even(db):
    case = three_year_case()
    cash(case, 0, "100000")
    cash(case, 2, "20000", kind=InvestmentKind.OPEX)

    f = compute(case)

    assert f.benefits["expected"] == [0, 0, 0, 0]
    assert not f.has_benefits
    assert f.break_even_share is None
    assert f.payback_year == {"low": None, "expected": None, "high": None}
    # ROI = (0 - 120,000) / 120,000 = -1: everything invested is lost
    assert f.roi == {"low": -1, "expected": -1, "high": -1}
    # NPV = -100,000 - 20,000 / 1.21 = -100,000 - 16,528.93 = -116,528.93
    assert cents(f.npv["expected"]) == D("-116528.93")


def test_benefits_counted_as_zero_have_no_break_even(db):
    case = three_year_case()
    cash(case, 0, "100000")
    benefit(case, {1: ("0", "0", "0")})

    f = compute(case)

    assert f.break_even_share is None
    assert "no_quantified_benefits" in codes(case)


# --- Cost of inaction ----------------------------------------------------------


def test_cost_of_inaction_by_year_and_present_value(db):
    case = three_year_case()
    first = RiskOfNotActingFactory(case=case)
    InactionCostFactory(risk=first, year=1, amount=D("20000"))
    InactionCostFactory(risk=first, year=2, amount=D("30000"))
    second = RiskOfNotActingFactory(case=case)
    InactionCostFactory(risk=second, year=2, amount=D("10000"))
    # Another case's costs never leak into this one.
    InactionCostFactory(risk=RiskOfNotActingFactory(), year=1, amount=D("999"))

    f = compute(case)

    # CI = [0, 20,000, 30,000 + 10,000, 0]
    assert f.cost_of_inaction == [0, 20000, 40000, 0]
    assert f.total_cost_of_inaction == 60000
    # PV = 20,000/1.1 + 40,000/1.21 = 18,181.8182 + 33,057.8512 = 51,239.67
    assert cents(f.cost_of_inaction_pv) == D("51239.67")


# --- Risk bands -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("likelihood", "impact", "expected"),
    [
        (1, 1, "low"),
        (2, 2, "low"),  # 4: top of low
        (1, 5, "medium"),  # 5: bottom of medium
        (3, 3, "medium"),  # 9: top of medium
        (2, 5, "high"),  # 10: bottom of high
        (3, 5, "high"),  # 15: top of high
        (4, 4, "critical"),  # 16: bottom of critical
        (5, 5, "critical"),  # 25: the worst
    ],
)
def test_one_risk_falls_in_its_band(db, likelihood, impact, expected):
    case = three_year_case()
    RiskOfActingFactory(case=case, likelihood=likelihood, impact=impact)
    RiskOfNotActingFactory(case=case, likelihood=impact, impact=likelihood)

    f = compute(case)

    others = dict.fromkeys(("low", "medium", "high", "critical"), 0)
    assert f.risk_bands["acting"] == {**others, expected: 1}
    assert f.risk_bands["not_acting"] == {**others, expected: 1}


def test_risk_band_counts_at_the_edges(db):
    case = three_year_case()
    # exposure: 4 (low), 5, 9 (medium), 10, 15 (high), 16, 25 (critical)
    for likelihood, impact in [(4, 1), (5, 1), (3, 3), (5, 2), (5, 3), (4, 4), (5, 5)]:
        RiskOfActingFactory(case=case, likelihood=likelihood, impact=impact)
    # not acting: 1 (low), 8 (medium), 12 (high)
    for likelihood, impact in [(1, 1), (2, 4), (3, 4)]:
        RiskOfNotActingFactory(case=case, likelihood=likelihood, impact=impact)
    RiskOfActingFactory(likelihood=5, impact=5)  # another case's risk

    f = compute(case)

    assert f.risk_bands == {
        "acting": {"low": 1, "medium": 2, "high": 2, "critical": 2},
        "not_acting": {"low": 1, "medium": 1, "high": 1, "critical": 0},
    }


def test_other_cases_items_do_not_count(upfront):
    other = three_year_case()
    cash(other, 0, "777")
    benefit(other, {1: ("1", "2", "3")})

    f = compute(upfront)

    assert f.investment == [100000, 0, 0, 0]
    assert f.benefits["expected"] == [0, 50000, 50000, 50000]


# --- Payback when nothing is spent at the decision ----------------------------------


def test_payback_when_the_investment_starts_after_year_0(db):
    """I = 100,000 in year 1; benefits (expected) 80,000 in years 2 and 3.

    C_expected = [0, -100,000, -20,000, +60,000]: the money is paid back in
    year 3. Year 0, before anything was spent, is no payback.
    """
    case = three_year_case()
    cash(case, 1, "100000")
    benefit(case, {y: ("30000", "80000", "90000") for y in (2, 3)})

    f = compute(case)

    assert f.cumulative["expected"] == [0, -100000, -20000, 60000]
    assert f.payback_year["expected"] == 3
    # high: C = [0, -100,000, -10,000, +80,000] -> year 3
    assert f.payback_year["high"] == 3
    # low:  C = [0, -100,000, -70,000, -40,000] -> never
    assert f.payback_year["low"] is None


def test_a_deferred_investment_that_never_pays_back_is_flagged(db):
    """I = 500,000 in year 1; benefits 20,000 a year: C_expected = [0, -500,000,
    -480,000, -460,000]. It never pays back, whatever scenario."""
    case = three_year_case()
    cash(case, 1, "500000")
    benefit(case, {y: ("10000", "20000", "30000") for y in (1, 2, 3)})

    f = compute(case)

    assert f.payback_year == {"low": None, "expected": None, "high": None}
    assert "no_payback_expected" in codes(case)
