"""The demo case: `manage.py load_demo [--reset]` builds a whole, valid,
co-created case through the services, once, and rebuilds only it on --reset."""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from decimal import Decimal
from io import StringIO

import pytest
from django.apps import apps
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.test import Client
from django.urls import reverse

from cases import demo, services
from cases.models import (
    Benefit,
    BenefitYear,
    Case,
    ChangeItem,
    EcosystemParty,
    InactionCost,
    Investment,
    LeadingMetric,
    Membership,
    Role,
    Side,
    StageRecord,
    StageStatus,
)
from cases.stages import BY_KEY, STAGES
from ecosystem.models import OrganisationKind

from ..factories import UserFactory

EMAILS = [
    "anna.berg@northwind.example",
    "maria.lopez@harbour.example",
    "david.chen@harbour.example",
]


def run(*args: str) -> str:
    out = StringIO()
    call_command("load_demo", *args, stdout=out)
    return out.getvalue()


def demo_case() -> Case:
    return Case.objects.get(extra__demo=True)


def row_counts() -> dict[str, int]:
    """Rows of every model of the project, by model label."""
    return {m._meta.label: m._default_manager.count() for m in apps.get_models()}


def without_history(counts: dict[str, int]) -> dict[str, int]:
    """Audit trails (if any) rightly record a deletion; leave them out."""
    return {k: v for k, v in counts.items() if ".Historical" not in k}


@pytest.fixture(autouse=True)
def fast_hashing(settings) -> None:
    """Three real password hashes per load make the suite slow; logins still work."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def loaded(db) -> tuple[Case, str]:
    output = run()
    return demo_case(), output


@pytest.mark.django_db
def test_builds_every_stage(loaded):
    case, _ = loaded
    assert case.title == demo.CASE["title"]
    assert case.client.name == "Harbour Building Supplies"
    assert case.seller.name == "Northwind Logistics Software"
    assert (case.currency, case.horizon_years) == ("EUR", 5)
    assert case.discount_rate == Decimal("0.08")
    for stage in STAGES:
        assert stage.model.objects.filter(case=case).exists(), stage.key
    records = {r.stage: r for r in StageRecord.objects.filter(case=case)}
    assert set(records) == {s.slug for s in STAGES}
    assert all(r.status != StageStatus.EMPTY for r in records.values())
    assert sum(1 for r in records.values() if r.notes) >= 2


@pytest.mark.django_db
def test_content_sizes(loaded):
    case, _ = loaded
    counts = {s.key: s.model.objects.filter(case=case).count() for s in STAGES}
    assert 3 <= counts["models"] <= 4
    assert 9 <= counts["changes"] <= 10
    assert counts["ecosystem"] == 15
    assert 4 <= counts["leading_metrics"] <= 5
    assert counts["lagging_metrics"] == 4
    assert 4 <= counts["benefits"] <= 6
    assert 8 <= counts["investments"] <= 10
    assert 5 <= counts["risks_of_acting"] <= 6
    assert 3 <= counts["risks_of_not_acting"] <= 4


@pytest.mark.django_db
def test_ecosystem_has_8_business_units_and_7_external_companies(loaded):
    case, _ = loaded
    parties = EcosystemParty.objects.filter(case=case).select_related("organisation")
    units = [p.organisation for p in parties if p.organisation.is_business_unit]
    external = [p.organisation for p in parties if not p.organisation.is_business_unit]
    assert len(units) == 8
    assert all(u.parent_id == case.client_id for u in units)
    assert len(external) == 7
    assert case.seller in external
    assert {o.kind for o in external} == {
        OrganisationKind.SELLER,
        OrganisationKind.PARTNER,
    }
    assert {p.commitment for p in parties} == {
        "committed",
        "likely",
        "to_confirm",
        "declined",
    }


@pytest.mark.django_db
def test_not_technology_heavy(loaded):
    case, _ = loaded
    legs = defaultdict(int)
    for change in ChangeItem.objects.filter(case=case):
        legs[change.leg] += 1
    assert set(legs) == {"people", "process", "technology"}
    assert legs["technology"] < legs["people"]
    assert legs["technology"] < legs["process"]
    risk_legs = {
        r.leg for r in BY_KEY["risks_of_acting"].model.objects.filter(case=case)
    }
    assert risk_legs == {"people", "process", "technology"}


@pytest.mark.django_db
def test_members_and_logins(loaded):
    case, _ = loaded
    members = {
        m.user.email: (m.side, m.role)
        for m in Membership.objects.filter(case=case).select_related("user")
    }
    assert members == {
        "anna.berg@northwind.example": (Side.SELLER, Role.FACILITATOR),
        "maria.lopez@harbour.example": (Side.CLIENT, Role.CONTRIBUTOR),
        "david.chen@harbour.example": (Side.CLIENT, Role.VIEWER),
    }
    assert case.created_by.email == "anna.berg@northwind.example"
    for email in EMAILS:
        user = get_user_model().objects.get(email=email)
        assert user.username == email
        assert user.get_full_name()
        assert user.emailaddress_set.filter(email=email, verified=True, primary=True)
        assert Client().login(username=email, password=demo.PASSWORD)
        assert Client().login(email=email, password=demo.PASSWORD)
        assert not Client().login(username=email, password="wrong-password")


@pytest.mark.django_db
def test_email_login_through_the_login_page(loaded):
    response = Client().post(
        reverse("account_login"),
        {"login": "maria.lopez@harbour.example", "password": demo.PASSWORD},
    )
    assert response.status_code == 302
    assert response.wsgi_request.user.is_authenticated


DEMO_HINT = "The README lists the demo logins"


@pytest.mark.django_db
def test_the_login_page_points_to_the_demo_logins_only_where_the_demo_is(client):
    """A real installation's login page says nothing about a demo."""
    assert DEMO_HINT not in client.get(reverse("account_login")).text
    run()
    assert DEMO_HINT in client.get(reverse("account_login")).text


