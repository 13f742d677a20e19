"""Object permissions as predicates over case membership (django-rules): nothing
to keep in sync, because a permission is computed from the membership row.

`get_case_for_user` puts the user's membership on `case.membership`, so these
predicates cost no query there; elsewhere they look the membership up once.
"""

import rules

from .models import Membership, Role


def _membership(user, case) -> Membership | None:
    if case is None or not user.is_authenticated:
        return None
    cached = getattr(case, "membership", None)
    if cached is not None and cached.user_id == user.pk:
        return cached
    return Membership.objects.filter(case=case, user=user).first()


@rules.predicate
def is_member(user, case) -> bool:
    return _membership(user, case) is not None


@rules.predicate
def is_editor(user, case) -> bool:
    membership = _membership(user, case)
    return membership is not None and membership.role in (
        Role.FACILITATOR,
        Role.CONTRIBUTOR,
    )


@rules.predicate
def is_facilitator(user, case) -> bool:
    membership = _membership(user, case)
    return membership is not None and membership.role == Role.FACILITATOR


# Checked with rules.has_perm(), not user.has_perm(): a superuser gets every
# permission from the latter, and a case's roles must hold for everyone.
rules.add_perm("cases.read_case", is_member)
rules.add_perm("cases.write_case", is_editor)
rules.add_perm("cases.facilitate_case", is_facilitator)
