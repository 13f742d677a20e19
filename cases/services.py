"""Writes that touch several rows: keyword-only, typed, atomic.

Views, the demo loader and the file import all write through these, so a case
built by any of them obeys the same rules (stage status, positions, links).
"""

from __future__ import annotations

import functools
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import Decimal

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import models, transaction
from django.db.models import F, Max

from ecosystem.models import Organisation, OrganisationKind

from .models import (
    BuyingRating,
    Case,
    EcosystemParty,
    LaggingMetric,
    Membership,
    Recommendation,
    Role,
    Side,
    StageItem,
    StageRecord,
    StageStatus,
)
from .models.case import display_name
from .models.choices import CaseStatus
from .models.cocreation import CaseStatusChange, Comment, StageSignOff
from .rules import ARCHIVED_REFUSAL
from .stages import BY_MODEL, STAGES, Stage


class EditConflict(Exception):
    """A save refused because someone else saved the same item (or stage notes)
    after this edit began: nothing was written, nothing was overwritten.

    `current` is the row as it is now, to show next to the refused edit; it is
    None when the item was deleted in the meantime.
    """

    def __init__(self, current: models.Model | None):
        self.current = current
        super().__init__(
            "It was deleted while you were editing it."
            if current is None
            else "Someone else saved it while you were editing it."
        )

    @property
    def deleted(self) -> bool:
        return self.current is None


def _claim_version(
    model: type[models.Model], pk: int, expected_version: int | None
) -> int:
    """Compare-and-swap on a row's version: `UPDATE ... SET version = version + 1
    WHERE pk = X AND version = V`. No row updated means someone else saved (or
    deleted) it since version V was read, and the caller's edit is refused.

    Run inside the caller's transaction: the updated row stays locked until it
    commits, so the rest of the save cannot interleave with another one.
    Without an expected version (a new item's first save, the file import)
    the version is bumped unconditionally. Returns the new version.
    """
    rows = model._default_manager.filter(pk=pk)
    if expected_version is not None:
        rows = rows.filter(version=expected_version)
    if rows.update(version=F("version") + 1) == 0:
        raise EditConflict(model._default_manager.filter(pk=pk).first())
    if expected_version is not None:
        return expected_version + 1
    return model._default_manager.values_list("version", flat=True).get(pk=pk)


def get_or_create_organisation(
    *, name: str, kind: str, parent: Organisation | None = None
) -> Organisation:
    """Organisations are shared across cases: reuse one of the same name and kind
    (case-insensitively) rather than making a near-duplicate."""
    name = name.strip()
    existing = Organisation.objects.filter(
        name__iexact=name, kind=kind, parent=parent
    ).first()
    if existing:
        return existing
    organisation = Organisation(name=name, kind=kind, parent=parent)
    organisation.full_clean()
    organisation.save()
    return organisation


@transaction.atomic
def create_case(
    *,
    user,
    title: str,
    idea: str = "",
    client: Organisation | str,
    seller: Organisation | str,
    currency: str = "EUR",
    horizon_years: int = 5,
    discount_rate: Decimal = Decimal("0.08"),
    side: str = Side.SELLER,
    status: str | None = None,
) -> Case:
    """Open a case; its creator becomes its first facilitator. `client` and
    `seller` are organisations or the names of new ones."""
    if isinstance(client, str):
        client = get_or_create_organisation(name=client, kind=OrganisationKind.CLIENT)
    if isinstance(seller, str):
        seller = get_or_create_organisation(name=seller, kind=OrganisationKind.SELLER)
    case = Case(
        title=title,
        idea=idea,
        client=client,
        seller=seller,
        currency=currency,
        horizon_years=horizon_years,
        discount_rate=discount_rate,
        created_by=user,
    )
    if status:
        case.status = status
    case.full_clean()
    case.save()
    StageRecord.objects.bulk_create(
        StageRecord(case=case, stage=s.slug) for s in STAGES
    )
    if user is not None:
        Membership.objects.create(
            case=case, user=user, side=side, role=Role.FACILITATOR
        )
    return case


@transaction.atomic
def delete_case(*, case: Case) -> None:
    """Delete a case with its items, records and memberships. Organisations stay:
    they are shared with other cases."""
    case.delete()


