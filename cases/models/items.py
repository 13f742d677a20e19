"""The items of the nine stages. Each item belongs to one case; the registry in
`cases/stages.py` says which model serves which stage.

Rules about one item live here, in validators and `clean()`, so the browser form
and the file import are held to exactly the same rules.
"""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ObjectDoesNotExist, ValidationError
from django.db import models
from simple_history.models import HistoricalRecords

from ecosystem.models import Organisation

from .case import Case, display_name
from .choices import (
    BenefitCategory,
    ClientModel,
    Commitment,
    Confidence,
    Frequency,
    InvestmentKind,
    Leg,
)
from .fields import (
    MONEY_MAX,
    TITLE_MAX,
    money_field,
    score_field,
    text_field,
    year_field,
)

SHORT_MAX = 200


def _parent_case(child: models.Model, parent_field: str) -> Case | None:
    """The case of a yearly row's parent item, or None while it has no parent."""
    try:
        parent = getattr(child, parent_field)
    except ObjectDoesNotExist:
        return None
    return parent.case if parent is not None and parent.case_id else None


def _check_year(case: Case | None, year: int | None, field: str = "year") -> None:
    if case is not None and year is not None and year > case.horizon_years:
        raise ValidationError(
            {
                field: (
                    f"Year {year} is beyond the case's horizon of "
                    f"{case.horizon_years} years."
                )
            },
            code="beyond_horizon",
        )


def snapshot_field() -> models.JSONField:
    """What an item owns outside its own row (its yearly figures, its links), as
    plain JSON kept by `services.save_item`, so the history (and the activity
    feed) sees them move. Decimals are strings, so the history compares exactly.
    None: not recorded (items written before it existed, or outside the service).
    Derived data: not in the case file."""
    return models.JSONField(null=True, blank=True, default=None, editable=False)


class StageItem(models.Model):
    """What every stage item has: its case, its place in the list, who wrote it."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="+")
    position = models.PositiveIntegerField(default=0, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    # Kept as they are from case files ("extra" objects of the format).
    extra = models.JSONField(default=dict, blank=True, editable=False)
    # Compare-and-swap: a save names the version it was edited from, and is
    # refused when someone else saved in between (no edit silently lost).
    version = models.PositiveIntegerField(default=1, editable=False)
    # Who changed what, field by field, for the activity feed.
    history = HistoricalRecords(inherit=True, excluded_fields=["extra", "position"])

    class Meta:
        abstract = True
        ordering = ["position", "id"]

    @property
    def author_name(self) -> str:
        return display_name(self.created_by)


class ModelChange(StageItem):
    """Stage 1: one of the client's six models that the idea changes."""

    model = models.CharField("model", max_length=30, choices=ClientModel.choices)
    today = text_field(help_text="How this model works today.")
    future = text_field(
        "intended future", help_text="How it should work after the change."
    )
    rationale = text_field(
        "why", help_text="Why this model has to change for the idea to work."
    )

    class Meta(StageItem.Meta):
        verbose_name = "model to change"
        verbose_name_plural = "models to change"
        constraints = [
            models.UniqueConstraint(
                fields=["case", "model"],
                name="one_entry_per_client_model",
                violation_error_message="This case already describes that model; edit it instead.",
            )
        ]

    def __str__(self) -> str:
        return self.get_model_display()


class ChangeItem(StageItem):
    """Stage 2: one change, standing on one leg of the stool."""

    leg = models.CharField(max_length=12, choices=Leg.choices)
    title = models.CharField(max_length=TITLE_MAX)
    description = text_field()
    owner = models.CharField(max_length=SHORT_MAX, blank=True)

    class Meta(StageItem.Meta):
        verbose_name = "people, process or technology change"

    def __str__(self) -> str:
        return self.title


class EcosystemParty(StageItem):
    """Stage 3: an internal unit or external company that must take part."""

    organisation = models.ForeignKey(
        Organisation, on_delete=models.PROTECT, related_name="ecosystem_roles"
    )
    role = models.CharField(max_length=SHORT_MAX)
    responsibilities = text_field()
    commitment = models.CharField(
        max_length=12, choices=Commitment.choices, default=Commitment.TO_CONFIRM
    )

    class Meta(StageItem.Meta):
        verbose_name = "ecosystem party"
        verbose_name_plural = "ecosystem parties"
        constraints = [
            models.UniqueConstraint(
                fields=["case", "organisation"],
                name="organisation_once_per_ecosystem",
                violation_error_message="This organisation is already in the ecosystem.",
            )
        ]

    def __str__(self) -> str:
        return str(self.organisation.name)


