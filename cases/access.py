"""The one access helper: the first line of every view of a case.

A non-member gets 404 for any URL of a case, so a guessed id reveals nothing;
a member who may only read gets 403 on a write.
"""

from __future__ import annotations

import rules
from django.core.exceptions import PermissionDenied
from django.http import Http404

from . import rules as _rules  # noqa: F401  (registers the permissions)
from .models import Case, Membership


def get_case_for_user(
    user, case_id, *, write: bool = False, manage: bool = False
) -> Case:
    """Load a case for `user`, with their membership as `case.membership`.

    write: the user must be allowed to edit items (facilitator or contributor).
    manage: the user must be allowed to manage the case (facilitator).
    """
    membership = None
    if user.is_authenticated:
        try:
            case_pk = int(case_id)
        except (TypeError, ValueError):
            raise Http404("No such case.") from None
        membership = (
            Membership.objects.select_related("case", "case__client", "case__seller")
            .filter(case_id=case_pk, user=user)
            .first()
        )
    if membership is None:
        raise Http404("No such case.")
    case = membership.case
    case.membership = membership
    if manage and not rules.has_perm("cases.facilitate_case", user, case):
        raise PermissionDenied("Only a facilitator of this case can do this.")
    if write and not rules.has_perm("cases.write_case", user, case):
        raise PermissionDenied("You can read this case but not change it.")
    return case
