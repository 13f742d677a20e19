"""Invitations into a case: invite by email, resend, withdraw, accept.

The link in the email is the only proof a person has: opening it (and pressing
the button) logs them in as the owner of that address and makes them a member
of that one case, so a client can join a workshop without creating a password.
Only the token's hash is stored; a link works once, until it expires, and only
for the case it was made for (the token finds the invitation, the invitation
names the case: there is no case id in the link to tamper with).
"""

from __future__ import annotations

from datetime import timedelta

from allauth.account.models import EmailAddress
from allauth.utils import generate_unique_username
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.core.validators import validate_email
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from .models import Case, Invitation, Membership, Role, Side, display_name
from .services import lock_case

# Tokens are 43 characters (secrets.token_urlsafe(32)); anything far longer is
# garbage and not worth hashing.
TOKEN_MAX_LENGTH = 100
DEFAULT_BASE_URL = "http://localhost:8000"


# --- Errors: one type per way a link can fail, each with the page's status ----------


class InvitationError(Exception):
    """A link that cannot be accepted. `reason` picks the wording of the page."""

    reason = "unknown"
    status = 404
    message = "This invitation link is not valid."

    def __init__(self, invitation: Invitation | None = None):
        super().__init__(self.message)
        self.invitation = invitation


class InvitationUnknown(InvitationError):
    """No invitation has this token: mistyped, cut short, or replaced by a resend."""


class InvitationUsed(InvitationError):
    reason, status = "used", 410
    message = "This invitation link has already been used."


class InvitationExpired(InvitationError):
    reason, status = "expired", 410
    message = "This invitation link has expired."


class InvitationWithdrawn(InvitationError):
    reason, status = "withdrawn", 410
    message = "This invitation was withdrawn."


class InvitationForSomeoneElse(InvitationError):
    """The browser is logged in as another person: never switch accounts silently."""

    reason, status = "someone_else", 403
    message = "This invitation is for another email address than yours."


class InvitationAccountDisabled(InvitationError):
    reason, status = "disabled", 403
    message = "The account with this email address is disabled."


class InvitationCaseArchived(InvitationError):
    """The case was archived after the invitation was sent: nobody joins it
    while it is read-only."""

    reason, status = "archived", 410
    message = "The case of this invitation is archived."


class InvitationNotSent(Exception):
    """The mail server refused or could not be reached."""


# --- Facilitator's side -------------------------------------------------------------


def invite(
    *,
    case: Case,
    invited_by,
    email: str,
    side: str,
    role: str,
    base_url: str | None = None,
) -> tuple[Invitation, str]:
    """Invite `email` into `case` and send the link. Returns the invitation and
    its token (the only copy besides the email: only the hash is stored).

    `base_url` is the site's address for the link (the view passes the request's).
    Nobody is invited into an archived case (PermissionDenied), the status read
    under the case's lock like every other write's.
    """
    email = _clean_email(email)
    if side not in Side.values:
        raise ValidationError("Pick a side from the list.")
    if role not in Role.values:
        raise ValidationError("Pick a role from the list.")
    with transaction.atomic():
        lock_case(case)
        if _member_with_email(case, email) is not None:
            raise ValidationError(f"{email} is already a member of this case.")
        if any(
            i.is_pending
            for i in Invitation.objects.filter(
                case=case, email__iexact=email, accepted_at=None, withdrawn_at=None
            )
        ):
            raise ValidationError(
                f"{email} has already been invited: resend that invitation instead."
            )
        token, token_hash = Invitation.new_token()
        invitation = Invitation.objects.create(
            case=case,
            email=email,
            side=side,
            role=role,
            token_hash=token_hash,
            invited_by=invited_by,
        )
    # Sent outside the transaction: a slow mail server must not hold the
    # database's write lock while a workshop is editing.
    try:
        _send(invitation, token, base_url)
    except Exception:
        invitation.delete()  # nobody got the link: let the facilitator try again
        raise
    return invitation, token


def resend(
    *, invitation: Invitation, base_url: str | None = None
) -> tuple[Invitation, str]:
    """A new link and a new expiry for an open (or expired) invitation; the old
    link stops working at once. Refused (PermissionDenied) while the case is
    archived: withdrawing is what a facilitator can still do then."""
    with transaction.atomic():
        lock_case(invitation.case)
        invitation = Invitation.objects.select_for_update().get(pk=invitation.pk)
        if invitation.accepted_at is not None:
            raise ValidationError("This invitation has already been accepted.")
        if invitation.withdrawn_at is not None:
            raise ValidationError("This invitation was withdrawn: invite again.")
        token, invitation.token_hash = Invitation.new_token()
        invitation.sent_at = timezone.now()
        invitation.expires_at = invitation.sent_at + timedelta(
            days=settings.INVITATION_DAYS
        )
        invitation.save(update_fields=["token_hash", "sent_at", "expires_at"])
    # If sending fails, the old link is dead and the new one unknown to anyone:
    # resending again fixes that.
    _send(invitation, token, base_url)
    return invitation, token


@transaction.atomic
def withdraw(*, invitation: Invitation) -> Invitation:
    """The link stops working. An accepted invitation is a membership now:
    remove the member instead. Allowed on an archived case: it takes access
    away."""
    lock_case(invitation.case, even_archived=True)
    invitation = Invitation.objects.select_for_update().get(pk=invitation.pk)
    if invitation.accepted_at is not None:
        raise ValidationError(
            "This invitation has already been accepted: remove the member instead."
        )
    if invitation.withdrawn_at is None:
        invitation.withdrawn_at = timezone.now()
        invitation.save(update_fields=["withdrawn_at"])
    return invitation


