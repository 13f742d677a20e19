"""Display helpers for case pages: money, numbers, form layout, cached parts."""

from collections.abc import Callable
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from itertools import zip_longest

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


# Past figures.ROI_PLAUSIBLE_MAX nine digits of percentage would only look
# precise; summary.json keeps the ratio itself.
ROI_SHOWN_UP_TO = figures.ROI_PLAUSIBLE_MAX  # 1,000 %


@register.filter
def roi(ratio) -> str:
    """The ROI as a whole percentage: 0.6 -> "60 %", 9.5 -> "950 %"; past
    1,000 % "over 1,000 %"; "n/a" without investment. The one wording of ROI
    on the Numbers page and in the PDF."""
    if ratio is None:
        return "n/a"
    ratio = Decimal(ratio)
    if ratio > ROI_SHOWN_UP_TO:
        return f"over {ROI_SHOWN_UP_TO * 100:,.0f} %"
    shown = (ratio * 100).quantize(Decimal(1), rounding=ROUND_HALF_UP) + 0
    return f"{shown:,} %"  # + 0: never "-0 %"


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


# --- Amounts that fit their cells ---------------------------------------------
#
# A column of amounts is read down: all of a table's amounts are shown one way,
# in full while they fit their cells, else in whole units, else in the compact
# units of the headline figures (millions, billions, trillions), with the unit
# named beside the table. Widths are worked out from the text as the layout
# would: DejaVu Sans gives every digit one width.

# Advance widths in em of DejaVu Sans (Book; Bold); a digit unless listed. A
# browser without DejaVu falls back to narrower fonts.
_EM = {
    False: {"digit": 0.64, ",": 0.32, ".": 0.32, "-": 0.37, " ": 0.32, "M": 0.87},
    True: {"digit": 0.70, ",": 0.38, ".": 0.38, "-": 0.42, " ": 0.35, "M": 1.0},
}
UNIT_WORDS = {"M": "millions", "B": "billions", "T": "trillions"}


def text_em(text: str, bold: bool = False) -> float:
    """How wide `text` is set, in em, at most (no letter is wider than an M)."""
    widths = _EM[bold]
    return sum(
        widths.get(char, widths["digit"] if char.isdigit() else widths["M"])
        for char in text
    )


def _em(mm: float, pt: float) -> float:
    """A width in millimetres as ems of a `pt`-point font."""
    return mm / (pt * 25.4 / 72)


@dataclass(frozen=True)
class Row:
    """The room of a whole row of amounts, for a table whose columns each take
    their widest amount's width (automatic table layout) and `padding` em."""

    room: float
    padding: float


PDF_TEXT = 174  # mm across the page: A4 less its margins (US Letter is wider)
PDF_HALF = PDF_TEXT / 2 - 4  # one column of the summary's .two-col
# The room for an amount, in em of its font: its cell's width less the cell's
# padding, from the column widths in templates/cases/pdf/ and static/css/pdf.css
# (the PDF); a callable takes the number of amount columns. The web's tables
# lay out their columns to their content: there, the room of a Row.
ROOMS: dict[str, float | Row | Callable[[int], float]] = {
    "pdf-summary-benefits": _em(PDF_HALF / 4 - 3, 8),
    # (its rows by party have 4 mm of padding on the left, not 1.5 mm)
    "pdf-summary-investment": _em(PDF_HALF * 0.32 - 5.5, 8),
    "pdf-summary-metrics": _em(PDF_TEXT * 0.2 - 3, 8),
    # years share 75 % of the row up to six of them, else every column shares it
    "pdf-numbers": lambda columns: _em(
        PDF_TEXT * (0.75 / columns if columns <= 6 else 1 / (columns + 1)) - 4, 7.8
    ),
    "pdf-scenarios": _em(PDF_TEXT * 0.7 / 4 - 4, 7.8),
    "pdf-benefit-range": _em((PDF_TEXT * 0.46 - 4) * 0.26 - 2, 7.6),
    "pdf-investments": _em(PDF_TEXT * 0.24 - 4, 9),
    "pdf-metrics": _em(PDF_TEXT * 0.11 - 4, 9),
    # the Numbers page at its widest (1,400 px and up): a 1,294 px table whose
    # row labels take 204 px; 16 px type, 8 px of padding a cell
    "web-numbers": Row(room=(1294 - 204) / 16, padding=8 / 16),
}


@dataclass(frozen=True)
class AmountUnit:
    """How a table shows its amounts: as `plain` shows them (scale 1, places
    None), in whole units (scale 1, places 0), or divided by `scale` with
    `places` decimals and the unit's letter."""

    plain: Callable[[object], str] = money
    scale: int = 1
    places: int | None = None
    suffix: str = ""

    @property
    def compact(self) -> bool:
        return self.scale > 1

    @property
    def words(self) -> str:
        """The unit in words, for the note beside a compact table: "billions"."""
        return UNIT_WORDS.get(self.suffix, "")

    def show(self, value) -> str:
        if value is None or value == "":
            return "-"
        if self.places is None:
            return self.plain(value)
        value = Decimal(value)
        if self.compact and not value:
            return "0"
        shown = (value / self.scale).quantize(
            Decimal(1).scaleb(-self.places), rounding=ROUND_HALF_UP
        )
        shown += 0  # never "-0"
        if not self.compact:
            return self.plain(shown)
        return f"{intcomma(f'{shown:.{self.places}f}')}{self.suffix}"


