"""Field helpers shared by the case and its items, so every limit lives in one place."""

from decimal import Decimal

from django.core.validators import (
    MaxLengthValidator,
    MaxValueValidator,
    MinValueValidator,
)
from django.db import models

TITLE_MAX = 200
TEXT_MAX = 4000
MONEY_MAX = Decimal("999999999999.99")  # just under a trillion in any currency


def text_field(
    verbose_name: str | None = None, *, max_length: int = TEXT_MAX, **kwargs
) -> models.TextField:
    """A TextField whose length is enforced by the model, not only by the form
    widget, so imports are held to the same limit as the browser."""
    return models.TextField(
        verbose_name,
        max_length=max_length,
        blank=kwargs.pop("blank", True),
        validators=[MaxLengthValidator(max_length)],
        **kwargs,
    )


def money_field(**kwargs) -> models.DecimalField:
    return models.DecimalField(
        max_digits=14,
        decimal_places=2,
        validators=[
            MinValueValidator(Decimal("0"), "Enter an amount of 0 or more."),
            MaxValueValidator(MONEY_MAX, "Enter an amount below one trillion."),
        ],
        **kwargs,
    )


def score_field(verbose_name: str) -> models.PositiveSmallIntegerField:
    """Likelihood and impact: whole numbers 1 (lowest) to 5 (highest)."""
    return models.PositiveSmallIntegerField(
        verbose_name,
        validators=[
            MinValueValidator(1, "Use a whole number from 1 to 5."),
            MaxValueValidator(5, "Use a whole number from 1 to 5."),
        ],
        help_text="1 (lowest) to 5 (highest)",
    )


def year_field(**kwargs) -> models.PositiveSmallIntegerField:
    """A year relative to the decision: 0 = up-front, N = end of the N-th year.
    The upper bound is the case's horizon, checked in the owning model's clean()."""
    return models.PositiveSmallIntegerField(
        validators=[MinValueValidator(0, "The year cannot be before the decision.")],
        help_text="0 = at the decision; 1 = end of the first year; ...",
        **kwargs,
    )
