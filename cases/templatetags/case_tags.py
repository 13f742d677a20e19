"""Display helpers for case pages: money, numbers and form layout."""

from decimal import Decimal

from django import forms, template
from django.contrib.humanize.templatetags.humanize import intcomma

register = template.Library()


@register.filter
def money(value, currency: str = "") -> str:
    """1250000.5 -> "1,250,000.50" (with the currency code when given); whole
    amounts drop the cents so tables stay readable."""
    if value is None or value == "":
        return "-"
    value = Decimal(value)
    text = (
        intcomma(f"{value:.0f}")
        if value == value.to_integral()
        else intcomma(f"{value:.2f}")
    )
    return f"{text} {currency}".strip()


@register.filter
def number(value) -> str:
    """A decimal without trailing zeros: 41.5000 -> 41.5, 60.0000 -> 60."""
    if value is None or value == "":
        return "-"
    value = Decimal(value)
    text = format(value.normalize(), "f") if value else "0"
    integer, _, fraction = text.partition(".")
    integer = intcomma(integer)
    return f"{integer}.{fraction}" if fraction else integer


@register.filter
def band(exposure: int) -> str:
    """Likelihood x impact (1-25) as a band: low, medium, high, critical."""
    if exposure >= 16:
        return "critical"
    if exposure >= 10:
        return "high"
    if exposure >= 5:
        return "medium"
    return "low"


@register.filter
def field_col(bound_field) -> str:
    """The grid column a form field takes: long text spans the row."""
    widget = bound_field.field.widget
    if isinstance(widget, (forms.Textarea, forms.CheckboxSelectMultiple)):
        return "col-12"
    return "col-md-6"


@register.simple_tag
def main_fields(form) -> list:
    """The form's fields except the yearly grid, which the template lays out."""
    grid = getattr(form, "grid_field_names", ())
    return [f for f in form.visible_fields() if f.name not in grid]
