"""Who wrote what: the activity feed's wording, filters, access and query count;
the co-creation balance on the overview; authors on the stage page."""

from __future__ import annotations

from decimal import Decimal
from html import unescape

import pytest
from django.urls import reverse
from django.utils.html import strip_tags

from cases import activity, figures, health, services
from cases.models import BenefitYear, ClientModel, InactionCost, Leg, Role, Side
from cases.stages import BY_KEY, STAGES

from .. import factories as f
from ..factories import (
    ChangeItemFactory,
    InvestmentFactory,
    LeadingMetricFactory,
    MembershipFactory,
    RiskOfActingFactory,
    UserFactory,
)
from .test_queries import MAX_QUERIES
from .test_stage_views import edit_data

pytestmark = pytest.mark.django_db

LEADING = BY_KEY["leading_metrics"]
CHANGES = BY_KEY["changes"]
RISKS = BY_KEY["risks_of_acting"]
INVESTMENTS = BY_KEY["investments"]
LAGGING = BY_KEY["lagging_metrics"]
BENEFITS = BY_KEY["benefits"]
INACTION = BY_KEY["risks_of_not_acting"]


@pytest.fixture
def maria(case):
    user = UserFactory(first_name="Maria", last_name="Lopez")
    MembershipFactory(case=case, user=user, side=Side.CLIENT, role=Role.CONTRIBUTOR)
    return user


@pytest.fixture
def anna(case):
    user = UserFactory(first_name="Anna", last_name="Berg")
    MembershipFactory(case=case, user=user, side=Side.SELLER, role=Role.FACILITATOR)
    return user


def add(case, stage, user, factory, **fields):
    """An item added the way the app adds one, so its history names the user."""
    if factory is f.EcosystemPartyFactory:
        fields.setdefault("organisation", f.OrganisationFactory())
    item = factory.build(case=case, **fields)
    return services.save_item(case=case, stage=stage, item=item, user=user)


def change(case, stage, user, item, **fields):
    for name, value in fields.items():
        setattr(item, name, value)
    return services.save_item(case=case, stage=stage, item=item, user=user)


def lines(case, **filters) -> list[str]:
    return [str(e) for e in activity.feed(case, **filters).entries]


# --- Wording --------------------------------------------------------------------


def test_metric_added_and_target_changed_with_its_unit(case, maria, anna):
    metric = add(
        case,
        LEADING,
        anna,
        LeadingMetricFactory,
        name="Orders shipped direct",
        unit="%",
        target=Decimal("50"),
    )
    change(case, LEADING, maria, metric, target=Decimal("60"))

    assert lines(case) == [
        "Maria Lopez (client) changed the target of 'Orders shipped direct' "
        "from 50 % to 60 %",
        "Anna Berg (seller) added leading metric 'Orders shipped direct'",
    ]


def test_choice_field_worded_with_its_labels(case, maria):
    item = add(
        case, CHANGES, maria, ChangeItemFactory, title="Plan routes", leg=Leg.PROCESS
    )
    change(case, CHANGES, maria, item, leg=Leg.TECHNOLOGY)

    assert lines(case)[0] == (
        "Maria Lopez (client) changed the leg of 'Plan routes' "
        "from Process to Technology"
    )


def test_deleted_risk(case, anna):
    risk = add(case, RISKS, anna, RiskOfActingFactory, title="Drivers resist")
    services.delete_item(case=case, stage=RISKS, item=risk, user=anna)

    assert lines(case) == [
        "Anna Berg (seller) deleted risk 'Drivers resist'",
        "Anna Berg (seller) added risk 'Drivers resist'",
    ]


def test_stage_notes(case, maria):
    services.update_stage_notes(
        case=case, stage=LEADING, notes="Ask finance for the baseline.", user=maria
    )

    assert lines(case) == ["Maria Lopez (client) changed the notes of stage 4"]


def test_several_fields_at_once_set_cleared_and_renamed(case, anna):
    metric = add(
        case,
        LEADING,
        anna,
        LeadingMetricFactory,
        name="Orders shipped direct",
        baseline=None,
        owner="CFO",
    )
    change(
        case,
        LEADING,
        anna,
        metric,
        name="Direct orders",
        baseline=Decimal("12.5"),
        owner="",
    )

    assert lines(case)[0] == (
        "Anna Berg (seller) renamed leading metric 'Orders shipped direct' to "
        "'Direct orders', set its baseline to 12.5 % and cleared its owner"
    )