@transaction.atomic
def update_case_settings(*, case: Case, user, **fields) -> Case:
    lock_case(case)
    for name, value in fields.items():
        setattr(case, name, value)
    case.full_clean()
    # Only the settings: the caller's copy of the rest (the status) may be stale.
    case.save(update_fields=[*fields, "updated_at"])
    return case


def sync_stage_status(
    *,
    case: Case,
    stage: Stage,
    user,
    change: str,
    what: str | None = None,
    even_archived: bool = False,
) -> None:
    """Empty <-> in progress follows the items. A change to an item clears the
    stage's sign-offs and reopens an agreed stage: what was signed is no longer
    what is written. `change` ("added", "changed", "deleted lagging metric")
    and `what` (the item's name) word the reason kept in the stage record's
    history: "Reopened: Maria Lopez deleted 'Night drops'"."""
    record = _locked_record(case, stage, even_archived=even_archived)
    has_items = stage.model.objects.filter(case=case).exists()
    status = StageStatus.IN_PROGRESS if has_items else StageStatus.EMPTY
    cleared, _ = StageSignOff.objects.filter(case=case, stage=stage.slug).delete()
    if record.status == status and not cleared:
        return
    was_agreed = record.status == StageStatus.AGREED
    who = display_name(user)
    reason = None
    if was_agreed:
        reason = _reason(f"Reopened: {who} {change}", what)
    elif cleared:
        reason = _reason(f"Sign-off cleared: {who} {change}", what)
    _save_status(record, status, user, reason)
    if was_agreed:
        _reopen_case_if_agreed(
            case=case, user=user, note=f"Stage {stage.number} reopened. {reason}"
        )


@transaction.atomic
def save_item(
    *,
    case: Case,
    stage: Stage,
    item: StageItem,
    user,
    drives: list[LaggingMetric] | None = None,
    yearly: list | None = None,
    yearly_cost: list | None = None,
    new_organisation: tuple[str, str] | None = None,
    expected_version: int | None = None,
) -> StageItem:
    """Create or update one stage item with its links and yearly rows.

    The item has been validated (by its form or the import); links are checked
    again here because a tampered request must not tie two cases together.

    `expected_version` is the version the edit started from: if someone else
    saved or deleted the item since, EditConflict is raised and nothing is
    written. New items have none.
    """
    if item.case_id != case.pk:
        raise ValidationError("This item belongs to another case.")
    lock_case(case)
    is_new = item.pk is None
    if not is_new:
        # First, so a refused edit writes nothing (not even a new organisation).
        item.version = _claim_version(type(item), item.pk, expected_version)
    if new_organisation is not None:
        name, kind = new_organisation
        parent = case.client if kind == OrganisationKind.BUSINESS_UNIT else None
        item.organisation = get_or_create_organisation(
            name=name, kind=kind, parent=parent
        )
        if (
            isinstance(item, EcosystemParty)
            and EcosystemParty.objects.filter(case=case, organisation=item.organisation)
            .exclude(pk=item.pk)
            .exists()
        ):
            raise ValidationError("This organisation is already in the ecosystem.")
    if is_new:
        item.created_by = user
        last = stage.model.objects.filter(case=case).aggregate(m=Max("position"))["m"]
        item.position = 0 if last is None else last + 1
    item.updated_by = user
    snapshot = _snapshot(
        item, is_new=is_new, drives=drives, yearly=yearly, yearly_cost=yearly_cost
    )
    if snapshot is not None:
        item.snapshot = snapshot
    # The history row names the person even outside a request (threads, tasks).
    item._history_user = user
    # force_update: an item deleted meanwhile must not come back as a new row.
    item.save(force_update=not is_new)
    if drives is not None:
        item.check_links(drives)
        item.drives.set(drives)
    for related, rows in (("yearly", yearly), ("yearly_cost", yearly_cost)):
        if rows is None:
            continue
        manager = getattr(item, related)
        manager.all().delete()
        parent_field = manager.field.name
        for row in rows:
            setattr(row, parent_field, item)
        manager.model.objects.bulk_create(rows)
    sync_stage_status(
        case=case,
        stage=stage,
        user=user,
        change="added" if is_new else "changed",
        what=str(item),
    )
    return item


