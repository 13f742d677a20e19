"""Writes that touch several rows: keyword-only, typed, atomic.

Views, the demo loader and the file import all write through these, so a case
built by any of them obeys the same rules (stage status, positions, links).
"""

from __future__ import annotations

from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Max

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
from .stages import STAGES, Stage


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
    for name, value in fields.items():
        setattr(case, name, value)
    case.full_clean()
    case.save()
    return case


def _sync_stage_status(*, case: Case, stage: Stage, user) -> None:
    """Empty <-> in progress follows the items. A change to an agreed stage
    reopens it: what was agreed is no longer what is written."""
    has_items = stage.model.objects.filter(case=case).exists()
    record, _ = StageRecord.objects.get_or_create(case=case, stage=stage.slug)
    status = StageStatus.IN_PROGRESS if has_items else StageStatus.EMPTY
    if record.status != status:
        record.status = status
        record.updated_by = user
        record.save(update_fields=["status", "updated_by", "updated_at"])


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
) -> StageItem:
    """Create or update one stage item with its links and yearly rows.

    The item has been validated (by its form or the import); links are checked
    again here because a tampered request must not tie two cases together.
    """
    if item.case_id != case.pk:
        raise ValidationError("This item belongs to another case.")
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
    is_new = item.pk is None
    if is_new:
        item.created_by = user
        last = stage.model.objects.filter(case=case).aggregate(m=Max("position"))["m"]
        item.position = 0 if last is None else last + 1
    item.updated_by = user
    item.save()
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
    _sync_stage_status(case=case, stage=stage, user=user)
    return item


@transaction.atomic
def delete_item(*, case: Case, stage: Stage, item: StageItem, user) -> None:
    if item.case_id != case.pk:
        raise ValidationError("This item belongs to another case.")
    item.delete()
    _sync_stage_status(case=case, stage=stage, user=user)


@transaction.atomic
def update_stage_notes(*, case: Case, stage: Stage, notes: str, user) -> StageRecord:
    record, _ = StageRecord.objects.get_or_create(case=case, stage=stage.slug)
    record.notes = notes
    record.updated_by = user
    record.full_clean()
    record.save()
    return record


@transaction.atomic
def set_stage_agreed(*, case: Case, stage: Stage, agreed: bool, user) -> StageRecord:
    """Mark a stage agreed (or reopen it). An empty stage cannot be agreed."""
    record, _ = StageRecord.objects.get_or_create(case=case, stage=stage.slug)
    has_items = stage.model.objects.filter(case=case).exists()
    if agreed and not has_items:
        raise ValidationError("An empty stage cannot be agreed: add its items first.")
    if agreed:
        record.status = StageStatus.AGREED
    else:
        record.status = StageStatus.IN_PROGRESS if has_items else StageStatus.EMPTY
    record.updated_by = user
    record.save()
    return record


@transaction.atomic
def add_member(*, case: Case, user, side: str, role: str) -> Membership:
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
    # Lock the case's memberships so two facilitators cannot demote each other
    # at once and leave the case with none.
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
    recommendation = Recommendation.objects.filter(case=case).first() or Recommendation(
        case=case
    )
    for name, value in fields.items():
        setattr(recommendation, name, value)
    recommendation.recorded_by = user
    recommendation.full_clean()
    recommendation.save()
    return recommendation
