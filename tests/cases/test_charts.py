"""The charts' SVG: what it shows follows the case, and it stays the light kind of
SVG that WeasyPrint draws quickly (no clip paths, no anchored or nested text,
nothing referenced by id), since every PDF draws four of them."""

from __future__ import annotations

import math
import xml.etree.ElementTree as ET
from decimal import Decimal
from itertools import pairwise

import pytest

from cases import charts, figures
from cases.stages import BY_KEY

from ..factories import (
    BenefitFactory,
    BenefitYearFactory,
    BusinessUnitFactory,
    CaseFactory,
    EcosystemPartyFactory,
    InvestmentFactory,
    OrganisationFactory,
    RiskOfActingFactory,
)

SVG = "{http://www.w3.org/2000/svg}"


def parse(svg: str) -> ET.Element:
    return ET.fromstring(svg.encode())  # noqa: S314 - our own output


def texts(root: ET.Element) -> list[str]:
    return [t.text for t in root.iter(f"{SVG}text")]


@pytest.fixture
def case(db):
    case = CaseFactory(title="Charted", horizon_years=3)
    InvestmentFactory(case=case, year=0, amount=Decimal("250000"))
    BenefitYearFactory(benefit=BenefitFactory(case=case), year=2)
    for n in range(4):
        RiskOfActingFactory(case=case, likelihood=1 + n, impact=5 - n)
    for n in range(5):
        EcosystemPartyFactory(
            case=case,
            organisation=BusinessUnitFactory(name=f"Unit {n}", parent=case.client),
        )
        EcosystemPartyFactory(
            case=case, organisation=OrganisationFactory(name=f"Partner company {n}")
        )
    return case


def all_charts(case) -> dict[str, str]:
    return {
        "money": charts.investment_vs_benefit(figures.compute(case)),
        "risks": charts.risk_map(
            list(BY_KEY["risks_of_acting"].items(case)), title="Risks of acting"
        ),
        "ecosystem": charts.ecosystem_picture(
            case.client.name, list(BY_KEY["ecosystem"].items(case))
        ),
    }


def test_charts_are_the_light_svg_weasyprint_draws_quickly(case):
    for name, svg in all_charts(case).items():
        root = parse(svg)

        assert root.tag == f"{SVG}svg", name
        assert root.get("viewBox"), name
        for banned in ("clip-path", "clipPath", "text-anchor", "<use", "<image", "id="):
            assert banned not in svg, (name, banned)
        for text in root.iter(f"{SVG}text"):
            assert len(text) == 0, name  # no tspans: one run per text
            assert text.text, name
            float(text.get("x")), float(text.get("y"))


def test_every_drawing_lies_inside_the_view_box(case):
    for name, svg in all_charts(case).items():
        root = parse(svg)
        x0, y0, width, height = (float(v) for v in root.get("viewBox").split())
        for text in root.iter(f"{SVG}text"):
            if text.get("transform"):
                continue  # the turned axis titles, placed by their transform
            x, y = float(text.get("x")), float(text.get("y"))
            size = float(text.get("font-size"))
            right = x + charts.text_width(
                text.text, size, bold=bool(text.get("font-weight"))
            )
            assert x0 <= x and right <= x0 + width, (name, text.text)
            assert y0 <= y - size * charts.ASCENT and y <= y0 + height, (
                name,
                text.text,
            )


def test_the_money_chart_follows_the_numbers(case):
    before = charts.investment_vs_benefit(figures.compute(case))
    BenefitYearFactory(
        benefit=BenefitFactory(case=case),
        year=3,
        low=Decimal("2000000"),
        expected=Decimal("3000000"),
        high=Decimal("4000000"),
    )

    after = charts.investment_vs_benefit(figures.compute(case))

    assert after != before
    labels = texts(parse(after))
    assert "4M" in labels  # the axis now reaches the new high case
    assert "4M" not in texts(parse(before))


def test_the_risk_map_follows_the_risks(case):
    risks = BY_KEY["risks_of_acting"]
    before = charts.risk_map(list(risks.items(case)), title="Risks")
    RiskOfActingFactory(case=case, likelihood=5, impact=5)

    after = charts.risk_map(list(risks.items(case)), title="Risks")

    assert dot_numbers(before) == ["1", "2", "3", "4"]
    assert dot_numbers(after) == ["1", "2", "3", "4", "5"]


def dot_numbers(svg: str) -> list[str]:
    """The numbers printed in white on the risks' dots."""
    return sorted(
        t.text
        for t in parse(svg).iter(f"{SVG}text")
        if "fill: #ffffff" in t.get("style", "")
    )