# What an item's snapshot holds: the rows of one of these relations, by the
# names save_item takes them under.
SNAPSHOT_ROWS = ("drives", "yearly", "yearly_cost")
# How the change reason of a history row starts when the row records that an
# item lost a link because the item it linked to was deleted (recording_unlinks).
UNLINKED = "Unlinked:"


@functools.cache
def _has_snapshot(model: type[StageItem]) -> bool:
    """Does the item keep a `snapshot` of rows its history would not see?"""
    return "snapshot" in {f.name for f in model._meta.concrete_fields}


@functools.cache
def _snapshot_rows(model: type[StageItem]) -> tuple[str, ...]:
    """The relations (of SNAPSHOT_ROWS) whose rows the item's snapshot holds,
    to read or prefetch; none when it has no snapshot."""
    if not _has_snapshot(model):
        return ()
    names = {f.name for f in model._meta.get_fields()}
    return tuple(name for name in SNAPSHOT_ROWS if name in names)


def _snapshot(item: StageItem, *, is_new: bool, **given: list | None) -> list | None:
    """The item's yearly figures or links as the JSON its `snapshot` field keeps
    (and its history compares), from what this save writes; None when the item
    has no snapshot or this save leaves its rows alone. A new item saved without
    them has none: an empty list."""
    meta = type(item)._meta
    related = next((name for name in given if name in _snapshot_rows(type(item))), None)
    if related is None:
        return None
    rows = given[related]
    if rows is None:
        return [] if is_new else None
    if related == "drives":
        return [{"id": m.pk, "name": m.name} for m in sorted(rows, key=lambda m: m.pk)]
    money = [
        f
        for f in meta.get_field(related).related_model._meta.concrete_fields
        if isinstance(f, models.DecimalField)
    ]

    def text(value, places: int) -> str | None:
        if value is None:
            return None
        return str(Decimal(value).quantize(Decimal(1).scaleb(-places)))

    return [
        {
            "year": row.year,
            **{f.name: text(getattr(row, f.name), f.decimal_places) for f in money},
        }
        for row in sorted(rows, key=lambda r: r.year)
    ]


def current_snapshot(item: StageItem) -> list | None:
    """The item's snapshot from its yearly rows or links as the database holds
    them now (or as prefetched), through the same `_snapshot` as `save_item`;
    None when the item has no snapshot."""
    given = {
        name: list(getattr(item, name).all()) for name in _snapshot_rows(type(item))
    }
    return _snapshot(item, is_new=False, **given)


def record_snapshots(
    items: Sequence[StageItem],
    *,
    user,
    reason: str | None = None,
    new: bool = False,
) -> None:
    """Bring the snapshots of `items` (all of one model) up to date with their
    rows as the database holds them now, and record each item as it is in its
    history, as a row by `user` ("+" when `new`). For writes that change an
    item's rows or links without `save_item`: the deletion of an item they link
    to, the Django admin. Two writes however many items (one more each per
    thousand), with the rows to snapshot prefetched; no model signal is sent,
    so the caller moves the case's revision if nothing else it wrote did."""
    if not items:
        return
    model = type(items[0])
    if _has_snapshot(model):
        for item in items:
            item.snapshot = current_snapshot(item)
        model._default_manager.bulk_update(items, ["snapshot"], batch_size=1000)
    model.history.bulk_history_create(
        items,
        batch_size=1000,
        update=not new,
        default_user=user,
        default_change_reason=reason,
    )


@dataclass
class Unlinks:
    """What `recording_unlinks` yields, filled in once the deletion is done:
    how the deletion is worded (`change`, "deleted lagging metric", and `what`,
    the item's name, when one was deleted), and the items that lost a link to a
    deleted one, each with its case loaded."""

    change: str = ""
    what: str | None = None
    items: list[StageItem] = field(default_factory=list)

    def stages(self) -> list[tuple[Case, Stage]]:
        """Each case and stage with an item that lost a link, once, in order."""
        found: dict[tuple[int, int], tuple[Case, Stage]] = {}
        for item in self.items:
            stage = BY_MODEL[type(item)]
            found.setdefault((item.case_id, stage.number), (item.case, stage))
        return [found[key] for key in sorted(found)]


