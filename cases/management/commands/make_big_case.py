"""Build a large case through the services, for benchmarks and for trying the app
at scale: `python manage.py make_big_case --items 500 --owner EMAIL`."""

from __future__ import annotations

import itertools
from datetime import date, timedelta
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from cases import services
from cases.models import (
    Benefit,
    BenefitYear,
    ChangeItem,
    ClientModel,
    EcosystemParty,
    InactionCost,
    Investment,
    LaggingMetric,
    LeadingMetric,
    ModelChange,
    RiskOfActing,
    RiskOfNotActing,
)
from cases.stages import BY_KEY
from ecosystem.models import OrganisationKind

LEGS = ["people", "process", "technology"]


def _spread(total: int, keys: list[str], caps: dict[str, int]) -> dict[str, int]:
    """Share `total` items over the stages, capped where a stage has a natural limit."""
    counts = dict.fromkeys(keys, 0)
    for key in itertools.islice(itertools.cycle(keys), total * len(keys)):
        if sum(counts.values()) == total:
            break
        if counts[key] < caps.get(key, total):
            counts[key] += 1
    return counts


@transaction.atomic
def build_big_case(*, user, items: int = 500, title: str | None = None):
    case = services.create_case(
        user=user,
        title=title or f"Scale test: {items} items",
        idea="A case with many items, to measure how pages behave at size.",
        client="Scale Client Ltd",
        seller="Scale Seller Ltd",
    )
    counts = _spread(items, list(BY_KEY), {"models": len(ClientModel.choices)})
    later = date.today() + timedelta(days=400)

    def save(key: str, item, **related):
        item.case = case
        item.full_clean(exclude=["organisation"] if key == "ecosystem" else None)
        return services.save_item(
            case=case, stage=BY_KEY[key], item=item, user=user, **related
        )

    for value, _label in ClientModel.choices[: counts["models"]]:
        save(
            "models",
            ModelChange(model=value, today="Today.", future="Later.", rationale="Why."),
        )
    for n in range(counts["changes"]):
        save(
            "changes",
            ChangeItem(leg=LEGS[n % 3], title=f"Change {n}", description="D " * 40),
        )
    for n in range(counts["ecosystem"]):
        save(
            "ecosystem",
            EcosystemParty(role=f"Role {n}", responsibilities="R " * 30),
            new_organisation=(f"Unit {n}", OrganisationKind.BUSINESS_UNIT),
        )
    lagging = [
        save(
            "lagging_metrics",
            LaggingMetric(
                name=f"Outcome {n}",
                baseline=n,
                target=n + 10,
                target_date=later,
                owner="CFO",
            ),
        )
        for n in range(counts["lagging_metrics"])
    ]
    for n in range(counts["leading_metrics"]):
        save(
            "leading_metrics",
            LeadingMetric(name=f"Signal {n}", baseline=0, target=50, target_date=later),
            drives=lagging[n % len(lagging) : n % len(lagging) + 2] if lagging else [],
        )
    for n in range(counts["benefits"]):
        rows = [
            BenefitYear(
                year=y,
                low=Decimal(1000 * y),
                expected=Decimal(1500 * y),
                high=Decimal(2000 * y),
            )
            for y in range(1, case.horizon_years + 1)
        ]
        save(
            "benefits",
            Benefit(
                title=f"Benefit {n}",
                category="cost",
                metric=lagging[n % len(lagging)] if lagging else None,
            ),
            yearly=rows,
        )
    for n in range(counts["investments"]):
        save(
            "investments",
            Investment(
                title=f"Investment {n}",
                kind="opex",
                organisation=case.client,
                year=n % 6,
                amount=Decimal(5000 + n),
            ),
        )
    for n in range(counts["risks_of_acting"]):
        save(
            "risks_of_acting",
            RiskOfActing(
                title=f"Risk {n}",
                leg=LEGS[n % 3],
                likelihood=1 + n % 5,
                impact=1 + (n * 2) % 5,
            ),
        )
    for n in range(counts["risks_of_not_acting"]):
        save(
            "risks_of_not_acting",
            RiskOfNotActing(title=f"Inaction {n}", likelihood=1 + n % 5, impact=3),
            yearly_cost=[
                InactionCost(year=y, amount=Decimal(100 * n)) for y in (1, 2, 3)
            ],
        )
    return case


class Command(BaseCommand):
    help = "Build a large case (for benchmarks) and print its id."

    def add_arguments(self, parser):
        parser.add_argument("--items", type=int, default=500)
        parser.add_argument("--owner", required=True, help="Email of the facilitator.")

    def handle(self, *args, items: int, owner: str, **options):
        user = get_user_model().objects.filter(email__iexact=owner).first()
        if user is None:
            raise CommandError(f"No user with email {owner}.")
        case = build_big_case(user=user, items=items)
        self.stdout.write(str(case.pk))