def table_columns(*values, bold=()) -> list[set[tuple[Decimal, bool]]]:
    """A table's amounts by column, as (amount, set in bold) pairs: each list
    (or tuple) is a row of amounts, one a column; an amount on its own is a
    total, in the last column and in bold, as totals are; dicts hold either.
    The amounts of `bold` are set in bold."""
    rows, totals = [], set()

    def read(value, heavy: bool) -> None:
        if isinstance(value, dict):
            for item in value.values():
                read(item, heavy)
        elif isinstance(value, list | tuple):
            if value and isinstance(value[0], dict | list | tuple):
                for item in value:
                    read(item, heavy)
            else:
                rows.append([(Decimal(v), heavy) for v in value if v is not None])
        elif value is not None and value != "":
            totals.add((Decimal(value), True))

    for value in values:
        read(value, False)
    if bold:
        read(bold, True)
    return [set(column) - {None} for column in zip_longest(*rows)] + [totals]


def fit_unit(
    columns, room: float | Row, plain: Callable = money, *, whole: bool = False
) -> AmountUnit:
    """The most precise way of showing all of a table's amounts (table_columns)
    that fits `room`, the em of each cell or a Row: as `plain` shows them
    (unless `whole`); in whole units; in millions with two decimals, one,
    none; then billions, then trillions. A unit that would leave the largest
    amount five digits before the point is skipped ("1,999,999M" reads worse
    than "2,000.00B"). If even trillions without decimals are too wide, those
    it is: the PDF's cells let them wrap."""
    columns = [column for column in columns if column]
    if not columns:
        return AmountUnit(plain, places=0 if whole else None)
    largest = max(abs(v) for column in columns for v, _ in column)

    def widest(unit: AmountUnit, column) -> float:
        if unit.compact:  # its width grows with the amount: the extremes will do
            column = [
                f((c for c in column if c[1] == heavy), key=lambda c: c[0])
                for heavy in {bold for _, bold in column}
                for f in (max, min)
            ]
        return max(text_em(unit.show(v), bold) for v, bold in column)

    def fits(unit: AmountUnit) -> bool:
        if isinstance(room, Row):
            return sum(widest(unit, c) + room.padding for c in columns) <= room.room
        return all(widest(unit, c) <= room for c in columns)

    ladder = [AmountUnit(plain, places=0)]
    if not whole:
        ladder.insert(0, AmountUnit(plain))
    for scale, suffix in reversed(figures.COMPACT_UNITS):
        if suffix in UNIT_WORDS and (largest < scale * 10_000 or suffix == "T"):
            ladder += [AmountUnit(plain, scale, n, suffix) for n in (2, 1, 0)]
    return next((unit for unit in ladder if fits(unit)), ladder[-1])


def _room(table: str, columns: int) -> float | Row:
    room = ROOMS[table]
    return room(int(columns)) if callable(room) else room


@register.simple_tag
def amount_unit(
    table: str, *values, bold=(), columns: int = 1, whole: bool = False
) -> AmountUnit:
    """{% amount_unit "pdf-numbers" f.investment bold=f.benefits.expected
    columns=6 as unit %}: the unit of a table of money (rows, totals and the
    rows in bold as table_columns reads them), for `{{ value|in_unit:unit }}`;
    `whole` for money worked out by discounting, never shown with cents (NPV).
    `table` names its room in ROOMS; `columns`, its number of amount columns."""
    return fit_unit(
        table_columns(*values, bold=bold), _room(table, columns), whole=whole
    )


@register.simple_tag
def number_unit(table: str, *values, columns: int = 1) -> AmountUnit:
    """amount_unit for plain numbers, such as person-days: "12.5", not "12.50"."""
    return fit_unit(table_columns(*values), _room(table, columns), plain=number)


@register.filter
def pluck(items, attribute: str) -> list:
    """Each item's `attribute`: the amounts of a list of items, for amount_unit."""
    return [getattr(item, attribute) for item in items]


@register.filter
def benefit_ranges(benefits) -> list:
    """Every amount a table of benefits shows: each year's range and the totals
    (from the prefetched yearly rows)."""
    return [
        *((r.low, r.expected, r.high) for b in benefits for r in b.yearly.all()),
        *(b.totals for b in benefits if b.totals),
    ]


@register.filter
def in_unit(value, unit: AmountUnit) -> str:
    """An amount in its table's unit (amount_unit): "2,000.00B"."""
    return unit.show(value)


@register.filter
def number_fit(value, table: str) -> str:
    """A number alone in its cell (a metric's baseline, say), made to fit the
    room ROOMS gives `table`: "2,650,000", or "2.65M" where that is too wide."""
    return fit_unit(table_columns(value), _room(table, 1), plain=number).show(value)


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