# --- Invitee's side ----------------------------------------------------------------


def find(token: str) -> Invitation:
    """The open invitation with this token, or the error that says why not."""
    return _check(_lookup(token))


def for_someone_else(invitation: Invitation, user) -> bool:
    """Is `user` logged in as somebody other than the invitation's addressee?"""
    return user.is_authenticated and not _owns_email(user, invitation.email)


def accept(*, token: str, request_user) -> Membership:
    """Accept the invitation: the user owning its email (created if there is none,
    with no password and the address verified, since the link proves it) becomes
    a member of its case with its side and role.

    Returns the membership, with `already_member` True when the person was in the
    case before (their side and role are kept). The caller logs in
    `membership.user` when that is not `request_user`.
    """
    with transaction.atomic():
        # The case's row first, the order every write takes (services.lock_case):
        # a resend or a withdrawal of this link, which lock the case and then the
        # invitation, cannot deadlock with it, and archiving the case waits for
        # it, so the status _check reads is the one that holds.
        lock_case(_lookup(token).case, even_archived=True)
        # The invitation locked too: two clicks on one link make one
        # membership, and the second is told the link was used.
        invitation = _check(_lookup(token, lock=True))
        if request_user.is_authenticated:
            if not _owns_email(request_user, invitation.email):
                raise InvitationForSomeoneElse(invitation)
            user = request_user
        else:
            user = _user_with_email(invitation.email) or _create_user(invitation.email)
        if not user.is_active:
            raise InvitationAccountDisabled(invitation)
        _mark_verified(user, invitation.email)
        membership, created = Membership.objects.get_or_create(
            case=invitation.case,
            user=user,
            defaults={"side": invitation.side, "role": invitation.role},
        )
        invitation.accepted_at = timezone.now()
        invitation.accepted_by = user
        invitation.save(update_fields=["accepted_at", "accepted_by"])
    membership.already_member = not created
    return membership


# --- Helpers -------------------------------------------------------------------------


def _clean_email(email: str) -> str:
    email = (email or "").strip().lower()
    try:
        validate_email(email)
    except ValidationError:
        raise ValidationError("Enter a valid email address.") from None
    return email


def _lookup(token: str, *, lock: bool = False) -> Invitation:
    if not token or len(token) > TOKEN_MAX_LENGTH:
        raise InvitationUnknown()
    queryset = Invitation.objects.select_related(
        "case", "case__client", "case__seller", "invited_by"
    )
    if lock:
        queryset = queryset.select_for_update(of=("self",))
    invitation = queryset.filter(token_hash=Invitation.hash_token(token)).first()
    if invitation is None:
        raise InvitationUnknown()
    return invitation


def _check(invitation: Invitation) -> Invitation:
    if invitation.accepted_at is not None:
        raise InvitationUsed(invitation)
    if invitation.withdrawn_at is not None:
        raise InvitationWithdrawn(invitation)
    if invitation.expires_at <= timezone.now():
        raise InvitationExpired(invitation)
    if invitation.case.is_archived:
        raise InvitationCaseArchived(invitation)
    return invitation


def _owns_email(user, email: str) -> bool:
    if (user.email or "").lower() == email.lower():
        return True
    return EmailAddress.objects.filter(user=user, email__iexact=email).exists()


def _user_with_email(email: str):
    """The account this address belongs to: a verified allauth address first,
    then any address, then the user's own email field."""
    address = (
        EmailAddress.objects.filter(email__iexact=email)
        .select_related("user")
        .order_by("-verified", "-primary", "pk")
        .first()
    )
    if address is not None:
        return address.user
    return get_user_model().objects.filter(email__iexact=email).order_by("pk").first()


def _member_with_email(case: Case, email: str) -> Membership | None:
    user = _user_with_email(email)
    if user is None:
        return None
    return Membership.objects.filter(case=case, user=user).first()


def _create_user(email: str):
    User = get_user_model()
    username = email
    max_length = User._meta.get_field(User.USERNAME_FIELD).max_length
    if len(username) > max_length or User.objects.filter(username=username).exists():
        username = generate_unique_username([email, "user"])
    user = User(username=username, email=email)
    user.set_unusable_password()  # they may set one later, or log in by code
    user.save()
    EmailAddress.objects.create(user=user, email=email, verified=True, primary=True)
    return user


def _mark_verified(user, email: str) -> None:
    EmailAddress.objects.filter(user=user, email__iexact=email, verified=False).update(
        verified=True
    )


def _send(invitation: Invitation, token: str, base_url: str | None) -> None:
    base = (base_url or getattr(settings, "SITE_URL", DEFAULT_BASE_URL)).rstrip("/")
    case = invitation.case
    context = {
        "invitation": invitation,
        "case": case,
        "inviter": display_name(invitation.invited_by),
        "link": base + reverse("cases:invitation", args=[token]),
        "expires_at": invitation.expires_at,
    }
    # Plain text only: no HTML part, so nothing in a case title can become markup.
    subject = render_to_string("cases/email/invitation_subject.txt", context)
    body = render_to_string("cases/email/invitation_body.txt", context)
    try:
        send_mail(
            " ".join(subject.split()),  # one line: a header cannot hold a newline
            body,
            None,  # DEFAULT_FROM_EMAIL
            [invitation.email],
        )
    except OSError as exc:  # smtplib's errors are OSErrors too
        raise InvitationNotSent(
            f"The email to {invitation.email} could not be sent: {exc}"
        ) from exc
