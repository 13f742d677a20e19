"""Joining a case by an emailed link: inviting, the link's one use, its expiry,
resending and withdrawing, the case it is bound to, who gets logged in, and who
may do what on every invitation URL."""

from __future__ import annotations

import re
from datetime import timedelta
from urllib.parse import urlencode

import pytest
from allauth.account.models import EmailAddress
from django.contrib.auth import SESSION_KEY, get_user_model
from django.contrib.auth.models import AnonymousUser
from django.core import mail
from django.core.exceptions import PermissionDenied
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from cases import invitations
from cases.models import Case, CaseStatus, Invitation, Membership, Role, Side
from cases.rules import ARCHIVED_REFUSAL

from ..factories import CaseFactory, MembershipFactory, UserFactory
from .archive_helpers import archived_behind_its_back

User = get_user_model()
INVITEE = "maria.lopez@harbour.example"
LINK = re.compile(r"https?://[^\s/]+(/invitations/[^\s/]+/)")


def invite(case, by, email=INVITEE, side=Side.CLIENT, role=Role.CONTRIBUTOR):
    """Invite through the service; returns the invitation and the link's path."""
    invitation, token = invitations.invite(
        case=case,
        invited_by=by,
        email=email,
        side=side,
        role=role,
        base_url="http://testserver/",
    )
    return invitation, reverse("cases:invitation", args=[token])


def link_in(message) -> str:
    """The path of the one invitation link in an email."""
    links = LINK.findall(message.body)
    assert len(links) == 1, message.body
    return links[0]


def logged_in_id(browser) -> int | None:
    value = browser.session.get(SESSION_KEY)
    return int(value) if value is not None else None


def members_url(case) -> str:
    return reverse("cases:members", args=[case.pk])


# --- The whole way in ----------------------------------------------------------------


def test_invite_email_link_creates_the_user_and_membership_and_logs_in(
    case, facilitator, as_user
):
    browser = as_user(facilitator)
    response = browser.post(
        reverse("cases:invite", args=[case.pk]),
        {"email": "Maria.Lopez@Harbour.example", "side": "client", "role": "viewer"},
    )
    assert response.status_code == 302
    assert response["Location"] == members_url(case)

    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == [INVITEE]
    assert case.title in message.subject
    assert "\n" not in message.subject
    assert "http://testserver/invitations/" in message.body
    assert "viewer" in message.body and "client side" in message.body
    assert not getattr(message, "alternatives", None)  # plain text only
    path = link_in(message)

    invitation = Invitation.objects.get(case=case)
    assert invitation.email == INVITEE
    assert invitation.is_pending
    assert path.split("/")[2] not in invitation.token_hash  # only the hash is kept
    days = (invitation.expires_at - timezone.now()).total_seconds() / 86400
    assert 6.9 < days <= 7

    page = browser.get(members_url(case)).content.decode()
    assert INVITEE in page and "Waiting" in page

    invitee = Client()
    shown = invitee.get(path)
    assert shown.status_code == 200
    html = shown.content.decode()
    assert case.title in html
    assert facilitator.get_full_name() in html
    assert "Join the case" in html
    assert not User.objects.filter(
        email__iexact=INVITEE
    ).exists()  # GET changes nothing

    joined = invitee.post(path)
    assert joined.status_code == 302
    # A newcomer has no name yet: asked for it first, then on to the case.
    assert joined["Location"] == (
        reverse("cases:profile") + "?" + urlencode({"next": case.get_absolute_url()})
    )

    user = User.objects.get(email=INVITEE)
    assert user.username == INVITEE
    assert not user.has_usable_password()
    assert EmailAddress.objects.filter(
        user=user, email=INVITEE, verified=True, primary=True
    ).exists()
    membership = Membership.objects.get(case=case, user=user)
    assert (membership.side, membership.role) == (Side.CLIENT, Role.VIEWER)
    assert logged_in_id(invitee) == user.pk

    profile = invitee.get(joined["Location"]).content.decode()
    assert "Welcome to" in profile
    assert "Tell the others who you are" in profile
    assert reverse("account_set_password") in profile  # a real link, not escaped
    invitation.refresh_from_db()
    assert invitation.accepted_at is not None and invitation.accepted_by == user
    assert "Accepted" in browser.get(members_url(case)).content.decode()


def test_existing_account_is_logged_in_as_itself(case, facilitator):
    maria = UserFactory(email="Maria.Lopez@harbour.example")
    _, path = invite(case, facilitator)
    invitee = Client()

    invitee.post(path)

    assert logged_in_id(invitee) == maria.pk
    assert User.objects.filter(email__iexact=INVITEE).count() == 1
    assert Membership.objects.filter(case=case, user=maria).exists()
    maria.refresh_from_db()
    assert maria.has_usable_password()  # their password is left alone


