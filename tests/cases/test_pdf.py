"""The executive PDF as a reader gets it: the demo case rendered by WeasyPrint and
read back with pypdf (pages, metadata, bookmarks, contents page, running header
and footer, the figures of the case), plus the edge cases: an empty case and a
stage long enough to break its table across pages."""

from __future__ import annotations

import gc
import io
import math
import os
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from decimal import Decimal

import pypdf
import pytest
from django.core.management import call_command
from django.db import transaction
from weasyprint.formatting_structure.boxes import LineBox, TableCellBox, TextBox

from cases import charts, figures, health, pdf
from cases.models import Case, Commitment, PaperSize
from cases.stages import BY_KEY, STAGES
from cases.templatetags.case_tags import money, money_whole

from ..factories import (
    BenefitFactory,
    BenefitYearFactory,
    BusinessUnitFactory,
    CaseFactory,
    ClientFactory,
    EcosystemPartyFactory,
    InactionCostFactory,
    InvestmentFactory,
    LaggingMetricFactory,
    OrganisationFactory,
    RiskOfActingFactory,
    RiskOfNotActingFactory,
)

SUMMARY = "Executive summary"
NUMBERS = "The numbers"
CLOSING = "Participants and agreement"
APPENDIX = "Appendix: case health"
EMPTY_STAGE = "Nothing recorded for this stage yet."
PAPERS = [PaperSize.A4, PaperSize.LETTER]
SVG = "{http://www.w3.org/2000/svg}"


def stage_heading(stage) -> str:
    """A stage's heading as printed: its number in a disc, then its title."""
    return f"{stage.number} {stage.title}"


HEADINGS = [SUMMARY, NUMBERS, *(stage_heading(s) for s in STAGES), CLOSING, APPENDIX]


def norm(text: str) -> str:
    """Runs of whitespace as one space."""
    return " ".join(text.split())


def squash(text: str) -> str:
    """Text with no whitespace and no hyphens added by line breaking, so that a
    phrase wrapped inside a table cell still matches."""
    return "".join(text.split()).replace("\u2010", "").replace("\u00ad", "")


@dataclass
class Pdf:
    """A rendered PDF, read back."""

    rendered: pdf.RenderedPdf
    reader: pypdf.PdfReader = field(init=False)
    texts: list[str] = field(init=False)

    def __post_init__(self):
        self.reader = pypdf.PdfReader(io.BytesIO(self.rendered.content))
        self.texts = [page.extract_text() for page in self.reader.pages]

    @property
    def count(self) -> int:
        return len(self.reader.pages)

    def lines(self, number: int) -> list[str]:
        """The non-empty lines of page `number` (1-based), whitespace-normalised."""
        return [
            norm(line) for line in self.texts[number - 1].splitlines() if norm(line)
        ]

    def starts(self) -> dict[str, int]:
        """Section heading -> the page (1-based) whose first line is that heading."""
        found = {}
        for number in range(1, self.count + 1):
            lines = self.lines(number)
            if lines and lines[0] in HEADINGS and lines[0] not in found:
                found[lines[0]] = number
        return found

    def span(self, heading: str) -> range:
        """The pages of the section under `heading`, up to the next section."""
        starts = self.starts()
        first = starts[heading]
        later = [p for p in starts.values() if p > first]
        return range(first, min(later) if later else self.count + 1)

    def section_text(self, heading: str) -> str:
        return "\n".join(self.texts[p - 1] for p in self.span(heading))

    def outline(self) -> list[tuple[str, int]]:
        """The top-level bookmarks: (title, page 1-based)."""
        return [
            (item.title, self.reader.get_destination_page_number(item) + 1)
            for item in self.reader.outline
            if not isinstance(item, list)
        ]


def render(case, **kwargs) -> Pdf:
    return Pdf(pdf.render_pdf(case, **kwargs))


def laid_out(case, paper: str = PaperSize.A4):
    """WeasyPrint's laid-out document of the case's PDF, boxes and all."""
    return pdf.layout(pdf.render_html(pdf.document_context(case, paper_size=paper)))


