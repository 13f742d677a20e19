"""Display helpers for case pages: money, numbers, form layout, cached parts."""

from decimal import ROUND_HALF_UP, Decimal

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
def money_whole(value, currency: str = "") -> str:
    """Money rounded to whole units, like the amounts people type in: for
    figures worked out by discounting (NPV), -35,972.52 -> "-35,973"."""
    if value is None or value == "":
        return "-"
    whole = Decimal(value).quantize(Decimal(1), rounding=ROUND_HALF_UP)
    return money(whole + 0, currency)  # + 0: never "-0"


@register.filter
def money_short(value) -> str:
    """Headline money: 1,974,418 -> "1.97M", 250,000 -> "250k", and on to
    billions and trillions: 950,003,860,000 -> "950.00B" (the units of the
    charts' axes too: `figures.COMPACT_UNITS`)."""
    if value is None:
        return "-"
    value = Decimal(value)
    for scale, suffix in figures.COMPACT_UNITS:
        if scale < 1_000_000:
            break
        # Rounded before the unit is chosen: 999,999,999 is "1.00B", not "1000.00M".
        shown = (value / scale).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
        if abs(shown) >= 1:
            return f"{intcomma(f'{shown:.2f}')}{suffix}"
    if abs(value) >= 10_000:
        return f"{value / 1_000:.0f}k"
    return money(value)


@register.filter
def percent(fraction) -> str:
    """A fraction as a whole percentage: 0.3289 -> "33 %"."""
    if fraction is None:
        return "n/a"
    return f"{Decimal(fraction) * 100:.0f} %"


@register.filter
def break_even(share) -> str:
    """The break-even share as a headline: "74 %"; above 100 % "> 100 %" (its
    note says how far short the benefits fall); "n/a" without one."""
    if share is None:
        return "n/a"
    share = Decimal(share)
    if share > 1:
        return "> 100 %"
    return "< 1 %" if share < Decimal("0.005") else percent(share)


@register.filter
def break_even_note(share) -> str:
    """The break-even share in a sentence. Up to 100 %: "The case holds if 74 %
    of the expected benefits come true."; above, how far the expected benefits
    fall short, in words: "... they would have to be 674 times as large."
    "" without a share."""
    if share is None:
        return ""
    share = Decimal(share)
    if share < Decimal("0.005"):
        return "The case holds if under 1 % of the expected benefits come true."
    if share <= 1:
        return f"The case holds if {percent(share)} of the expected benefits come true."
    if share >= 2:
        places = Decimal("0.1") if share < 10 else Decimal(1)
        how = f"{number(share.quantize(places, rounding=ROUND_HALF_UP))} times as large"
    else:
        extra = ((share - 1) * 100).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)
        if extra >= 1:
            extra = extra.quantize(Decimal(1), rounding=ROUND_HALF_UP)
        how = f"{number(extra)} % larger" if extra else "slightly larger"
    return (
        "Even the expected benefits do not cover the investment: they would "
        f"have to be {how}."
    )


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
def truncatewords_lines(value, count: int = 60, max_lines: int = 5) -> str:
    """Like `truncatewords`, but the text keeps its line breaks (a run of blank
    lines as one blank line), in at most `max_lines` lines (the rest runs on in
    the last) and about seven characters a word: for a block of fixed room,
    such as the PDF's cover. Plain text: follow it with `linebreaksbr`, which
    escapes it."""
    count = int(count)
    lines, left, cut = [], count, False
    for raw in str(value or "").splitlines():
        words = raw.split()
        if not words:
            if lines and lines[-1]:
                lines.append("")
            continue
        if left <= 0 or len(words) > left:
            words, cut = words[: max(left, 0)], True
        if words:
            lines.append(" ".join(words))
            left -= len(words)
        if cut:
            break
    while lines and not lines[-1]:
        lines.pop()
    if len(lines) > max_lines:
        rest = " ".join(line for line in lines[max_lines - 1 :] if line)
        lines[max_lines - 1 :] = [rest]
    text = "\n".join(lines)
    max_chars = 7 * count
    if len(text) > max_chars:
        text, cut = text[:max_chars], True
        space = max(text.rfind(" "), text.rfind("\n"))
        if space > max_chars // 2:  # else one long word: cut inside it
            text = text[:space]
        text = text.rstrip()
    return f"{text}…" if cut and text else text


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
