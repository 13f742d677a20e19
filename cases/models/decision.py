"""The decision view: the client's own view of the five elements of its buying
decision (with the seller's separate estimate beside it), and the seller's
honest recommendation, whatever it says."""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models

from .case import Case
from .choices import Side
from .fields import TITLE_MAX, score_field, text_field


class BuyingElement(models.TextChoices):
    PRODUCT = "product", "The product is good enough"
    PRICE = "price", "The price is in the ballpark"
    VALUE = "value", "The value is the highest"
    RISK = "risk", "The risk is the lowest"
    EASE = "ease", "The seller is the easiest and fastest to do business with"


class BuyingRating(models.Model):
    """One side's rating of one element, 1 (not at all) to 5 (fully).

    The client side's ratings are the client's view; the seller side's are its
    estimate of that view, recorded separately so the gaps show."""

    RATING_SIDES = (Side.CLIENT, Side.SELLER)

    case = models.ForeignKey(
        Case, on_delete=models.CASCADE, related_name="buying_ratings"
    )
    side = models.CharField(max_length=10, choices=Side.choices)
    element = models.CharField(max_length=10, choices=BuyingElement.choices)
    score = score_field("rating")
    comment = text_field(max_length=2000)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["case", "side", "element"],
                name="one_rating_per_side_and_element",
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_side_display()}: {self.get_element_display()} = {self.score}"

    def clean(self) -> None:
        super().clean()
        if self.side and self.side not in self.RATING_SIDES:
            raise ValidationError(
                {"side": "Only the client and the seller rate the decision."}
            )


class Verdict(models.TextChoices):
    PROCEED = "proceed", "Proceed"
    PROCEED_WITH_CONDITIONS = "proceed_with_conditions", "Proceed with conditions"
    DEFER = "defer", "Defer"
    DO_NOT_PROCEED = "do_not_proceed", "Do not proceed"
    OTHER_PROVIDER = "other_provider", "Another provider is better suited"


class Recommendation(models.Model):
    """The seller's recommendation to the client, recorded by a seller facilitator."""

    case = models.OneToOneField(
        Case, on_delete=models.CASCADE, related_name="recommendation"
    )
    verdict = models.CharField(max_length=30, choices=Verdict.choices)
    conditions = text_field(help_text="Which conditions must hold to proceed.")
    defer_until = models.DateField("defer until", null=True, blank=True)
    other_provider = models.CharField(
        "better-suited provider", max_length=TITLE_MAX, blank=True
    )
    rationale = text_field(
        blank=False, help_text="Why: the reasoning the client can check."
    )
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    recorded_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return self.get_verdict_display()

    def clean(self) -> None:
        super().clean()
        errors = {}
        if (
            self.verdict == Verdict.PROCEED_WITH_CONDITIONS
            and not self.conditions.strip()
        ):
            errors["conditions"] = "Say which conditions must hold."
        if self.verdict == Verdict.DEFER and not self.defer_until:
            errors["defer_until"] = "Say until when to defer."
        if self.verdict == Verdict.OTHER_PROVIDER and not self.other_provider.strip():
            errors["other_provider"] = "Name the provider that is better suited."
        if self.verdict != Verdict.PROCEED_WITH_CONDITIONS and self.conditions.strip():
            errors["conditions"] = (
                "Conditions belong to 'proceed with conditions' only."
            )
        if self.verdict != Verdict.DEFER and self.defer_until:
            errors["defer_until"] = "A date belongs to 'defer' only."
        if self.verdict != Verdict.OTHER_PROVIDER and self.other_provider.strip():
            errors["other_provider"] = "A provider belongs to 'another provider' only."
        if errors:
            raise ValidationError(errors)