def test_logged_in_with_the_invited_email_stays_logged_in(case, facilitator, as_user):
    maria = UserFactory(email=INVITEE)
    _, path = invite(case, facilitator, role=Role.FACILITATOR, side=Side.SELLER)
    browser = as_user(maria)

    assert b"Join the case" in browser.get(path).content
    response = browser.post(path)

    assert response.status_code == 302
    assert logged_in_id(browser) == maria.pk
    membership = Membership.objects.get(case=case, user=maria)
    assert (membership.side, membership.role) == (Side.SELLER, Role.FACILITATOR)


def test_email_can_be_set_up_with_a_password_or_a_login_code(client, db):
    assert client.get(reverse("account_request_login_code")).status_code == 200


# --- Links that no longer work ---------------------------------------------------------


def test_expired_link(case, facilitator):
    invitation, path = invite(case, facilitator)
    Invitation.objects.filter(pk=invitation.pk).update(
        expires_at=timezone.now() - timedelta(minutes=1)
    )
    invitee = Client()

    for response in (invitee.get(path), invitee.post(path)):
        assert response.status_code == 410
        html = response.content.decode()
        assert "has expired" in html
        assert "resend" in html
        assert "Traceback" not in html
    assert not User.objects.filter(email=INVITEE).exists()
    assert logged_in_id(invitee) is None


def test_link_works_once(case, facilitator):
    _, path = invite(case, facilitator)
    first = Client()
    assert first.post(path).status_code == 302

    again = first.post(path)  # the same person: pointed to the case
    assert again.status_code == 410
    assert b"already been used" in again.content
    assert reverse("cases:overview", args=[case.pk]).encode() in again.content

    stranger = Client()  # someone who got hold of the email later
    for response in (stranger.get(path), stranger.post(path)):
        assert response.status_code == 410
        assert b"already been used" in response.content
    assert logged_in_id(stranger) is None
    assert Membership.objects.filter(case=case, user__email=INVITEE).count() == 1


def test_withdrawn_link(case, facilitator, as_user):
    invitation, path = invite(case, facilitator)
    response = as_user(facilitator).post(
        reverse("cases:invitation_withdraw", args=[case.pk, invitation.pk])
    )
    assert response.status_code == 302
    invitation.refresh_from_db()
    assert invitation.withdrawn_at is not None

    invitee = Client()
    for response in (invitee.get(path), invitee.post(path)):
        assert response.status_code == 410
        assert b"was withdrawn" in response.content
    assert not User.objects.filter(email=INVITEE).exists()
    assert "Withdrawn" in as_user(facilitator).get(members_url(case)).content.decode()


def test_resend_kills_the_old_link_and_the_new_one_works(case, facilitator, as_user):
    invitation, old = invite(case, facilitator)
    Invitation.objects.filter(pk=invitation.pk).update(
        expires_at=timezone.now() - timedelta(days=1)  # expired: resending revives it
    )
    mail.outbox.clear()

    response = as_user(facilitator).post(
        reverse("cases:invitation_resend", args=[case.pk, invitation.pk])
    )

    assert response.status_code == 302
    assert len(mail.outbox) == 1
    new = link_in(mail.outbox[0])
    assert new != old
    invitation.refresh_from_db()
    assert invitation.expires_at > timezone.now() + timedelta(days=6)
    assert Invitation.objects.count() == 1

    assert Client().get(old).status_code == 404  # a replaced token is unknown
    invitee = Client()
    assert invitee.post(new).status_code == 302
    assert Membership.objects.filter(case=case, user__email=INVITEE).exists()


def test_accepted_or_withdrawn_invitation_is_not_resent(case, facilitator, as_user):
    accepted, path = invite(case, facilitator)
    Client().post(path)
    withdrawn, _ = invite(case, facilitator, email="gone@harbour.example")
    invitations.withdraw(invitation=withdrawn)
    mail.outbox.clear()
    browser = as_user(facilitator)

    for invitation in (accepted, withdrawn):
        response = browser.post(
            reverse("cases:invitation_resend", args=[case.pk, invitation.pk]),
            follow=True,
        )
        assert response.status_code == 200
        assert b"alert-danger" in response.content
    assert mail.outbox == []
    response = browser.post(
        reverse("cases:invitation_withdraw", args=[case.pk, accepted.pk]), follow=True
    )
    assert b"remove the member instead" in response.content
    accepted.refresh_from_db()
    assert accepted.withdrawn_at is None


def test_the_service_resends_no_link_of_an_archived_case(case, facilitator, client):
    invitation, path = invite(case, facilitator)
    mail.outbox.clear()
    archived_behind_its_back(case)

    with pytest.raises(PermissionDenied) as refused:
        invitations.resend(invitation=invitation, base_url="http://testserver/")

    assert str(refused.value) == ARCHIVED_REFUSAL
    assert mail.outbox == []
    assert Invitation.objects.get(pk=invitation.pk).token_hash == invitation.token_hash
    # Restored to draft, the link sent before still lets them in.
    Case.objects.filter(pk=case.pk).update(status=CaseStatus.DRAFT)
    assert client.post(path).status_code == 302