@contextmanager
def recording_unlinks(items: Sequence[StageItem], *, user) -> Iterator[Unlinks]:
    """Around the deletion of `items` (all of one model): record, in the history
    of every other item that linked to one of them (a leading metric that
    drives a lagging metric, a benefit it proves), that the link went with it.

    Each such item gets a history row by `user`, its reason starting with
    UNLINKED and its snapshot brought up to date, in the deleting transaction.
    The next person to save the item is then compared with what it is after the
    deletion, so is not said to have removed the link; the feed reports the
    deletion itself and leaves these rows out. A fixed number of queries however
    many items link to the deleted ones.

    Yields an `Unlinks`, filled in after the deletion, for `reopen_unlinked`:
    the stages of those items changed too."""
    unlinks = Unlinks()
    if not items:
        yield unlinks
        return
    model = type(items[0])
    pks = [item.pk for item in items]
    linked: dict[type[StageItem], set[int]] = {}
    for relation in model._meta.related_objects:
        linker = relation.related_model
        # A foreign key that cascades deletes the linking item (its own history
        # says so); one that protects refuses the deletion.
        if not issubclass(linker, StageItem) or not (
            relation.many_to_many or relation.on_delete is models.SET_NULL
        ):
            continue
        ids = linker._default_manager.filter(
            **{f"{relation.field.name}__in": pks}
        ).values_list("pk", flat=True)
        linked.setdefault(linker, set()).update(ids.order_by())
    yield unlinks
    if len(items) == 1:
        unlinks.change = f"deleted {model._meta.verbose_name}"
        unlinks.what = str(items[0])
    else:
        unlinks.change = f"deleted {len(items)} {model._meta.verbose_name_plural}"
    reason = _reason(f"{UNLINKED} {display_name(user)} {unlinks.change}", unlinks.what)
    for linker, ids in linked.items():
        if not ids:
            continue
        linking = list(
            linker._default_manager.filter(pk__in=ids)
            .order_by("pk")
            .select_related("case")
            .prefetch_related(*_snapshot_rows(linker))
        )
        record_snapshots(linking, user=user, reason=reason)
        unlinks.items.extend(linking)


def reopen_unlinked(
    unlinks: Unlinks, *, user, case: Case | None = None, even_archived: bool = False
) -> None:
    """After a deletion `recording_unlinks` recorded: a stage whose items lost a
    link changed like any other, so its status is kept true the same way
    (`sync_stage_status`: its sign-offs cleared, an agreed stage reopened, and
    with it an agreed case), by `user`, worded by the deletion ("Reopened: Anna
    Berg deleted lagging metric 'Churn'"). Call it in the deleting transaction,
    its cases locked. `case`: the caller's copy of the case, told of a move of
    its status (other cases are the linking items'). `even_archived`: for the
    Django admin, which an archived case does not refuse."""
    for linked_case, stage in unlinks.stages():
        if case is not None and linked_case.pk == case.pk:
            linked_case = case
        sync_stage_status(
            case=linked_case,
            stage=stage,
            user=user,
            change=unlinks.change,
            what=unlinks.what,
            even_archived=even_archived,
        )


@transaction.atomic
def delete_item(*, case: Case, stage: Stage, item: StageItem, user) -> None:
    """Delete an item; its stage's status, and that of every stage whose items
    linked to it (a lagging metric's benefits and leading metrics), stay true."""
    if item.case_id != case.pk:
        raise ValidationError("This item belongs to another case.")
    lock_case(case)
    # Recorded in the history, so whoever was editing it is told who deleted it.
    item._history_user = user
    with recording_unlinks([item], user=user) as unlinks:
        item.delete()
    sync_stage_status(
        case=case, stage=stage, user=user, change="deleted", what=str(item)
    )
    reopen_unlinked(unlinks, user=user, case=case)


@transaction.atomic
def update_stage_notes(
    *,
    case: Case,
    stage: Stage,
    notes: str,
    user,
    expected_version: int | None = None,
) -> StageRecord:
    """Save a stage's notes. `expected_version` is the record's version the
    edit started from; EditConflict if someone else saved the notes since."""
    lock_case(case)
    record, _ = StageRecord.objects.get_or_create(case=case, stage=stage.slug)
    _claim_version(StageRecord, record.pk, expected_version)
    # Read again under the claim: the status may have moved since, and only the
    # notes are ours to write.
    record = StageRecord.objects.get(pk=record.pk)
    record.notes = notes
    record.updated_by = user
    record.full_clean()
    record._history_user = user
    record.save(update_fields=["notes", "updated_by", "updated_at", "version"])
    return record


