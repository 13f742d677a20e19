"""Django admin for every model of the case, for support staff.

The admin writes rows directly, not through the services (so an archived case
does not refuse it), but keeps what the services keep true:

- every write to an item (or a yearly row on its own page) locks the case's row
  first, as the services do (services.lock_case);
- an item edited here over a newer edit made in the app (or in another admin
  tab) is refused, as the app's own edit form refuses it, and an edit saved
  here moves the item's version, so an app form opened before it is refused
  in turn instead of overwriting it;
- the item's stage stays true: its sign-offs cleared, an agreed stage reopened,
  under the staff member's name (services.sync_stage_status);
- an item whose snapshot keeps rows or links edited here is recorded once per
  save, with them, under the staff member's name, and deleting an item records
  in the history of the items that linked to it that the link went with it,
  and reopens their stages if agreed.
"""

from collections import defaultdict
from contextlib import contextmanager

from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F

from . import services
from .models import (
    Benefit,
    BenefitYear,
    BuyingRating,
    Case,
    CaseStatusChange,
    ChangeItem,
    Comment,
    EcosystemParty,
    InactionCost,
    Investment,
    Invitation,
    LaggingMetric,
    LeadingMetric,
    Membership,
    ModelChange,
    PdfExport,
    Recommendation,
    RiskOfActing,
    RiskOfNotActing,
    StageRecord,
    StageSignOff,
)
from .revision import bump
from .stages import BY_MODEL


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    autocomplete_fields = ["user"]


class StageRecordInline(admin.TabularInline):
    model = StageRecord
    extra = 0
    fields = ["stage", "status", "notes", "updated_at"]
    readonly_fields = ["updated_at"]


@admin.register(Case)
class CaseAdmin(admin.ModelAdmin):
    list_display = ["title", "client", "seller", "status", "currency", "updated_at"]
    list_filter = ["status", "currency"]
    search_fields = ["title", "idea", "client__name", "seller__name"]
    autocomplete_fields = ["client", "seller", "created_by"]
    readonly_fields = ["created_at", "updated_at"]
    inlines = [MembershipInline, StageRecordInline]


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ["user", "case", "side", "role", "created_at"]
    list_filter = ["side", "role"]
    search_fields = ["user__email", "case__title"]
    autocomplete_fields = ["user", "case"]


@admin.register(StageRecord)
class StageRecordAdmin(admin.ModelAdmin):
    list_display = ["case", "stage", "status", "updated_at"]
    list_filter = ["stage", "status"]
    search_fields = ["case__title"]


