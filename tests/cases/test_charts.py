"""The charts' SVG: what it shows follows the case, and it stays the light kind of
SVG that WeasyPrint draws quickly (no clip paths, no anchored or nested text,
nothing referenced by id), since every PDF draws four of them."""

from __future__ import annotations

import math
import re
import xml.etree.ElementTree as ET
from decimal import Decimal
from itertools import pairwise

import pytest

from cases import charts, figures
from cases.models import EcosystemParty
from cases.stages import BY_KEY
from ecosystem.models import Organisation, OrganisationKind

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


@pytest.mark.parametrize(
    ("value", "label"),
    [
        (0, "0"),
        (500, "500"),
        (-250_000, "-250k"),
        (1_000_000, "1M"),
        (2_500_000, "2.5M"),
        (999_999_999, "1B"),  # rounded before the unit is chosen
        (950_000_000_000, "950B"),
        (1_200_000_000_000, "1.2T"),
        (-1_500_000_000, "-1.5B"),
        (-4e21, "-4,000,000,000T"),  # person-days x day rate can go that far
    ],
)
def test_axis_labels_go_on_to_billions_and_trillions(value, label):
    assert charts._money(value) == label


def test_the_money_chart_of_a_twelve_digit_benefit_reads_in_billions(db):
    case = CaseFactory(horizon_years=3)
    InvestmentFactory(case=case, year=0, amount=Decimal("35972.52"))
    BenefitYearFactory(
        benefit=BenefitFactory(case=case),
        year=1,
        low=Decimal("100000000000"),
        expected=Decimal("950003860000"),
        high=Decimal("999999999999"),
    )

    labels = texts(parse(charts.investment_vs_benefit(figures.compute(case))))

    axis = [label for label in labels if re.fullmatch(r"-?[\d.]+[kMBT]?", label)]
    assert "1T" in axis or "1.2T" in axis, axis
    for label in axis:  # never "1200000M": at most three digits before a unit
        assert re.fullmatch(r"-?\d{1,3}(\.\d+)?[kMBT]?", label), label


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


# --- A crowded ecosystem ------------------------------------------------------------

COMMITMENTS = ["committed", "likely", "to_confirm", "declined"]


def ecosystem(count: int, name=lambda k: f"Firm {k}") -> list[EcosystemParty]:
    """`count` parties, unsaved (the picture reads nothing from the database): a
    business unit in three, the commitments in turn."""
    client = Organisation(name="Client", kind=OrganisationKind.CLIENT)
    parties = []
    for k in range(count):
        unit = k % 3 == 0
        organisation = Organisation(
            name=name(k),
            kind=OrganisationKind.BUSINESS_UNIT if unit else OrganisationKind.PARTNER,
            parent=client if unit else None,
        )
        parties.append(
            EcosystemParty(organisation=organisation, commitment=COMMITMENTS[k % 4])
        )
    return parties


def text_boxes(root: ET.Element) -> list[tuple[str, tuple[float, float, float, float]]]:
    """Every text's box, from its position and the glyph widths the charts use."""
    boxes = []
    for text in root.iter(f"{SVG}text"):
        x, y = float(text.get("x")), float(text.get("y"))
        size = float(text.get("font-size"))
        width = charts.text_width(text.text, size, bold=bool(text.get("font-weight")))
        boxes.append(
            (
                text.text,
                (x, y - charts.ASCENT * size, x + width, y + charts.DESCENT * size),
            )
        )
    return boxes


def assert_readable(svg: str) -> ET.Element:
    """No two texts overlap, and every text lies inside the view box."""
    root = parse(svg)
    x0, y0, width, height = (float(v) for v in root.get("viewBox").split())
    boxes = text_boxes(root)
    for text, (left, top, right, bottom) in boxes:
        assert x0 <= left and right <= x0 + width, text
        assert y0 <= top and bottom <= y0 + height, text
    for k, (text, a) in enumerate(boxes):
        for other, b in boxes[k + 1 :]:
            apart = (
                a[2] <= b[0] + 0.01
                or b[2] <= a[0] + 0.01
                or a[3] <= b[1] + 0.01
                or b[3] <= a[1] + 0.01
            )
            assert apart, (text, a, other, b)
    return root


def more_count(root: ET.Element) -> int:
    notes = [t for t in texts(root) if t.startswith("+ ")]
    if not notes:
        return 0
    (note,) = notes
    match = re.fullmatch(r"\+ (\d+) more \(listed below\)", note)
    assert match, note
    return int(match.group(1))


