"""Charts as vector SVG. The same functions serve the web page and the PDF, so the
picture an executive prints is the one the workshop saw.

Each function returns the SVG document as text, written directly rather than
through a plotting library: a chart is a few dozen rectangles, lines, circles and
texts, and drawing them by hand keeps the SVG small for both its readers. For
WeasyPrint that matters: it lays out SVG text letter by letter and turns every
clip path and every centred or right-aligned text into extra PDF objects. So
these charts use no clip paths and no `text-anchor`: every text starts at an x
computed from DejaVu Sans's own glyph widths. Text stays text (sharp, small and
searchable in the PDF), escaped, so a name with "<", "&" or "$" is printed as
typed.
"""

from __future__ import annotations

import functools
import itertools
import math
import unicodedata
from collections.abc import Iterator
from pathlib import Path
from xml.sax.saxutils import escape

from .figures import COMPACT_UNITS, Figures, band

INK = "#0f172a"
MUTED = "#64748b"
BRAND = "#0f766e"
LINE = "#e2e8f0"
INVEST = "#334155"
BAND_COLOURS = {
    "low": "#dcfce7",
    "medium": "#fef3c7",
    "high": "#ffedd5",
    "critical": "#fee2e2",
}
COMMITMENT_COLOURS = {
    "committed": "#16a34a",
    "likely": "#0284c7",
    "to_confirm": "#d97706",
    "declined": "#dc2626",
}
FONT = "DejaVu Sans"
FONT_FILES = {
    False: Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"),
    True: Path("/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf"),
}
ASCENT = 0.76  # of the font size: a line's top above its baseline, near enough
DESCENT = 0.24
LINE_HEIGHT = 1.2


# --- Text widths ------------------------------------------------------------------


class _Widths(dict):
    """Advance widths in ems by character. A character DejaVu lacks is drawn from
    another font: counted as an average letter, or as a full em when it is a wide
    East Asian character (CJK, kana, most emoji), so that a label never comes out
    wider than it was measured."""

    def __init__(self, widths: dict[str, float], fallback: float) -> None:
        super().__init__(widths)
        self.fallback = fallback

    def __missing__(self, char: str) -> float:
        wide = unicodedata.east_asian_width(char) in ("W", "F")
        self[char] = width = max(1.0, self.fallback) if wide else self.fallback
        return width


@functools.cache
def _advances(bold: bool) -> _Widths:
    """Advance widths of DejaVu Sans (regular or bold), in ems, by character."""
    fallback = 0.66 if bold else 0.6
    try:
        from fontTools.ttLib import TTFont

        font = TTFont(FONT_FILES[bold], lazy=True)
        metrics = font["hmtx"].metrics
        units = font["head"].unitsPerEm
        return _Widths(
            {
                chr(code): metrics[glyph][0] / units
                for code, glyph in font.getBestCmap().items()
            },
            fallback,
        )
    except Exception:  # no font file: an average width keeps charts usable
        return _Widths({}, fallback)


def text_width(text: str, size: float, *, bold: bool = False) -> float:
    return sum(map(_advances(bold).__getitem__, text)) * size


# Characters XML 1.0 forbids (C0 controls, U+FFFE, U+FFFF): a name carrying one
# would make the whole SVG unreadable, so each is printed as a space.
_CONTROLS = dict.fromkeys([*range(0x20), 0xFFFE, 0xFFFF], " ")


def load_metrics() -> None:
    """Read the font widths now (workers call this before forking)."""
    _advances(False)
    _advances(True)


# --- A small SVG writer -----------------------------------------------------------


def _n(value: float) -> str:
    """A coordinate, short: two decimals at most, no trailing zeros."""
    text = f"{value:.2f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