class ItemAdminForm(forms.ModelForm):
    """An item's admin form, which knows the version of the item it showed.

    The admin's add and change views run in one transaction, form checks
    included, so `clean` takes the case's lock first and reads the item's
    version under it: no other write can slip in between this check and the
    save. An item stays in its case (ItemAdmin makes `case` read-only once
    saved): moved, it would take its links to another case's items along."""

    seen_version = forms.IntegerField(widget=forms.HiddenInput, required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.fields["seen_version"].initial = self.instance.version

    def case_id(self) -> int | None:
        """The item's case: its own once saved, else the one picked."""
        return self.instance.case_id or getattr(
            self.cleaned_data.get("case"), "pk", None
        )

    def clean(self):
        cleaned = super().clean()
        if self.case_id() is not None:
            services.lock_case(self.case_id(), even_archived=True)
        if self.instance.pk:
            current = (
                type(self.instance)
                ._default_manager.filter(pk=self.instance.pk)
                .values_list("version", flat=True)
                .first()
            )
            if current is None:
                raise ValidationError("This item was deleted since you opened it.")
            if current != cleaned.get("seen_version"):
                raise ValidationError(
                    "Someone saved this item since you opened it. Open it again "
                    "to see their change, then make yours."
                )
        return cleaned


class ItemAdmin(admin.ModelAdmin):
    """Common to every stage item: filter by case, show who wrote it. A save
    takes the case's lock first, is refused over a newer edit and keeps the
    item's stage true (ItemAdminForm, save_related). A deleted item's links go
    with it the way `services.delete_item` records them, and the stages of the
    items that lost one are reopened the same way."""

    form = ItemAdminForm
    list_filter = ["case"]
    search_fields = ["case__title"]
    readonly_fields = ["created_at", "updated_at", "created_by", "updated_by"]
    list_select_related = ["case"]

    def get_readonly_fields(self, request, obj=None):
        fields = super().get_readonly_fields(request, obj)
        return [*fields, "case"] if obj is not None else fields

    def save_model(self, request, obj, form, change):
        if change:
            obj.version = form.cleaned_data["seen_version"] + 1
        else:
            obj.created_by = request.user
            # At the end of its stage's list, as an item added in the app.
            last = (
                type(obj)
                ._default_manager.filter(case=obj.case_id)
                .order_by("-position")
                .values_list("position", flat=True)
                .first()
            )
            obj.position = 0 if last is None else last + 1
        obj.updated_by = request.user
        obj._history_user = request.user
        super().save_model(request, obj, form, change)

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        item = form.instance
        self.record(request, item, new=not change)
        # Its stage once the item's history row is written, as in the app.
        services.sync_stage_status(
            case=item.case,
            stage=BY_MODEL[type(item)],
            user=request.user,
            change="changed" if change else "added",
            what=str(item),
            even_archived=True,
        )

    def record(self, request, item, *, new: bool) -> None:
        """Record the save in the item's history, once all of it is saved. An
        item without a snapshot was recorded by its own save."""

    def delete_model(self, request, obj):
        with self._deleting(request, [obj]):
            super().delete_model(request, obj)

    def delete_queryset(self, request, queryset):
        with transaction.atomic(), self._deleting(request, list(queryset)):
            super().delete_queryset(request, queryset)

    @contextmanager
    def _deleting(self, request, items):
        """Around the deletion of `items` (of one stage), in one transaction:
        their cases' rows locked first, as the services do (services.lock_case),
        the links that go with them recorded, and their own stage and the
        stages of the items that lost a link kept true, an agreed one reopened,
        as `services.delete_item` does."""
        with transaction.atomic():
            services.lock_case(*{item.case_id for item in items}, even_archived=True)
            with services.recording_unlinks(items, user=request.user) as unlinks:
                yield
            services.reopen_unlinked(unlinks, user=request.user, even_archived=True)
            by_case = defaultdict(list)
            for item in items:
                by_case[item.case_id].append(item)
            for case in Case.objects.filter(pk__in=by_case).order_by("pk"):
                gone = by_case[case.pk]
                services.sync_stage_status(
                    case=case,
                    stage=BY_MODEL[type(gone[0])],
                    user=request.user,
                    change="deleted"
                    if len(gone) == 1
                    else f"deleted {len(gone)} items",
                    what=str(gone[0]) if len(gone) == 1 else None,
                    even_archived=True,
                )


class SnapshotItemAdmin(ItemAdmin):
    """An item whose snapshot keeps what this admin edits besides the item's row
    (yearly rows in an inline, links): the snapshot is refreshed once the
    inlines and links are saved, and the save is recorded in the item's history
    then, once, with them, by the staff member (services.record_snapshots)."""

    def save_model(self, request, obj, form, change):
        # The history row waits for save_related: the rows are not saved yet.
        obj.skip_history_when_saving = True
        super().save_model(request, obj, form, change)

    def record(self, request, item, *, new: bool) -> None:
        del item.skip_history_when_saving
        services.record_snapshots([item], user=request.user, new=new)


@admin.register(ModelChange)
class ModelChangeAdmin(ItemAdmin):
    list_display = ["model", "case", "updated_at"]


@admin.register(ChangeItem)
class ChangeItemAdmin(ItemAdmin):
    list_display = ["title", "leg", "case", "owner"]
    search_fields = ["title", "case__title"]


@admin.register(EcosystemParty)
class EcosystemPartyAdmin(ItemAdmin):
    list_display = ["organisation", "role", "commitment", "case"]
    autocomplete_fields = ["organisation"]


class LeadingMetricAdminForm(ItemAdminForm):
    def clean(self):
        """The model's own rule on links, which the services apply too: the
        admin saves `drives` after the item, where nothing else checks them."""
        cleaned = super().clean()
        try:
            LeadingMetric(case_id=self.case_id()).check_links(cleaned.get("drives", []))
        except ValidationError as refused:
            self.add_error(None, refused)
        return cleaned


@admin.register(LeadingMetric)
class LeadingMetricAdmin(SnapshotItemAdmin):
    """What a leading metric drives: only its own case's lagging metrics, offered
    and accepted (another case's would show in this case's pages)."""

    form = LeadingMetricAdminForm
    list_display = ["name", "baseline", "target", "unit", "target_date", "case"]
    search_fields = ["name", "case__title"]
    filter_horizontal = ["drives"]

    def get_form(self, request, obj=None, **kwargs):
        form = super().get_form(request, obj, **kwargs)
        if obj is not None:
            drives = form.base_fields["drives"]
            drives.queryset = drives.queryset.filter(case=obj.case_id)
        return form


@admin.register(LaggingMetric)
class LaggingMetricAdmin(ItemAdmin):
    list_display = ["name", "baseline", "target", "unit", "target_date", "case"]
    search_fields = ["name", "case__title"]


class BenefitYearInline(admin.TabularInline):
    model = BenefitYear
    extra = 0


@admin.register(Benefit)
class BenefitAdmin(SnapshotItemAdmin):
    list_display = ["title", "category", "confidence", "metric", "case"]
    search_fields = ["title", "case__title"]
    inlines = [BenefitYearInline]


class YearlyRowAdmin(admin.ModelAdmin):
    """A yearly row edited on its own: the item it belongs to (`parent`) changed
    like an item edited in the app. Its version moves (an edit of the item
    begun before is refused, not saved over this one), its snapshot is
    refreshed and the change recorded, by the staff member, its stage kept true
    (an agreed one reopened) and its case's pages rendered again. A row stays
    with its item once saved."""

    parent: str

    def get_readonly_fields(self, request, obj=None):
        fields = super().get_readonly_fields(request, obj)
        return [*fields, self.parent] if obj is not None else fields

    def save_model(self, request, obj, form, change):
        parents = {self._parent_id(obj)}
        with transaction.atomic():
            self._lock(parents)
            super().save_model(request, obj, form, change)
            self._record(request, parents)

    def delete_model(self, request, obj):
        parents = {self._parent_id(obj)}
        with transaction.atomic():
            self._lock(parents)
            super().delete_model(request, obj)
            self._record(request, parents)

    def delete_queryset(self, request, queryset):
        with transaction.atomic():
            parents = set(queryset.values_list(self.parent, flat=True))
            self._lock(parents)
            super().delete_queryset(request, queryset)
            self._record(request, parents)

    def _parent_id(self, obj) -> int | None:
        return getattr(obj, self.model._meta.get_field(self.parent).attname)

    def _items(self, ids: set):
        items = self.model._meta.get_field(self.parent).related_model
        return items._default_manager.filter(pk__in=[i for i in ids if i is not None])

    def _lock(self, ids: set) -> None:
        """The cases' rows first, before any row is written, as the services
        lock them (services.lock_case)."""
        cases = self._items(ids).values_list("case_id", flat=True)
        services.lock_case(*cases, even_archived=True)

    def _record(self, request, ids: set) -> None:
        field = self.model._meta.get_field(self.parent)
        items = list(
            self._items(ids)
            .order_by("pk")
            .select_related("case")
            .prefetch_related(field.remote_field.related_name)
        )
        self._items(ids).update(version=F("version") + 1)
        for item in items:
            item.version += 1
        services.record_snapshots(items, user=request.user)
        for item in items:
            services.sync_stage_status(
                case=item.case,
                stage=BY_MODEL[type(item)],
                user=request.user,
                change="changed",
                what=str(item),
                even_archived=True,
            )
        # Yearly rows send no signal of their own (cases/revision.py).
        bump(Case.objects.filter(pk__in={item.case_id for item in items}))


@admin.register(BenefitYear)
class BenefitYearAdmin(YearlyRowAdmin):
    list_display = ["benefit", "year", "low", "expected", "high"]
    parent = "benefit"


@admin.register(Investment)
class InvestmentAdmin(ItemAdmin):
    list_display = [
        "title",
        "kind",
        "organisation",
        "year",
        "amount",
        "person_days",
        "day_rate",
        "case",
    ]
    list_filter = ["case", "kind"]
    autocomplete_fields = ["organisation"]


@admin.register(RiskOfActing)
class RiskOfActingAdmin(ItemAdmin):
    list_display = ["title", "leg", "likelihood", "impact", "owner", "case"]


class InactionCostInline(admin.TabularInline):
    model = InactionCost
    extra = 0


@admin.register(RiskOfNotActing)
class RiskOfNotActingAdmin(SnapshotItemAdmin):
    list_display = ["title", "likelihood", "impact", "case"]
    inlines = [InactionCostInline]


@admin.register(InactionCost)
class InactionCostAdmin(YearlyRowAdmin):
    list_display = ["risk", "year", "amount"]
    parent = "risk"


# --- Decision, exports and co-creation -------------------------------------------


@admin.register(BuyingRating)
class BuyingRatingAdmin(admin.ModelAdmin):
    list_display = ["case", "side", "element", "score", "updated_at"]
    list_filter = ["side", "element"]
    search_fields = ["case__title", "comment"]


@admin.register(Recommendation)
class RecommendationAdmin(admin.ModelAdmin):
    list_display = ["case", "verdict", "recorded_by", "recorded_at"]
    list_filter = ["verdict"]
    search_fields = ["case__title", "rationale"]


@admin.register(PdfExport)
class PdfExportAdmin(admin.ModelAdmin):
    list_display = [
        "case",
        "status",
        "paper_size",
        "case_version",
        "requested_by",
        "requested_at",
        "pages",
    ]
    list_filter = ["status", "paper_size"]
    search_fields = ["case__title", "error"]
    readonly_fields = [
        "content_hash",
        "worker",
        "heartbeat_at",
        "started_at",
        "finished_at",
    ]


@admin.register(StageSignOff)
class StageSignOffAdmin(admin.ModelAdmin):
    list_display = ["case", "stage", "side", "user", "signed_at"]
    list_filter = ["side", "stage"]


@admin.register(Comment)
class CommentAdmin(admin.ModelAdmin):
    list_display = ["case", "stage", "author", "side", "created_at"]
    list_filter = ["side", "stage"]
    search_fields = ["case__title", "text"]


@admin.register(CaseStatusChange)
class CaseStatusChangeAdmin(admin.ModelAdmin):
    list_display = ["case", "from_status", "to_status", "changed_by", "changed_at"]


@admin.register(Invitation)
class InvitationAdmin(admin.ModelAdmin):
    list_display = [
        "email",
        "case",
        "side",
        "role",
        "created_at",
        "expires_at",
        "accepted_at",
        "withdrawn_at",
    ]
    search_fields = ["email", "case__title"]
    exclude = ["token_hash"]