def _lock_order(run) -> list[str]:
    """The rows `run` locks, in order, before it writes anything: the case's
    (its status read under services.lock_case) and the invitation's. SQLite
    drops FOR UPDATE, so there the reads before the first write stand for the
    locks, the invitation's lock being its last read; on PostgreSQL only locks
    count."""
    with CaptureQueriesContext(connection) as captured:
        run()
    order = []
    for query in captured.captured_queries:
        sql = query["sql"]
        if sql.startswith(("INSERT", "UPDATE", "DELETE")):
            break
        if connection.vendor == "postgresql" and "FOR UPDATE" not in sql:
            continue
        if sql.startswith('SELECT "cases_case"."status"'):
            order.append("case")
        elif 'FROM "cases_invitation"' in sql:
            order.append("invitation")
    return order


@pytest.mark.parametrize("action", ["accept", "resend", "withdraw"])
def test_every_write_to_an_invitation_locks_the_case_first(action, case, facilitator):
    """One lock order for every write (services.lock_case): a person
    accepting a link while the facilitator resends or withdraws it, or archives
    the case, waits for the other instead of deadlocking, and reads the status
    that holds."""
    invitation, path = invite(case, facilitator)
    token = path.rstrip("/").rsplit("/", 1)[1]
    run = {
        "accept": lambda: invitations.accept(token=token, request_user=AnonymousUser()),
        "resend": lambda: invitations.resend(
            invitation=invitation, base_url="http://testserver/"
        ),
        "withdraw": lambda: invitations.withdraw(invitation=invitation),
    }[action]

    order = _lock_order(run)

    assert "case" in order and "invitation" in order, order
    last_invitation = len(order) - 1 - order[::-1].index("invitation")
    assert order.index("case") < last_invitation, order


@pytest.mark.parametrize(
    "token", ["nonsense", "A" * 43, "x" * 500, "..", "%00", "%3Cscript%3E"]
)
def test_unknown_or_garbled_link(token, client, db):
    path = f"/invitations/{token}/"
    for response in (client.get(path), client.post(path)):
        assert response.status_code == 404
        html = response.content.decode()
        assert "not valid" in html
        assert "<script>" not in html


# --- Bound to one case ---------------------------------------------------------------


def test_link_of_case_a_gives_no_access_to_case_b(case, facilitator):
    other = CaseFactory(title="Case B")
    MembershipFactory(case=other, user=facilitator, role=Role.FACILITATOR)
    _, path = invite(case, facilitator)
    invitee = Client()

    invitee.post(path)

    user = User.objects.get(email=INVITEE)
    assert list(user.memberships.values_list("case", flat=True)) == [case.pk]
    assert invitee.get(reverse("cases:overview", args=[other.pk])).status_code == 404
    assert invitee.get(reverse("cases:overview", args=[case.pk])).status_code == 200


@pytest.mark.parametrize("name", ["invitation_resend", "invitation_withdraw"])
def test_invitation_of_another_case_is_not_found(name, case, facilitator, as_user):
    other = CaseFactory(title="Case B")
    MembershipFactory(case=other, user=facilitator, role=Role.FACILITATOR)
    theirs, _ = invite(other, facilitator)
    mail.outbox.clear()

    response = as_user(facilitator).post(
        reverse(f"cases:{name}", args=[case.pk, theirs.pk])
    )

    assert response.status_code == 404
    theirs.refresh_from_db()
    assert theirs.withdrawn_at is None
    assert mail.outbox == []


# --- Never switch accounts silently ---------------------------------------------------


def test_logged_in_as_someone_else_is_told_and_not_switched(
    case, facilitator, outsider, as_user
):
    invitation, path = invite(case, facilitator)
    browser = as_user(outsider)

    page = browser.get(path)
    assert page.status_code == 200
    html = page.content.decode()
    assert 'id="someone-else"' in html
    assert outsider.email in html and INVITEE in html
    assert "Join the case" not in html
    assert reverse("account_logout") in html

    refused = browser.post(path)
    assert refused.status_code == 403
    assert b'id="someone-else"' in refused.content
    assert logged_in_id(browser) == outsider.pk
    assert not Membership.objects.filter(case=case, user=outsider).exists()
    assert not User.objects.filter(email=INVITEE).exists()
    invitation.refresh_from_db()
    assert invitation.accepted_at is None

    browser.post(reverse("account_logout"))
    assert browser.post(path).status_code == 302  # after logging out, it works
    assert logged_in_id(browser) == User.objects.get(email=INVITEE).pk


