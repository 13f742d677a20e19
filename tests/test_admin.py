"""Support staff can reach every model of the product in the Django admin."""

from datetime import date
from decimal import Decimal

import pytest
from django.apps import apps
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from cases import activity, services
from cases.models import (
    Benefit,
    BenefitYear,
    Case,
    CaseStatus,
    InactionCost,
    LaggingMetric,
    LeadingMetric,
    RiskOfNotActing,
    Role,
    Side,
    StageStatus,
)
from cases.stages import BY_KEY

from . import factories as f
from .cases.test_agreement import agree, last_reason, status_of

PRODUCT_MODELS = [
    model
    for label in ("cases", "ecosystem")
    for model in apps.get_app_config(label).get_models()
    if not model.__name__.startswith("Historical")
]


@pytest.mark.parametrize("model", PRODUCT_MODELS, ids=lambda m: m.__name__)
def test_every_model_is_in_the_admin(model):
    assert model in admin.site._registry


@pytest.mark.django_db
@pytest.mark.parametrize("model", PRODUCT_MODELS, ids=lambda m: m.__name__)
def test_admin_list_page_opens(client, model):
    staff = get_user_model().objects.create_superuser(
        "admin@example.com", "admin@example.com", "x"
    )
    client.force_login(staff)
    url = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")
    assert client.get(url).status_code == 200


# --- Edits that the activity feed words (items' snapshots) ----------------------


@pytest.fixture
def staff(db):
    return get_user_model().objects.create_superuser(
        "sam@support.example",
        "sam@support.example",
        "x",
        first_name="Sam",
        last_name="Support",
    )


@pytest.fixture
def maria(case):
    user = f.UserFactory(first_name="Maria", last_name="Lopez")
    f.MembershipFactory(case=case, user=user, side=Side.CLIENT, role=Role.CONTRIBUTOR)
    return user


def _post_value(value):
    if value is None:
        return ""
    if isinstance(value, list | tuple):
        return [str(v) for v in value]
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def admin_form(browser, model, obj=None) -> dict:
    """What the admin's add or change form of `model` posts as it is shown: the
    item's fields, and each inline's management form and rows."""
    name = f"admin:{model._meta.app_label}_{model._meta.model_name}"
    url = reverse(f"{name}_change", args=[obj.pk]) if obj else reverse(f"{name}_add")
    response = browser.get(url)
    assert response.status_code == 200
    data = {
        bound.html_name: _post_value(bound.value())
        for bound in response.context["adminform"].form
    }
    for inline in response.context["inline_admin_formsets"]:
        formset = inline.formset
        for form in [formset.management_form, *formset.forms]:
            for bound in form:
                data[bound.html_name] = _post_value(bound.value())
    return data


def admin_post(browser, model, data, obj=None):
    name = f"admin:{model._meta.app_label}_{model._meta.model_name}"
    url = reverse(f"{name}_change", args=[obj.pk]) if obj else reverse(f"{name}_add")
    response = browser.post(url, data)
    errors = response.context and [
        response.context["adminform"].form.errors,
        *(i.formset.errors for i in response.context["inline_admin_formsets"]),
    ]
    assert response.status_code == 302, errors
    return response


def add_row(data: dict, prefix: str, **fields) -> None:
    """One more inline row, as the admin's "Add another" makes it."""
    n = int(data[f"{prefix}-TOTAL_FORMS"])
    data[f"{prefix}-TOTAL_FORMS"] = str(n + 1)
    data.update({f"{prefix}-{n}-{name}": str(v) for name, v in fields.items()})


def feed(case) -> list[str]:
    return [str(e) for e in activity.feed(case).entries]


BENEFITS = BY_KEY["benefits"]
LEADING = BY_KEY["leading_metrics"]
LAGGING = BY_KEY["lagging_metrics"]