AMOUNT = re.compile(r"-?[\d,.]+[MBT]?")


def cell_misfits(document, *, amounts_may_wrap: bool = False) -> list[str]:
    """What is wrong with the document's table cells, in words: a piece of text
    drawn past its cell's left or right edge (into the next column), or an
    amount set on more than one line. Cells that clip their overflow (the dot
    leaders of the contents) are left out."""
    found = []
    for number, page in enumerate(document.pages, 1):
        for cell in page._page_box.descendants():
            if not isinstance(cell, TableCellBox) or cell.style["overflow"] == "hidden":
                continue
            left = cell.content_box_x()
            right = left + cell.width
            lines = [
                "".join(run.text for run in runs)
                for line in cell.descendants()
                if isinstance(line, LineBox)
                and (runs := [b for b in line.descendants() if isinstance(b, TextBox)])
            ]
            for run in cell.descendants():
                if isinstance(run, TextBox) and (
                    run.position_x < left - 0.01
                    or run.position_x + run.width > right + 0.01
                ):
                    found.append(f"page {number}: {run.text!r} runs out of its cell")
            text = "".join(lines).strip()
            if not amounts_may_wrap and len(lines) > 1 and AMOUNT.fullmatch(text):
                found.append(f"page {number}: {'|'.join(lines)!r} is broken over lines")
    return found


def year_amounts(f) -> list:
    """The numbers table's amounts: investment and expected benefit by year."""
    return [v for v in (*f.investment, *f.benefits["expected"]) if v]


@dataclass
class Demo:
    """The demo case, as plain values, and its PDF on both paper sizes."""

    title: str
    client: str
    seller: str
    pdfs: dict[str, Pdf]
    investments: list[tuple[str, str]]  # (title, value as printed)
    total_investment: str
    benefits: list[tuple[str, str]]  # (title, expected total as printed)
    risks_acting: list[str]
    risks_not_acting: list[str]
    year_amounts: list[str]  # the per-year investment and benefits, as printed
    misfits: dict[str, list[str]]  # cell_misfits() of the laid-out PDF, by paper


@pytest.fixture(scope="module")
def demo(django_db_setup, django_db_blocker) -> Demo:
    """Load and render the demo once for the module, in a transaction that is
    rolled back: the other tests never see the demo case."""
    with django_db_blocker.unblock(), transaction.atomic():
        call_command("load_demo", stdout=io.StringIO())
        case = Case.objects.select_related("client", "seller").get(extra__demo=True)
        investments = list(BY_KEY["investments"].items(case))
        benefits = [b for b in BY_KEY["benefits"].items(case) if b.totals]
        data = Demo(
            title=case.title,
            client=case.client.name,
            seller=case.seller.name,
            pdfs={paper: render(case, paper_size=paper) for paper in PAPERS},
            investments=[(i.title, money(i.value)) for i in investments],
            total_investment=money(sum(i.value for i in investments)),
            benefits=[(b.title, money(b.totals["expected"])) for b in benefits],
            risks_acting=[r.title for r in BY_KEY["risks_of_acting"].items(case)],
            risks_not_acting=[
                r.title for r in BY_KEY["risks_of_not_acting"].items(case)
            ],
            year_amounts=[money(v) for v in year_amounts(figures.compute(case))],
            misfits={paper: cell_misfits(laid_out(case, paper)) for paper in PAPERS},
        )
        transaction.set_rollback(True)
    return data


# --- The demo case ------------------------------------------------------------


@pytest.mark.parametrize("paper", PAPERS)
def test_page_count_is_reported_and_real(demo, paper):
    doc = demo.pdfs[paper]

    assert doc.count >= 12
    assert doc.rendered.pages == doc.count


def test_metadata_names_the_case_and_both_parties(demo):
    meta = demo.pdfs[PaperSize.A4].reader.metadata

    assert meta["/Title"] == demo.title
    assert demo.seller in meta["/Author"]
    assert demo.client in meta["/Author"]
    assert demo.client in meta["/Subject"]
    assert demo.title in meta["/Subject"]