class _Canvas:
    """Collects SVG elements and the extent they cover, for a tight view box."""

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.x0 = self.y0 = math.inf
        self.x1 = self.y1 = -math.inf

    def _extend(self, x0: float, y0: float, x1: float, y1: float) -> None:
        self.x0, self.y0 = min(self.x0, x0, x1), min(self.y0, y0, y1)
        self.x1, self.y1 = max(self.x1, x0, x1), max(self.y1, y0, y1)

    def rect(self, x, y, w, h, fill: str, *, stroke: str = "", width=0.0) -> None:
        extra = f' stroke="{stroke}" stroke-width="{_n(width)}"' if stroke else ""
        self.parts.append(
            f'<rect x="{_n(x)}" y="{_n(y)}" width="{_n(w)}" height="{_n(h)}" '
            f'fill="{fill}"{extra}/>'
        )
        self._extend(x, y, x + w, y + h)

    def line(self, x1, y1, x2, y2, stroke: str, width: float) -> None:
        self.parts.append(
            f'<line x1="{_n(x1)}" y1="{_n(y1)}" x2="{_n(x2)}" y2="{_n(y2)}" '
            f'stroke="{stroke}" stroke-width="{_n(width)}"/>'
        )
        self._extend(x1, y1, x2, y2)

    def polyline(self, points, stroke: str, width: float, dash: str = "") -> None:
        extra = f' stroke-dasharray="{dash}"' if dash else ""
        coords = " ".join(f"{_n(x)},{_n(y)}" for x, y in points)
        self.parts.append(
            f'<polyline points="{coords}" fill="none" stroke="{stroke}" '
            f'stroke-width="{_n(width)}"{extra}/>'
        )
        for x, y in points:
            self._extend(x, y, x, y)

    def circle(self, cx, cy, r, fill: str, *, stroke: str = "", width=0.0) -> None:
        extra = f' stroke="{stroke}" stroke-width="{_n(width)}"' if stroke else ""
        self.parts.append(
            f'<circle cx="{_n(cx)}" cy="{_n(cy)}" r="{_n(r)}" fill="{fill}"{extra}/>'
        )
        self._extend(cx - r, cy - r, cx + r, cy + r)

    def text(
        self,
        x: float,
        y: float,
        text: str,
        size: float,
        *,
        align: str = "left",
        bold: bool = False,
        fill: str = INK,
    ) -> None:
        """One line of text with its baseline at y, aligned on x (left, centre
        or right), written as left-aligned text so no reader has to measure it."""
        text = text.translate(_CONTROLS)
        if not text:
            return
        width = text_width(text, size, bold=bold)
        start = x - {"left": 0, "centre": width / 2, "right": width}[align]
        weight = ' font-weight="bold"' if bold else ""
        self.parts.append(
            f'<text x="{_n(start)}" y="{_n(y)}" font-size="{_n(size)}"{weight} '
            f'style="fill: {fill}">{escape(text)}</text>'
        )
        self._extend(start, y - ASCENT * size, start + width, y + DESCENT * size)

    def vertical_text(self, x: float, y: float, text: str, size: float) -> None:
        """Text turned a quarter left, centred on y, its baseline at x."""
        text = text.translate(_CONTROLS)
        width = text_width(text, size)
        self.parts.append(
            f'<text transform="translate({_n(x)} {_n(y)}) rotate(-90)" '
            f'x="{_n(-width / 2)}" y="0" font-size="{_n(size)}" '
            f'style="fill: {INK}">{escape(text)}</text>'
        )
        self._extend(
            x - ASCENT * size, y - width / 2, x + DESCENT * size, y + width / 2
        )

    def svg(self, *, pad: float = 3.0) -> str:
        """The document, its view box fitted to what was drawn (in points)."""
        x0, y0 = self.x0 - pad, self.y0 - pad
        width, height = self.x1 - self.x0 + 2 * pad, self.y1 - self.y0 + 2 * pad
        return (
            f'<svg xmlns="http://www.w3.org/2000/svg" version="1.1" '
            f'width="{_n(width)}pt" height="{_n(height)}pt" '
            f'viewBox="{_n(x0)} {_n(y0)} {_n(width)} {_n(height)}" '
            f'font-family="{FONT}">\n' + "\n".join(self.parts) + "\n</svg>\n"
        )


# --- The money chart ------------------------------------------------------------


def _money(value: float) -> str:
    """An axis label: 250000 -> "250k", 1.2e12 -> "1.2T" (the units of the
    headline figures, `COMPACT_UNITS`), rounded before the unit is chosen;
    thousands of trillions with separators: "4,000T"."""
    for scale, suffix in COMPACT_UNITS:
        number = round(value / scale, 2)
        if abs(number) >= 1:
            return f"{number:,.2f}".rstrip("0").rstrip(".") + suffix
    return f"{value:.0f}"


