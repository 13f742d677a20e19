"""A case's revision: one number that moves whenever anything its pages show changes.

Pages of a case can then be rendered once and served again, from the cache, for
as long as the revision stays put (`cases/pagecache.py`). The number lives on
the case row, so reading it costs nothing: every view loads the case anyway.

The revision moves from model signals rather than from the services, so that
every way of writing counts: the services, the admin, imports, the shell. It
moves inside the writing transaction, so a reader who sees the new data also
sees the new revision. What moves it:

- the case itself, and every row that belongs to it: the items of the nine
  stages, stage records, sign-offs, comments, members, invitations, status
  changes, buying ratings and the recommendation;
- an organisation, for every case it appears in (as client, seller, the client's
  business unit or an ecosystem party): names show on the pages and in forms;
- a person's name, for every case they belong to.

Rows that change together with their item (a benefit's yearly figures, a risk's
cost of inaction, metric links) send no signal of their own: the services and the
admin's item pages save the item with them. The one way to change them alone, a
yearly row's own page in the Django admin (`YearlyRowAdmin`), moves the revision
by hand with `bump`. PDF exports do not move it: no cached page shows them.
"""

from __future__ import annotations

from django.apps import apps
from django.conf import settings
from django.db.models import F, Q
from django.db.models.signals import post_delete, post_save
from django.utils import timezone

from ecosystem.models import Organisation

from .models import (
    BuyingRating,
    Case,
    CaseStatusChange,
    Comment,
    EcosystemParty,
    Invitation,
    Membership,
    Recommendation,
    StageItem,
    StageRecord,
    StageSignOff,
)

# Rows that belong to one case, through their `case_id`. Items are found by
# their base class, so a new stage's model needs no entry here.
CASE_ROWS = (
    StageRecord,
    StageSignOff,
    Comment,
    Membership,
    Invitation,
    CaseStatusChange,
    BuyingRating,
    Recommendation,
)


def bump(cases) -> None:
    """Move the revision of `cases` (a queryset or a case id)."""
    if not hasattr(cases, "update"):
        cases = Case.objects.filter(pk=cases)
    cases.update(revision=F("revision") + 1, updated_at=timezone.now())


def _case_row_changed(sender, instance, **kwargs) -> None:
    if instance.case_id:
        bump(instance.case_id)


def _case_changed(sender, instance: Case, created: bool = False, **kwargs) -> None:
    if not created:  # a new case has nothing cached yet
        bump(instance.pk)


def _organisation_changed(sender, instance: Organisation, **kwargs) -> None:
    ids = {instance.pk, instance.parent_id} - {None}
    parties = EcosystemParty.objects.filter(organisation_id=instance.pk)
    bump(
        Case.objects.filter(
            Q(client_id__in=ids)
            | Q(seller_id__in=ids)
            | Q(pk__in=parties.values("case_id"))
        )
    )


def _user_changed(
    sender, instance, created: bool = False, update_fields=None, **kwargs
):
    if created or (update_fields is not None and set(update_fields) <= {"last_login"}):
        return  # a login changes nothing a page shows
    bump(Case.objects.filter(memberships__user=instance))


def connect() -> None:
    """Wire the signals (from CasesConfig.ready)."""
    items = [m for m in apps.get_models() if issubclass(m, StageItem)]
    for name, signal in (("save", post_save), ("delete", post_delete)):
        for model in (*items, *CASE_ROWS):
            signal.connect(
                _case_row_changed,
                sender=model,
                dispatch_uid=f"revision-{name}-{model._meta.label}",
            )
        signal.connect(
            _organisation_changed,
            sender=Organisation,
            dispatch_uid=f"revision-{name}-organisation",
        )
    post_save.connect(_case_changed, sender=Case, dispatch_uid="revision-case")
    post_save.connect(
        _user_changed, sender=settings.AUTH_USER_MODEL, dispatch_uid="revision-user"
    )
