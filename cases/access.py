"""The one access helper: the first line of every view of a case.

A non-member gets 404 for any URL of a case, so a guessed id reveals nothing;
a member who may only read gets 403 on a write. An archived case is read-only
for every member: every write gets 403, with a message that says why
(`rules.ARCHIVED_REFUSAL`), but two of a facilitator's: moving its status
(restoring it) and taking someone's access away.
"""

from __future__ import annotations

import rules
from django.core.exceptions import PermissionDenied
from django.http import Http404

from ecosystem.models import Organisation

from .models import Case, Membership
from .rules import ARCHIVED_REFUSAL  # importing cases.rules registers the permissions

# What a view may ask for: the permission it needs, and what a member without it
# is told when the case is not archived (when it is, ARCHIVED_REFUSAL).
NEEDS = {
    "manage": ("cases.facilitate_case", "Only a facilitator of this case can do this."),
    "write": ("cases.write_case", "You can read this case but not change it."),
    "comment": ("cases.comment_case", "You cannot comment on this case."),
}


def get_case_for_user(
    user,
    case_id,
    *,
    write: bool = False,
    manage: bool = False,
    comment: bool = False,
    change_status: bool = False,
    revoke: bool = False,
    with_parties: bool = True,
) -> Case:
    """Load a case for `user`, with their membership as `case.membership`.

    write: the user must be allowed to edit items (facilitator or contributor).
    manage: the user must be allowed to manage the case (facilitator).
    comment: the user must be allowed to comment (any member).
    All three are refused on an archived case.
    change_status: the user must be allowed to move the case's status
    (facilitator), archived or not: un-archiving is such a move.
    revoke: the user must be allowed to take people's access away (remove a
    member, withdraw an invitation): a facilitator, archived or not.
    with_parties: load the client and seller too (every page's header names
    them). A page that may be served from the cache passes False and calls
    `load_parties` only when it renders: on a page served from the cache this
    query is most of the work.
    """
    membership = None
    if user.is_authenticated:
        try:
            case_pk = int(case_id)
        except (TypeError, ValueError):
            raise Http404("No such case.") from None
        # At most one row (unique per case and user): order_by() drops the
        # default ordering's join to the users table on every request.
        related = (
            ("case", "case__client", "case__seller") if with_parties else ("case",)
        )
        membership = (
            Membership.objects.select_related(*related)
            .filter(case_id=case_pk, user=user)
            .order_by()
            .first()
        )
    if membership is None:
        raise Http404("No such case.")
    case = membership.case
    case.membership = membership
    if change_status and not rules.has_perm("cases.change_case_status", user, case):
        raise PermissionDenied("Only a facilitator of this case can change its status.")
    if revoke and not rules.has_perm("cases.revoke_access", user, case):
        raise PermissionDenied("Only a facilitator of this case can take access away.")
    asked = {"manage": manage, "write": write, "comment": comment}
    for need, (permission, refusal) in NEEDS.items():
        if asked[need] and not rules.has_perm(permission, user, case):
            raise PermissionDenied(ARCHIVED_REFUSAL if case.is_archived else refusal)
    return case


def load_parties(case: Case) -> None:
    """Load the client and seller of a case loaded without them, in one query."""
    fields = [Case._meta.get_field(name) for name in ("client", "seller")]
    if all(field.is_cached(case) for field in fields):
        return
    found = Organisation.objects.in_bulk([case.client_id, case.seller_id])
    case.client, case.seller = found[case.client_id], found[case.seller_id]
