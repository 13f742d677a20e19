"""The number of queries a page makes does not grow with the case.

Each page is measured on a small and a big case against the same bound: a page
that loads something per item (an N+1) passes on the small case and fails on
the big one. Each test also checks the page really shows everything, so the
bound cannot be met by a page that shows nothing.
"""

from __future__ import annotations

import json
from collections import Counter
from datetime import date, timedelta
from decimal import Decimal
from itertools import cycle

import pytest
from django.urls import reverse

from cases.models import (
    Benefit,
    BenefitCategory,
    BenefitYear,
    Case,
    ChangeItem,
    ClientModel,
    EcosystemParty,
    InactionCost,
    Investment,
    InvestmentKind,
    LaggingMetric,
    LeadingMetric,
    Leg,
    ModelChange,
    Role,
    Side,
    StageRecord,
    StageStatus,
)
from cases.stages import STAGES
from ecosystem.models import Organisation, OrganisationKind

from ..factories import CaseFactory, MembershipFactory, UserFactory

MAX_QUERIES = 25
BIG, SMALL = 500, 5
DASHBOARD_CASES = 30


def spread(total: int) -> Counter:
    """`total` items spread round-robin across the nine stages (stage 1 holds at
    most one item per client model)."""
    counts: Counter = Counter()
    slugs = cycle(stage.slug for stage in STAGES)
    while sum(counts.values()) < total:
        slug = next(slugs)
        if slug == "models" and counts[slug] == len(ClientModel.values):
            continue
        counts[slug] += 1
    return counts


def fill_case(case: Case, total: int, authors: list) -> Counter:
    """Bulk-create `total` items in `case`, with yearly rows, links between
    metrics, benefits tied to metrics and parties naming business units."""
    counts = spread(total)
    who = cycle(authors)

    def common(i: int) -> dict:
        return {
            "case": case,
            "position": i,
            "created_by": next(who),
            "updated_by": next(who),
        }

    ModelChange.objects.bulk_create(
        ModelChange(model=model, today="Today", future="Later", **common(i))
        for i, model in enumerate(ClientModel.values[: counts["models"]])
    )
    ChangeItem.objects.bulk_create(
        ChangeItem(leg=Leg.values[i % 3], title=f"Change {i}", **common(i))
        for i in range(counts["changes"])
    )
    units = Organisation.objects.bulk_create(
        Organisation(
            name=f"Unit {case.pk}-{i}",
            kind=OrganisationKind.BUSINESS_UNIT,
            parent=case.client,
        )
        for i in range(counts["ecosystem"])
    )
    EcosystemParty.objects.bulk_create(
        EcosystemParty(organisation=unit, role="Carrier", **common(i))
        for i, unit in enumerate(units)
    )
    target = date.today() + timedelta(days=400)
    lagging = LaggingMetric.objects.bulk_create(
        LaggingMetric(name=f"Lagging {i}", target_date=target, **common(i))
        for i in range(counts["lagging-metrics"])
    )
    leading = LeadingMetric.objects.bulk_create(
        LeadingMetric(name=f"Leading {i}", target_date=target, **common(i))
        for i in range(counts["leading-metrics"])
    )
    if lagging:
        LeadingMetric.drives.through.objects.bulk_create(
            LeadingMetric.drives.through(
                leadingmetric_id=metric.pk,
                laggingmetric_id=lagging[(i + k) % len(lagging)].pk,
            )
            for i, metric in enumerate(leading)
            for k in range(min(2, len(lagging)))
        )
    benefits = Benefit.objects.bulk_create(
        Benefit(
            title=f"Benefit {i}",
            category=BenefitCategory.COST,
            metric=lagging[i % len(lagging)] if lagging else None,
            **common(i),
        )
        for i in range(counts["benefits"])
    )
    BenefitYear.objects.bulk_create(
        BenefitYear(
            benefit=benefit,
            year=year,
            low=Decimal(100),
            expected=Decimal(150),
            high=Decimal(200),
        )
        for benefit in benefits
        for year in (1, 2, 3)
    )
    payers = [case.client, case.seller, *units]
    Investment.objects.bulk_create(
        Investment(
            title=f"Investment {i}",
            kind=InvestmentKind.TIME if i % 4 == 0 else InvestmentKind.OPEX,
            organisation=payers[i % len(payers)],
            year=i % (case.horizon_years + 1),
            amount=None if i % 4 == 0 else Decimal(1000),
            person_days=Decimal(10) if i % 4 == 0 else None,
            day_rate=Decimal(800) if i % 4 == 0 else None,
            **common(i),
        )
        for i in range(counts["investments"])
    )
    from cases.models import RiskOfActing, RiskOfNotActing

    RiskOfActing.objects.bulk_create(
        RiskOfActing(
            title=f"Risk {i}", leg=Leg.PEOPLE, likelihood=3, impact=4, **common(i)
        )
        for i in range(counts["risks-of-acting"])
    )
    inaction = RiskOfNotActing.objects.bulk_create(
        RiskOfNotActing(title=f"Inaction {i}", likelihood=4, impact=5, **common(i))
        for i in range(counts["risks-of-not-acting"])
    )
    InactionCost.objects.bulk_create(
        InactionCost(risk=risk, year=year, amount=Decimal(5000))
        for risk in inaction
        for year in (1, 2)
    )
    StageRecord.objects.filter(case=case, stage__in=list(counts)).update(
        status=StageStatus.IN_PROGRESS
    )
    StageRecord.objects.filter(case=case, stage="models").update(
        status=StageStatus.AGREED
    )
    return counts


