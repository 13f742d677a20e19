"""Object permissions as predicates over case membership (django-rules): nothing
to keep in sync, because a permission is computed from the membership row (its
role, and its case's status: see `Membership.can_edit` and the rest).

`get_case_for_user` puts the user's membership on `case.membership`, so these
predicates cost no query there; elsewhere they look the membership up once.
"""

import rules

from .models import Membership

# What a member who may not change an archived case is told, wherever it is refused.
ARCHIVED_REFUSAL = (
    "This case is archived, so it is read-only for everyone: it can be read, "
    "exported as a PDF and downloaded, but not changed. A facilitator can restore "
    "it to draft from the case's overview."
)


def _membership(user, case) -> Membership | None:
    if case is None or not user.is_authenticated:
        return None
    cached = getattr(case, "membership", None)
    if cached is not None and cached.user_id == user.pk:
        return cached
    membership = Membership.objects.filter(case=case, user=user).first()
    if membership is not None:
        membership.case = case  # the case as the caller has it: no second query
    return membership


@rules.predicate
def is_member(user, case) -> bool:
    return _membership(user, case) is not None


@rules.predicate
def may_comment(user, case) -> bool:
    membership = _membership(user, case)
    return membership is not None and membership.can_comment


@rules.predicate
def may_edit(user, case) -> bool:
    membership = _membership(user, case)
    return membership is not None and membership.can_edit


@rules.predicate
def may_manage(user, case) -> bool:
    membership = _membership(user, case)
    return membership is not None and membership.can_manage


@rules.predicate
def may_change_status(user, case) -> bool:
    membership = _membership(user, case)
    return membership is not None and membership.can_change_status


@rules.predicate
def may_revoke(user, case) -> bool:
    membership = _membership(user, case)
    return membership is not None and membership.can_revoke


# Checked with rules.has_perm(), not user.has_perm(): a superuser gets every
# permission from the latter, and a case's roles must hold for everyone.
rules.add_perm("cases.read_case", is_member)
rules.add_perm("cases.comment_case", may_comment)
rules.add_perm("cases.write_case", may_edit)
rules.add_perm("cases.facilitate_case", may_manage)
rules.add_perm("cases.change_case_status", may_change_status)
rules.add_perm("cases.revoke_access", may_revoke)