def test_money_in_the_case_currency_and_foreign_keys_by_name(case, anna):
    investment = add(
        case,
        INVESTMENTS,
        anna,
        InvestmentFactory,
        title="Route planner",
        amount=Decimal("90000"),
    )
    change(case, INVESTMENTS, anna, investment, amount=Decimal("120000.5"))
    change(case, INVESTMENTS, anna, investment, organisation=case.seller)

    assert lines(case)[:2] == [
        f"Anna Berg (seller) changed the investor of 'Route planner' from "
        f"'{case.client.name}' to '{case.seller.name}'",
        "Anna Berg (seller) changed the amount of 'Route planner' "
        "from 90,000 EUR to 120,000.5 EUR",
    ]


def test_a_save_that_changed_no_tracked_field(case, anna):
    item = add(case, CHANGES, anna, ChangeItemFactory, title="Plan routes")
    change(case, CHANGES, anna, item)

    assert lines(case)[0] == "Anna Berg (seller) updated change 'Plan routes'"


# --- Yearly figures and links (kept by the item's snapshot) --------------------


def years(*ranges: tuple[int, int, int, int]) -> list[BenefitYear]:
    return [
        BenefitYear(year=y, low=Decimal(lo), expected=Decimal(ex), high=Decimal(hi))
        for y, lo, ex, hi in ranges
    ]


def save_benefit(case, benefit, user, *rows):
    """Save a benefit through the service with these yearly (year, low,
    expected, high) rows."""
    return services.save_item(
        case=case, stage=BENEFITS, item=benefit, user=user, yearly=years(*rows)
    )


def add_benefit(case, user, **fields):
    item = f.BenefitFactory.build(case=case, **fields)
    return save_benefit(
        case, item, user, (1, 100000, 150000, 200000), (2, 300000, 380000, 450000)
    )


def activity_page(browser, case) -> str:
    response = browser.get(reverse("cases:activity", args=[case.pk]))
    assert response.status_code == 200
    return " ".join(unescape(strip_tags(response.content.decode())).split())


def test_benefit_figure_changed_in_the_edit_form_shows_year_and_both_figures(
    case, maria, anna, as_user
):
    benefit = add_benefit(case, anna, title="Fewer empty trucks")
    browser = as_user(maria)

    response = browser.post(
        reverse("cases:item_edit", args=[case.pk, "benefits", benefit.pk]),
        edit_data(
            "benefits", case, benefit, "Fewer empty trucks", y2_expected="420000"
        ),
    )

    assert response.status_code == 302
    assert (
        "Maria Lopez (client) changed the figures of 'Fewer empty trucks': "
        "year 2 expected from 380,000 EUR to 420,000 EUR"
    ) in activity_page(browser, case)


def test_benefit_year_added_with_its_range_and_another_field(case, maria, anna):
    benefit = add_benefit(case, anna, title="Fewer empty trucks")
    benefit.confidence = "high"
    save_benefit(
        case,
        benefit,
        maria,
        (1, 100000, 150000, 200000),
        (2, 300000, 380000, 450000),
        (5, 600000, 700000, 820000),
    )

    assert lines(case)[0] == (
        "Maria Lopez (client) changed the confidence of 'Fewer empty trucks' "
        "from Medium to High and changed its figures: year 5 added "
        "(low 600,000 EUR, expected 700,000 EUR, high 820,000 EUR)"
    )


def test_benefit_years_changed_and_removed(case, anna):
    benefit = add_benefit(case, anna, title="Fewer empty trucks")
    save_benefit(case, benefit, anna, (1, 90000, 150000, 210000.5))

    assert lines(case)[0] == (
        "Anna Berg (seller) changed the figures of 'Fewer empty trucks': "
        "year 1 low from 100,000 EUR to 90,000 EUR; "
        "year 1 high from 200,000 EUR to 210,000.5 EUR; year 2 removed "
        "(was low 300,000 EUR, expected 380,000 EUR, high 450,000 EUR)"
    )


def test_risk_of_not_acting_cost_changed(case, maria):
    risk = services.save_item(
        case=case,
        stage=INACTION,
        item=f.RiskOfNotActingFactory.build(case=case, title="Rival ships first"),
        user=maria,
        yearly_cost=[InactionCost(year=1, amount=Decimal("5000"))],
    )
    services.save_item(
        case=case,
        stage=INACTION,
        item=risk,
        user=maria,
        yearly_cost=[
            InactionCost(year=1, amount=Decimal("6500")),
            InactionCost(year=3, amount=Decimal("7000")),
        ],
    )

    assert lines(case)[0] == (
        "Maria Lopez (client) changed the cost of inaction of 'Rival ships first': "
        "year 1 from 5,000 EUR to 6,500 EUR; year 3 added (7,000 EUR)"
    )


