"""Both sides agree each stage: a client member and a seller member sign it off;
any later change to its items clears the sign-offs and reopens it, with the
reason kept in the stage record's history."""

from __future__ import annotations

import pytest
from django.template.defaultfilters import date as date_filter
from django.urls import reverse
from django.utils import timezone

from cases import demo, services
from cases.models import (
    Case,
    CaseStatus,
    CaseStatusChange,
    ChangeItem,
    Role,
    Side,
    StageRecord,
    StageSignOff,
    StageStatus,
    display_name,
)
from cases.stages import BY_SLUG, STAGES

from ..factories import ChangeItemFactory, MembershipFactory, UserFactory
from .test_access import db_state, login_redirect
from .test_stage_views import (
    HTMX,
    create_data,
    create_url,
    edit_data,
    item_url,
    make_item,
    stage_url,
    text_of,
)

SLUG = "changes"


def sign_url(case: Case, slug: str = SLUG) -> str:
    return reverse("cases:stage_sign_off", args=[case.pk, slug])


def withdraw_url(case: Case, slug: str = SLUG) -> str:
    return reverse("cases:stage_sign_off_withdraw", args=[case.pk, slug])


def status_of(case: Case, slug: str = SLUG) -> str:
    return StageRecord.objects.get(case=case, stage=slug).status


def last_reason(case: Case, slug: str = SLUG) -> str | None:
    record = StageRecord.objects.get(case=case, stage=slug)
    return record.history.order_by("-history_id").first().history_change_reason


def shown_time(sign_off: StageSignOff) -> str:
    return date_filter(timezone.localtime(sign_off.signed_at), "j M Y, H:i")


@pytest.fixture
def item(case):
    return ChangeItemFactory(case=case, title="Orders shipped direct")


@pytest.fixture
def maria(case):
    """A client contributor with a name, to read the history's wording."""
    user = UserFactory(first_name="Maria", last_name="Lopez")
    MembershipFactory(case=case, user=user, side=Side.CLIENT, role=Role.CONTRIBUTOR)
    return user


def agree(case, client_user, seller_user, slug: str = SLUG) -> None:
    stage = BY_SLUG[slug]
    services.sign_off_stage(case=case, stage=stage, user=client_user)
    services.sign_off_stage(case=case, stage=stage, user=seller_user)


# --- Signing off ---------------------------------------------------------------------


def test_client_then_seller_sign_off_agrees_the_stage(
    case, item, client_contributor, facilitator, as_user
):
    response = as_user(client_contributor).post(sign_url(case))
    assert response.status_code == 302
    assert response["Location"] == stage_url(case, SLUG) + "#agreement"
    assert status_of(case) != StageStatus.AGREED
    page = text_of(as_user(client_contributor).get(stage_url(case, SLUG)))
    client_sign_off = StageSignOff.objects.get(case=case, side=Side.CLIENT)
    assert f"signed off by {display_name(client_contributor)}" in page
    assert shown_time(client_sign_off) in page
    assert "Agreed by both sides" not in page

    as_user(facilitator).post(sign_url(case))

    assert status_of(case) == StageStatus.AGREED
    page = text_of(as_user(facilitator).get(stage_url(case, SLUG)))
    seller_sign_off = StageSignOff.objects.get(case=case, side=Side.SELLER)
    assert "Agreed by both sides" in page
    assert "Stage 2 of 9 · Agreed" in page
    for user, sign_off in (
        (client_contributor, client_sign_off),
        (facilitator, seller_sign_off),
    ):
        assert sign_off.user == user
        assert f"signed off by {display_name(user)}" in page
        assert shown_time(sign_off) in page
    assert last_reason(case).startswith("Agreed: ")
    assert display_name(client_contributor) in last_reason(case)


def test_seller_first_works_too(case, item, client_contributor, facilitator):
    agree(case, client_user=facilitator, seller_user=client_contributor)
    assert status_of(case) == StageStatus.AGREED


def test_htmx_sign_off_returns_the_agreement_partial(
    case, item, client_contributor, as_user
):
    response = as_user(client_contributor).post(sign_url(case), headers=HTMX)
    html = text_of(response)
    assert response.status_code == 200
    assert html.lstrip().startswith('<section id="agreement"')
    assert f"signed off by {display_name(client_contributor)}" in html
    assert 'hx-swap-oob="true"' in html  # the stepper and the editors' warning
    assert "<html" not in html


def test_one_sign_off_per_side(case, item, client_contributor, maria, as_user):
    as_user(client_contributor).post(sign_url(case))
    response = as_user(maria).post(sign_url(case), follow=True)
    assert "The client side has already signed off this stage" in text_of(response)
    assert StageSignOff.objects.get(case=case).user == client_contributor