class Metric(StageItem):
    name = models.CharField(max_length=TITLE_MAX)
    unit = models.CharField(
        max_length=40, blank=True, help_text="%, EUR, days, orders..."
    )
    baseline = models.DecimalField(
        max_digits=18, decimal_places=4, null=True, blank=True
    )
    target = models.DecimalField(max_digits=18, decimal_places=4, null=True, blank=True)
    target_date = models.DateField("by when", null=True, blank=True)
    owner = models.CharField(max_length=SHORT_MAX, blank=True)
    frequency = models.CharField(
        "measured", max_length=12, choices=Frequency.choices, blank=True
    )
    source = models.CharField(
        max_length=SHORT_MAX, blank=True, help_text="Where the figure comes from."
    )

    class Meta(StageItem.Meta):
        abstract = True

    def __str__(self) -> str:
        return self.name


class LaggingMetric(Metric):
    """Stage 5: an outcome that proves the change afterwards."""

    class Meta(Metric.Meta):
        verbose_name = "lagging metric"


class LeadingMetric(Metric):
    """Stage 4: an early signal that the change is working."""

    drives = models.ManyToManyField(
        LaggingMetric,
        blank=True,
        related_name="driven_by",
        help_text="The lagging metrics this signal moves.",
    )
    # [{"id": 7, "name": "Churn"}, ...] by id: the links as they were saved.
    snapshot = snapshot_field()

    class Meta(Metric.Meta):
        verbose_name = "leading metric"

    def check_links(self, lagging: list[LaggingMetric]) -> None:
        """Refuse links to another case's metrics (a tampered form or file)."""
        if any(m.case_id != self.case_id for m in lagging):
            raise ValidationError(
                {"drives": "Link only to this case's lagging metrics."}
            )


class Benefit(StageItem):
    """Stage 6: what the client expects to gain, as an honest range per year."""

    title = models.CharField(max_length=TITLE_MAX)
    category = models.CharField(max_length=12, choices=BenefitCategory.choices)
    metric = models.ForeignKey(
        LaggingMetric,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="benefits",
        verbose_name="proved by",
        help_text="The lagging metric that will show this benefit is real.",
    )
    owner = models.CharField(max_length=SHORT_MAX, blank=True)
    confidence = models.CharField(
        max_length=8, choices=Confidence.choices, default=Confidence.MEDIUM
    )
    description = text_field()
    # [{"year": 1, "low": "100.00", "expected": ..., "high": ...}, ...] by year.
    snapshot = snapshot_field()

    class Meta(StageItem.Meta):
        verbose_name = "benefit"

    def __str__(self) -> str:
        return self.title

    @property
    def totals(self) -> dict[str, Decimal] | None:
        """The range summed over the years (uses prefetched rows), or None."""
        rows = list(self.yearly.all())
        if not rows:
            return None
        return {
            k: sum((getattr(r, k) for r in rows), Decimal(0))
            for k in ("low", "expected", "high")
        }

    def clean(self) -> None:
        super().clean()
        if self.metric_id and self.case_id and self.metric.case_id != self.case_id:
            raise ValidationError(
                {"metric": "Link only to this case's lagging metrics."}
            )


class BenefitYear(models.Model):
    """A benefit's range for one year: low <= expected <= high, all >= 0."""

    benefit = models.ForeignKey(
        Benefit, on_delete=models.CASCADE, related_name="yearly"
    )
    year = year_field()
    low = money_field()
    expected = money_field()
    high = money_field()

    class Meta:
        ordering = ["year"]
        constraints = [
            models.UniqueConstraint(
                fields=["benefit", "year"], name="one_range_per_year"
            )
        ]

    def __str__(self) -> str:
        return f"Year {self.year}: {self.low} / {self.expected} / {self.high}"

    def clean(self) -> None:
        super().clean()
        errors: dict[str, str] = {}
        if None not in (self.low, self.expected, self.high):
            if self.low > self.expected:
                errors["low"] = "Low cannot be more than expected."
            elif self.expected > self.high:
                errors["high"] = "High cannot be less than expected."
        if errors:
            raise ValidationError(errors, code="range_order")
        _check_year(_parent_case(self, "benefit"), self.year)