def test_leading_metric_links_changed(case, anna, maria, as_user):
    churn = add(case, LAGGING, anna, f.LaggingMetricFactory, name="Churn")
    cost = add(case, LAGGING, anna, f.LaggingMetricFactory, name="Cost per order")
    metric = services.save_item(
        case=case,
        stage=LEADING,
        item=LeadingMetricFactory.build(case=case, name="Orders shipped direct"),
        user=anna,
        drives=[churn],
    )
    services.save_item(case=case, stage=LEADING, item=metric, user=maria, drives=[cost])

    assert lines(case)[:2] == [
        "Maria Lopez (client) changed what 'Orders shipped direct' drives: "
        "added 'Cost per order', removed 'Churn'",
        "Anna Berg (seller) added leading metric 'Orders shipped direct'",
    ]
    # A metric deleted since is still named as it was.
    services.delete_item(case=case, stage=LAGGING, item=churn, user=anna)
    assert (
        "changed what 'Orders shipped direct' drives: added 'Cost per order', "
        "removed 'Churn'"
    ) in activity_page(as_user(anna), case)


def test_a_save_that_changes_no_figure_adds_no_figures_sentence(
    case, maria, anna, as_user
):
    benefit = add_benefit(case, anna, title="Fewer empty trucks")
    browser = as_user(maria)
    url = reverse("cases:item_edit", args=[case.pk, "benefits", benefit.pk])

    browser.post(url, edit_data("benefits", case, benefit, "Fewer empty trucks"))
    benefit.refresh_from_db()
    browser.post(url, edit_data("benefits", case, benefit, "Less empty running"))

    assert lines(case)[:2] == [
        "Maria Lopez (client) renamed benefit 'Fewer empty trucks' to "
        "'Less empty running'",
        "Maria Lopez (client) updated benefit 'Fewer empty trucks'",
    ]


def test_figures_not_recorded_before_are_not_worded(case, anna):
    """Items written before snapshots existed (or outside the service) have
    none: their first recorded figures are not a change."""
    benefit = add_benefit(case, anna, title="Fewer empty trucks")
    type(benefit).history.filter(id=benefit.pk).update(snapshot=None)
    type(benefit).objects.filter(pk=benefit.pk).update(snapshot=None)
    benefit.refresh_from_db()
    save_benefit(case, benefit, anna, (1, 1, 2, 3))

    assert lines(case)[0] == "Anna Berg (seller) updated benefit 'Fewer empty trucks'"


def test_agreeing_and_reopening_a_stage(case, maria, anna):
    item = add(case, CHANGES, anna, ChangeItemFactory, title="Plan routes")
    services.sign_off_stage(case=case, stage=CHANGES, user=anna)
    services.sign_off_stage(case=case, stage=CHANGES, user=maria)
    change(case, CHANGES, maria, item, owner="COO")

    feed = activity.feed(case).entries
    assert [str(e) for e in feed[:3]] == [
        "Maria Lopez (client) reopened stage 2",
        "Maria Lopez (client) changed the owner of 'Plan routes' "
        "from 'Head of Logistics' to 'COO'",
        "Maria Lopez (client) marked stage 2 agreed",
    ]
    assert feed[0].reason.startswith("Reopened: Maria Lopez changed")


def test_someone_no_longer_in_the_case_is_named_without_a_side(case, anna):
    gone = UserFactory(first_name="Olaf", last_name="Gone")
    add(case, CHANGES, gone, ChangeItemFactory, title="Plan routes")

    assert lines(case) == ["Olaf Gone added change 'Plan routes'"]


# --- Filters and pages ----------------------------------------------------------


@pytest.fixture
def busy_case(case, maria, anna):
    add(case, LEADING, anna, LeadingMetricFactory, name="Orders shipped direct")
    add(case, CHANGES, maria, ChangeItemFactory, title="Plan routes")
    add(case, RISKS, maria, RiskOfActingFactory, title="Drivers resist")
    services.update_stage_notes(case=case, stage=CHANGES, notes="Ask HR.", user=anna)
    return case


def test_filter_by_stage(busy_case):
    assert lines(busy_case, stage=CHANGES) == [
        "Anna Berg (seller) changed the notes of stage 2",
        "Maria Lopez (client) added change 'Plan routes'",
    ]


def test_filter_by_person(busy_case, maria):
    assert lines(busy_case, user_id=maria.pk) == [
        "Maria Lopez (client) added risk 'Drivers resist'",
        "Maria Lopez (client) added change 'Plan routes'",
    ]