def nice_ticks(low: float, high: float, target: int = 6) -> list[float]:
    """Round tick values (steps of 1, 2, 2.5 or 5 times a power of ten) that
    cover low..high in about `target` steps."""
    if high - low < 1:
        high = low + 1_000
    raw = (high - low) / target
    magnitude = 10 ** math.floor(math.log10(raw))
    step = magnitude * 10
    for multiple in (1, 2, 2.5, 5, 10):
        if (high - low) / (multiple * magnitude) <= target:
            step = multiple * magnitude
            break
    first = math.floor(low / step + 1e-9)
    last = math.ceil(high / step - 1e-9)
    return [k * step for k in range(first, last + 1)]


LINE_STYLES = {
    "low": ("1.2 2", MUTED),
    "expected": ("", "#0d9488"),
    "high": ("4 2.2", "#115e59"),
}


def investment_vs_benefit(
    figures: Figures, *, width: float = 504.0, height: float = 230.0
) -> str:
    """Investment against the benefit range (low / expected / high) per year, with
    the cumulative net of each scenario as lines. Sizes in points."""
    years = list(figures.years)
    invest = [float(v) for v in figures.investment]
    benefit = {s: [float(v) for v in figures.benefits[s]] for s in LINE_STYLES}
    cumulative = {s: [float(v) for v in figures.cumulative[s]] for s in LINE_STYLES}
    values = [0.0, *invest, *benefit["high"], *benefit["low"]]
    for series in cumulative.values():
        values += series
    ticks = nice_ticks(min(values), max(values))
    labels = [_money(t) for t in ticks]
    c = _Canvas()

    # Legend on top, outside the plot, in three columns of two rows.
    legend = [
        ("bar", INVEST, "", "Investment"),
        ("bar", BRAND, "", "Benefit (expected)"),
        ("range", INK, "", "Benefit range (low to high)"),
        *(
            ("line", colour, dash, f"Cumulative net ({scenario})")
            for scenario, (dash, colour) in LINE_STYLES.items()
        ),
    ]
    tick_size, legend_size = 8.0, 6.5
    label_width = max(text_width(label, tick_size) for label in labels)
    left = 10 + 5 + label_width + 5
    x = left
    for column in range(3):
        entries = legend[column::3]
        for row, (kind, colour, dash, text) in enumerate(entries):
            y = 6 + row * 11
            if kind == "bar":
                c.rect(x, y - 4.5, 10, 5.5, colour)
            elif kind == "range":
                c.line(x + 5, y - 5, x + 5, y + 1.5, colour, 0.9)
                c.line(x + 2.5, y - 5, x + 7.5, y - 5, colour, 0.9)
                c.line(x + 2.5, y + 1.5, x + 7.5, y + 1.5, colour, 0.9)
            else:
                c.polyline([(x - 2, y - 1.8), (x + 12, y - 1.8)], colour, 1.2, dash)
                c.circle(x + 5, y - 1.8, 1.3, colour)
            c.text(x + 16, y, text, legend_size)
        x += 16 + max(text_width(e[3], legend_size) for e in entries) + 14

    top, bottom, right = 30.0, height - 16, width - 6
    low, high = ticks[0], ticks[-1]

    def y_of(value: float) -> float:
        return bottom - (value - low) / (high - low) * (bottom - top)

    for tick, label in zip(ticks, labels, strict=True):
        y = y_of(tick)
        c.line(left, y, right, y, LINE, 0.6)
        c.text(
            left - 5, y + 0.36 * tick_size, label, tick_size, align="right", fill=MUTED
        )
    c.vertical_text(10, (top + bottom) / 2, figures.currency, tick_size)

    slot = (right - left) / max(len(years), 1)
    bar = 0.36 * slot
    centres = [left + (k + 0.5) * slot for k in range(len(years))]
    zero = y_of(0.0)
    for k, year in enumerate(years):
        centre = centres[k]
        for x0, value, colour in (
            (centre - bar, invest[k], INVEST),
            (centre, benefit["expected"][k], BRAND),
        ):
            if value:
                y = y_of(value)
                c.rect(x0, min(y, zero), bar, abs(zero - y), colour)
        if benefit["high"][k] or benefit["low"][k]:
            x = centre + bar / 2
            y_low, y_high = y_of(benefit["low"][k]), y_of(benefit["high"][k])
            c.line(x, y_low, x, y_high, INK, 0.9)
            c.line(x - 3, y_low, x + 3, y_low, INK, 0.9)
            c.line(x - 3, y_high, x + 3, y_high, INK, 0.9)
        c.text(
            centre, bottom + 12, f"Year {year}", tick_size, align="centre", fill=MUTED
        )
    c.line(left, zero, right, zero, INK, 0.6)
    for scenario, (dash, colour) in LINE_STYLES.items():
        points = [
            (x, y_of(v)) for x, v in zip(centres, cumulative[scenario], strict=True)
        ]
        if points:
            c.polyline(points, colour, 1.2, dash)
        for x, y in points:
            c.circle(x, y, 1.3, colour)
    return c.svg()