@pytest.mark.parametrize("paper", PAPERS)
def test_bookmarks_list_every_section_and_lead_to_its_first_page(demo, paper):
    doc = demo.pdfs[paper]

    outline = doc.outline()

    assert [title for title, _ in outline] == HEADINGS
    assert dict(outline) == doc.starts()


@pytest.mark.parametrize("paper", PAPERS)
def test_every_section_starts_on_a_page_of_its_own(demo, paper):
    starts = demo.pdfs[paper].starts()

    assert list(starts) == HEADINGS  # all found, in reading order
    assert list(starts.values()) == sorted(set(starts.values()))


def test_pages_show_every_stage_the_client_and_the_cases_figures(demo):
    doc = demo.pdfs[PaperSize.A4]
    everything = squash("\n".join(doc.texts))

    for stage in STAGES:
        assert squash(stage_heading(stage)) in everything
    assert squash(demo.client) in everything

    investments = squash(doc.section_text(stage_heading(BY_KEY["investments"])))
    assert demo.investments
    for title, value in demo.investments:
        assert squash(title) in investments
        assert value in investments
    assert squash(f"Total {demo.total_investment}") in investments

    benefits = squash(doc.section_text(stage_heading(BY_KEY["benefits"])))
    assert demo.benefits
    for title, expected in demo.benefits:
        assert squash(title) in benefits
        assert expected in benefits

    for key, titles in [
        ("risks_of_acting", demo.risks_acting),
        ("risks_of_not_acting", demo.risks_not_acting),
    ]:
        section = squash(doc.section_text(stage_heading(BY_KEY[key])))
        assert titles
        for title in titles:
            assert squash(title) in section


@pytest.mark.parametrize("paper", PAPERS)
def test_every_amount_fits_its_cell_and_the_years_show_in_full(demo, paper):
    """Amounts of an everyday size print as typed, each on one line inside its
    cell (the lagging metrics' millions too, which once ran into the next column)."""
    assert demo.misfits[paper] == []
    numbers = demo.pdfs[paper].section_text(NUMBERS)
    assert demo.year_amounts
    for amount in demo.year_amounts:
        assert amount in numbers
    assert not re.search(r"in (millions|billions|trillions)", numbers)


@pytest.mark.parametrize("paper", PAPERS)
def test_the_executive_summary_fits_on_one_page(demo, paper):
    doc = demo.pdfs[paper]
    starts = doc.starts()

    summary = starts[SUMMARY]

    assert starts[NUMBERS] == summary + 1, (
        f"On {paper} the executive summary runs over pages "
        f"{summary} to {starts[NUMBERS] - 1}"
    )
    # The summary's last block, the key metrics, is on the summary page.
    assert "KEY METRICS" in doc.lines(summary)


@pytest.mark.parametrize("paper", PAPERS)
def test_contents_page_numbers_are_the_pages_the_sections_start_on(demo, paper):
    doc = demo.pdfs[paper]
    toc_page = next(p for p in range(1, doc.count + 1) if doc.lines(p)[0] == "Contents")
    entry = re.compile(r"^(?P<label>.+?)\s*\.{3,}\s*(?P<page>\d+)$")

    toc = {
        m["label"]: int(m["page"])
        for line in doc.lines(toc_page)
        if (m := entry.match(line))
    }

    labels = [SUMMARY, NUMBERS, *(str(s) for s in STAGES), CLOSING, APPENDIX]
    assert list(toc) == labels
    starts = doc.starts()
    for label, heading in zip(labels, HEADINGS, strict=True):
        assert toc[label] == starts[heading], label


@pytest.mark.parametrize("paper", PAPERS)
def test_inner_pages_have_the_running_header_and_page_n_of_m(demo, paper):
    doc = demo.pdfs[paper]
    total = doc.count

    assert "Page 1 of" not in doc.texts[0]  # the cover has no header or footer
    for number in range(2, total + 1):
        text = norm(doc.texts[number - 1])
        assert f"Page {number} of {total}" in text, number
        assert demo.title in text, number
    # From the summary on, the header also names the section the page is in.
    for heading in HEADINGS:
        for number in doc.span(heading):
            assert f"{demo.title} {heading}" in norm(doc.texts[number - 1]), number