def test_an_empty_stage_cannot_be_signed_off(case, facilitator, as_user):
    response = as_user(facilitator).post(sign_url(case), headers=HTMX)
    assert response.status_code == 400
    assert "An empty stage cannot be signed off" in text_of(response)
    assert not StageSignOff.objects.exists()
    page = text_of(as_user(facilitator).get(stage_url(case, SLUG)))
    assert "disabled" in page.split('id="agreement"')[1]


def test_a_side_withdraws_its_own_sign_off(
    case, item, client_contributor, facilitator, maria, as_user
):
    agree(case, client_contributor, facilitator)

    # Any editor of the client side may withdraw the client's sign-off.
    response = as_user(maria).post(withdraw_url(case), follow=True)

    assert "The client sign-off of stage 2 is withdrawn." in text_of(response)
    assert list(StageSignOff.objects.values_list("side", flat=True)) == [Side.SELLER]
    assert status_of(case) == StageStatus.IN_PROGRESS
    assert last_reason(case) == "Reopened: Maria Lopez withdrew the client sign-off"


def test_withdrawing_nothing_is_refused(case, item, facilitator, as_user):
    response = as_user(facilitator).post(withdraw_url(case), follow=True)
    assert "The seller side has not signed off this stage." in text_of(response)


def test_viewers_and_partners_see_no_sign_off_buttons(
    case, item, viewer, partner, as_user
):
    for user in (viewer, partner):
        page = text_of(as_user(user).get(stage_url(case, SLUG)))
        assert sign_url(case) not in page
        assert "not signed off yet" in page


# --- Who may sign off and withdraw -----------------------------------------------------


@pytest.fixture
def signed(case, item, client_contributor, facilitator):
    """Both sides signed: something to withdraw."""
    agree(case, client_contributor, facilitator)


@pytest.mark.parametrize("url", [sign_url, withdraw_url], ids=["sign", "withdraw"])
@pytest.mark.parametrize("persona", ["viewer", "partner"])
def test_viewer_and_partner_may_not(url, persona, case, signed, as_user, request):
    browser = as_user(request.getfixturevalue(persona))
    before = db_state()
    response = browser.post(url(case))
    assert response.status_code == 403
    assert db_state() == before


@pytest.mark.parametrize("url", [sign_url, withdraw_url], ids=["sign", "withdraw"])
def test_outsider_gets_not_found(url, case, signed, outsider, as_user):
    before = db_state()
    assert as_user(outsider).post(url(case)).status_code == 404
    assert db_state() == before


@pytest.mark.parametrize("url", [sign_url, withdraw_url], ids=["sign", "withdraw"])
def test_anonymous_is_sent_to_login(url, case, signed, client):
    before = db_state()
    response = client.post(url(case))
    assert response.status_code == 302
    assert response["Location"] == login_redirect(url(case))
    assert db_state() == before


@pytest.mark.parametrize("url", [sign_url, withdraw_url], ids=["sign", "withdraw"])
def test_get_is_not_allowed(url, case, facilitator, as_user):
    assert as_user(facilitator).get(url(case)).status_code == 405


@pytest.mark.parametrize("persona", ["client_contributor", "facilitator"])
def test_editors_of_both_sides_may_withdraw(persona, case, signed, as_user, request):
    response = as_user(request.getfixturevalue(persona)).post(withdraw_url(case))
    assert response.status_code == 302
    assert StageSignOff.objects.count() == 1


# --- Reopening on a later change -------------------------------------------------------


@pytest.mark.parametrize("change", ["add", "edit", "delete"])
def test_a_change_reopens_an_agreed_stage(
    change, case, item, maria, facilitator, as_user
):
    other = ChangeItemFactory(case=case, title="Second change")
    agree(case, maria, facilitator)
    browser = as_user(maria)

    if change == "add":
        browser.post(create_url(case, SLUG), create_data(SLUG, case, "Night drops"))
        expected = "Reopened: Maria Lopez added 'Night drops'"
    elif change == "edit":
        browser.post(
            item_url("item_edit", case, SLUG, item),
            edit_data(SLUG, case, item, "Orders shipped direct to site"),
        )
        expected = "Reopened: Maria Lopez changed 'Orders shipped direct to site'"
    else:
        browser.post(item_url("item_delete", case, SLUG, other))
        expected = "Reopened: Maria Lopez deleted 'Second change'"

    assert status_of(case) == StageStatus.IN_PROGRESS
    assert not StageSignOff.objects.filter(case=case).exists()
    assert last_reason(case) == expected
    record = StageRecord.objects.get(case=case, stage=SLUG)
    assert record.history.order_by("-history_id").first().history_user == maria
    page = text_of(browser.get(stage_url(case, SLUG)))
    assert "Agreed by both sides" not in page
    assert "not signed off yet" in page