LONG = [
    '<script>alert("x")</script> & <img src=x onerror=alert(1)>',
    "株式会社東京海上日動システムズ株式会社東京海上日動",
    "Åsgård Øresund Ærø Företag för Kärnkraft och Vindkraft AB",
    "Northwind Logistics and Warehousing International Holdings GmbH & Co. KG",
    "Supercalifragilisticexpialidociousandmorebesidesthat Ltd",
    "W" * 120,
    "Tab\there, bell\x07 and vertical\x0btab",
]
LEGEND = {
    "Business unit (inner ring)",
    "External company (outer ring)",
    "Business unit",
    "External company",
    "Committed",
    "Likely",
    "To confirm",
    "Declined",
}


@pytest.mark.parametrize("count", [60, 150])
@pytest.mark.parametrize(
    "name", [lambda k: f"Firm {k}", lambda k: f"{LONG[k % len(LONG)]} {k}"]
)
def test_a_crowded_ecosystem_keeps_every_name_apart_and_inside(count, name):
    svg = charts.ecosystem_picture(LONG[3], ecosystem(count, name))

    root = assert_readable(svg)
    # Long names do not widen the picture (which would shrink it on the page).
    assert float(root.get("viewBox").split()[2]) < 520


@pytest.mark.parametrize("count", [60, 150])
def test_the_more_count_is_exactly_the_parties_left_out(count):
    parties = ecosystem(count, lambda k: f"Partner company {k}")

    root = parse(charts.ecosystem_picture("Client", parties))

    # Each name takes two lines, the party's number alone on the second.
    shown = {f"Partner company {t}" for t in texts(root) if t.isdigit()}
    left_out = [p for p in parties if p.organisation.name not in shown]
    assert 0 < len(left_out) == more_count(root)
    # On each ring, the parties left out are the least committed: whoever is left
    # out comes after everyone shown, in commitment then in the case's order.
    for is_unit in (True, False):
        ring = [p for p in parties if p.organisation.is_business_unit == is_unit]
        ring.sort(key=lambda p: COMMITMENTS.index(p.commitment))
        drawn = [p.organisation.name in shown for p in ring]
        assert drawn == sorted(drawn, reverse=True), is_unit
    # Every party drawn has its spoke and its marker.
    lines = list(root.iter(f"{SVG}line"))
    assert len(lines) == count - len(left_out)


@pytest.mark.parametrize("count", [1, 3, 12, 30])
def test_a_small_ecosystem_shows_every_party(count):
    parties = ecosystem(count, lambda k: f"Partner company {k}")

    root = assert_readable(charts.ecosystem_picture("Client", parties))

    assert more_count(root) == 0
    shown = set(texts(root))
    # A name of two lines is printed as two texts; each party's number is there.
    for k in range(count):
        assert {"Partner company", str(k)} <= shown or f"Partner company {k}" in shown
    assert len(list(root.iter(f"{SVG}line"))) == count


@pytest.mark.parametrize("count", [3, 12, 60])
def test_long_unicode_and_hostile_names_stay_inside_and_are_text(count):
    parties = ecosystem(count, lambda k: LONG[k % len(LONG)])

    svg = charts.ecosystem_picture(LONG[3], parties)  # a long client name too

    root = assert_readable(svg)
    assert "<script" not in svg and "<img" not in svg
    assert any(t.startswith("<script>") for t in texts(root))  # escaped, kept
    assert any("株式会社" in t for t in texts(root))
    assert any(t.startswith("Åsgård Øresund") for t in texts(root))
    # Shortened where too long, visibly: no name line wider than the rule.
    for text, (left, _, right, _) in text_boxes(root):
        if text not in LEGEND and not text.startswith("+ "):
            assert right - left <= 10.5 * 8 + 0.01, text  # 8pt: the client's name
    assert float(root.get("viewBox").split()[2]) < 520


def test_a_crowded_ecosystem_is_as_light_and_quick_as_a_small_one(monkeypatch):
    """Drawing stops when the rings are full: two thousand parties weigh, and
    cost, what a hundred and fifty do. The cost is counted as the room tests a
    placement makes (deterministic, unlike a time on a shared machine)."""
    tests = []
    free = charts._Room.free
    monkeypatch.setattr(
        charts._Room, "free", lambda room, box: tests.append(box) or free(room, box)
    )
    weights, placements = {}, {}
    for count in (12, 150, 2000):
        parties = ecosystem(count, lambda k: f"{LONG[k % 3]} {k}")
        tests.clear()
        svg = charts.ecosystem_picture("Client", parties)
        weights[count], placements[count] = len(parse(svg)), len(tests)
    assert weights[2000] <= weights[150] * 1.2
    assert weights[150] < 500
    assert placements[2000] <= placements[150] * 1.2, placements
    assert placements[12] < placements[150]