# --- Risk maps ------------------------------------------------------------------


def risk_map(risks, *, title: str, size: float = 238.0) -> str:
    """A likelihood x impact map (5 x 5) with each risk as a numbered dot; risks
    in the same cell are spread around its centre so none hides another."""
    c = _Canvas()
    left, top = 34.0, 20.0
    cell = (size - left - 4) / 5

    def centre(likelihood: float, impact: float) -> tuple[float, float]:
        return left + (impact - 0.5) * cell, top + (5.5 - likelihood) * cell

    c.text(left, 9, title, 9, bold=True)
    for likelihood in range(1, 6):
        for impact in range(1, 6):
            x, y = centre(likelihood, impact)
            c.rect(
                x - cell / 2 + 0.75,
                y - cell / 2 + 0.75,
                cell - 1.5,
                cell - 1.5,
                BAND_COLOURS[band(likelihood * impact)],
            )
    bottom = top + 5 * cell
    for k in range(1, 6):
        x, _ = centre(1, k)
        c.line(x, bottom, x, bottom + 3.5, MUTED, 0.8)
        c.text(x, bottom + 12, str(k), 8, align="centre", fill=MUTED)
        _, y = centre(k, 1)
        c.line(left - 3.5, y, left, y, MUTED, 0.8)
        c.text(left - 6, y + 2.9, str(k), 8, align="right", fill=MUTED)
    c.text(left + 2.5 * cell, bottom + 24, "Impact", 8, align="centre")
    c.vertical_text(8, top + 2.5 * cell, "Likelihood", 8)

    cells: dict[tuple[int, int], list[int]] = {}
    for number, risk in enumerate(risks, start=1):
        cells.setdefault((risk.likelihood, risk.impact), []).append(number)
    for (likelihood, impact), numbers in cells.items():
        cx, cy = centre(likelihood, impact)
        for (x, y), radius, number in zip(
            _spread(cx, cy, len(numbers), cell),
            _dot_sizes(len(numbers), cell),
            numbers,
            strict=True,
        ):
            size = min(6.5, 1.15 * radius)
            c.circle(x, y, radius, INK)
            c.text(
                x,
                y + 0.36 * size,
                str(number),
                size,
                align="centre",
                bold=True,
                fill="#ffffff",
            )
    return c.svg()


def _dot_sizes(count: int, cell: float) -> list[float]:
    """The radius of each of `count` dots sharing a cell: full size up to four,
    smaller in a grid beyond, so that none covers another."""
    if count <= 4:
        return [5.7] * count
    per_row = math.ceil(math.sqrt(count))
    return [min(5.7, 0.46 * 0.92 * cell / per_row)] * count


def _spread(cx: float, cy: float, count: int, cell: float) -> list[tuple[float, float]]:
    """Where `count` dots in one cell go: the centre for one, a ring around it
    for up to four, rows filling the cell beyond."""
    if count == 1:
        return [(cx, cy)]
    if count <= 4:
        return [
            (
                cx + 0.25 * cell * math.cos(2 * math.pi * k / count),
                cy - 0.25 * cell * math.sin(2 * math.pi * k / count),
            )
            for k in range(count)
        ]
    per_row = math.ceil(math.sqrt(count))
    slot = 0.92 * cell / per_row
    rows = math.ceil(count / per_row)
    top = cy - (rows - 1) * slot / 2
    spots = []
    for k in range(count):
        row, column = divmod(k, per_row)
        in_row = min(per_row, count - row * per_row)
        left = cx - (in_row - 1) * slot / 2
        spots.append((left + column * slot, top + row * slot))
    return spots