def test_a_change_clears_a_single_sign_off_too(case, item, maria, facilitator, as_user):
    services.sign_off_stage(case=case, stage=BY_SLUG[SLUG], user=facilitator)
    as_user(maria).post(
        item_url("item_edit", case, SLUG, item), edit_data(SLUG, case, item, "Redone")
    )
    assert not StageSignOff.objects.exists()
    assert status_of(case) == StageStatus.IN_PROGRESS
    assert last_reason(case) == "Sign-off cleared: Maria Lopez changed 'Redone'"


def test_a_change_to_another_stage_keeps_this_one_agreed(
    case, item, maria, facilitator, as_user
):
    agree(case, maria, facilitator)
    as_user(maria).post(
        create_url(case, "benefits"), create_data("benefits", case, "Fewer failed")
    )
    assert status_of(case) == StageStatus.AGREED
    assert StageSignOff.objects.count() == 2


def test_a_long_item_name_still_fits_the_history(case, maria, facilitator, as_user):
    item = ChangeItemFactory(case=case, title="x" * 190)
    agree(case, maria, facilitator)
    as_user(maria).post(item_url("item_delete", case, SLUG, item))
    reason = last_reason(case)
    assert len(reason) <= 100
    assert reason.startswith("Reopened: Maria Lopez deleted 'xxx")
    assert reason.endswith("…'")


def test_editors_are_told_whose_sign_offs_a_change_clears(
    case, item, maria, facilitator, viewer, as_user
):
    agree(case, maria, facilitator)
    names = f"Maria Lopez (client) and {display_name(facilitator)} (seller)"
    warning = f"reopens it for agreement and clears the sign-offs of {names}"

    page = text_of(as_user(facilitator).get(stage_url(case, SLUG)))
    edit_form = text_of(
        as_user(facilitator).get(item_url("item_edit", case, SLUG, item), headers=HTMX)
    )
    viewer_page = text_of(as_user(viewer).get(stage_url(case, SLUG)))

    assert f"Adding, changing or deleting an item {warning}" in page
    assert f"Saving this change {warning}" in edit_form
    assert "clears the sign-offs" not in viewer_page


def test_editors_are_told_about_a_single_sign_off(
    case, item, maria, facilitator, as_user
):
    services.sign_off_stage(case=case, stage=BY_SLUG[SLUG], user=maria)
    page = text_of(as_user(facilitator).get(stage_url(case, SLUG)))
    assert "Maria Lopez (client) signed off this stage." in page
    assert "clears that sign-off" in page


def test_no_warning_without_sign_offs(case, item, facilitator, as_user):
    page = text_of(as_user(facilitator).get(stage_url(case, SLUG)))
    assert '<div id="reopen-warning"></div>' in page


def test_reopening_a_stage_of_an_agreed_case_sends_it_back_to_review(
    case, maria, facilitator, as_user
):
    for stage in STAGES:
        make_item(stage.slug, case)
        agree(case, maria, facilitator, stage.slug)
    services.change_case_status(
        case=case, to_status=CaseStatus.IN_REVIEW, user=facilitator
    )
    services.change_case_status(
        case=case, to_status=CaseStatus.AGREED, user=facilitator
    )

    item = ChangeItem.objects.get(case=case)
    as_user(maria).post(item_url("item_delete", case, SLUG, item))

    case.refresh_from_db()
    assert case.status == CaseStatus.IN_REVIEW
    last = CaseStatusChange.objects.filter(case=case).last()
    assert (last.from_status, last.to_status) == (
        CaseStatus.AGREED,
        CaseStatus.IN_REVIEW,
    )
    assert last.changed_by == maria
    assert "Stage 2 reopened" in last.note


# --- The service, directly ---------------------------------------------------------------


def test_the_service_refuses_a_partner(case, item, partner):
    from django.core.exceptions import PermissionDenied

    with pytest.raises(PermissionDenied):
        services.sign_off_stage(case=case, stage=BY_SLUG[SLUG], user=partner)


@pytest.mark.django_db
def test_the_demo_agrees_its_stages_by_both_sides():
    case = demo.load_demo()
    for key in demo.AGREED_STAGES:
        slug = next(s.slug for s in STAGES if s.key == key)
        assert status_of(case, slug) == StageStatus.AGREED
        signers = {
            s.side: s.user.email
            for s in StageSignOff.objects.filter(case=case, stage=slug)
        }
        assert signers == {
            Side.CLIENT: "maria.lopez@harbour.example",
            Side.SELLER: "anna.berg@northwind.example",
        }
