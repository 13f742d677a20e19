"""Deleting a lagging metric unlinks it from the leading metrics that drove it
and from the benefits it proved. The activity feed reports the deletion once,
under the name of whoever deleted it; nobody who later saves one of those
items is said to have removed the link."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from cases import activity, services
from cases.models import (
    Benefit,
    LeadingMetric,
    Role,
    Side,
    StageRecord,
    StageSignOff,
    StageStatus,
)
from cases.stages import BY_KEY

from .. import factories as f
from .test_activity import add, add_benefit, lines
from .test_agreement import agree, last_reason, status_of
from .test_stage_views import edit_data

pytestmark = pytest.mark.django_db

LEADING = BY_KEY["leading_metrics"]
LAGGING = BY_KEY["lagging_metrics"]
BENEFITS = BY_KEY["benefits"]


@pytest.fixture
def maria(case):
    user = f.UserFactory(first_name="Maria", last_name="Lopez")
    f.MembershipFactory(case=case, user=user, side=Side.CLIENT, role=Role.CONTRIBUTOR)
    return user


@pytest.fixture
def anna(case):
    user = f.UserFactory(first_name="Anna", last_name="Berg")
    f.MembershipFactory(case=case, user=user, side=Side.SELLER, role=Role.FACILITATOR)
    return user


def lagging(case, user, name):
    return add(case, LAGGING, user, f.LaggingMetricFactory, name=name)


def leading(case, user, name, drives):
    item = f.LeadingMetricFactory.build(case=case, name=name)
    return services.save_item(
        case=case, stage=LEADING, item=item, user=user, drives=drives
    )


def delete(case, stage, item, user):
    services.delete_item(case=case, stage=stage, item=item, user=user)


def test_saving_a_leading_metric_after_its_lagging_metric_was_deleted(
    case, anna, maria, as_user
):
    churn = lagging(case, anna, "Churn")
    cost = lagging(case, anna, "Cost per order")
    metric = leading(case, anna, "Orders shipped direct", [churn, cost])
    delete(case, LAGGING, churn, anna)

    # Maria changes its owner in the edit form, which offers only Cost per order.
    metric.refresh_from_db()
    response = as_user(maria).post(
        reverse("cases:item_edit", args=[case.pk, "leading-metrics", metric.pk]),
        edit_data(
            "leading-metrics", case, metric, "Orders shipped direct", owner="COO"
        ),
    )
    assert response.status_code == 302

    assert lines(case)[:2] == [
        "Maria Lopez (client) changed the owner of 'Orders shipped direct' "
        "from 'CFO' to 'COO'",
        "Anna Berg (seller) deleted lagging metric 'Churn'",
    ]
    metric.refresh_from_db()
    assert metric.snapshot == [{"id": cost.pk, "name": "Cost per order"}]


def test_saving_it_unchanged_after_the_deletion_changes_nothing(case, anna, maria):
    churn = lagging(case, anna, "Churn")
    metric = leading(case, anna, "Orders shipped direct", [churn])
    delete(case, LAGGING, churn, anna)

    metric.refresh_from_db()
    services.save_item(case=case, stage=LEADING, item=metric, user=maria, drives=[])

    assert lines(case)[:2] == [
        "Maria Lopez (client) updated leading metric 'Orders shipped direct'",
        "Anna Berg (seller) deleted lagging metric 'Churn'",
    ]


def test_a_link_really_removed_before_the_deletion_is_still_worded(case, anna, maria):
    churn = lagging(case, anna, "Churn")
    cost = lagging(case, anna, "Cost per order")
    metric = leading(case, anna, "Orders shipped direct", [churn, cost])
    services.save_item(case=case, stage=LEADING, item=metric, user=maria, drives=[cost])
    delete(case, LAGGING, cost, anna)

    assert lines(case)[:2] == [
        "Anna Berg (seller) deleted lagging metric 'Cost per order'",
        "Maria Lopez (client) changed what 'Orders shipped direct' drives: "
        "removed 'Churn'",
    ]


def test_saving_a_benefit_after_the_metric_proving_it_was_deleted(
    case, anna, maria, as_user
):
    churn = lagging(case, anna, "Churn")
    benefit = add_benefit(case, anna, title="Fewer empty trucks", metric=churn)
    delete(case, LAGGING, churn, anna)

    benefit.refresh_from_db()
    assert benefit.metric is None
    response = as_user(maria).post(
        reverse("cases:item_edit", args=[case.pk, "benefits", benefit.pk]),
        edit_data("benefits", case, benefit, "Less empty running"),
    )
    assert response.status_code == 302

    assert lines(case)[:2] == [
        "Maria Lopez (client) renamed benefit 'Fewer empty trucks' to "
        "'Less empty running'",
        "Anna Berg (seller) deleted lagging metric 'Churn'",
    ]


def test_a_proving_metric_really_cleared_is_still_worded(case, anna, maria):
    churn = lagging(case, anna, "Churn")
    benefit = add_benefit(case, anna, title="Fewer empty trucks", metric=churn)
    benefit.metric = None
    services.save_item(case=case, stage=BENEFITS, item=benefit, user=maria)

    assert lines(case)[0] == (
        "Maria Lopez (client) cleared the proving metric of 'Fewer empty trucks'"
    )


def test_the_unlinking_is_kept_in_the_history_but_not_counted_as_an_edit(
    case, anna, maria
):
    churn = lagging(case, anna, "Churn")
    metric = leading(case, anna, "Orders shipped direct", [churn])
    benefit = add_benefit(case, anna, title="Fewer empty trucks", metric=churn)
    counted = activity.with_contributions(case.memberships.all())
    before = {m.user_id: m.n_edits for m in counted}
    delete(case, LAGGING, churn, maria)

    for model, pk in ((LeadingMetric, metric.pk), (Benefit, benefit.pk)):
        latest = model.history.filter(id=pk).latest("history_id")
        assert latest.history_user == maria
        assert latest.history_change_reason.startswith(services.UNLINKED)
        assert "deleted lagging metric 'Churn'" in latest.history_change_reason
    assert LeadingMetric.history.filter(id=metric.pk).latest().snapshot == []
    assert Benefit.history.filter(id=benefit.pk).latest().metric_id is None

    counted = activity.with_contributions(case.memberships.all())
    # Maria's edits: the deletion (and the stage record it moved to "empty").
    assert {m.user_id: m.n_edits for m in counted}[maria.pk] == before[maria.pk] + 2


def test_deleting_a_linked_metric_costs_the_same_queries_however_many_links(case, anna):
    def deletion_queries(links: int) -> int:
        churn = lagging(case, anna, "Churn")
        for i in range(links):
            leading(case, anna, f"Signal {i}", [churn])
            add_benefit(case, anna, title=f"Benefit {i}", metric=churn)
        with CaptureQueriesContext(connection) as queries:
            delete(case, LAGGING, churn, anna)
        return len(queries)

    assert deletion_queries(1) == deletion_queries(6)


def test_deleting_an_unlinked_metric_writes_no_other_history(case, anna):
    churn = lagging(case, anna, "Churn")
    leading(case, anna, "Orders shipped direct", [])
    counts = (LeadingMetric.history.count(), Benefit.history.count())
    delete(case, LAGGING, churn, anna)
    assert (LeadingMetric.history.count(), Benefit.history.count()) == counts


# --- The stages of the items that lost a link ------------------------------------


def test_deleting_the_metric_a_benefit_is_proved_by_reopens_agreed_benefits(
    case, anna, maria, as_user
):
    """Benefits agreed, one proved by Churn: deleting Churn changes that benefit
    (it loses its metric), so Benefits is no longer agreed, reopened and
    recorded like any other change reopens it. Leading metrics, none of which
    drove Churn, stay agreed."""
    churn = lagging(case, anna, "Churn")
    cost = lagging(case, anna, "Cost per order")
    add_benefit(case, anna, title="Fewer empty trucks", metric=churn)
    leading(case, anna, "Orders shipped direct", [cost])
    agree(case, maria, anna, BENEFITS.slug)
    agree(case, maria, anna, LEADING.slug)

    response = as_user(maria).post(
        reverse("cases:item_delete", args=[case.pk, LAGGING.slug, churn.pk])
    )

    assert response.status_code == 302
    assert status_of(case, BENEFITS.slug) == StageStatus.IN_PROGRESS
    assert not StageSignOff.objects.filter(case=case, stage=BENEFITS.slug).exists()
    assert last_reason(case, BENEFITS.slug) == (
        "Reopened: Maria Lopez deleted lagging metric 'Churn'"
    )
    record = StageRecord.objects.get(case=case, stage=BENEFITS.slug)
    assert record.history.order_by("-history_id").first().history_user == maria
    assert lines(case, stage=BENEFITS)[0] == "Maria Lopez (client) reopened stage 6"
    assert status_of(case, LEADING.slug) == StageStatus.AGREED
    assert StageSignOff.objects.filter(case=case, stage=LEADING.slug).count() == 2


def test_deleting_a_metric_a_leading_metric_drives_reopens_leading_metrics(
    case, anna, maria
):
    churn = lagging(case, anna, "Churn")
    leading(case, anna, "Orders shipped direct", [churn])
    agree(case, maria, anna, LEADING.slug)

    delete(case, LAGGING, churn, anna)

    assert status_of(case, LEADING.slug) == StageStatus.IN_PROGRESS
    assert last_reason(case, LEADING.slug) == (
        "Reopened: Anna Berg deleted lagging metric 'Churn'"
    )


def test_a_single_sign_off_of_a_stage_that_lost_a_link_is_cleared(case, anna, maria):
    churn = lagging(case, anna, "Churn")
    add_benefit(case, anna, title="Fewer empty trucks", metric=churn)
    services.sign_off_stage(case=case, stage=BENEFITS, user=maria)

    delete(case, LAGGING, churn, anna)

    assert not StageSignOff.objects.filter(case=case, stage=BENEFITS.slug).exists()
    assert last_reason(case, BENEFITS.slug) == (
        "Sign-off cleared: Anna Berg deleted lagging metric 'Churn'"
    )
