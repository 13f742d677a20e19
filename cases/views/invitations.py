"""Invitations: a facilitator invites, resends and withdraws from the people page;
the invitee opens the emailed link (GET shows who invites them to what, POST
accepts: a link scanner that fetches the page consumes nothing). Someone who
has not given their name yet is asked for it first (cases/views/profile.py),
then goes on to the case."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.html import format_html
from django.views.decorators.http import require_http_methods, require_POST

from .. import invitations
from ..access import get_case_for_user
from ..forms import InviteForm
from ..models import Invitation, display_name
from .profile import has_no_name, profile_url

# The link proves the address; no password is checked, so name the plain model
# backend (the rules backend cannot log anyone in).
LOGIN_BACKEND = "django.contrib.auth.backends.ModelBackend"


def _base_url(request: HttpRequest) -> str:
    return request.build_absolute_uri("/")


# --- Facilitators --------------------------------------------------------------------


@login_required
@require_POST
def invite(request: HttpRequest, case_id: int) -> HttpResponse:
    case = get_case_for_user(request.user, case_id, manage=True)
    form = InviteForm(request.POST)
    if not form.is_valid():
        messages.error(request, "To invite someone, give an email, a side and a role.")
        return redirect("cases:members", case.pk)
    try:
        invitation, _ = invitations.invite(
            case=case,
            invited_by=request.user,
            base_url=_base_url(request),
            **form.cleaned_data,
        )
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    except invitations.InvitationNotSent as exc:
        messages.error(request, f"{exc} Nobody was invited; try again later.")
    else:
        messages.success(
            request,
            f"Invitation sent to {invitation.email}. "
            f"The link works until {invitation.expires_at:%d %b %Y}.",
        )
    return redirect("cases:members", case.pk)


@login_required
@require_POST
def invitation_resend(
    request: HttpRequest, case_id: int, invitation_id: int
) -> HttpResponse:
    case = get_case_for_user(request.user, case_id, manage=True)
    invitation = get_object_or_404(Invitation, pk=invitation_id, case=case)
    try:
        invitation, _ = invitations.resend(
            invitation=invitation, base_url=_base_url(request)
        )
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    except invitations.InvitationNotSent as exc:
        messages.error(request, f"{exc} The earlier link no longer works: resend.")
    else:
        messages.success(
            request,
            f"A new link was sent to {invitation.email}; the earlier one no longer works.",
        )
    return redirect("cases:members", case.pk)


@login_required
@require_POST
def invitation_withdraw(
    request: HttpRequest, case_id: int, invitation_id: int
) -> HttpResponse:
    case = get_case_for_user(request.user, case_id, revoke=True)
    invitation = get_object_or_404(Invitation, pk=invitation_id, case=case)
    try:
        invitations.withdraw(invitation=invitation)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(
            request, f"The invitation to {invitation.email} was withdrawn."
        )
    return redirect("cases:members", case.pk)


# --- The invitee (no login needed: the link is the proof) ----------------------------


@require_http_methods(["GET", "POST"])
def invitation_accept(request: HttpRequest, token: str) -> HttpResponse:
    try:
        invitation = invitations.find(token)
    except invitations.InvitationError as exc:
        return _invalid(request, exc)
    if invitations.for_someone_else(invitation, request.user):
        # Never switch accounts silently: say whose link it is and let them
        # log out first.
        return _page(
            request, invitation, status=200 if request.method == "GET" else 403
        )
    if request.method == "GET":
        return _page(request, invitation)

    try:
        membership = invitations.accept(token=token, request_user=request.user)
    except invitations.InvitationForSomeoneElse as exc:
        return _page(request, exc.invitation, status=exc.status)
    except invitations.InvitationError as exc:
        return _invalid(request, exc)
    user = membership.user
    if request.user != user:
        login(request, user, backend=LOGIN_BACKEND)
    case = membership.case
    joined_as = (
        f"{membership.get_role_display().lower()} on the "
        f"{membership.get_side_display().lower()} side"
    )
    if membership.already_member:
        level, text = (
            messages.INFO,
            f"You were already in “{case.title}” as {joined_as}; that stays as it was.",
        )
    else:
        level, text = (
            messages.SUCCESS,
            f"Welcome to “{case.title}”: you joined as {joined_as}.",
        )
    if has_no_name(user):
        # Without a name the case shows the email's local part: ask for the
        # name first, then go on to the case. The profile page also says how
        # to set a password.
        messages.add_message(
            request,
            level,
            f"{text} Tell the others who you are: "
            "your name shows on the case and its PDF.",
        )
        return redirect(profile_url(case.get_absolute_url()))
    messages.add_message(request, level, text)
    if not user.has_usable_password():
        messages.info(
            request,
            format_html(
                'To come back later, <a href="{}">set a password</a>, or log in '
                "with a code sent to {}.",
                reverse("account_set_password"),
                user.email,
            ),
        )
    return redirect(case)


def _page(request: HttpRequest, invitation: Invitation, *, status: int = 200):
    someone_else = invitations.for_someone_else(invitation, request.user)
    context = {
        "invitation": invitation,
        "case": invitation.case,
        "inviter": display_name(invitation.invited_by),
        "someone_else": someone_else,
    }
    return render(request, "cases/invitation.html", context, status=status)


def _invalid(request: HttpRequest, error: invitations.InvitationError) -> HttpResponse:
    invitation = error.invitation
    context = {
        "reason": error.reason,
        "message": error.message,
        "invitation": invitation,
        "inviter": display_name(invitation.invited_by) if invitation else None,
        # Someone who used their link already and is in the case: show the way in.
        "is_member": bool(
            invitation
            and request.user.is_authenticated
            and invitation.case.memberships.filter(user=request.user).exists()
        ),
    }
    return render(
        request, "cases/invitation_invalid.html", context, status=error.status
    )