# --- The ecosystem picture --------------------------------------------------------

# The order in which parties claim a place on their ring: the most committed first.
COMMITMENT_ORDER = ("committed", "likely", "to_confirm", "declined")
LABEL_CHARS = 16  # a party's name is broken into lines of at most this many characters
LABEL_EMS = 10.5  # ... and at most this wide, in ems of its size
HUB_CHARS = 14
# Kept clear on each side of a name or a marker, in points: more across, so that
# names side by side read as two, less up and down (still more than the leading
# between a name's own lines).
GAP_X, GAP_Y = 2.0, 1.1
UNIFORM_MAX = 28  # beyond this many, a ring is never spaced evenly
COARSE = math.radians(2.0)  # steps in which the next free place on a ring is sought
FINE = math.radians(0.25)
SECTORS = 9  # parts of a quarter turn in which the room names need is averaged


class _Label:
    """A party's name set in lines, and the size of that block of text."""

    __slots__ = ("height", "lines", "size", "width", "widths")

    def __init__(self, name: str, size: float, max_lines: int) -> None:
        self.size = size
        self.lines = _lines(
            name, size, chars=LABEL_CHARS, limit=LABEL_EMS * size, max_lines=max_lines
        )
        self.widths = [text_width(line, size) for line in self.lines]
        self.width = max(self.widths, default=0.0)
        count = len(self.lines)
        self.height = ((count - 1) * LINE_HEIGHT + 1) * size if count else 0.0


class _Spot:
    """A party placed on its ring: its marker, and its name beside it, outwards
    (left-aligned on the right of the ring, centred at its top and bottom)."""

    __slots__ = (
        "align",
        "angle",
        "box",
        "cos",
        "label",
        "left",
        "mark",
        "party",
        "sin",
        "top",
        "x",
        "y",
    )

    def __init__(self, party, label: _Label, angle: float, ring: tuple) -> None:
        rx, ry, reach, half = ring
        self.party, self.label, self.angle = party, label, angle
        self.cos = cos = math.cos(angle)
        self.sin = sin = math.sin(angle)
        self.x = x = rx * cos
        self.y = y = -ry * sin
        width, height = label.width, label.height
        left = x + reach * cos
        if cos > 0.3:
            self.align = "left"
        elif cos < -0.3:
            self.align, left = "right", left - width
        else:
            self.align, left = "centre", left - width / 2
        top = y - reach * sin
        top -= height if sin > 0.3 else 0 if sin < -0.3 else height / 2
        self.left, self.top = left, top
        self.box = (
            left - GAP_X,
            top - GAP_Y,
            left + width + GAP_X,
            top + height + GAP_Y,
        )
        self.mark = (
            x - half - GAP_X,
            y - half - GAP_Y,
            x + half + GAP_X,
            y + half + GAP_Y,
        )