@transaction.atomic
def add_member(*, case: Case, user, side: str, role: str) -> Membership:
    lock_case(case)
    membership, created = Membership.objects.get_or_create(
        case=case, user=user, defaults={"side": side, "role": role}
    )
    if not created:
        raise ValidationError(f"{user.email} is already a member of this case.")
    return membership


def _facilitator_count(case: Case) -> int:
    return Membership.objects.filter(case=case, role=Role.FACILITATOR).count()


@transaction.atomic
def change_member(*, membership: Membership, side: str, role: str) -> Membership:
    # Lock the case, then its memberships, so two facilitators cannot demote
    # each other at once and leave the case with none.
    lock_case(membership.case)
    list(Membership.objects.select_for_update().filter(case=membership.case_id))
    if (
        membership.role == Role.FACILITATOR
        and role != Role.FACILITATOR
        and _facilitator_count(membership.case) == 1
    ):
        raise ValidationError("A case needs at least one facilitator.")
    membership.side = side
    membership.role = role
    membership.save(update_fields=["side", "role"])
    return membership


@transaction.atomic
def remove_member(*, membership: Membership) -> None:
    lock_case(membership.case, even_archived=True)
    list(Membership.objects.select_for_update().filter(case=membership.case_id))
    if membership.role == Role.FACILITATOR and _facilitator_count(membership.case) == 1:
        raise ValidationError("A case needs at least one facilitator.")
    membership.delete()


@transaction.atomic
def save_buying_ratings(
    *, case: Case, side: str, user, ratings: dict[str, tuple[int | None, str]]
) -> None:
    """Replace one side's ratings of the five buying elements; an element left
    without a score has no rating."""
    if side not in BuyingRating.RATING_SIDES:
        raise ValidationError("Only the client and the seller rate the decision.")
    lock_case(case)
    for element, (score, comment) in ratings.items():
        if score is None:
            BuyingRating.objects.filter(case=case, side=side, element=element).delete()
            continue
        rating = BuyingRating.objects.filter(
            case=case, side=side, element=element
        ).first()
        rating = rating or BuyingRating(case=case, side=side, element=element)
        rating.score, rating.comment, rating.updated_by = score, comment, user
        rating.full_clean()
        rating.save()


@transaction.atomic
def record_recommendation(*, case: Case, user, **fields) -> Recommendation:
    lock_case(case)
    recommendation = Recommendation.objects.filter(case=case).first() or Recommendation(
        case=case
    )
    for name, value in fields.items():
        setattr(recommendation, name, value)
    recommendation.recorded_by = user
    recommendation.full_clean()
    recommendation.save()
    return recommendation


# --- Agreement: sign-offs, comments, the case's status ---------------------------

# The two sides whose agreement makes a stage agreed; partners advise, they do
# not sign.
SIGNING_SIDES: tuple[str, ...] = (Side.CLIENT, Side.SELLER)

# The case's status pipeline: every move goes through change_case_status() and
# must be listed here. Moving back (in review -> draft, agreed -> in review,
# archived -> draft) is allowed so a case can be reopened or restored. Any case
# can be archived, not only an agreed one: a case that concluded "do not
# proceed", or was abandoned, leaves the team's work in progress too.
CASE_TRANSITIONS: dict[str, tuple[str, ...]] = {
    CaseStatus.DRAFT: (CaseStatus.IN_REVIEW, CaseStatus.ARCHIVED),
    CaseStatus.IN_REVIEW: (CaseStatus.AGREED, CaseStatus.DRAFT, CaseStatus.ARCHIVED),
    CaseStatus.AGREED: (CaseStatus.ARCHIVED, CaseStatus.IN_REVIEW),
    CaseStatus.ARCHIVED: (CaseStatus.DRAFT,),
}

REASON_MAX = 100  # simple-history's history_change_reason is a CharField(100)