@pytest.mark.django_db
def test_co_created_by_both_sides(loaded):
    case, _ = loaded
    authors = set()
    for stage in STAGES:
        authors |= set(
            stage.model.objects.filter(case=case).values_list(
                "created_by__email", flat=True
            )
        )
    assert authors == {"anna.berg@northwind.example", "maria.lopez@harbour.example"}


@pytest.mark.django_db
def test_every_item_passes_full_clean(loaded):
    case, _ = loaded
    for stage in STAGES:
        for item in stage.model.objects.filter(case=case):
            item.full_clean()
    for row in BenefitYear.objects.filter(benefit__case=case):
        row.full_clean()
    for row in InactionCost.objects.filter(risk__case=case):
        row.full_clean()


@pytest.mark.django_db
def test_metrics_are_linked_and_dated_in_the_future(loaded):
    case, _ = loaded
    for metric in LeadingMetric.objects.filter(case=case):
        assert metric.drives.exists(), metric.name
    for stage in (BY_KEY["leading_metrics"], BY_KEY["lagging_metrics"]):
        for metric in stage.model.objects.filter(case=case):
            assert metric.target_date > date.today()
            assert metric.baseline is not None and metric.target is not None


@pytest.mark.django_db
def test_benefits_are_honest_ranges(loaded):
    case, _ = loaded
    rows = BenefitYear.objects.filter(benefit__case=case)
    assert rows.exists()
    for row in rows:
        assert 0 <= row.low <= row.expected <= row.high
        assert 1 <= row.year <= case.horizon_years
    benefits = Benefit.objects.filter(case=case)
    unquantified = [b for b in benefits if not b.yearly.exists()]
    assert len(unquantified) == 1
    assert unquantified[0].category == "strategic"
    assert unquantified[0].description
    assert all(b.metric_id for b in benefits if b.yearly.exists())


def _cumulative(case: Case, scenario: str) -> tuple[list[Decimal], Decimal]:
    """Cumulative net cash by year, and the discounted net value."""
    net = {y: Decimal(0) for y in case.years}
    for investment in Investment.objects.filter(case=case):
        net[investment.year] -= investment.value
    for row in BenefitYear.objects.filter(benefit__case=case):
        net[row.year] += getattr(row, scenario)
    running, cumulative = Decimal(0), []
    for year in case.years:
        running += net[year]
        cumulative.append(running)
    npv = sum(net[y] / (1 + case.discount_rate) ** y for y in case.years)
    return cumulative, npv