class _Room:
    """The boxes already taken, kept in a coarse grid so that testing a new box
    looks at the few boxes near it only."""

    CELL = 48.0

    def __init__(self) -> None:
        self.cells: dict[tuple[int, int], list[tuple]] = {}

    def _cells(self, box: tuple) -> Iterator[tuple[int, int]]:
        """The grid cells `box` touches."""
        x0, y0, x1, y1 = box
        cell = self.CELL
        for i in range(int(x0 // cell), int(x1 // cell) + 1):
            for j in range(int(y0 // cell), int(y1 // cell) + 1):
                yield i, j

    def add(self, *boxes: tuple) -> None:
        for box in boxes:
            for key in self._cells(box):
                self.cells.setdefault(key, []).append(box)

    def remove(self, *boxes: tuple) -> None:
        for box in boxes:
            for key in self._cells(box):
                self.cells[key].remove(box)

    def free(self, box: tuple) -> bool:
        x0, y0, x1, y1 = box
        return not any(
            a < x1 and x0 < c and b < y1 and y0 < d
            for key in self._cells(box)
            for a, b, c, d in self.cells.get(key, ())
        )

    def fits(self, spot: _Spot) -> bool:
        return self.free(spot.box) and self.free(spot.mark)


def _lines(
    text: str, size: float, *, chars: int, limit: float, max_lines: int, bold=False
) -> list[str]:
    """`text` set in at most `max_lines` lines, each of at most `chars` characters
    and `limit` points: broken between words, inside a word only when the word
    alone is too long, and ended with an ellipsis when it does not all fit."""
    advances = _advances(bold)
    width_of = advances.__getitem__
    room = limit / size  # in ems
    space = advances[" "]
    lines: list[str] = []
    line, used = "", 0.0
    for word in text.translate(_CONTROLS).split():
        width = sum(map(width_of, word))
        if line and len(line) + 1 + len(word) <= chars and used + space + width <= room:
            line, used = f"{line} {word}", used + space + width
            continue
        if line:
            lines.append(line)
        while (len(word) > chars or width > room) and len(lines) <= max_lines:
            # A word too long for any line: cut where the line is full.
            cut, run = 0, 0.0
            for char in word[:chars]:
                if cut and run + advances[char] > room:
                    break
                cut, run = cut + 1, run + advances[char]
            lines.append(word[:cut])
            word = word[cut:]
            width = sum(map(width_of, word))
        line, used = word, width
        if len(lines) > max_lines:
            break
    if line:
        lines.append(line)
    if len(lines) > max_lines:
        last = lines[max_lines - 1]
        while last and text_width(last + "…", size, bold=bold) > limit:
            last = last[:-1]
        lines = [*lines[: max_lines - 1], last.rstrip() + "…"]
    return lines


def _claim(spots, room: _Room) -> list[_Spot]:
    """Take the room of the spots (made one by one) if none of them touches what
    is taken already, nor another of them; otherwise leave the room as it was
    and return no spots."""
    taken: list[_Spot] = []
    for spot in spots:
        if not room.fits(spot):
            _release(taken, room)
            return []
        room.add(spot.box, spot.mark)
        taken.append(spot)
    return taken


def _ring(parties: list, ring: tuple, size: float, room: _Room, avoid=()):
    """The spots of one ring's parties, taken from `room`: the first parties of
    the list, as many as fit with no name touching another name or a marker.

    A few parties are spaced evenly, clockwise from the top, their names in up to
    three lines, turned so that their spokes keep away from the angles in
    `avoid` (the inner ring's parties, whose names lie across them). When that
    does not fit, the names get two lines at most and each party in turn takes
    the first free place after the one before: names beside each other on the
    sides of the ring need little room, names side by side at its top and bottom
    much more. When all of them fit so, they are placed again, each at its share
    of the ring, so that they fill it evenly."""
    count = len(parties)
    if not count:
        return []
    labels: dict[tuple[int, int], _Label] = {}

    def spot(k: int, angle: float, max_lines: int = 2) -> _Spot:
        label = labels.get((k, max_lines))
        if label is None:
            longer = labels.get((k, 3))  # the same when it has two lines or fewer
            if longer is not None and len(longer.lines) <= max_lines:
                label = longer
            else:
                label = _Label(parties[k].organisation.name, size, max_lines)
            labels[k, max_lines] = label
        return _Spot(parties[k], label, angle, ring)

    top = math.pi / 2
    if count <= UNIFORM_MAX:
        step = 2 * math.pi / count
        turns = (0.5, 0.25, 0.75, 0.125, 0.375, 0.625, 0.875, 0.0) if avoid else (0,)
        # Starting half a step on, the ring's spokes pass between the inner ring's
        # names when both rings have as many parties; otherwise the turn that keeps
        # its spokes furthest from the inner ring's parties.
        turns = sorted(turns, key=lambda t: -_clearance(top - t * step, step, avoid))
        for turn in turns[:2]:
            first = top - turn * step
            spots = _claim((spot(k, first - k * step, 3) for k in range(count)), room)
            if spots:
                return spots
    gaps: list[float] = []
    spots = _fill(spot, count, room, found=gaps)
    if len(spots) == count > 1:
        # All fit, with room to spare: again, each party now aiming at its share
        # of the ring (or of all of it but one share, for when the names at the
        # end of the turn need more room than foreseen).
        _release(spots, room)
        for spare in (0, 1):
            spread = _fill(spot, count, room, targets=_shares(spots, gaps, spare))
            if len(spread) == count:
                return spread
            _release(spread, room)
        _claim(spots, room)
    return spots


def _shares(spots: list[_Spot], gaps: list[float], spare: int) -> list[float]:
    """Angles that share one turn out evenly between the spots and `spare` more,
    given the gaps they needed when packed tightly: each gap as much looser than
    it must be.

    What a gap needs depends on where it is (little room where names lie beside
    each other on the sides, much where they lie side by side at the top and the
    bottom), alike in the four quarters; the packed spots never reached the last
    part of the turn, so the need there is read from the other quarters."""
    summed = [0.0] * SECTORS  # the gaps found in each sector, and how many
    seen = [0] * SECTORS
    for before, spot, gap in zip(spots, spots[1:], gaps[1:], strict=False):
        sector = _sector((before.angle + spot.angle) / 2)
        summed[sector] += gap
        seen[sector] += 1
    known = [k for k in range(SECTORS) if seen[k]]
    density = []  # parties per radian that each sector holds when packed
    for k in range(SECTORS):
        near = min(known, key=lambda j: abs(j - k))
        density.append(seen[near] / summed[near])
    width = 2 * math.pi / (4 * SECTORS)
    top = math.pi / 2
    # How many parties the ring holds from the top to the end of each part.
    holds = list(
        itertools.accumulate(
            (
                density[_sector(top - (k + 0.5) * width)] * width
                for k in range(4 * SECTORS)
            ),
            initial=0.0,
        )
    )
    share = holds[-1] / (len(spots) + spare)
    targets, k = [], 0
    for n in range(len(spots)):
        want = n * share
        while holds[k + 1] < want:
            k += 1
        part = (want - holds[k]) / (holds[k + 1] - holds[k])
        targets.append(top - (k + part) * width)
    return targets


def _sector(angle: float) -> int:
    """Which of the SECTORS equal parts of a quarter turn an angle falls in, the
    four quarters folded onto each other."""
    folded = math.atan2(abs(math.sin(angle)), abs(math.cos(angle)))
    return min(SECTORS - 1, int(folded / (math.pi / 2) * SECTORS))


def _clearance(first: float, step: float, avoid) -> float:
    """How far, in angle, the nearest of the spokes at first, first - step, ...
    (one turn) passes from the angles to avoid."""
    nearest = math.pi
    for angle in avoid:
        offset = (first - angle) % step
        nearest = min(nearest, offset, step - offset)
    return nearest


def _release(spots: list[_Spot], room: _Room) -> None:
    for spot in spots:
        room.remove(spot.box, spot.mark)


def _fill(spot, count: int, room: _Room, targets=(), found=None) -> list[_Spot]:
    """Spots for the first parties, clockwise from the top, as many as fit in one
    turn, taken from `room`: each at its target angle if it has one and that
    place is free, else at the first free place after the one before (to within
    a fraction of the gap). The gaps so found go into `found`."""
    top, end = math.pi / 2, math.pi / 2 - 2 * math.pi
    spots: list[_Spot] = []
    gap = COARSE
    for k in range(count):
        if spots and targets:
            angle = targets[k]
            candidate = spot(k, angle) if spots[-1].angle > angle > end else None
            if candidate and room.fits(candidate):
                gap = spots[-1].angle - angle
                spots.append(candidate)
                room.add(candidate.box, candidate.mark)
                continue
        if spots:  # the gap before is the best guess of the gap after
            low = spots[-1].angle
            angle = low - max(FINE, 0.75 * gap)
        else:
            low = angle = top
        candidate, step = None, max(FINE, 0.25 * gap)
        while angle > end:
            candidate = spot(k, angle)
            if room.fits(candidate):
                break
            low, angle, step = angle, angle - step, min(COARSE, 2 * step)
        else:
            break  # the ring is full
        while low - angle > max(FINE, 0.12 * gap):  # back towards the edge
            middle = (low + angle) / 2
            closer = spot(k, middle)
            if room.fits(closer):
                candidate, angle = closer, middle
            else:
                low = middle
        if spots:
            gap = spots[-1].angle - angle
        if found is not None:
            found.append(gap if spots else 0.0)
        spots.append(candidate)
        room.add(candidate.box, candidate.mark)
    return spots


def _drawing_order(parties) -> list:
    """The parties, most committed first; in the case's own order within each
    commitment (a stable sort)."""
    rank = {key: k for k, key in enumerate(COMMITMENT_ORDER)}
    return sorted(parties, key=lambda p: rank.get(p.commitment, len(rank)))


def ecosystem_picture(
    client_name: str,
    parties,
    *,
    scale: float = 110.0,
    more_note: str = "listed below",
) -> str:
    """The client in the middle, its business units on an inner ring and the
    external companies on an outer ring, coloured by commitment.

    Which parties are drawn: on each ring, the parties take their places in
    order of commitment (committed, likely, to confirm, declined, then any
    other), in the case's order within one commitment, clockwise from the top;
    a ring shows as many of them as fit with no name touching another name or
    a marker, and every party it cannot show is counted in a "+ N more" line
    under the picture (`more_note` says where they are listed). So no two
    names ever overlap, however many parties there are, and a small ecosystem
    shows every party. A name is broken into lines of at most 16 characters and
    about ten ems (inside a word when a word alone is longer), in at most three
    lines, two on a crowded ring, the last one ending in "…" when the name is
    longer still; the client's name in the hub likewise."""
    ordered = _drawing_order(parties)
    units = [p for p in ordered if p.organisation.is_business_unit]
    companies = [p for p in ordered if not p.organisation.is_business_unit]
    c = _Canvas()
    hub = 0.36 * scale
    reach = 0.08 * scale
    room = _Room()
    room.add((-hub, -hub, hub, hub))
    outer = (1.55 * scale, 0.95 * scale, reach, 3.9)
    # Business units alone take the outer ring's room.
    inner = (0.85 * scale, 0.58 * scale, reach, 3.2) if companies else (*outer[:3], 3.2)
    unit_spots = _ring(units, inner, 6.0, room)
    avoid = [spot.angle for spot in unit_spots]
    rings = [(True, unit_spots), (False, _ring(companies, outer, 6.5, room, avoid))]
    spots = [spot for _, ring in rings for spot in ring]

    # Spokes first, so no spoke crosses a marker or a name.
    for s in spots:
        c.line(hub * s.cos, -hub * s.sin, s.x, s.y, LINE, 0.8)
    for is_unit, ring in rings:
        for s in ring:
            colour = COMMITMENT_COLOURS.get(s.party.commitment, MUTED)
            if is_unit:
                c.circle(s.x, s.y, 3.2, colour)
            else:
                c.rect(s.x - 3.9, s.y - 3.9, 7.8, 7.8, colour)
            label = s.label
            for k, (line, width) in enumerate(
                zip(label.lines, label.widths, strict=True)
            ):
                free = label.width - width  # each line aligned in the block
                x = s.left + {"left": 0.0, "centre": free / 2, "right": free}[s.align]
                y = s.top + (ASCENT + k * LINE_HEIGHT) * label.size
                c.text(x, y, line, label.size)
    c.circle(0, 0, hub, "#f0fdfa", stroke="#99f6e4", width=1)
    lines = _lines(
        client_name, 8, chars=HUB_CHARS, limit=1.72 * hub, max_lines=3, bold=True
    )
    step = LINE_HEIGHT * 8
    first = -((len(lines) - 1) * step + (ASCENT + DESCENT) * 8) / 2 + ASCENT * 8
    for k, line in enumerate(lines):
        c.text(0, first + k * step, line, 8, align="centre", bold=True)

    hidden = len(ordered) - len(spots)
    if hidden:
        note = f"+ {hidden} more" + (f" ({more_note})" if more_note else "")
        c.text(0, c.y1 + 14, note, 7, align="centre", bold=True, fill=MUTED)

    kinds = []  # which ring is which, said only when there are two
    if units:
        kinds.append(("circle", "Business unit" + " (inner ring)" * bool(companies)))
    if companies:
        kinds.append(("square", "External company" + " (outer ring)" * bool(units)))
    legend = [
        *((shape, MUTED, text) for shape, text in kinds),
        *(
            ("circle", colour, key.replace("_", " ").capitalize())
            for key, colour in COMMITMENT_COLOURS.items()
        ),
    ]
    size = 6.0
    widths = [14 + text_width(text, size) for _, _, text in legend]
    x = -(sum(widths) + 12 * (len(legend) - 1)) / 2
    y = c.y1 + 16
    for (shape, colour, text), item_width in zip(legend, widths, strict=True):
        if shape == "circle":
            c.circle(x + 3.5, y - 2, 3.2, colour)
        else:
            c.rect(x, y - 5.5, 7, 7, colour)
        c.text(x + 14, y, text, size)
        x += item_width + 12
    return c.svg(pad=4)