def _reason(text: str, quoted: str | None = None) -> str:
    """A history change reason that fits its column: the quoted item name is what
    gets shortened, so who did what always survives."""
    if quoted is None:
        return text[:REASON_MAX]
    full = f"{text} '{quoted}'"
    if len(full) <= REASON_MAX:
        return full
    room = max(REASON_MAX - len(text) - 4, 0)  # a space, two quotes, an ellipsis
    return f"{text} '{quoted[:room]}…'"[:REASON_MAX]


def lock_case(*cases: Case | int, even_archived: bool = False) -> None:
    """Lock the case's row until the transaction ends, before any other row, and
    refuse to write to an archived case. Several cases (or case ids: the admin
    deleting items of several cases) are locked in one query, in the order of
    their ids, so two such writes take them in the same order too.

    Every write to a case's rows moves its revision, an UPDATE of the case row
    (cases/revision.py), so every write transaction locks that row. A transaction
    that locked another row of the case first (a stage record) and then wrote
    could deadlock with one that wrote an item (locking the case row) and then
    wanted that record. Taking the case's lock first keeps one order for all.

    The status is read under that lock, not from the caller's copy of the case:
    an edit on its way while a facilitator archives the case writes nothing, and
    scripts are refused like the views. `even_archived`: the writes an archived
    case takes, taking someone's access away (and the Django admin's)."""
    ids = sorted({getattr(case, "pk", case) for case in cases})
    statuses = list(
        Case.objects.select_for_update()
        .filter(pk__in=ids)
        .order_by("pk")
        .values_list("status", flat=True)
    )
    if len(statuses) < len(ids):
        raise Case.DoesNotExist("Case matching query does not exist.")
    if CaseStatus.ARCHIVED in statuses and not even_archived:
        raise PermissionDenied(ARCHIVED_REFUSAL)


def _locked_record(
    case: Case, stage: Stage, *, even_archived: bool = False
) -> StageRecord:
    """The stage record, locked until the caller's transaction ends, so two
    sign-offs (or a sign-off and an edit) arriving together are decided in turn."""
    lock_case(case, even_archived=even_archived)
    record, _ = StageRecord.objects.select_for_update().get_or_create(
        case=case, stage=stage.slug
    )
    return record


def _save_status(record: StageRecord, status: str, user, reason: str | None) -> None:
    record.status = status
    record.updated_by = user
    record._change_reason = reason
    record._history_user = user  # named in the history outside a request too
    # Only these fields: the notes (and their version) belong to the notes editor.
    record.save(update_fields=["status", "updated_by", "updated_at"])


def _reopen_case_if_agreed(*, case: Case, user, note: str) -> None:
    """An agreed case whose stage reopens is no longer agreed: back to review,
    through the one status method, so the move is in the case's history too."""
    current = Case.objects.filter(pk=case.pk).values_list("status", flat=True).first()
    if current == CaseStatus.AGREED:
        change_case_status(
            case=case, to_status=CaseStatus.IN_REVIEW, user=user, note=note
        )


def signing_membership(case: Case, user) -> Membership:
    """The user's membership if they may sign off stages for their side: an editor
    (facilitator or contributor) of the client or the seller side, while the case
    is not archived."""
    if case.is_archived:
        raise PermissionDenied(ARCHIVED_REFUSAL)
    membership = getattr(case, "membership", None)
    if membership is None or membership.user_id != getattr(user, "pk", None):
        membership = Membership.objects.filter(case=case, user=user).first()
    if (
        membership is None
        or not membership.can_edit
        or membership.side not in SIGNING_SIDES
    ):
        raise PermissionDenied(
            "Only a facilitator or contributor of the client or the seller side "
            "can sign off a stage."
        )
    return membership