@pytest.mark.parametrize(
    ("paper", "size"), [(PaperSize.A4, (595, 842)), (PaperSize.LETTER, (612, 792))]
)
def test_paper_size_sets_the_page_size(demo, paper, size):
    doc = demo.pdfs[paper]

    for page in doc.reader.pages:
        box = page.mediabox
        assert (round(float(box.width)), round(float(box.height))) == size


def test_charts_are_vector_drawings_with_real_text(demo):
    doc = demo.pdfs[PaperSize.A4]

    numbers = norm(doc.section_text(NUMBERS))
    for label in (
        "Cumulative net (expected)",
        "Benefit range (low to high)",
        "Year 5",
        "Risks of acting",
        "Risks of not acting",
        "Likelihood",
        "Impact",
    ):
        assert label in numbers, label
    ecosystem = norm(doc.section_text(stage_heading(BY_KEY["ecosystem"])))
    assert "External company (outer ring)" in ecosystem
    # No chart was turned into a picture: the PDF holds no raster image at all.
    for page in doc.reader.pages:
        for xobject in (page["/Resources"].get("/XObject") or {}).values():
            assert xobject.get_object().get("/Subtype") != "/Image"


# --- Edge cases ---------------------------------------------------------------------


def test_an_empty_case_renders_with_placeholders_and_no_figures(db):
    case = CaseFactory(title="Nothing yet", horizon_years=5)
    steps = []

    doc = Pdf(pdf.render_pdf(case, progress=lambda p, step: steps.append(p)))

    assert doc.rendered.pages == doc.count
    assert norm("\n".join(doc.texts)).count(EMPTY_STAGE) == len(STAGES)
    summary = doc.lines(doc.starts()[SUMMARY])
    assert summary[summary.index("BREAK-EVEN SHARE") + 1] == "n/a"
    assert "Needs both investments and benefits." in norm("\n".join(summary))
    assert "No leading or lagging metrics recorded yet" in norm("\n".join(summary))
    assert not any("BASELINE" in line.upper() for line in summary)  # no empty table
    numbers = doc.section_text(NUMBERS)
    for scenario in ("Low", "Expected", "High"):
        # Scenario, NPV, payback, ROI: no investment, so no return to speak of.
        assert re.search(rf"^{scenario} 0 .* n/a$", numbers, re.MULTILINE), scenario
    assert steps == sorted(steps)
    assert steps[-1] == 95


def test_the_cycle_collector_is_back_on_after_a_render_even_a_failed_one(
    db, monkeypatch
):
    """The render pauses Python's cycle collector; a worker left with it off
    would never free what its renders leave behind."""
    case = CaseFactory(title="Collector")
    pdf.render_pdf(case)
    assert gc.isenabled()

    def broken_layout(html):
        assert not gc.isenabled()  # paused while WeasyPrint works
        raise RuntimeError("layout failed")

    monkeypatch.setattr(pdf, "layout", broken_layout)
    with pytest.raises(RuntimeError, match="layout failed"):
        pdf.render_pdf(case)
    assert gc.isenabled()


def test_a_change_to_the_stylesheet_shows_in_the_next_render(db, tmp_path, settings):
    """The worker keeps pdf.css parsed between renders, but not past an edit."""
    css = tmp_path / "css" / "pdf.css"
    css.parent.mkdir()
    settings.STATICFILES_DIRS = [tmp_path, *settings.STATICFILES_DIRS]
    html = "<html><body><p>Styled</p></body></html>"

    css.write_text("@page { size: 100mm 100mm; }")
    first = pdf.layout(html)
    css.write_text("@page { size: 100mm 200mm; }")
    os.utime(css, ns=(css.stat().st_atime_ns, css.stat().st_mtime_ns + 10**9))
    second = pdf.layout(html)

    mm = 96 / 25.4  # CSS pixels per millimetre
    assert round(first.pages[0].height / mm) == 100
    assert round(second.pages[0].height / mm) == 200