def saved_metric(case, user, stage, name: str, **links):
    """A lagging or leading metric saved through the services, with its links."""
    factory = f.LaggingMetricFactory if stage is LAGGING else f.LeadingMetricFactory
    return services.save_item(
        case=case,
        stage=stage,
        item=factory.build(case=case, name=name),
        user=user,
        **links,
    )


INACTION = BY_KEY["risks_of_not_acting"]


def benefit_years(*ranges):
    return [
        BenefitYear(year=y, low=Decimal(lo), expected=Decimal(ex), high=Decimal(hi))
        for y, lo, ex, hi in ranges
    ]


def benefit(case, user, *ranges, **fields):
    return services.save_item(
        case=case,
        stage=BENEFITS,
        item=f.BenefitFactory.build(case=case, title="Fewer empty trucks", **fields),
        user=user,
        yearly=benefit_years(*ranges),
    )


def test_admin_editing_a_benefits_years_is_worded_under_the_admins_name(
    case, staff, maria, client
):
    item = benefit(case, maria, (1, 100, 150, 200), (2, 300, 380, 450))
    client.force_login(staff)
    data = admin_form(client, Benefit, item)
    year_2 = next(k for k, v in data.items() if k.endswith("-year") and v == "2")
    data[year_2.replace("-year", "-expected")] = "420"
    data["confidence"] = "high"
    add_row(data, "yearly", year=3, low=500, expected=600, high=700)

    history = Benefit.history.filter(id=item.pk).count()
    admin_post(client, Benefit, data, item)

    assert Benefit.history.filter(id=item.pk).count() == history + 1
    assert feed(case)[0] == (
        "Sam Support changed the confidence of 'Fewer empty trucks' from Medium "
        "to High and changed its figures: year 2 expected from 380 EUR to 420 EUR; "
        "year 3 added (low 500 EUR, expected 600 EUR, high 700 EUR)"
    )
    # Maria saves what the admin left: nothing of hers is worded as a change.
    item.refresh_from_db()
    services.save_item(
        case=case,
        stage=BENEFITS,
        item=item,
        user=maria,
        yearly=benefit_years(
            (1, 100, 150, 200), (2, 300, 420, 450), (3, 500, 600, 700)
        ),
    )
    assert feed(case)[0] == "Maria Lopez (client) updated benefit 'Fewer empty trucks'"


def test_admin_deleting_a_benefits_year(case, staff, maria, client):
    item = benefit(case, maria, (1, 100, 150, 200), (2, 300, 380, 450))
    client.force_login(staff)
    data = admin_form(client, Benefit, item)
    year_1 = next(k for k, v in data.items() if k.endswith("-year") and v == "1")
    data[year_1.replace("-year", "-DELETE")] = "on"
    admin_post(client, Benefit, data, item)

    assert feed(case)[0] == (
        "Sam Support changed the figures of 'Fewer empty trucks': year 1 removed "
        "(was low 100 EUR, expected 150 EUR, high 200 EUR)"
    )


def test_admin_adding_a_benefit_with_its_years(case, staff, maria, client):
    client.force_login(staff)
    data = admin_form(client, Benefit)
    data.update(case=case.pk, title="Fewer empty trucks", category="cost")
    add_row(data, "yearly", year=1, low=1, expected=2, high=3)
    admin_post(client, Benefit, data)

    item = Benefit.objects.get(title="Fewer empty trucks")
    assert item.snapshot == [
        {"year": 1, "low": "1.00", "expected": "2.00", "high": "3.00"}
    ]
    assert [h.history_type for h in Benefit.history.filter(id=item.pk)] == ["+"]
    assert feed(case)[0] == "Sam Support added benefit 'Fewer empty trucks'"
    services.save_item(
        case=case,
        stage=BENEFITS,
        item=item,
        user=maria,
        yearly=benefit_years((1, 1, 2, 4)),
    )
    assert feed(case)[0] == (
        "Maria Lopez (client) changed the figures of 'Fewer empty trucks': "
        "year 1 high from 3 EUR to 4 EUR"
    )


