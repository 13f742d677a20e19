"""Shared by the case-file tests (test_portability*.py): the spec's example
documents, counting the rows an import may write, changing a document to make it
bad, and the checks every refused document must pass."""

from __future__ import annotations

import copy
import io
import json
from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from cases.models import (
    Benefit,
    BenefitYear,
    BuyingRating,
    Case,
    ChangeItem,
    EcosystemParty,
    InactionCost,
    Investment,
    LaggingMetric,
    LeadingMetric,
    Membership,
    ModelChange,
    Recommendation,
    RiskOfActing,
    RiskOfNotActing,
    StageRecord,
)
from cases.portability import CaseFormatError, dump_json, export_case, import_case
from ecosystem.models import Organisation

# --- Documents ------------------------------------------------------------------


def example() -> dict[str, Any]:
    """The shared spec's example document, with its "..." filled in."""
    return {
        "format": "nine-stage-business-case",
        "version": 1,
        "case": {
            "title": "Direct-to-site delivery for regional distribution",
            "idea": "Ship from the central hub straight to building sites.",
            "currency": "EUR",
            "horizon_years": 5,
            "discount_rate": "0.08",
            "status": "draft",
        },
        "organisations": [
            {"ref": "client", "name": "Harbour Building Supplies", "kind": "client"},
            {"ref": "seller", "name": "Northwind Logistics Software", "kind": "seller"},
            {
                "ref": "ops",
                "name": "Regional Operations",
                "kind": "business_unit",
                "parent": "client",
            },
            {"ref": "fastfreight", "name": "FastFreight Ltd", "kind": "partner"},
        ],
        "stages": {
            "models": [
                {
                    "model": "operating",
                    "today": "Regional warehouses deliver in two steps.",
                    "future": "The hub delivers straight to site.",
                    "rationale": "Two steps cost a day and a truck.",
                }
            ],
            "changes": [
                {
                    "leg": "process",
                    "title": "Plan routes per site",
                    "description": "Routes are planned per building site, not per branch.",
                    "owner": "Head of Logistics",
                }
            ],
            "ecosystem": [
                {
                    "organisation": "ops",
                    "role": "Runs the new routes",
                    "responsibilities": "Dispatch and site contact",
                    "commitment": "committed",
                }
            ],
            "leading_metrics": [
                {
                    "ref": "L1",
                    "name": "Orders shipped direct",
                    "unit": "%",
                    "baseline": "0",
                    "target": "60",
                    "target_date": "2028-06-30",
                    "owner": "Head of Logistics",
                    "frequency": "monthly",
                    "source": "WMS report",
                    "drives": ["G1"],
                }
            ],
            "lagging_metrics": [
                {
                    "ref": "G1",
                    "name": "Cost to serve per order",
                    "unit": "EUR",
                    "baseline": "41.50",
                    "target": "33.00",
                    "target_date": "2029-12-31",
                    "owner": "CFO",
                    "frequency": "quarterly",
                    "source": "Finance",
                }
            ],
            "benefits": [
                {
                    "title": "Lower cost to serve",
                    "category": "cost",
                    "metric": "G1",
                    "owner": "CFO",
                    "confidence": "medium",
                    "description": "Fewer trucks and one handling step less.",
                    "yearly": [
                        {
                            "year": 1,
                            "low": "150000",
                            "expected": "240000",
                            "high": "310000",
                        }
                    ],
                }
            ],
            "investments": [
                {
                    "title": "Routing platform licences",
                    "kind": "opex",
                    "organisation": "client",
                    "year": 1,
                    "amount": "90000",
                },
                {
                    "title": "Process redesign workshops",
                    "kind": "time",
                    "organisation": "ops",
                    "year": 0,
                    "person_days": "45",
                    "day_rate": "650",
                },
            ],
            "risks_of_acting": [
                {
                    "title": "Drivers resist new routing",
                    "leg": "people",
                    "likelihood": 3,
                    "impact": 4,
                    "mitigation": "Involve senior drivers in the pilot.",
                    "owner": "HR",
                }
            ],
            "risks_of_not_acting": [
                {
                    "title": "Competitor offers next-day site delivery",
                    "likelihood": 4,
                    "impact": 5,
                    "description": "Contractors move their orders.",
                    "yearly_cost": [{"year": 2, "amount": "300000"}],
                }
            ],
        },
    }


def example_v2() -> dict[str, Any]:
    """The shared spec's example as a version-2 file, with a decision view."""
    document = example()
    document["version"] = 2
    document["decision"] = {
        "buying_view": {
            "client": [
                {"element": "product", "score": 4, "comment": "Fits our depots."},
                {"element": "price", "score": 3, "comment": ""},
                {"element": "risk", "score": 2, "comment": "Drivers may resist."},
            ],
            "seller": [
                {"element": "product", "score": 5, "comment": ""},
                {"element": "ease", "score": 4, "comment": "One contract."},
            ],
        },
        "recommendation": {
            "verdict": "proceed_with_conditions",
            "conditions": "A pilot in two regions first.",
            "defer_until": None,
            "other_provider": "",
            "rationale": "The cost to serve falls, if drivers adopt the routes.",
        },
    }
    return document


def as_file(document: Any) -> io.BytesIO:
    return io.BytesIO(json.dumps(document).encode())


def exported_text(case: Case) -> str:
    """The case file as the download writes it, read from the database (where
    JSON columns may reorder keys)."""
    return dump_json(export_case(Case.objects.get(pk=case.pk)))


def export_query_count(case: Case) -> int:
    """How many queries exporting the case costs."""
    with CaptureQueriesContext(connection) as queries:
        export_case(Case.objects.get(pk=case.pk))
    return len(queries)


# --- Rows an import writes ---------------------------------------------------------

COUNTED = (
    Case,
    Organisation,
    Membership,
    StageRecord,
    ModelChange,
    ChangeItem,
    EcosystemParty,
    LeadingMetric,
    LaggingMetric,
    Benefit,
    BenefitYear,
    Investment,
    RiskOfActing,
    RiskOfNotActing,
    InactionCost,
    BuyingRating,
    Recommendation,
)


def row_counts() -> dict[str, int]:
    return {model.__name__: model.objects.count() for model in COUNTED}


# --- Bad documents: a change to the example, and what the import must say --------

Change = Callable[[dict], None]


def _parent(document: dict, path: list[Any]) -> Any:
    target = document
    for step in path[:-1]:
        target = target[step]
    return target


def set_at(path: list[Any], value: Any) -> Change:
    """A change that puts `value` at `path` (keys and list indexes)."""

    def change(document: dict) -> None:
        _parent(document, path)[path[-1]] = value

    return change


def delete_at(path: list[Any]) -> Change:
    """A change that removes what is at `path`."""

    def change(document: dict) -> None:
        del _parent(document, path)[path[-1]]

    return change


def assert_refused(
    document: dict, change: Change, path: str, message: str, *, user
) -> None:
    """Importing `document` with `change` made to it fails at `path` with
    `message` in its words, and saves nothing: not even what was read before
    the bad value."""
    document = copy.deepcopy(document)
    change(document)
    before = row_counts()

    with pytest.raises(CaseFormatError) as caught:
        import_case(document, user=user)

    assert caught.value.path == path
    assert message in caught.value.message
    assert str(caught.value) == f"{path}: {caught.value.message}"
    assert row_counts() == before