def test_benefits_without_investment_show_na_not_a_division_error(db):
    case = CaseFactory(title="Free lunch")
    BenefitYearFactory(benefit=BenefitFactory(case=case), year=1)

    doc = render(case)

    summary = doc.lines(doc.starts()[SUMMARY])
    assert summary[summary.index("BREAK-EVEN SHARE") + 1] == "n/a"
    numbers = doc.section_text(NUMBERS)
    assert re.search(r"^Expected 138,889 .* n/a$", numbers, re.MULTILINE)


def test_a_long_stage_breaks_its_table_across_pages_and_repeats_the_header(db):
    case = CaseFactory(title="Many risks")
    stage = BY_KEY["risks_of_acting"]
    for n in range(1, 151):
        RiskOfActingFactory(
            case=case,
            title=f"Hazard {n:03d}",
            mitigation=f"Countermeasure {n:03d}: train early and review monthly.",
        )

    doc = render(case)

    pages = doc.span(stage_heading(stage))
    assert len(pages) >= 3
    for number in pages:
        assert "# Risk Leg L × I Mitigation Owner" in doc.lines(number), number
    # Every row is printed once, whole: its title and mitigation on one page.
    for n in range(1, 151):
        holding = [
            p
            for p in pages
            if f"Hazard {n:03d}" in doc.texts[p - 1]
            and f"Countermeasure {n:03d}" in doc.texts[p - 1]
        ]
        assert len(holding) == 1, n


# --- The cover, the appendix and figures out of the ordinary --------------------------

LONG_TITLES = {
    "words": (
        "Direct-to-site delivery for regional distribution with cross-docking, "
        "consolidated freight, supplier-managed inventory and digital proof of "
        "delivery across all eight business units, seven partners and the far regions"
    )[:200],
    "one word": "W" * 200,
}


def box_of(box, css_class: str):
    """The outermost laid-out box of the one element with `css_class`."""
    found = [
        b
        for b in box.descendants()
        if b.element is not None and css_class in (b.element.get("class") or "").split()
    ]
    assert found and all(b.element is found[0].element for b in found), css_class
    return found[0]


@pytest.mark.parametrize("paper", PAPERS)
@pytest.mark.parametrize("kind", LONG_TITLES)
def test_a_long_title_shows_in_full_inside_the_covers_band(db, kind, paper):
    """Titles may run to 200 characters, even as one unbroken word: the band
    grows (and the title is set smaller) so that all of it is white on dark, on
    the cover page; the running header cuts it short with an ellipsis."""
    title = LONG_TITLES[kind]
    assert len(title) == 200
    case = CaseFactory(title=title, idea="One line.\nAnother line.")
    context = pdf.document_context(case, paper_size=paper)
    document = pdf.layout(pdf.render_html(context))

    page = document.pages[0]
    band = box_of(page._page_box, "cover-band")
    heading = box_of(band, "cover-title")
    left, top = band.border_box_x(), band.border_box_y()
    right, bottom = left + band.border_width(), top + band.border_height()
    assert left >= 0 and right <= page.width + 0.01
    runs = [b for b in heading.descendants() if isinstance(b, TextBox)]
    assert "".join(run.text for run in runs).replace(" ", "") == title.replace(" ", "")
    for run in runs:  # every piece of the title is drawn on the band
        assert left <= run.position_x, run.text
        assert run.position_x + run.width <= right + 0.01, run.text
        assert top <= run.position_y, run.text
        assert run.position_y + run.height <= bottom + 0.01, run.text
    # ... and the cover is still one page: the contents come next.
    doc = Pdf(pdf.RenderedPdf(document.write_pdf(), len(document.pages)))
    assert squash(title) in squash(doc.texts[0])
    assert doc.lines(2)[0] == "Contents"
    # The running header: one line, cut off with an ellipsis where the box ends.
    (header,) = [
        box
        for box in document.pages[1]._page_box.children
        if getattr(box, "at_keyword", None) == "@top-left"
    ]
    lines = [b for b in header.descendants() if isinstance(b, LineBox)]
    assert len(lines) == 1
    assert lines[0].width > header.width
    assert (header.style["overflow"], header.style["text_overflow"]) == (
        "hidden",
        "ellipsis",
    )


