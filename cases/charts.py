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
import math
from pathlib import Path
from xml.sax.saxutils import escape

from .figures import Figures, band

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


@functools.cache
def _advances(bold: bool) -> dict[str, float]:
    """Advance widths of DejaVu Sans (regular or bold), in ems, by character."""
    try:
        from fontTools.ttLib import TTFont

        font = TTFont(FONT_FILES[bold], lazy=True)
        metrics = font["hmtx"].metrics
        units = font["head"].unitsPerEm
        return {
            chr(code): metrics[glyph][0] / units
            for code, glyph in font.getBestCmap().items()
        }
    except Exception:  # no font file: an average width keeps charts usable
        return {}


def text_width(text: str, size: float, *, bold: bool = False) -> float:
    advances = _advances(bold)
    fallback = 0.66 if bold else 0.6
    return sum(advances.get(char, fallback) for char in text) * size


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
    size = abs(value)
    if size >= 1_000_000:
        number, suffix = value / 1_000_000, "M"
    elif size >= 1_000:
        number, suffix = value / 1_000, "k"
    else:
        return f"{value:.0f}"
    return f"{number:.2f}".rstrip("0").rstrip(".") + suffix


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


def _block(
    c: _Canvas,
    x: float,
    y: float,
    lines: list[str],
    size: float,
    *,
    align: str,
    valign: str,
    bold: bool = False,
) -> None:
    """Lines of text as a block placed by one of its edges or its middle."""
    step = LINE_HEIGHT * size
    height = (len(lines) - 1) * step + (ASCENT + DESCENT) * size
    top = {"bottom": y - height, "top": y, "middle": y - height / 2}[valign]
    for k, line in enumerate(lines):
        c.text(x, top + ASCENT * size + k * step, line, size, align=align, bold=bold)


def ecosystem_picture(client_name: str, parties, *, scale: float = 110.0) -> str:
    """The client in the middle, its business units on an inner ring and the
    external companies on an outer ring, coloured by commitment."""
    units = [p for p in parties if p.organisation.is_business_unit]
    companies = [p for p in parties if not p.organisation.is_business_unit]
    c = _Canvas()
    hub = 0.36 * scale

    nodes = []  # (party, x, y, cos, sin, inner)
    for items, rx, ry, inner in (
        (units, 0.85, 0.58, True),
        (companies, 1.55, 0.95, False),
    ):
        # The outer ring is turned half a step so its labels fall between the inner ones.
        offset = 0 if inner else math.pi / max(len(items), 1)
        for k, party in enumerate(items):
            angle = math.pi / 2 - offset - 2 * math.pi * k / len(items)
            cos, sin = math.cos(angle), math.sin(angle)
            nodes.append((party, rx * scale * cos, -ry * scale * sin, cos, sin, inner))
    # Spokes first, so no spoke crosses a marker or a name.
    for _, x, y, cos, sin, _ in nodes:
        c.line(hub * cos, -hub * sin, x, y, LINE, 0.8)
    for party, x, y, cos, sin, inner in nodes:
        colour = COMMITMENT_COLOURS.get(party.commitment, MUTED)
        if inner:
            c.circle(x, y, 3.2, colour)
        else:
            c.rect(x - 3.9, y - 3.9, 7.8, 7.8, colour)
        _block(
            c,
            x + 0.08 * scale * cos,
            y - 0.08 * scale * sin,
            _wrap(party.organisation.name, 16),
            6 if inner else 6.5,
            align="left" if cos > 0.3 else "right" if cos < -0.3 else "centre",
            valign="bottom" if sin > 0.3 else "top" if sin < -0.3 else "middle",
        )
    c.circle(0, 0, hub, "#f0fdfa", stroke="#99f6e4", width=1)
    _block(
        c, 0, 0, _wrap(client_name, 14), 8, align="centre", valign="middle", bold=True
    )

    legend = [
        ("circle", MUTED, "Business unit (inner ring)"),
        ("square", MUTED, "External company (outer ring)"),
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


def _wrap(text: str, width: int) -> list[str]:
    words, lines, line = text.split(), [], ""
    for word in words:
        if line and len(line) + 1 + len(word) > width:
            lines.append(line)
            line = word
        else:
            line = f"{line} {word}".strip()
    lines.append(line)
    return lines[:3]
