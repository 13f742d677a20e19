"""The case's figures as a JSON document: GET /cases/<id>/summary.json and
`manage.py case_summary <id>` print the same thing. Decimals are strings (money
to the cent, ratios to four places), so nothing is lost to floats."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

from . import figures as figures_module
from . import health
from .figures import SCENARIOS
from .models import Case

CENT = Decimal("0.01")
RATIO = Decimal("0.0001")


def _money(value: Decimal) -> str:
    return str(value.quantize(CENT, rounding=ROUND_HALF_UP))


def _ratio(value: Decimal | None) -> str | None:
    return None if value is None else str(value.quantize(RATIO, rounding=ROUND_HALF_UP))


def _days(value: Decimal) -> str:
    return format(value.normalize(), "f") if value else "0"


def _series(values) -> list[str]:
    return [_money(v) for v in values]


def build(case: Case) -> dict:
    f = figures_module.compute(case)
    return {
        "case": case.pk,
        "title": case.title,
        "currency": case.currency,
        "discount_rate": str(case.discount_rate),
        "years": f.years,
        "investment": _series(f.investment),
        "investment_by_kind": {k: _series(v) for k, v in f.investment_by_kind.items()},
        "investment_by_party": {k: _money(v) for k, v in f.investment_by_party.items()},
        "investment_time_days": [_days(d) for d in f.investment_time_days],
        "investment_time_value": _series(f.investment_time_value),
        "investment_time_by_party": {
            party: {"days": _days(t["days"]), "value": _money(t["value"])}
            for party, t in f.time_by_party.items()
        },
        "benefits": {s: _series(f.benefits[s]) for s in SCENARIOS},
        "net": {s: _series(f.net[s]) for s in SCENARIOS},
        "cumulative": {s: _series(f.cumulative[s]) for s in SCENARIOS},
        "npv": {s: _money(f.npv[s]) for s in SCENARIOS},
        "payback_year": dict(f.payback_year),
        "roi": {s: _ratio(f.roi[s]) for s in SCENARIOS},
        "break_even_share": _ratio(f.break_even_share),
        "cost_of_inaction": {
            "yearly": _series(f.cost_of_inaction),
            "present_value": _money(f.cost_of_inaction_pv),
        },
        "risks": dict(f.risk_bands),
        "health": [issue.as_dict(case) for issue in health.check(case, f)],
    }
