"""Django admin for every model of the case, for support staff."""

from django.contrib import admin

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


class ItemAdmin(admin.ModelAdmin):
    """Common to every stage item: filter by case, show who wrote it."""

    list_filter = ["case"]
    search_fields = ["case__title"]
    readonly_fields = ["created_at", "updated_at", "created_by", "updated_by"]
    list_select_related = ["case"]


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


@admin.register(LeadingMetric)
class LeadingMetricAdmin(ItemAdmin):
    list_display = ["name", "baseline", "target", "unit", "target_date", "case"]
    search_fields = ["name", "case__title"]
    filter_horizontal = ["drives"]


@admin.register(LaggingMetric)
class LaggingMetricAdmin(ItemAdmin):
    list_display = ["name", "baseline", "target", "unit", "target_date", "case"]
    search_fields = ["name", "case__title"]


class BenefitYearInline(admin.TabularInline):
    model = BenefitYear
    extra = 0


@admin.register(Benefit)
class BenefitAdmin(ItemAdmin):
    list_display = ["title", "category", "confidence", "metric", "case"]
    search_fields = ["title", "case__title"]
    inlines = [BenefitYearInline]


@admin.register(BenefitYear)
class BenefitYearAdmin(admin.ModelAdmin):
    list_display = ["benefit", "year", "low", "expected", "high"]


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
class RiskOfNotActingAdmin(ItemAdmin):
    list_display = ["title", "likelihood", "impact", "case"]
    inlines = [InactionCostInline]


@admin.register(InactionCost)
class InactionCostAdmin(admin.ModelAdmin):
    list_display = ["risk", "year", "amount"]


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
