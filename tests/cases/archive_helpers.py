"""Shared by the tests of an archived case (test_archived.py, test_invitations.py)."""

from __future__ import annotations

from cases.models import Case, CaseStatus


def archived_behind_its_back(case: Case) -> Case:
    """The case as a view (or a script) loaded it, just before a facilitator
    archived it."""
    loaded = Case.objects.get(pk=case.pk)
    Case.objects.filter(pk=case.pk).update(status=CaseStatus.ARCHIVED)
    return loaded
