"""Charts as vector SVG (matplotlib). The same functions serve the web page and
the PDF, so the picture an executive prints is the one the workshop saw.

Each function returns the SVG document as text. Text stays text in the SVG
(`svg.fonttype: none`), so it is sharp, small and searchable in the PDF.
"""

from __future__ import annotations

import io
import math

import matplotlib

matplotlib.use("Agg")  # no display; must precede pyplot
import matplotlib.pyplot as plt
from matplotlib.patches import Rectangle

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

plt.rcParams.update(
    {
        "svg.fonttype": "none",
        "font.family": "DejaVu Sans",
        "font.size": 8,
        "axes.edgecolor": LINE,
        "axes.labelcolor": INK,
        "xtick.color": MUTED,
        "ytick.color": MUTED,
        "axes.spines.top": False,
        "axes.spines.right": False,
        "svg.hashsalt": "jointcase",  # stable ids: same case, same SVG
        "text.parse_math": False,  # user text with "$" is text, not a formula
    }
)


def _svg(fig) -> str:
    buffer = io.StringIO()
    fig.savefig(buffer, format="svg", bbox_inches="tight", metadata={"Date": None})
    plt.close(fig)
    return buffer.getvalue()


def _money_axis(ax, currency: str) -> None:
    def fmt(value, _pos):
        size = abs(value)
        if size >= 1_000_000:
            return f"{value / 1_000_000:.1f}M"
        if size >= 1_000:
            return f"{value / 1_000:.0f}k"
        return f"{value:.0f}"

    ax.yaxis.set_major_formatter(matplotlib.ticker.FuncFormatter(fmt))
    ax.set_ylabel(currency)
    ax.grid(axis="y", color=LINE, linewidth=0.6)
    ax.set_axisbelow(True)


def investment_vs_benefit(
    figures: Figures, *, width: float = 7.0, height: float = 3.2
) -> str:
    """Investment against the benefit range (low / expected / high) per year, with
    the cumulative net of each scenario as lines."""
    years = figures.years
    fig, ax = plt.subplots(figsize=(width, height))
    w = 0.36
    invest = [float(v) for v in figures.investment]
    low = [float(v) for v in figures.benefits["low"]]
    exp = [float(v) for v in figures.benefits["expected"]]
    high = [float(v) for v in figures.benefits["high"]]
    ax.bar([y - w / 2 for y in years], invest, w, color=INVEST, label="Investment")
    ax.bar([y + w / 2 for y in years], exp, w, color=BRAND, label="Benefit (expected)")
    ax.errorbar(
        [y + w / 2 for y in years],
        exp,
        yerr=[
            [e - lo for e, lo in zip(exp, low, strict=True)],
            [h - e for e, h in zip(exp, high, strict=True)],
        ],
        fmt="none",
        ecolor=INK,
        elinewidth=0.9,
        capsize=3,
        label="Benefit range (low to high)",
    )
    styles = {
        "low": (":", MUTED),
        "expected": ("-", "#0d9488"),
        "high": ("--", "#115e59"),
    }
    for scenario, (style, colour) in styles.items():
        ax.plot(
            years,
            [float(v) for v in figures.cumulative[scenario]],
            linestyle=style,
            color=colour,
            marker="o",
            markersize=2.5,
            linewidth=1.2,
            label=f"Cumulative net ({scenario})",
        )
    ax.axhline(0, color=INK, linewidth=0.6)
    ax.set_xticks(years, [f"Year {y}" for y in years])
    _money_axis(ax, figures.currency)
    ax.legend(loc="upper left", fontsize=6.5, frameon=False, ncol=2)
    return _svg(fig)