@pytest.fixture(params=[SMALL, BIG], ids=["5-items", "500-items"])
def sized_case(request, case, facilitator):
    """The persona case with 5 or 500 items, and 3 or 40 people in it."""
    people = [facilitator]
    for i in range(3 if request.param == SMALL else 40):
        side = [Side.SELLER, Side.CLIENT, Side.PARTNER][i % 3]
        people.append(
            MembershipFactory(case=case, side=side, role=Role.CONTRIBUTOR).user
        )
    counts = fill_case(case, request.param, people)
    assert sum(counts.values()) == request.param
    return case, counts


def test_overview(sized_case, facilitator, as_user, django_assert_max_num_queries):
    case, counts = sized_case
    browser = as_user(facilitator)
    with django_assert_max_num_queries(MAX_QUERIES):
        response = browser.get(reverse("cases:overview", args=[case.pk]))
    html = response.content.decode()
    assert response.status_code == 200
    for stage in STAGES:
        assert f'data-count="{stage.slug}">{counts[stage.slug]}<' in html


@pytest.mark.parametrize("stage", STAGES, ids=lambda s: s.slug)
def test_stage_page(
    stage, sized_case, facilitator, as_user, django_assert_max_num_queries
):
    case, counts = sized_case
    browser = as_user(facilitator)
    with django_assert_max_num_queries(MAX_QUERIES):
        response = browser.get(reverse("cases:stage", args=[case.pk, stage.slug]))
    html = response.content.decode()
    assert response.status_code == 200
    assert html.count('<article class="item-card') == counts[stage.slug]


@pytest.mark.parametrize("cases", [1, DASHBOARD_CASES], ids=["1-case", "30-cases"])
def test_dashboard(cases, as_user, django_assert_max_num_queries, db):
    me = UserFactory()
    others = [UserFactory() for _ in range(3)]
    for n in range(cases):
        case = CaseFactory(title=f"Idea {n}")
        MembershipFactory(case=case, user=me, role=[*Role.values][n % 3])
        for other in others:
            MembershipFactory(case=case, user=other, role=Role.CONTRIBUTOR)
        fill_case(case, 20, [me, *others])
    browser = as_user(me)
    with django_assert_max_num_queries(MAX_QUERIES):
        response = browser.get(reverse("cases:dashboard"))
    html = response.content.decode()
    assert response.status_code == 200
    assert html.count('class="case-row"') == cases
    assert html.count("9 of 9 stages started") == cases


def test_export(sized_case, facilitator, as_user, django_assert_max_num_queries):
    case, counts = sized_case
    browser = as_user(facilitator)
    with django_assert_max_num_queries(MAX_QUERIES):
        response = browser.get(reverse("cases:export", args=[case.pk]))
    assert response.status_code == 200
    document = json.loads(response.content)
    for stage in STAGES:
        assert len(document["stages"][stage.key]) == counts[stage.slug]