def test_filters_from_the_page(busy_case, anna, as_user):
    url = reverse("cases:activity", args=[busy_case.pk])
    response = as_user(anna).get(url, {"stage": "changes", "person": anna.pk})
    html = response.content.decode()
    assert "changed the notes of stage 2" in html
    assert "Plan routes" not in html
    assert "Drivers resist" not in html


def test_pages_newest_first_with_an_older_link(busy_case, anna, as_user):
    first = activity.feed(busy_case, per_page=3)
    second = activity.feed(busy_case, per_page=3, page=2)
    assert first.has_older and not first.has_newer
    assert not second.has_older and second.has_newer
    assert [e.when for e in first.entries + second.entries] == sorted(
        (e.when for e in first.entries + second.entries), reverse=True
    )
    assert len(first.entries) + len(second.entries) == 4

    url = reverse("cases:activity", args=[busy_case.pk])
    for i in range(activity.PAGE_SIZE):
        add(busy_case, RISKS, anna, RiskOfActingFactory, title=f"Risk {i}")
    html = as_user(anna).get(url, {"stage": "risks-of-acting"}).content.decode()
    assert "?stage=risks-of-acting&amp;page=2" in html
    assert "Older" in html
    older = as_user(anna).get(url, {"stage": "risks-of-acting", "page": 2})
    assert "added risk &#x27;Drivers resist&#x27;" in older.content.decode()


# --- The page (who may see it: tests/cases/test_access.py) ----------------------


def test_viewer_reads_it(busy_case, viewer, as_user):
    response = as_user(viewer).get(reverse("cases:activity", args=[busy_case.pk]))
    assert response.status_code == 200
    assert "Maria Lopez (client)</strong> added change" in response.content.decode()
    assert 'class="active"><i class="bi bi-clock-history"></i> Activity' in (
        response.content.decode()
    )


def test_htmx_gets_the_feed_only(busy_case, viewer, as_user):
    response = as_user(viewer).get(
        reverse("cases:activity", args=[busy_case.pk]), headers={"HX-Request": "true"}
    )
    html = response.content.decode()
    assert html.lstrip().startswith('<section id="activity-feed"')
    assert "<html" not in html


def test_the_overview_loads_the_five_most_recent(busy_case, anna, as_user):
    browser = as_user(anna)
    overview = browser.get(reverse("cases:overview", args=[busy_case.pk]))
    url = reverse("cases:activity", args=[busy_case.pk])
    assert f'hx-get="{url}?recent=1"' in overview.content.decode()

    for i in range(4):
        add(busy_case, RISKS, anna, RiskOfActingFactory, title=f"Risk {i}")
    html = browser.get(url, {"recent": 1}).content.decode()
    assert html.count("<li") == activity.RECENT
    assert "Risk 3" in html
    assert "Plan routes" not in html


# --- Who wrote it, on the stage page -------------------------------------------


def test_item_card_names_author_and_last_editor_with_sides(case, maria, anna, as_user):
    item = add(case, CHANGES, maria, ChangeItemFactory, title="Plan routes")
    change(case, CHANGES, anna, item, owner="COO")
    response = as_user(anna).get(reverse("cases:stage", args=[case.pk, "changes"]))
    html = response.content.decode()
    assert "Added by Maria Lopez (client) · last changed by Anna Berg (seller)" in html


# --- The co-creation balance ----------------------------------------------------


def authored(case, user, n, stage=CHANGES, factory=ChangeItemFactory):
    for _ in range(n):
        add(case, stage, user, factory)


def test_balance_of_items_and_edits(case, maria, anna, partner, as_user):
    authored(case, maria, 3)
    authored(case, anna, 5)
    authored(case, anna, 2, RISKS, RiskOfActingFactory)
    balance = activity.balance(
        activity.with_contributions(case.memberships.select_related("user"))
    )
    items = {s.side: (s.count, s.percent) for s in balance.items}
    assert items == {"client": (3, 30), "seller": (7, 70), "partner": (0, 0)}
    assert balance.client_share == health.client_share(case) == Decimal("0.3")
    assert not balance.not_co_created
    # Edits: the adds, and each stage record's save when its first item moved
    # it to "in progress" (stage 2 by Maria, stage 8 by Anna).
    edits = {s.side: (s.count, s.percent) for s in balance.edits}
    assert edits == {"client": (4, 33), "seller": (8, 67), "partner": (0, 0)}

    html = as_user(maria).get(reverse("cases:overview", args=[case.pk]))
    html = html.content.decode()
    assert 'data-side="client">Client <strong>30 %</strong> <span' in html
    assert 'data-side="seller">Seller <strong>70 %</strong> <span' in html
    assert 'data-flag="not_co_created"' not in html