def test_the_ideas_line_breaks_show_on_the_cover_and_its_text_stays_text(db):
    case = CaseFactory(
        title="Lines",
        idea="First line of the idea.\nSecond <b>line</b> & more.\n\n\nA new paragraph.",
    )

    doc = render(case)

    cover = doc.lines(1)
    start = cover.index("First line of the idea.")
    assert cover[start : start + 3] == [
        "First line of the idea.",
        "Second <b>line</b> & more.",
        "A new paragraph.",
    ]
    stage_one = doc.lines(doc.starts()[stage_heading(STAGES[0])])
    assert "Second <b>line</b> & more." in stage_one


def test_the_health_appendix_names_each_check_in_words_never_by_its_code(db):
    case = CaseFactory(title="Weak spots")
    for commitment in (Commitment.TO_CONFIRM, Commitment.DECLINED):
        EcosystemPartyFactory(case=case, commitment=commitment)
    BenefitYearFactory(benefit=BenefitFactory(case=case, metric=None), year=1)
    found = health.check(case, figures.compute(case))
    codes = {issue.code for issue in found}
    assert {"party_to_confirm", "party_declined", "benefit_without_metric"} <= codes

    appendix = render(case).section_text(APPENDIX)

    squashed = squash(appendix)
    for issue in found:
        assert squash(issue.label) in squashed, issue.code
    for code in health.LABELS:
        assert squash(code) not in squashed
    assert "_" not in appendix


def test_figures_out_of_the_ordinary_read_in_words_and_billions(db):
    """An investment of 950 billion against benefits of a few million: no
    "67349 %" and no "950003.86M"."""
    case = CaseFactory(title="Out of proportion", horizon_years=3)
    InvestmentFactory(case=case, year=0, amount=Decimal("950003860000.40"))
    BenefitYearFactory(
        benefit=BenefitFactory(case=case),
        year=1,
        low=Decimal("1000000"),
        expected=Decimal("1410000"),
        high=Decimal("2000000"),
    )
    share = figures.compute(case).break_even_share
    assert share > 100_000

    doc = render(case)

    summary = doc.lines(doc.starts()[SUMMARY])
    assert summary[summary.index("BREAK-EVEN SHARE") + 1] == "> 100 %"
    text = norm("\n".join(summary))
    assert "Even the expected benefits do not cover the investment" in text
    assert f"{round(share):,} times as large" in text
    assert not re.search(r"\d{4,} ?%", text)
    assert "950.00B" in text  # the investment's headline
    assert not re.search(r"\d{4,}(\.\d+)?[kMBT]\b", text)
    numbers = doc.section_text(NUMBERS)
    axis = re.findall(r"^-?[\d.]+[kMBT]$", numbers, re.MULTILINE)
    assert axis and any(label.endswith("B") for label in axis), axis
    for label in axis:
        assert re.fullmatch(r"-?\d{1,3}(\.\d+)?[kMBT]", label), label


def twelve_digit_case(horizon: int, amount: str = "999999999999") -> Case:
    """A case of the largest amounts the forms take, every year of the horizon:
    capital and operating spend, two benefits, a cost of inaction; and a
    lagging metric (revenue, say) of as many digits."""
    amount = Decimal(amount)
    case = CaseFactory(title="Twelve digits", horizon_years=horizon)
    LaggingMetricFactory(case=case, baseline=amount, target=amount * 2)
    benefits = [BenefitFactory(case=case) for _ in range(2)]
    risk = RiskOfNotActingFactory(case=case)
    for year in range(horizon + 1):
        for kind in ("capex", "opex"):
            InvestmentFactory(case=case, year=year, kind=kind, amount=amount)
        for benefit in benefits:
            BenefitYearFactory(
                benefit=benefit, year=year, low=amount, expected=amount, high=amount
            )
        InactionCostFactory(risk=risk, year=year, amount=amount)
    return case