def test_admin_editing_a_risks_cost_of_inaction(case, staff, maria, client):
    risk = services.save_item(
        case=case,
        stage=INACTION,
        item=f.RiskOfNotActingFactory.build(case=case, title="Rival ships first"),
        user=maria,
        yearly_cost=[InactionCost(year=1, amount=Decimal("5000"))],
    )
    client.force_login(staff)
    data = admin_form(client, RiskOfNotActing, risk)
    data["yearly_cost-0-amount"] = "6500"
    admin_post(client, RiskOfNotActing, data, risk)

    assert feed(case)[0] == (
        "Sam Support changed the cost of inaction of 'Rival ships first': "
        "year 1 from 5,000 EUR to 6,500 EUR"
    )


def test_admin_editing_what_a_leading_metric_drives(case, staff, maria, client):
    churn, cost = (
        saved_metric(case, maria, LAGGING, name) for name in ("Churn", "Cost per order")
    )
    metric = saved_metric(case, maria, LEADING, "Orders shipped direct", drives=[churn])
    client.force_login(staff)
    data = admin_form(client, LeadingMetric, metric)
    data["drives"] = [str(cost.pk)]
    admin_post(client, LeadingMetric, data, metric)

    assert feed(case)[0] == (
        "Sam Support changed what 'Orders shipped direct' drives: "
        "added 'Cost per order', removed 'Churn'"
    )
    metric.refresh_from_db()
    services.save_item(case=case, stage=LEADING, item=metric, user=maria, drives=[cost])
    assert feed(case)[0] == (
        "Maria Lopez (client) updated leading metric 'Orders shipped direct'"
    )


def test_admin_editing_and_deleting_a_year_on_its_own_page(case, staff, maria, client):
    item = benefit(case, maria, (1, 100, 150, 200), (2, 300, 380, 450))
    revision = Case.objects.get(pk=case.pk).revision
    client.force_login(staff)
    year_2 = item.yearly.get(year=2)
    data = admin_form(client, BenefitYear, year_2)
    data["high"] = "500"
    admin_post(client, BenefitYear, data, year_2)

    assert feed(case)[0] == (
        "Sam Support changed the figures of 'Fewer empty trucks': "
        "year 2 high from 450 EUR to 500 EUR"
    )
    assert Case.objects.get(pk=case.pk).revision > revision

    name = "admin:cases_benefityear"
    response = client.post(reverse(f"{name}_delete", args=[year_2.pk]), {"post": "yes"})
    assert response.status_code == 302
    assert feed(case)[0] == (
        "Sam Support changed the figures of 'Fewer empty trucks': year 2 removed "
        "(was low 300 EUR, expected 380 EUR, high 500 EUR)"
    )


def test_admin_deleting_a_lagging_metric_unlinks_it_in_the_history(
    case, staff, maria, client
):
    churn = saved_metric(case, maria, LAGGING, "Churn")
    metric = saved_metric(case, maria, LEADING, "Orders shipped direct", drives=[churn])
    client.force_login(staff)
    response = client.post(
        reverse("admin:cases_laggingmetric_changelist"),
        {"action": "delete_selected", "_selected_action": [churn.pk], "post": "yes"},
    )
    assert response.status_code == 302
    assert not LaggingMetric.objects.exists()

    metric.refresh_from_db()
    services.save_item(case=case, stage=LEADING, item=metric, user=maria, drives=[])
    assert feed(case)[:2] == [
        "Maria Lopez (client) updated leading metric 'Orders shipped direct'",
        "Sam Support deleted lagging metric 'Churn'",
    ]


def admin_delete(browser, obj, action: bool):
    """Delete `obj` in the admin: on its delete page, or as the changelist's
    "delete selected" action."""
    name = f"admin:{obj._meta.app_label}_{obj._meta.model_name}"
    if action:
        response = browser.post(
            reverse(f"{name}_changelist"),
            {"action": "delete_selected", "_selected_action": [obj.pk], "post": "yes"},
        )
    else:
        response = browser.post(
            reverse(f"{name}_delete", args=[obj.pk]), {"post": "yes"}
        )
    assert response.status_code == 302
    assert not type(obj).objects.filter(pk=obj.pk).exists()
    return response