class Investment(StageItem):
    """Stage 7: cash, people's time or other resources, by whom and when."""

    title = models.CharField(max_length=TITLE_MAX)
    kind = models.CharField(max_length=8, choices=InvestmentKind.choices)
    organisation = models.ForeignKey(
        Organisation,
        on_delete=models.PROTECT,
        related_name="investments",
        verbose_name="who invests",
    )
    year = year_field(default=0)
    amount = money_field(null=True, blank=True)
    person_days = models.DecimalField(
        "person-days",
        max_digits=10,
        decimal_places=2,
        null=True,
        blank=True,
        validators=money_field().validators[:1],
    )
    day_rate = money_field(null=True, blank=True)

    class Meta(StageItem.Meta):
        verbose_name = "investment"

    def __str__(self) -> str:
        return self.title

    @property
    def is_time(self) -> bool:
        return self.kind == InvestmentKind.TIME

    @property
    def value(self) -> Decimal:
        """What it is worth in the case's currency: the amount, or days x day rate."""
        if self.is_time:
            return (self.person_days or 0) * (self.day_rate or 0)
        return self.amount or Decimal("0")

    def clean(self) -> None:
        super().clean()
        errors: dict[str, str] = {}
        if self.is_time:
            if self.person_days is None:
                errors["person_days"] = "Give the person-days this time takes."
            if self.day_rate is None:
                errors["day_rate"] = "Give the day rate that values this time."
            if self.amount is not None:
                errors["amount"] = (
                    "Time is valued as person-days x day rate; leave the amount empty."
                )
            elif not errors and self.value > MONEY_MAX:
                # Held to the bound of every other amount, which the figures
                # and their tables are made for.
                errors["person_days"] = (
                    f"Person-days x day rate come to {self.value:,.0f}, one "
                    "trillion or more: check the days and the day rate."
                )
        else:
            if self.amount is None:
                errors["amount"] = "Give the amount."
            for field in ("person_days", "day_rate"):
                if getattr(self, field) is not None:
                    errors[field] = "Only an investment of people's time has this."
        if errors:
            raise ValidationError(errors)
        _check_year(self.case if self.case_id else None, self.year)


class Risk(StageItem):
    title = models.CharField(max_length=TITLE_MAX)
    likelihood = score_field("likelihood")
    impact = score_field("impact")

    class Meta(StageItem.Meta):
        abstract = True

    def __str__(self) -> str:
        return self.title

    @property
    def exposure(self) -> int:
        return self.likelihood * self.impact


class RiskOfActing(Risk):
    """Stage 8: what could go wrong in doing it, on one leg of the stool."""

    leg = models.CharField(max_length=12, choices=Leg.choices)
    mitigation = text_field()
    owner = models.CharField(max_length=SHORT_MAX, blank=True)

    class Meta(Risk.Meta):
        verbose_name = "risk of acting"
        verbose_name_plural = "risks of acting"


class RiskOfNotActing(Risk):
    """Stage 9: what happens if the client does nothing."""

    description = text_field()
    # [{"year": 1, "amount": "5000.00"}, ...] by year.
    snapshot = snapshot_field()

    class Meta(Risk.Meta):
        verbose_name = "risk of not acting"
        verbose_name_plural = "risks of not acting"


class InactionCost(models.Model):
    """The estimated cost of not acting in one year."""

    risk = models.ForeignKey(
        RiskOfNotActing, on_delete=models.CASCADE, related_name="yearly_cost"
    )
    year = year_field()
    amount = money_field()

    class Meta:
        ordering = ["year"]
        constraints = [
            models.UniqueConstraint(fields=["risk", "year"], name="one_cost_per_year")
        ]

    def __str__(self) -> str:
        return f"Year {self.year}: {self.amount}"

    def clean(self) -> None:
        super().clean()
        _check_year(_parent_case(self, "risk"), self.year)