@pytest.mark.django_db
def test_the_numbers_make_a_plausible_case(loaded):
    case, _ = loaded
    investments = Investment.objects.filter(case=case).select_related("organisation")
    assert {i.year for i in investments} == {0, 1, 2, 3}
    assert {i.kind for i in investments} == {"capex", "opex", "time", "other"}
    investors = {i.organisation.kind for i in investments}
    assert {OrganisationKind.SELLER, OrganisationKind.PARTNER} <= investors
    assert (
        OrganisationKind.CLIENT in investors
        or OrganisationKind.BUSINESS_UNIT in investors
    )

    expected, expected_npv = _cumulative(case, "expected")
    payback = next(year for year, total in enumerate(expected) if total >= 0)
    assert payback in (2, 3)
    assert expected_npv > 0

    _low, low_npv = _cumulative(case, "low")
    assert abs(low_npv) < Decimal("150000")  # marginal: about break-even

    costs = InactionCost.objects.filter(risk__case=case)
    assert costs.exists() and all(c.amount > 0 for c in costs)


@pytest.mark.django_db
def test_prints_case_id_and_logins(loaded):
    case, output = loaded
    assert f"(id {case.pk})" in output
    assert demo.PASSWORD in output
    for email in EMAILS:
        assert email in output


@pytest.mark.django_db
def test_running_twice_changes_nothing(loaded):
    case, _ = loaded
    before = row_counts()
    output = run()
    assert f"Demo case already loaded (id {case.pk})" in output
    assert demo.PASSWORD in output
    assert row_counts() == before
    assert Case.objects.get().pk == case.pk


@pytest.mark.django_db
def test_existing_users_are_left_alone(db):
    user = get_user_model().objects.create_user(
        username="anna.berg@northwind.example",
        email="anna.berg@northwind.example",
        password="her-own-password",
        first_name="Anna",
        last_name="Berg-Olsen",
    )
    run()
    user.refresh_from_db()
    assert user.check_password("her-own-password")
    assert user.last_name == "Berg-Olsen"
    assert demo_case().created_by == user


@pytest.mark.django_db
def test_reset_rebuilds_only_the_demo_case(loaded):
    old, _ = loaded
    other_user = UserFactory(email="someone@elsewhere.example")
    other = services.create_case(
        user=other_user,
        title=demo.CASE["title"],  # same title, other client: not the demo
        client="Another Client Ltd",
        seller="Northwind Logistics Software",
    )
    change = ChangeItem(
        case=other, leg="process", title="Keep me", description="", owner=""
    )
    change.full_clean()
    services.save_item(
        case=other, stage=BY_KEY["changes"], item=change, user=other_user
    )
    before = row_counts()

    output = run("--reset")

    new = demo_case()
    assert new.pk != old.pk
    assert not Case.objects.filter(pk=old.pk).exists()
    assert f"(id {new.pk})" in output
    assert without_history(row_counts()) == without_history(before)
    assert Case.objects.filter(pk=other.pk).exists()
    assert ChangeItem.objects.filter(case=other, title="Keep me").exists()
    assert Membership.objects.filter(case=other, user=other_user).exists()
    for email in EMAILS:
        assert Client().login(username=email, password=demo.PASSWORD)


@pytest.mark.django_db
def test_reset_without_a_demo_case_builds_it(db):
    output = run("--reset")
    assert f"(id {demo_case().pk})" in output


@pytest.mark.django_db
def test_the_demo_case_renders_for_its_members(loaded):
    case, _ = loaded
    for email in EMAILS:
        browser = Client()
        browser.force_login(get_user_model().objects.get(email=email))
        assert browser.get(reverse("cases:overview", args=[case.pk])).status_code == 200
        for stage in STAGES:
            url = reverse("cases:stage", args=[case.pk, stage.slug])
            assert browser.get(url).status_code == 200, (email, stage.slug)
