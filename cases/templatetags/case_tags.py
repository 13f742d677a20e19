"""Display helpers for case pages: money, numbers, form layout, cached parts."""

from decimal import Decimal

from django import forms, template
from django.contrib.humanize.templatetags.humanize import intcomma
from django.utils.safestring import mark_safe

from cases import figures, pagecache

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
def money_short(value) -> str:
    """Headline money: 1,974,418 -> "1.97M", 250,000 -> "250k"."""
    if value is None:
        return "-"
    value = Decimal(value)
    size = abs(value)
    if size >= 1_000_000:
        return f"{value / 1_000_000:.2f}M"
    if size >= 10_000:
        return f"{value / 1_000:.0f}k"
    return money(value)


@register.filter
def percent(fraction) -> str:
    """A fraction as a whole percentage: 0.3289 -> "33 %"."""
    if fraction is None:
        return "n/a"
    return f"{Decimal(fraction) * 100:.0f} %"


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
    return figures.band(exposure)


@register.filter
def get_item(mapping: dict, key):
    return mapping.get(key) if mapping else None


@register.filter
def inline_svg(svg: str) -> str:
    """A chart's SVG for embedding in a page: the XML prolog and doctype dropped.
    Safe to mark safe: cases/charts.py escapes every text it draws."""
    start = svg.find("<svg")
    return mark_safe(svg[start:] if start >= 0 else "")  # noqa: S308


@register.simple_tag
def stage_picture(stage, case, items) -> str:
    """The stage's picture of its items (`Stage.picture`), ready to embed, or ""
    when the stage has none or no items yet. Reads a queryset of items once:
    a loop over the same queryset afterwards costs no query."""
    if stage.picture is None:
        return ""
    picture = stage.draw_picture(case, list(items))
    return inline_svg(picture) if picture else ""


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


class CachedPartNode(template.Node):
    def __init__(self, nodelist, part):
        self.nodelist = nodelist
        self.part = part

    def render(self, context):
        part = self.part.resolve(context)
        if not part:  # none given: this render is particular to one request
            return self.nodelist.render(context)
        if part.hit:
            # HTML this very node rendered (escaped) for the same key.
            html = part.html
        else:
            with context.push(csrf_token=pagecache.CSRF_SLOT):
                html = self.nodelist.render(context)
            part.store(html)
        # The kept HTML holds slots, never a token: fill them with the token of
        # the person asking. A page that is itself being kept (render_page) has
        # the slot as its token, so the slots stay for it to fill per response.
        token = str(context.get("csrf_token") or "")
        return mark_safe(html.replace(pagecache.CSRF_SLOT, token))  # noqa: S308


@register.tag
def cached_part(parser, token):
    """{% cached_part part %}...{% endcached_part %}: the enclosed HTML from the
    cache when `part` (a pagecache.CachedPart) holds it, else rendered and kept
    there. With `part` None, simply rendered. See cases/pagecache.py."""
    bits = token.split_contents()
    if len(bits) != 2:
        raise template.TemplateSyntaxError(f"{bits[0]} takes one argument: the part.")
    nodelist = parser.parse(("endcached_part",))
    parser.delete_first_token()
    return CachedPartNode(nodelist, parser.compile_filter(bits[1]))