@pytest.mark.parametrize("paper", PAPERS)
@pytest.mark.parametrize("horizon", [1, 5, 10])
def test_twelve_digit_amounts_fit_their_cells_in_a_compact_unit(db, horizon, paper):
    """999,999,999,999 a year, twice over: a per-year table too narrow for it
    switches as a whole to billions or trillions and says so; one wide enough
    (two years in a row) keeps it in full. Every amount is on one line inside
    its cell, on A4 and Letter, however many years share the row."""
    case = twelve_digit_case(horizon)
    document = laid_out(case, paper)

    assert cell_misfits(document) == []
    doc = Pdf(pdf.RenderedPdf(document.write_pdf(), len(document.pages)))
    compact = r"(2,000\.00B|2\.00T)"  # two amounts: 1,999,999,999,998
    summary = doc.section_text(SUMMARY)
    assert re.search(r"PER YEAR \(EUR, IN (BILLIONS|TRILLIONS)\)", summary)
    assert re.search(rf"^Year 1( {compact}){{3}}$", summary, re.M)
    numbers = doc.section_text(NUMBERS)
    in_unit = (
        r"Figures in EUR; the table's amounts in (billions \(B\)|trillions \(T\))\."
    )
    year = "1,999,999,999,998" if horizon == 1 else compact
    assert bool(re.search(in_unit, norm(numbers))) == (horizon > 1)
    # (in eleven columns the row's label is a line of its own: "Invest-ment")
    investment = rf"^(Investment )?{year}( {year}){{{horizon}}}$"
    assert re.search(investment, numbers, re.M)
    benefits = norm(doc.section_text(stage_heading(BY_KEY["benefits"])))
    assert re.search(r"EUR (billions|trillions): low / expected / high", benefits)
    # One 12-digit amount fits the investments' wide column in full.
    investments = doc.section_text(stage_heading(BY_KEY["investments"]))
    assert "999,999,999,999" in investments


def test_amounts_past_any_unit_break_inside_their_cells(db):
    """Person-days times a day rate can reach a hundred quintillion a year; in
    eleven columns no unit makes that fit on a line, so it breaks, but inside
    its cell; the headline figures stay inside their boxes too."""
    case = CaseFactory(title="Out of all proportion", horizon_years=10)
    for year in range(11):
        InvestmentFactory(
            case=case,
            year=year,
            kind="time",
            amount=None,
            person_days=Decimal("99999999.99"),
            day_rate=Decimal("999999999999.99"),
        )
    BenefitYearFactory(benefit=BenefitFactory(case=case), year=1)

    document = laid_out(case)

    # (the headline figures are table cells too: .kpi)
    assert cell_misfits(document, amounts_may_wrap=True) == []


@pytest.mark.parametrize(
    ("invested", "expected", "shown"),
    [
        ("100", "1100", "1,000 %"),
        ("100", "1101", "over 1,000 %"),
        ("1", "10000000", "over 1,000 %"),
    ],
)
def test_roi_past_a_thousand_percent_reads_over_1000(db, invested, expected, shown):
    """An investment of 1 against 10 million of benefits: not "999,999,900 %"."""
    case = CaseFactory(title="Lopsided", horizon_years=3)
    InvestmentFactory(case=case, year=0, amount=Decimal(invested))
    BenefitYearFactory(
        benefit=BenefitFactory(case=case),
        year=1,
        low=Decimal(expected),
        expected=Decimal(expected),
        high=Decimal(expected),
    )

    numbers = render(case).section_text(NUMBERS)

    for scenario in ("Low", "Expected", "High"):
        assert re.search(rf"^{scenario} .* {shown}$", numbers, re.M), scenario
    assert not re.search(
        r"\d{5,} ?%|\d{1,3}(,\d{3})+ %", numbers.replace("1,000 %", "")
    )