@pytest.mark.parametrize("archived", [False, True], ids=["open", "archived"])
@pytest.mark.parametrize("action", [False, True], ids=["delete page", "action"])
def test_admin_deleting_a_metric_reopens_the_agreed_stage_of_what_it_proved(
    action, archived, case, staff, maria, facilitator, client
):
    """Like delete_item: the benefit loses its metric, so Benefits, agreed, is
    reopened, under the staff member's name; Leading metrics, whose metric
    drove another lagging metric, stays agreed. The admin is not refused an
    archived case, and keeps its stages true there too."""
    churn = saved_metric(case, maria, LAGGING, "Churn")
    cost = saved_metric(case, maria, LAGGING, "Cost per order")
    benefit(case, maria, (1, 100, 150, 200), metric=churn)
    saved_metric(case, maria, LEADING, "Orders shipped direct", drives=[cost])
    agree(case, maria, facilitator, BENEFITS.slug)
    agree(case, maria, facilitator, LEADING.slug)
    if archived:
        Case.objects.filter(pk=case.pk).update(status=CaseStatus.ARCHIVED)
    client.force_login(staff)

    admin_delete(client, churn, action)

    assert status_of(case, BENEFITS.slug) == StageStatus.IN_PROGRESS
    assert last_reason(case, BENEFITS.slug) == (
        "Reopened: Sam Support deleted lagging metric 'Churn'"
    )
    assert status_of(case, LEADING.slug) == StageStatus.AGREED
    assert Case.objects.get(pk=case.pk).status == (
        CaseStatus.ARCHIVED if archived else CaseStatus.DRAFT
    )


CASE_WRITES = ('INSERT INTO "cases_', 'UPDATE "cases_', 'DELETE FROM "cases_')


def _case_locked_before_any_write(run) -> bool:
    """Does `run` lock a case's row (services.lock_case reads its status under
    the lock) before it writes any row of the cases app (the admin's log of the
    deletion, written before it, locks nothing of a case)? SQLite drops FOR
    UPDATE, so there the read stands for the lock."""
    with CaptureQueriesContext(connection) as captured:
        run()
    for query in captured.captured_queries:
        sql = query["sql"]
        if sql.startswith(CASE_WRITES):
            return False
        if sql.startswith('SELECT "cases_case"."status"') and (
            connection.vendor != "postgresql" or "FOR UPDATE" in sql
        ):
            return True
    return False


@pytest.mark.parametrize("action", [False, True], ids=["delete page", "action"])
def test_admin_deleting_an_item_locks_its_case_first(
    action, case, staff, maria, client
):
    """The services' lock order (services.lock_case): a deletion in the admin
    while someone edits the case waits for them instead of deadlocking."""
    churn = saved_metric(case, maria, LAGGING, "Churn")
    client.force_login(staff)

    assert _case_locked_before_any_write(lambda: admin_delete(client, churn, action))


@pytest.mark.parametrize("how", ["edit", "delete page", "action"])
def test_admin_writing_a_year_on_its_own_page_locks_its_case_first(
    how, case, staff, maria, client
):
    item = benefit(case, maria, (1, 100, 150, 200), (2, 300, 380, 450))
    year_2 = item.yearly.get(year=2)
    client.force_login(staff)

    def run():
        if how == "edit":
            data = admin_form(client, BenefitYear, year_2)
            data["high"] = "500"
            admin_post(client, BenefitYear, data, year_2)
        else:
            admin_delete(client, year_2, action=how == "action")

    assert _case_locked_before_any_write(run)


# --- Item saves: the services' lock, conflicts and stage status ------------------

CHANGES = BY_KEY["changes"]


