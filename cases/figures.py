"""The case's figures, computed from its items. Conventions (docs/figures.md):

Years t = 0 .. horizon; year 0 is at the decision, year t the end of the t-th
year; r is the case's discount rate; s a scenario: low, expected, high.

- Investment I(t) = cash amounts of year t + time of year t valued at
  person-days x day rate. Time is also reported on its own (days and value).
- Benefit B_s(t) = the sum of the benefits' yearly values for scenario s.
- Net N_s(t) = B_s(t) - I(t); cumulative C_s(t) = N_s(0) + ... + N_s(t).
- NPV_s = sum over t of N_s(t) / (1 + r)^t.
- Payback year_s = the first t, from the first year money is invested, with
  C_s(t) >= 0; None: not within the horizon (or nothing invested: nothing to
  pay back).
- ROI_s = (sum of B_s - sum of I) / sum of I, undiscounted; None without investment.
- Break-even share = PV(I) / PV(B_expected): the share of the expected benefits
  that must come true for the case to break even.
- Cost of inaction CI(t) = the risks of not acting's yearly costs, and its PV.
- Risk exposure = likelihood x impact (1-25): low 1-4, medium 5-9, high 10-15,
  critical 16-25.

Money stays Decimal end to end; it is rounded only for display. Loading costs a
fixed number of queries whatever the size of the case.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal

from .models import (
    BenefitYear,
    Case,
    InactionCost,
    Investment,
    InvestmentKind,
    RiskOfActing,
    RiskOfNotActing,
)

SCENARIOS = ("low", "expected", "high")
# Display only: the units of compact amounts, largest first, shared by the
# headline figures (case_tags.money_short) and the charts' axes.
COMPACT_UNITS = ((10**12, "T"), (10**9, "B"), (10**6, "M"), (10**3, "k"))
BANDS = ("low", "medium", "high", "critical")
ZERO = Decimal("0")
# Past this ROI (benefits over eleven times the investment), the figure says
# more about the case than about the return: the investment is likely
# incomplete, or the benefits not yet believed. Pages say "over 1,000 %"
# (case_tags.roi) and the case's health points at the investments.
ROI_PLAUSIBLE_MAX = Decimal(10)


def band(exposure: int) -> str:
    if exposure >= 16:
        return "critical"
    if exposure >= 10:
        return "high"
    if exposure >= 5:
        return "medium"
    return "low"


@dataclass
class Figures:
    currency: str
    discount_rate: Decimal
    years: list[int]
    investment: list[Decimal]
    investment_by_kind: dict[str, list[Decimal]]
    investment_by_party: dict[str, Decimal]
    investment_time_days: list[Decimal]
    investment_time_value: list[Decimal]
    time_by_party: dict[str, dict[str, Decimal]]
    benefits: dict[str, list[Decimal]]
    net: dict[str, list[Decimal]] = field(default_factory=dict)
    cumulative: dict[str, list[Decimal]] = field(default_factory=dict)
    npv: dict[str, Decimal] = field(default_factory=dict)
    payback_year: dict[str, int | None] = field(default_factory=dict)
    roi: dict[str, Decimal | None] = field(default_factory=dict)
    break_even_share: Decimal | None = None
    cost_of_inaction: list[Decimal] = field(default_factory=list)
    cost_of_inaction_pv: Decimal = ZERO
    risk_bands: dict[str, dict[str, int]] = field(default_factory=dict)

    @property
    def total_investment(self) -> Decimal:
        return sum(self.investment, ZERO)

    @property
    def total_benefits(self) -> dict[str, Decimal]:
        return {s: sum(self.benefits[s], ZERO) for s in SCENARIOS}

    @property
    def total_by_kind(self) -> dict[str, Decimal]:
        return {k: sum(v, ZERO) for k, v in self.investment_by_kind.items()}

    @property
    def total_cash(self) -> Decimal:
        """Capital and operating spend: money that leaves an account."""
        totals = self.total_by_kind
        return totals[InvestmentKind.CAPEX] + totals[InvestmentKind.OPEX]

    @property
    def scenarios(self) -> list[dict]:
        return [
            {
                "name": s,
                "npv": self.npv[s],
                "payback_year": self.payback_year[s],
                "roi": self.roi[s],
            }
            for s in SCENARIOS
        ]

    @property
    def total_time_days(self) -> Decimal:
        return sum(self.investment_time_days, ZERO)

    @property
    def total_cost_of_inaction(self) -> Decimal:
        return sum(self.cost_of_inaction, ZERO)

    @property
    def has_investment(self) -> bool:
        return self.total_investment > 0

    @property
    def has_benefits(self) -> bool:
        return any(self.total_benefits[s] > 0 for s in SCENARIOS)

    def rows(self) -> list[dict]:
        """The per-year table, one dict per year, for templates."""
        return [
            {
                "year": year,
                "investment": self.investment[i],
                "time_days": self.investment_time_days[i],
                "time_value": self.investment_time_value[i],
                **{f"benefit_{s}": self.benefits[s][i] for s in SCENARIOS},
                **{f"net_{s}": self.net[s][i] for s in SCENARIOS},
                **{f"cumulative_{s}": self.cumulative[s][i] for s in SCENARIOS},
                "cost_of_inaction": self.cost_of_inaction[i],
            }
            for i, year in enumerate(self.years)
        ]


def present_value(values: list[Decimal], rate: Decimal) -> Decimal:
    return sum((v / (1 + rate) ** t for t, v in enumerate(values)), ZERO)


def compute(case: Case) -> Figures:
    years = list(case.years)
    horizon = len(years)

    def per_year() -> list[Decimal]:
        return [ZERO] * horizon

    investment = per_year()
    by_kind = {kind: per_year() for kind in InvestmentKind.values}
    by_party: dict = defaultdict(lambda: ZERO)
    time_days, time_value = per_year(), per_year()
    time_by_party: dict = {}
    for inv in Investment.objects.filter(case=case).select_related(
        "organisation", "organisation__parent"
    ):
        if inv.year >= horizon:
            continue  # cannot happen: years are validated against the horizon
        value = inv.value
        investment[inv.year] += value
        by_kind[inv.kind][inv.year] += value
        by_party[inv.organisation] += value
        if inv.is_time:
            time_days[inv.year] += inv.person_days
            time_value[inv.year] += value
            party = time_by_party.setdefault(
                inv.organisation, {"days": ZERO, "value": ZERO}
            )
            party["days"] += inv.person_days
            party["value"] += value

    benefits = {s: per_year() for s in SCENARIOS}
    for row in BenefitYear.objects.filter(benefit__case=case).values(
        "year", *SCENARIOS
    ):
        if row["year"] < horizon:
            for s in SCENARIOS:
                benefits[s][row["year"]] += row[s]

    inaction = per_year()
    for row in InactionCost.objects.filter(risk__case=case).values("year", "amount"):
        if row["year"] < horizon:
            inaction[row["year"]] += row["amount"]

    figures = Figures(
        currency=case.currency,
        discount_rate=case.discount_rate,
        years=years,
        investment=investment,
        investment_by_kind=by_kind,
        investment_by_party=_by_label(
            dict(sorted(by_party.items(), key=lambda kv: -kv[1]))
        ),
        investment_time_days=time_days,
        investment_time_value=time_value,
        time_by_party=_by_label(time_by_party),
        benefits=benefits,
        cost_of_inaction=inaction,
    )
    rate = case.discount_rate
    total_i = sum(investment, ZERO)
    for s in SCENARIOS:
        net = [b - i for b, i in zip(benefits[s], investment, strict=True)]
        cumulative, running = [], ZERO
        for value in net:
            running += value
            cumulative.append(running)
        figures.net[s] = net
        figures.cumulative[s] = cumulative
        figures.npv[s] = present_value(net, rate)
        figures.payback_year[s] = _payback(years, investment, cumulative)
        total_b = sum(benefits[s], ZERO)
        figures.roi[s] = (total_b - total_i) / total_i if total_i else None
    pv_i = present_value(investment, rate)
    pv_b = present_value(benefits["expected"], rate)
    figures.break_even_share = pv_i / pv_b if pv_i > 0 and pv_b > 0 else None
    figures.cost_of_inaction_pv = present_value(inaction, rate)
    figures.risk_bands = {
        "acting": _band_counts(RiskOfActing.objects.filter(case=case)),
        "not_acting": _band_counts(RiskOfNotActing.objects.filter(case=case)),
    }
    return figures


def _by_label(by_organisation: dict) -> dict:
    """Key by the organisation's name; where two share a name (a partner and a
    business unit, say), by the longer name that tells them apart."""
    names = [o.name for o in by_organisation]
    return {
        (
            f"{o.name} ({o.get_kind_display().lower()}{', ' + o.parent.name if o.parent_id else ''})"
            if names.count(o.name) > 1
            else o.name
        ): v
        for o, v in by_organisation.items()
    }


def _payback(years: list[int], investment: list[Decimal], cumulative: list[Decimal]):
    """The first year, from the first year money goes in, whose cumulative net is
    zero or more. Before any investment a cumulative of 0 proves nothing; with no
    investment at all there is nothing to pay back (None)."""
    first = next((i for i, v in enumerate(investment) if v > 0), None)
    if first is None:
        return None
    return next(
        (years[i] for i in range(first, len(years)) if cumulative[i] >= 0), None
    )


def _band_counts(risks) -> dict[str, int]:
    counts = dict.fromkeys(BANDS, 0)
    for likelihood, impact in risks.values_list("likelihood", "impact"):
        counts[band(likelihood * impact)] += 1
    return counts
