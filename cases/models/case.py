"""The case, who takes part in it, and the per-case record of each stage."""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.urls import reverse
from simple_history.models import HistoricalRecords

from ecosystem.models import Organisation, OrganisationKind

from ..currencies import CURRENCY_CODES
from .choices import CaseStatus, Role, Side, StageStatus
from .fields import TITLE_MAX, text_field

HORIZON_MAX = 10


def validate_currency(value: str) -> None:
    if value not in CURRENCY_CODES:
        raise ValidationError(
            "%(value)s is not an ISO 4217 currency code (for example EUR, USD, GBP).",
            params={"value": value},
            code="unknown_currency",
        )


class CaseQuerySet(models.QuerySet):
    def visible_to(self, user) -> CaseQuerySet:
        """The cases a user is a member of; the only way views list cases."""
        if not user.is_authenticated:
            return self.none()
        return self.filter(memberships__user=user)


class Case(models.Model):
    """One idea for one client, with one seller."""

    title = models.CharField(max_length=TITLE_MAX)
    idea = text_field(
        help_text="The change in a few sentences: what the client would do differently."
    )
    client = models.ForeignKey(
        Organisation,
        on_delete=models.PROTECT,
        related_name="cases_as_client",
        limit_choices_to={"kind": OrganisationKind.CLIENT},
    )
    seller = models.ForeignKey(
        Organisation,
        on_delete=models.PROTECT,
        related_name="cases_as_seller",
        limit_choices_to={"kind": OrganisationKind.SELLER},
    )
    currency = models.CharField(
        max_length=3,
        default="EUR",
        validators=[validate_currency],
        help_text="ISO 4217 code, for example EUR, USD or GBP.",
    )
    horizon_years = models.PositiveSmallIntegerField(
        "horizon (years)",
        default=5,
        validators=[
            MinValueValidator(1, "The horizon is at least 1 year."),
            MaxValueValidator(
                HORIZON_MAX, f"The horizon is at most {HORIZON_MAX} years."
            ),
        ],
    )
    discount_rate = models.DecimalField(
        max_digits=5,
        decimal_places=4,
        default=Decimal("0.08"),
        validators=[
            MinValueValidator(Decimal("0"), "The discount rate cannot be negative."),
            MaxValueValidator(Decimal("1"), "The discount rate is at most 1 (100 %%)."),
        ],
        help_text="A year's rate as a fraction: 0.08 means 8 % a year.",
    )
    status = models.CharField(
        max_length=20, choices=CaseStatus.choices, default=CaseStatus.DRAFT
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    extra = models.JSONField(default=dict, blank=True)
    # Moves on every change to anything the case's pages show (cases/revision.py),
    # so a page rendered at one revision can be served again until the next.
    revision = models.PositiveBigIntegerField(default=0, editable=False)
    history = HistoricalRecords(excluded_fields=["extra", "updated_at", "revision"])

    objects = CaseQuerySet.as_manager()

    class Meta:
        ordering = ["-updated_at", "-id"]

    def __str__(self) -> str:
        return self.title

    def save(self, *args, **kwargs) -> None:
        if not self._state.adding and kwargs.get("update_fields") is None:
            # The revision is moved by the database alone (cases/revision.py).
            # Written back from this copy, it could go back to a number pages
            # were kept for, and those pages would be served again, stale.
            kwargs["update_fields"] = [
                field.name
                for field in self._meta.concrete_fields
                if not field.primary_key and field.name != "revision"
            ]
        super().save(*args, **kwargs)

    def get_absolute_url(self) -> str:
        return reverse("cases:overview", args=[self.pk])

    def clean(self) -> None:
        super().clean()
        errors = {}
        if self.client_id and self.client.kind != OrganisationKind.CLIENT:
            errors["client"] = "Pick a client organisation."
        if self.seller_id and self.seller.kind != OrganisationKind.SELLER:
            errors["seller"] = "Pick a seller organisation."
        if errors:
            raise ValidationError(errors)

    @property
    def years(self) -> range:
        """Year 0 (at the decision) to the horizon, inclusive."""
        return range(0, self.horizon_years + 1)

    @property
    def discount_percent(self) -> Decimal:
        return (self.discount_rate * 100).normalize()

    @property
    def is_archived(self) -> bool:
        """An archived case is read-only for everyone, until a facilitator
        restores it to draft (see Membership's permissions)."""
        return self.status == CaseStatus.ARCHIVED


class Membership(models.Model):
    """A user's place in one case: which side they speak for and what they may do."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships"
    )
    side = models.CharField(max_length=10, choices=Side.choices)
    role = models.CharField(max_length=12, choices=Role.choices)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["side", "role", "user__email"]
        constraints = [
            models.UniqueConstraint(
                fields=["case", "user"], name="one_membership_per_user"
            )
        ]

    def __str__(self) -> str:
        return f"{self.user} ({self.get_side_display()}, {self.get_role_display()})"

    # What the member may do: computed here, from the role and the case's status,
    # and nowhere else (cases/rules.py and every view and template ask these).
    # An archived case is read-only for everyone: reading, PDF exports and
    # downloads stay; the one change left is a facilitator moving its status.

    @property
    def can_edit(self) -> bool:
        """Items, notes, sign-offs, the buying decision."""
        return (
            self.role in (Role.FACILITATOR, Role.CONTRIBUTOR)
            and not self.case.is_archived
        )

    @property
    def can_manage(self) -> bool:
        """The case's settings, its people and invitations."""
        return self.role == Role.FACILITATOR and not self.case.is_archived

    @property
    def can_comment(self) -> bool:
        """Every member comments, viewers too."""
        return not self.case.is_archived

    @property
    def can_change_status(self) -> bool:
        """Move the case's status, archived or not (restoring it is a move)."""
        return self.role == Role.FACILITATOR

    @property
    def can_revoke(self) -> bool:
        """Take people's access away (remove a member, withdraw an invitation),
        archived or not: someone who leaves must lose an archived case too,
        without the case being restored and its history moved for it."""
        return self.role == Role.FACILITATOR

    @property
    def display_name(self) -> str:
        return display_name(self.user)


def display_name(user) -> str:
    """A person's name as the case shows it: full name, else the email's local part."""
    if user is None:
        return "someone"
    full = user.get_full_name().strip()
    if full:
        return full
    return (user.email or user.get_username()).split("@")[0]


class StageRecord(models.Model):
    """The per-case record of one of the nine stages: its status and notes."""

    case = models.ForeignKey(
        Case, on_delete=models.CASCADE, related_name="stage_records"
    )
    stage = models.CharField(max_length=40)  # a slug of cases.stages.STAGES
    status = models.CharField(
        max_length=20, choices=StageStatus.choices, default=StageStatus.EMPTY
    )
    notes = text_field()
    updated_at = models.DateTimeField(auto_now=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )

    version = models.PositiveIntegerField(default=1, editable=False)
    history = HistoricalRecords()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["case", "stage"], name="one_record_per_stage"
            )
        ]

    def __str__(self) -> str:
        return f"{self.case} / {self.stage}: {self.get_status_display()}"
