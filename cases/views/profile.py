"""The person's own profile: the name every case shows for them, their email,
and the way to allauth's pages for the password and the email addresses.

There is no id in the URL: the page only ever shows and changes the account of
the person asking. Saving a name moves the revision of every case they are in
(cases/revision.py), so every page of those cases shows the new name at once.
"""

from __future__ import annotations

from urllib.parse import urlencode

from allauth.account import app_settings as account_settings
from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_http_methods

from ..forms import ProfileForm
from ..models import display_name


def profile_url(next_url: str | None = None) -> str:
    """The profile page, returning to `next_url` (a path of this site) once saved."""
    url = reverse("cases:profile")
    return f"{url}?{urlencode({'next': next_url})}" if next_url else url


def has_no_name(user) -> bool:
    """Has this person not yet said who they are? The cases then show their
    email's local part (display_name)."""
    return not user.get_full_name().strip()


@login_required
@require_http_methods(["GET", "POST"])
def profile(request: HttpRequest) -> HttpResponse:
    next_url = _safe_next(request)
    # The form works on a copy of the account: a refused form must not rename
    # the person in this request's header while nothing was saved.
    account = get_user_model().objects.get(pk=request.user.pk)
    form = ProfileForm(
        request.POST if request.method == "POST" else None, instance=account
    )
    if request.method == "POST" and form.is_valid():
        if form.has_changed():
            # Both names in one UPDATE and only they: a password changed in
            # another tab meanwhile is not written back. The revisions of the
            # person's cases move in the same transaction (post_save).
            with transaction.atomic():
                account.save(update_fields=["first_name", "last_name"])
        messages.success(
            request, f"Saved. Your cases show you as {display_name(account)}."
        )
        return redirect(next_url or "cases:profile")
    user = request.user
    context = {
        "form": form,
        "next": next_url,
        "shown_as": display_name(user),
        "has_name": not has_no_name(user),
        "email": user.email,
        "has_password": user.has_usable_password(),
        "login_by_code": account_settings.LOGIN_BY_CODE_ENABLED,
        "emails_url": _url_or_none("account_email"),
        "change_email": account_settings.CHANGE_EMAIL,
    }
    return render(request, "cases/profile.html", context)


def _safe_next(request: HttpRequest) -> str | None:
    """Where to go once saved: a page of this site, never another one."""
    url = request.POST.get("next") or request.GET.get("next")
    if url and url_has_allowed_host_and_scheme(
        url, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return url
    return None


def _url_or_none(name: str) -> str | None:
    """The URL of an allauth page, or None where allauth does not offer it."""
    try:
        return reverse(name)
    except NoReverseMatch:
        return None