def test_risk_numbers_sit_in_the_middle_of_their_dots(case):
    root = parse(
        charts.risk_map(list(BY_KEY["risks_of_acting"].items(case)), title="R")
    )
    dots = [(float(c.get("cx")), float(c.get("cy"))) for c in root.iter(f"{SVG}circle")]
    numbers = [
        t for t in root.iter(f"{SVG}text") if "fill: #ffffff" in t.get("style", "")
    ]

    assert len(dots) == len(numbers) == 4
    for text, (cx, cy) in zip(numbers, dots, strict=True):
        width = charts.text_width(text.text, float(text.get("font-size")), bold=True)
        assert math.isclose(float(text.get("x")) + width / 2, cx, abs_tol=0.01)
        assert abs(float(text.get("y")) - cy) < 3  # the baseline just below the centre


def test_ecosystem_spokes_are_drawn_under_every_marker_and_name(case):
    root = parse(
        charts.ecosystem_picture("The client", list(BY_KEY["ecosystem"].items(case)))
    )
    tags = [element.tag for element in root]

    last_spoke = max(i for i, tag in enumerate(tags) if tag == f"{SVG}line")
    first_other = min(i for i, tag in enumerate(tags) if tag != f"{SVG}line")
    assert tags.count(f"{SVG}line") == 10
    assert last_spoke < first_other
    assert {"Unit 0", "Partner company", "0", "The client"} <= set(texts(root))


@pytest.mark.parametrize(
    ("low", "high"),
    [(0, 1), (-655_500, 4_870_000), (0, 250_000), (-1_200, -300), (0, 0), (3, 97)],
)
def test_axis_ticks_are_round_and_cover_the_values(low, high):
    ticks = charts.nice_ticks(low, high)

    assert ticks[0] <= low and ticks[-1] >= high
    assert 2 <= len(ticks) <= 8
    steps = {round(b - a, 6) for a, b in pairwise(ticks)}
    assert len(steps) == 1
    step = steps.pop()
    mantissa = step / 10 ** math.floor(math.log10(step))
    assert round(mantissa, 6) in {1, 2, 2.5, 5}


def test_text_widths_come_from_the_font():
    # DejaVu Sans: "W" is wider than "i", bold is wider than regular.
    assert charts.text_width("W", 10) > 2 * charts.text_width("i", 10)
    assert charts.text_width("Year 1", 8, bold=True) > charts.text_width("Year 1", 8)
    assert charts.text_width("", 8) == 0


@pytest.mark.parametrize("count", [2, 4, 5, 14, 30])
def test_many_risks_in_one_cell_stay_in_it_and_never_cover_each_other(db, count):
    case = CaseFactory()
    risks = [
        RiskOfActingFactory(case=case, likelihood=2, impact=4) for _ in range(count)
    ]

    root = parse(charts.risk_map(risks, title="Crowded"))

    cells = list(root.iter(f"{SVG}rect"))
    dots = [
        (float(c.get("cx")), float(c.get("cy")), float(c.get("r")))
        for c in root.iter(f"{SVG}circle")
    ]
    assert dot_numbers(ET.tostring(root, encoding="unicode")) == sorted(
        str(n) for n in range(1, count + 1)
    )
    # Cells are drawn by likelihood, then impact: likelihood 2, impact 4.
    cell = cells[(2 - 1) * 5 + (4 - 1)]
    x0, y0 = float(cell.get("x")), float(cell.get("y"))
    x1, y1 = x0 + float(cell.get("width")), y0 + float(cell.get("height"))
    for x, y, r in dots:
        assert x0 - 2 <= x - r and x + r <= x1 + 2
        assert y0 - 2 <= y - r and y + r <= y1 + 2
    for k, (x, y, r) in enumerate(dots):
        for x2, y2, r2 in dots[k + 1 :]:
            assert math.dist((x, y), (x2, y2)) >= r + r2 - 0.01


def test_names_in_a_chart_are_text_never_markup(db):
    """The charts are inlined in the Numbers page as they are (inline_svg marks
    them safe): a hostile name must arrive as escaped text, never as an element."""
    hostile = '<script>alert("x")</script> & <img src=x onerror=alert(1)>'
    case = CaseFactory(client=OrganisationFactory(name=hostile, kind="client"))
    EcosystemPartyFactory(
        case=case, organisation=OrganisationFactory(name=hostile, kind="partner")
    )
    RiskOfActingFactory(case=case, title=hostile)
    svgs = [
        charts.ecosystem_picture(
            case.client.name, list(BY_KEY["ecosystem"].items(case))
        ),
        charts.risk_map(list(BY_KEY["risks_of_acting"].items(case)), title=hostile),
    ]
    for svg in svgs:
        assert "<script" not in svg and "<img" not in svg
        root = parse(svg)
        assert {e.tag for e in root.iter()} <= {f"{SVG}{t}" for t in SVG_TAGS}
        # Shown as the text it is (shortened to fit, maybe), not dropped.
        assert any("<script" in (t or "") for t in texts(root)), texts(root)


SVG_TAGS = {
    "svg",
    "g",
    "rect",
    "line",
    "circle",
    "text",
    "path",
    "polyline",
    "polygon",
    "title",
    "desc",
    "tspan",
    "ellipse",
}
