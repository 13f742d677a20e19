"""Organisations that take part in cases: clients, sellers, partner companies and
the client's business units. They outlive any one case and are reused across cases.

This app knows nothing about cases (cases imports ecosystem, never the reverse).
"""

from django.core.exceptions import ValidationError
from django.db import models
from django.db.models.functions import Lower


class OrganisationKind(models.TextChoices):
    CLIENT = "client", "Client"
    SELLER = "seller", "Seller"
    PARTNER = "partner", "Partner company"
    BUSINESS_UNIT = "business_unit", "Business unit"


class OrganisationQuerySet(models.QuerySet):
    def companies(self) -> "OrganisationQuerySet":
        return self.exclude(kind=OrganisationKind.BUSINESS_UNIT)

    def business_units_of(self, client: "Organisation") -> "OrganisationQuerySet":
        return self.filter(kind=OrganisationKind.BUSINESS_UNIT, parent=client)


class Organisation(models.Model):
    name = models.CharField(max_length=200)
    kind = models.CharField(max_length=20, choices=OrganisationKind.choices)
    parent = models.ForeignKey(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="business_units",
        help_text="The company a business unit belongs to.",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    objects = OrganisationQuerySet.as_manager()

    class Meta:
        ordering = ["name"]
        constraints = [
            # Two partial constraints instead of nulls_distinct, which SQLite lacks.
            models.UniqueConstraint(
                Lower("name"),
                "kind",
                condition=models.Q(parent__isnull=True),
                name="unique_company_name_per_kind",
                violation_error_message="An organisation of this kind has this name already.",
            ),
            models.UniqueConstraint(
                Lower("name"),
                "parent",
                condition=models.Q(parent__isnull=False),
                name="unique_unit_name_per_parent",
                violation_error_message="This company has a business unit of this name already.",
            ),
        ]

    def __str__(self) -> str:
        if self.kind == OrganisationKind.BUSINESS_UNIT and self.parent_id:
            return f"{self.name} ({self.parent.name})"
        return self.name

    @property
    def is_business_unit(self) -> bool:
        return self.kind == OrganisationKind.BUSINESS_UNIT

    @property
    def is_internal(self) -> bool:
        """A business unit of the client: inside the client, not another company."""
        return self.is_business_unit

    def clean(self) -> None:
        super().clean()
        if self.kind == OrganisationKind.BUSINESS_UNIT and not self.parent_id:
            raise ValidationError({"parent": "A business unit belongs to a company."})
        if self.kind != OrganisationKind.BUSINESS_UNIT and self.parent_id:
            raise ValidationError({"parent": "Only a business unit has a parent."})
        if self.parent_id and self.parent.kind == OrganisationKind.BUSINESS_UNIT:
            raise ValidationError(
                {"parent": "A business unit belongs to a company, not another unit."}
            )