def test_disabled_account_is_not_logged_in(case, facilitator):
    UserFactory(email=INVITEE, is_active=False)
    _, path = invite(case, facilitator)
    invitee = Client()

    response = invitee.post(path)

    assert response.status_code == 403
    assert b"disabled" in response.content
    assert logged_in_id(invitee) is None


# --- Already in the case ---------------------------------------------------------------


def test_invited_person_who_became_a_member_meanwhile_keeps_their_membership(
    case, facilitator
):
    invitation, path = invite(case, facilitator, role=Role.FACILITATOR)
    maria = UserFactory(email=INVITEE)
    MembershipFactory(case=case, user=maria, side=Side.CLIENT, role=Role.VIEWER)
    invitee = Client()

    response = invitee.post(path, follow=True)

    assert response.status_code == 200
    assert b"already in" in response.content
    membership = Membership.objects.get(case=case, user=maria)
    assert (membership.side, membership.role) == (Side.CLIENT, Role.VIEWER)
    invitation.refresh_from_db()
    assert invitation.accepted_by == maria


def test_member_or_pending_invitee_is_not_invited_again(
    case, facilitator, client_contributor, as_user
):
    browser = as_user(facilitator)
    url = reverse("cases:invite", args=[case.pk])
    data = {"side": "client", "role": "viewer"}

    member = browser.post(url, {**data, "email": client_contributor.email}, follow=True)
    assert b"already a member" in member.content
    browser.post(url, {**data, "email": INVITEE})
    twice = browser.post(url, {**data, "email": INVITEE.upper()}, follow=True)
    assert b"already been invited" in twice.content
    bad = browser.post(url, {**data, "email": "not an email"}, follow=True)
    assert b"alert-danger" in bad.content

    assert Invitation.objects.filter(case=case).count() == 1
    assert len(mail.outbox) == 1


def test_mail_failure_invites_nobody(case, facilitator, as_user, monkeypatch):
    def refuse(*args, **kwargs):
        raise ConnectionRefusedError("mail server down")

    monkeypatch.setattr(invitations, "send_mail", refuse)

    response = as_user(facilitator).post(
        reverse("cases:invite", args=[case.pk]),
        {"email": INVITEE, "side": "client", "role": "viewer"},
        follow=True,
    )

    assert b"could not be sent" in response.content
    assert not Invitation.objects.exists()


# --- What people type cannot become markup ------------------------------------------------


def test_case_title_is_text_in_the_email_and_escaped_on_the_page(facilitator, case):
    case.title = '<b onmouseover="x()">Evil</b> & co'
    case.save()
    _, path = invite(case, facilitator)

    message = mail.outbox[0]
    assert case.title in message.body  # plain text: shown as typed, never rendered
    assert "&lt;" not in message.body and "&amp;" not in message.body
    html = Client().get(path).content.decode()
    assert "<b onmouseover" not in html
    assert "&lt;b onmouseover" in html


# --- The facilitator's invitation URLs (who may: tests/cases/test_access.py) -------------


def _invite(world_case, invitation):
    return reverse("cases:invite", args=[world_case.pk]), {
        "email": "new@harbour.example",
        "side": "partner",
        "role": "contributor",
    }


def _resend(world_case, invitation):
    return reverse("cases:invitation_resend", args=[world_case.pk, invitation.pk]), {}


def _withdraw(world_case, invitation):
    return reverse("cases:invitation_withdraw", args=[world_case.pk, invitation.pk]), {}


ACTIONS = {"invite": _invite, "resend": _resend, "withdraw": _withdraw}


def state() -> list:
    return list(Invitation.objects.order_by("pk").values())


@pytest.fixture
def pending(case, facilitator):
    invitation, _ = invite(case, facilitator)
    mail.outbox.clear()
    return invitation


@pytest.mark.parametrize("action", list(ACTIONS))
def test_facilitator_may(action, case, pending, facilitator, as_user):
    url, data = ACTIONS[action](case, pending)
    before = state()
    response = as_user(facilitator).post(url, data)
    assert response.status_code == 302
    assert state() != before
    assert len(mail.outbox) == (0 if action == "withdraw" else 1)


@pytest.mark.parametrize("action", list(ACTIONS))
def test_get_is_not_allowed(action, case, pending, facilitator, as_user):
    url, _ = ACTIONS[action](case, pending)
    assert as_user(facilitator).get(url).status_code == 405


def test_only_facilitators_see_invitations_and_the_form(
    case, pending, facilitator, viewer, client_contributor, as_user
):
    invite_url = reverse("cases:invite", args=[case.pk])
    html = as_user(facilitator).get(members_url(case)).content.decode()
    assert invite_url in html and pending.email in html
    for person in (viewer, client_contributor):
        html = as_user(person).get(members_url(case)).content.decode()
        assert invite_url not in html
        assert pending.email not in html
        assert "/withdraw/" not in html