def changed_item(case, user, title: str):
    return services.save_item(
        case=case,
        stage=CHANGES,
        item=f.ChangeItemFactory.build(case=case, title=title),
        user=user,
    )


@pytest.mark.parametrize("kind", ["plain item", "item with years"])
def test_admin_saving_an_item_locks_its_case_first(kind, case, staff, maria, client):
    if kind == "plain item":
        item, field, value = changed_item(case, maria, "Night drops"), "title", "Late"
    else:
        item = benefit(case, maria, (1, 100, 150, 200))
        field, value = "title", "Fewer empty trucks, sooner"
    client.force_login(staff)
    data = admin_form(client, type(item), item)
    data[field] = value

    assert _case_locked_before_any_write(
        lambda: admin_post(client, type(item), data, item)
    )
    item.refresh_from_db()
    assert getattr(item, field) == value


def test_admin_save_over_a_newer_edit_is_refused(case, staff, maria, client):
    """Sam opens the item in the admin; Maria saves it in a workshop; Sam's
    save is refused with a message, and Maria's edit stands."""
    item = changed_item(case, maria, "Night drops")
    client.force_login(staff)
    data = admin_form(client, type(item), item)
    item.title = "Night drops, Maria's words"
    services.save_item(
        case=case, stage=CHANGES, item=item, user=maria, expected_version=1
    )
    data["title"] = "Sam's words"

    response = client.post(
        reverse("admin:cases_changeitem_change", args=[item.pk]), data
    )

    assert response.status_code == 200
    assert "Someone saved this item since you opened it" in response.text
    item.refresh_from_db()
    assert item.title == "Night drops, Maria's words"


def test_an_app_edit_begun_before_an_admin_save_is_refused(case, staff, maria, client):
    """The admin's save moves the item's version: Maria's form, opened
    before it, cannot overwrite Sam's correction."""
    item = changed_item(case, maria, "Night drops")
    begun_at = item.version
    client.force_login(staff)
    data = admin_form(client, type(item), item)
    data["title"] = "Night drops (corrected)"
    admin_post(client, type(item), data, item)

    item.title = "Maria's late edit"
    with pytest.raises(services.EditConflict):
        services.save_item(
            case=case, stage=CHANGES, item=item, user=maria, expected_version=begun_at
        )
    item.refresh_from_db()
    assert item.title == "Night drops (corrected)"


@pytest.mark.parametrize("kind", ["plain item", "item with years"])
def test_admin_editing_an_item_reopens_its_agreed_stage(
    kind, case, staff, maria, facilitator, client
):
    if kind == "plain item":
        item, stage = changed_item(case, maria, "Night drops"), CHANGES
    else:
        item, stage = benefit(case, maria, (1, 100, 150, 200)), BENEFITS
    agree(case, maria, facilitator, stage.slug)
    client.force_login(staff)
    data = admin_form(client, type(item), item)
    data["title"] = "Night drops, revised"

    admin_post(client, type(item), data, item)

    assert status_of(case, stage.slug) == StageStatus.IN_PROGRESS
    assert last_reason(case, stage.slug) == (
        "Reopened: Sam Support changed 'Night drops, revised'"
    )


def test_an_item_added_in_the_admin_ends_its_list_under_the_staff_name(
    case, staff, maria, facilitator, client
):
    first = changed_item(case, maria, "Night drops")
    agree(case, maria, facilitator, CHANGES.slug)
    client.force_login(staff)
    data = admin_form(client, type(first))
    data.update(case=str(case.pk), title="Added by support", leg="process")

    admin_post(client, type(first), data)

    added = type(first).objects.get(title="Added by support")
    assert added.position > first.position
    assert (added.created_by, added.updated_by) == (staff, staff)
    assert status_of(case, CHANGES.slug) == StageStatus.IN_PROGRESS
    assert last_reason(case, CHANGES.slug) == (
        "Reopened: Sam Support added 'Added by support'"
    )