@transaction.atomic
def sign_off_stage(*, case: Case, stage: Stage, user) -> StageSignOff:
    """Sign a stage off for the user's side. When the client and the seller have
    both signed, the stage is agreed. An empty stage cannot be signed off."""
    membership = signing_membership(case, user)
    record = _locked_record(case, stage)
    if not stage.model.objects.filter(case=case).exists():
        raise ValidationError(
            "An empty stage cannot be signed off: add its items first."
        )
    existing = (
        StageSignOff.objects.filter(case=case, stage=stage.slug, side=membership.side)
        .select_related("user")
        .first()
    )
    if existing is not None:
        raise ValidationError(
            f"The {membership.get_side_display().lower()} side has already signed "
            f"off this stage ({display_name(existing.user)})."
        )
    sign_off = StageSignOff.objects.create(
        case=case, stage=stage.slug, side=membership.side, user=user
    )
    signed = {
        s.side: s
        for s in StageSignOff.objects.filter(case=case, stage=stage.slug)
        .select_related("user")
        .order_by("signed_at")
    }
    if set(SIGNING_SIDES) <= set(signed) and record.status != StageStatus.AGREED:
        names = " and ".join(
            f"{display_name(signed[side].user)} ({side})" for side in SIGNING_SIDES
        )
        _save_status(record, StageStatus.AGREED, user, _reason(f"Agreed: {names}"))
    return sign_off


@transaction.atomic
def withdraw_sign_off(*, case: Case, stage: Stage, user) -> None:
    """Withdraw the sign-off of the user's own side; an agreed stage reopens."""
    membership = signing_membership(case, user)
    record = _locked_record(case, stage)
    deleted, _ = StageSignOff.objects.filter(
        case=case, stage=stage.slug, side=membership.side
    ).delete()
    side = membership.get_side_display().lower()
    if not deleted:
        raise ValidationError(f"The {side} side has not signed off this stage.")
    if record.status == StageStatus.AGREED:
        has_items = stage.model.objects.filter(case=case).exists()
        reason = _reason(f"Reopened: {display_name(user)} withdrew the {side} sign-off")
        _save_status(
            record,
            StageStatus.IN_PROGRESS if has_items else StageStatus.EMPTY,
            user,
            reason,
        )
        _reopen_case_if_agreed(
            case=case, user=user, note=f"Stage {stage.number} reopened. {reason}"
        )


@transaction.atomic
def add_comment(*, case: Case, stage: Stage, user, text: str) -> Comment:
    """A comment beside a stage, by any member (viewers too), with their side."""
    membership = Membership.objects.filter(case=case, user=user).first()
    if membership is None:
        raise PermissionDenied("Only members of the case can comment.")
    lock_case(case)
    comment = Comment(
        case=case, stage=stage.slug, author=user, side=membership.side, text=text
    )
    comment.full_clean()
    comment.save()
    return comment


def allowed_case_transitions(case: Case) -> tuple[str, ...]:
    return CASE_TRANSITIONS.get(case.status, ())


def agreed_stage_count(case: Case) -> int:
    return StageRecord.objects.filter(
        case=case, status=StageStatus.AGREED, stage__in=[s.slug for s in STAGES]
    ).count()


@transaction.atomic
def change_case_status(
    *, case: Case, to_status: str, user, note: str = ""
) -> CaseStatusChange:
    """The one way a case's status moves: checked against CASE_TRANSITIONS (and,
    to agree the case, all nine stages agreed), recorded as a CaseStatusChange.
    Who may ask is the caller's business (views: facilitators only)."""
    locked = Case.objects.select_for_update().get(pk=case.pk)
    from_status = locked.status
    if to_status not in CaseStatus.values:
        raise ValidationError(f"“{to_status}” is not a status a case can have.")
    here, there = CaseStatus(from_status).label, CaseStatus(to_status).label
    allowed = CASE_TRANSITIONS.get(from_status, ())
    if to_status not in allowed:
        options = " or ".join(CaseStatus(s).label.lower() for s in allowed)
        if to_status == from_status:
            raise ValidationError(f"The case is already {here.lower()}.")
        raise ValidationError(
            f"A case cannot move from {here.lower()} to {there.lower()}: "
            f"from {here.lower()} it can only move to {options}."
        )
    if to_status == CaseStatus.AGREED:
        agreed = agreed_stage_count(case)
        if agreed < len(STAGES):
            raise ValidationError(
                f"The case can be agreed only when all {len(STAGES)} stages are "
                f"agreed; {agreed} of {len(STAGES)} are."
            )
    locked.status = to_status
    locked._change_reason = _reason(f"Status: {here} -> {there}")
    locked._history_user = user
    locked.save(update_fields=["status", "updated_at"])
    case.status = to_status
    change = CaseStatusChange(
        case=locked,
        from_status=from_status,
        to_status=to_status,
        changed_by=user,
        note=note,
    )
    change.full_clean()
    change.save()
    return change