def test_edits_count_changes_by_side(case, maria, anna):
    item = add(case, CHANGES, anna, ChangeItemFactory)
    for owner in ("A", "B", "C"):
        change(case, CHANGES, maria, item, owner=owner)
    balance = activity.balance(activity.with_contributions(case.memberships.all()))
    edits = {s.side: s.count for s in balance.edits}
    # Anna: the add and the stage's move to "in progress"; Maria: three changes.
    assert edits == {"client": 3, "seller": 2, "partner": 0}
    assert {s.side: s.percent for s in balance.edits}["client"] == 60


def test_flagged_under_a_fifth(case, maria, anna, as_user):
    authored(case, maria, 1)
    authored(case, anna, 9)
    balance = activity.balance(activity.with_contributions(case.memberships.all()))
    assert balance.client_share == Decimal("0.1")
    assert balance.not_co_created
    codes = [i.code for i in health.check(case, figures.compute(case))]
    assert "not_co_created" in codes  # the same rule as the case health

    html = as_user(anna).get(reverse("cases:overview", args=[case.pk]))
    assert 'data-flag="not_co_created"' in html.content.decode()


def test_exactly_a_fifth_is_co_created(case, maria, anna):
    authored(case, maria, 2)
    authored(case, anna, 8)
    balance = activity.balance(activity.with_contributions(case.memberships.all()))
    assert balance.client_share == health.CLIENT_SHARE_MIN
    assert not balance.not_co_created


def test_empty_case_is_not_flagged(case, anna, as_user):
    balance = activity.balance(activity.with_contributions(case.memberships.all()))
    assert balance.client_share is None
    assert not balance.not_co_created
    response = as_user(anna).get(reverse("cases:overview", args=[case.pk]))
    assert response.status_code == 200


# --- Query count ----------------------------------------------------------------


FACTORIES = {
    "models": f.ModelChangeFactory,
    "changes": f.ChangeItemFactory,
    "ecosystem": f.EcosystemPartyFactory,
    "leading_metrics": f.LeadingMetricFactory,
    "lagging_metrics": f.LaggingMetricFactory,
    "benefits": f.BenefitFactory,
    "investments": f.InvestmentFactory,
    "risks_of_acting": f.RiskOfActingFactory,
    "risks_of_not_acting": f.RiskOfNotActingFactory,
}
# A text field each stage's items have, to change.
EDITED = {"models": "today", "ecosystem": "role", "investments": "title"}


def fill_history(case, people, per_stage):
    """Items in all nine stages, each added and changed, every third deleted, by
    people of every side; and notes on every stage."""
    models = iter(ClientModel.values)
    n = 0
    for stage in STAGES:
        for i in range(min(per_stage, 6) if stage.key == "models" else per_stage):
            who, other = people[n % len(people)], people[(n + 1) % len(people)]
            n += 1
            extra = {"model": next(models)} if stage.key == "models" else {}
            item = add(case, stage, who, FACTORIES[stage.key], **extra)
            change(case, stage, other, item, **{EDITED.get(stage.key, "owner"): "X"})
            if i % 3 == 0:
                services.delete_item(case=case, stage=stage, item=item, user=who)
        services.update_stage_notes(case=case, stage=stage, notes=f"N{n}", user=who)


@pytest.mark.parametrize("per_stage", [1, 12], ids=["small", "big"])
def test_bounded_queries(
    case, maria, anna, partner, as_user, per_stage, django_assert_max_num_queries
):
    fill_history(case, [maria, anna, partner], per_stage)
    rows = sum(s.model.history.filter(case_id=case.pk).count() for s in STAGES)
    assert rows >= (27 if per_stage == 1 else 200)
    browser = as_user(anna)
    url = reverse("cases:activity", args=[case.pk])
    browser.get(url)  # warm the database features' one-off checks

    with django_assert_max_num_queries(8):
        response = browser.get(url)
    assert response.status_code == 200
    entries = response.content.decode().count('<li class="d-flex gap-2')
    assert entries == min(activity.PAGE_SIZE, rows + len(STAGES))  # + the notes

    with django_assert_max_num_queries(8):
        browser.get(url, {"stage": "investments", "person": maria.pk, "page": 2})
    with django_assert_max_num_queries(8):
        browser.get(url, {"recent": 1})
    with django_assert_max_num_queries(MAX_QUERIES):
        overview = browser.get(reverse("cases:overview", args=[case.pk]))
    assert 'id="co-creation-balance"' in overview.content.decode()