def test_an_item_stays_in_its_case(case, staff, maria, client):
    """Moved to another case, an item would take its links to this case's
    items along: the admin shows its case and does not change it."""
    other_case = f.CaseFactory()
    churn = saved_metric(case, maria, LAGGING, "Churn")
    client.force_login(staff)
    data = admin_form(client, LaggingMetric, churn)
    assert "case" not in data
    data.update(case=str(other_case.pk), name="Churn, renamed")

    admin_post(client, LaggingMetric, data, churn)

    churn.refresh_from_db()
    assert (churn.case, churn.name) == (case, "Churn, renamed")


def test_a_year_edited_on_its_own_page_reopens_the_stage_and_moves_the_version(
    case, staff, maria, facilitator, client
):
    """Like an edit of the benefit in the app: the agreed stage reopens, and
    Maria's edit of the benefit, begun before, is refused, not saved over it."""
    item = benefit(case, maria, (1, 100, 150, 200))
    begun_at = item.version
    agree(case, maria, facilitator, BENEFITS.slug)
    year_1 = item.yearly.get(year=1)
    client.force_login(staff)
    data = admin_form(client, BenefitYear, year_1)
    assert "benefit" not in data  # a row stays with its item
    data["high"] = "999"

    admin_post(client, BenefitYear, data, year_1)

    assert status_of(case, BENEFITS.slug) == StageStatus.IN_PROGRESS
    assert last_reason(case, BENEFITS.slug) == (
        "Reopened: Sam Support changed 'Fewer empty trucks'"
    )
    with pytest.raises(services.EditConflict):
        services.save_item(
            case=case,
            stage=BENEFITS,
            item=Benefit.objects.get(pk=item.pk),
            user=maria,
            yearly=benefit_years((1, 100, 150, 200)),
            expected_version=begun_at,
        )
    assert item.yearly.get(year=1).high == Decimal("999")


@pytest.mark.parametrize("action", [False, True], ids=["delete page", "action"])
def test_admin_deleting_an_item_reopens_its_own_agreed_stage(
    action, case, staff, maria, facilitator, client
):
    item = changed_item(case, maria, "Night drops")
    changed_item(case, maria, "Day drops")
    agree(case, maria, facilitator, CHANGES.slug)
    client.force_login(staff)

    admin_delete(client, item, action)

    assert status_of(case, CHANGES.slug) == StageStatus.IN_PROGRESS
    assert (
        last_reason(case, CHANGES.slug) == "Reopened: Sam Support deleted 'Night drops'"
    )


def test_a_leading_metric_drives_only_its_own_cases_metrics(case, staff, maria, client):
    mine = saved_metric(case, maria, LAGGING, "Churn")
    theirs = f.LaggingMetricFactory(case=f.CaseFactory(), name="Their churn")
    leading = saved_metric(case, maria, LEADING, "Orders shipped direct")
    client.force_login(staff)
    url = reverse("admin:cases_leadingmetric_change", args=[leading.pk])
    offered = client.get(url).context["adminform"].form.fields["drives"].queryset
    assert list(offered) == [mine]
    data = admin_form(client, LeadingMetric, leading)
    data["drives"] = [str(mine.pk), str(theirs.pk)]

    response = client.post(url, data)

    assert response.status_code == 200
    assert list(leading.drives.all()) == []


def test_a_new_leading_metric_cannot_drive_another_cases_metric(
    case, staff, maria, client
):
    theirs = f.LaggingMetricFactory(case=f.CaseFactory(), name="Their churn")
    client.force_login(staff)
    data = admin_form(client, LeadingMetric)
    data.update(
        case=str(case.pk), name="Orders shipped direct", drives=[str(theirs.pk)]
    )

    response = client.post(reverse("admin:cases_leadingmetric_add"), data)

    assert response.status_code == 200
    assert response.context["adminform"].form.errors["drives"] == [
        "Link only to this case's lagging metrics."
    ]
    assert not LeadingMetric.objects.filter(case=case).exists()