def test_npv_is_shown_in_whole_units_like_every_other_amount(db):
    case = CaseFactory(title="Discounted", horizon_years=3)
    InvestmentFactory(case=case, year=0, amount=Decimal("100000"))
    BenefitYearFactory(benefit=BenefitFactory(case=case), year=1)
    f = figures.compute(case)
    assert f.npv["expected"] != f.npv["expected"].to_integral()  # cents to hide

    numbers = render(case).section_text(NUMBERS)

    for scenario in ("low", "expected", "high"):
        shown = money_whole(f.npv[scenario])
        assert "." not in shown
        assert re.search(
            rf"^{scenario.capitalize()} {re.escape(shown)} ", numbers, re.MULTILINE
        ), scenario


# --- Charts ---------------------------------------------------------------------------


def svg_root(svg: str) -> ET.Element:
    assert svg.startswith("<?xml") or "<svg" in svg
    root = ET.fromstring(svg.encode())  # noqa: S314 - our own chart output
    assert root.tag == f"{SVG}svg"
    return root


def svg_texts(root: ET.Element) -> list[ET.Element]:
    return list(root.iter(f"{SVG}text"))


@pytest.fixture
def charted(db):
    case = CaseFactory(title="Charted", client=ClientFactory(name="Foo & <Bar>"))
    InvestmentFactory(case=case, year=0, amount=Decimal("250000"))
    BenefitYearFactory(benefit=BenefitFactory(case=case), year=2)
    EcosystemPartyFactory(
        case=case, organisation=OrganisationFactory(name="Foo & <Bar> Ltd")
    )
    EcosystemPartyFactory(
        case=case,
        organisation=BusinessUnitFactory(name="Cost $x$ Unit", parent=case.client),
    )
    return case


def test_investment_chart_is_an_svg_of_the_cases_years(charted):
    svg = charts.investment_vs_benefit(figures.compute(charted))

    labels = [t.text for t in svg_texts(svg_root(svg))]
    assert [f"Year {y}" for y in charted.years] == [
        label for label in labels if label and label.startswith("Year ")
    ]
    assert "EUR" in labels


def test_ecosystem_chart_prints_names_as_escaped_text_never_as_markup_or_math(
    charted,
):
    parties = list(BY_KEY["ecosystem"].items(charted))

    svg = charts.ecosystem_picture(charted.client.name, parties)

    assert "Foo &amp; &lt;Bar&gt;" in svg
    assert "<Bar>" not in svg
    texts = [t.text for t in svg_texts(svg_root(svg))]
    assert "Foo & <Bar>" in texts  # the client, in the middle
    assert "Foo & <Bar> Ltd" in texts  # a company, on the outer ring
    # "$x$" is text, never a formula.
    assert "Cost $x$ Unit" in texts  # a business unit, on the inner ring


def test_risk_map_places_every_risk_even_two_in_one_cell(db):
    case = CaseFactory()
    risks = [
        RiskOfActingFactory(case=case, likelihood=3, impact=4),
        RiskOfActingFactory(case=case, likelihood=3, impact=4),
        RiskOfActingFactory(case=case, likelihood=1, impact=5),
    ]

    root = svg_root(charts.risk_map(risks, title="Risks & <acting>"))

    dots = {
        t.text: (float(t.get("x")), float(t.get("y")))
        for t in svg_texts(root)
        if "fill: #ffffff" in t.get("style", "")
    }
    assert sorted(dots) == ["1", "2", "3"]
    assert dots["1"] != dots["2"]  # the two in one cell do not hide each other
    # ... and stay in their cell: closer to each other than to the third.
    (x1, y1), (x2, y2), (x3, y3) = dots["1"], dots["2"], dots["3"]
    assert math.dist((x1, y1), (x2, y2)) < math.dist((x1, y1), (x3, y3))
    assert "Risks &amp; &lt;acting&gt;" in ET.tostring(root, encoding="unicode")


def test_an_empty_risk_map_is_still_a_map(db):
    root = svg_root(charts.risk_map([], title="Risks of acting"))

    texts = [t.text for t in svg_texts(root)]
    assert "Impact" in texts
    assert "Likelihood" in texts
    assert not [t for t in svg_texts(root) if "fill: #ffffff" in t.get("style", "")]