def risk_map(risks, *, title: str, size: float = 3.3) -> str:
    """A likelihood x impact map (5 x 5) with each risk as a numbered dot; risks
    in the same cell are spread around its centre so none hides another."""
    fig, ax = plt.subplots(figsize=(size, size))
    for likelihood in range(1, 6):
        for impact in range(1, 6):
            ax.add_patch(
                Rectangle(
                    (impact - 0.5, likelihood - 0.5),
                    1,
                    1,
                    facecolor=BAND_COLOURS[band(likelihood * impact)],
                    edgecolor="white",
                    linewidth=1.5,
                )
            )
    cells: dict[tuple[int, int], list[int]] = {}
    for number, risk in enumerate(risks, start=1):
        cells.setdefault((risk.likelihood, risk.impact), []).append(number)
    for (likelihood, impact), numbers in cells.items():
        for k, number in enumerate(numbers):
            angle = 2 * math.pi * k / max(len(numbers), 1)
            radius = 0 if len(numbers) == 1 else 0.25
            x, y = (
                impact + radius * math.cos(angle),
                likelihood + radius * math.sin(angle),
            )
            ax.scatter([x], [y], s=130, color=INK, zorder=3)
            ax.annotate(
                str(number),
                (x, y),
                color="white",
                ha="center",
                va="center",
                fontsize=6.5,
                fontweight="bold",
                zorder=4,
            )
    ax.set_xlim(0.5, 5.5)
    ax.set_ylim(0.5, 5.5)
    ax.set_xticks(range(1, 6))
    ax.set_yticks(range(1, 6))
    ax.set_xlabel("Impact")
    ax.set_ylabel("Likelihood")
    ax.set_title(title, color=INK, fontsize=9, fontweight="bold", loc="left")
    ax.set_aspect("equal")
    for spine in ax.spines.values():
        spine.set_visible(False)
    return _svg(fig)


def ecosystem_picture(
    client_name: str, parties, *, width: float = 7.0, height: float = 4.2
) -> str:
    """The client in the middle, its business units on an inner ring and the
    external companies on an outer ring, coloured by commitment."""
    units = [p for p in parties if p.organisation.is_business_unit]
    companies = [p for p in parties if not p.organisation.is_business_unit]
    fig, ax = plt.subplots(figsize=(width, height))
    ax.set_xlim(-2.3, 2.3)
    ax.set_ylim(-1.3, 1.3)
    ax.set_aspect("equal")
    ax.axis("off")
    ax.add_patch(
        plt.Circle((0, 0), 0.36, facecolor="#f0fdfa", edgecolor="#99f6e4", linewidth=1)
    )
    ax.text(
        0,
        0,
        _wrap(client_name, 14),
        ha="center",
        va="center",
        fontsize=8,
        fontweight="bold",
        color=INK,
    )

    def ring(items, rx: float, ry: float, inner: bool) -> None:
        # The outer ring is turned half a step so its labels fall between the inner ones.
        offset = 0 if inner else math.pi / max(len(items), 1)
        for k, party in enumerate(items):
            angle = math.pi / 2 - offset - 2 * math.pi * k / max(len(items), 1)
            cos, sin = math.cos(angle), math.sin(angle)
            x, y = rx * cos, ry * sin
            colour = COMMITMENT_COLOURS.get(party.commitment, MUTED)
            ax.plot(
                [0.36 * cos, x], [0.36 * sin, y], color=LINE, linewidth=0.8, zorder=1
            )
            ax.scatter(
                [x],
                [y],
                s=36 if inner else 60,
                color=colour,
                zorder=3,
                marker="o" if inner else "s",
            )
            ax.text(
                x + 0.08 * cos,
                y + 0.08 * sin,
                _wrap(party.organisation.name, 16),
                ha="left" if cos > 0.3 else "right" if cos < -0.3 else "center",
                va="bottom" if sin > 0.3 else "top" if sin < -0.3 else "center",
                fontsize=6 if inner else 6.5,
                color=INK,
                zorder=4,
            )

    ring(units, 0.85, 0.58, True)
    ring(companies, 1.55, 0.95, False)
    handles = [
        plt.Line2D(
            [],
            [],
            marker="o",
            linestyle="",
            color=MUTED,
            label="Business unit (inner ring)",
        ),
        plt.Line2D(
            [],
            [],
            marker="s",
            linestyle="",
            color=MUTED,
            label="External company (outer ring)",
        ),
    ] + [
        plt.Line2D(
            [],
            [],
            marker="o",
            linestyle="",
            color=c,
            label=label.replace("_", " ").capitalize(),
        )
        for label, c in COMMITMENT_COLOURS.items()
    ]
    ax.legend(
        handles=handles,
        loc="lower center",
        bbox_to_anchor=(0.5, -0.12),
        ncol=6,
        fontsize=6,
        frameon=False,
    )
    return _svg(fig)


def _wrap(text: str, width: int) -> str:
    words, lines, line = text.split(), [], ""
    for word in words:
        if line and len(line) + 1 + len(word) > width:
            lines.append(line)
            line = word
        else:
            line = f"{line} {word}".strip()
    lines.append(line)
    return "\n".join(lines[:3])
