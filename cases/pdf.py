"""The executive PDF: the case as HTML from `templates/cases/pdf/`, laid out by
WeasyPrint. Imported by Celery workers (weasyprint is imported once per worker
process) and by `manage.py render_pdf`; never by web views.

WeasyPrint fetches nothing but the app's own static files and `data:` URLs: a
case is written by many people, and a renderer that follows `file://` or
`http://` links would let one of them pull the server's files or its internal
network into a PDF. User text is escaped by the templates; the fetcher is the
second wall.
"""

from __future__ import annotations

import base64
import gc
import logging
import mimetypes
import os
import ssl
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path
from urllib.parse import unquote

import weasyprint
from django.contrib.staticfiles import finders
from django.template.loader import render_to_string
from django.utils import timezone
from weasyprint.text.fonts import FontConfiguration
from weasyprint.urls import URLFetcher, URLFetcherResponse

from . import charts, figures, health
from .models import (
    BuyingElement,
    BuyingRating,
    Case,
    Leg,
    Membership,
    PaperSize,
    Recommendation,
    Side,
    StageRecord,
    StageStatus,
)
from .stages import STAGES

logger = logging.getLogger(__name__)

# Static files are linked from the PDF templates under this made-up origin; the
# fetcher maps it to files the staticfiles finders know, and nothing else.
STATIC_ORIGIN = "https://jointcase.invalid/static/"

Progress = Callable[[int, str], None]


# The fetcher never opens a network connection, so its (unused) HTTPS handler
# gets a bare TLS context: the default one loads the system's certificates,
# some 35 ms on every render.
_UNUSED_TLS = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)


class StaticOnlyFetcher(URLFetcher):
    """Serves `data:` URLs and the app's own static files; refuses the rest."""

    def __init__(self, timeout: float = 5) -> None:
        super().__init__(
            timeout=timeout,
            ssl_context=_UNUSED_TLS,
            allowed_protocols={"data"},
            allow_redirects=False,
        )

    def fetch(self, url: str, headers=None) -> URLFetcherResponse:
        if url.startswith("data:"):
            return super().fetch(url, headers)
        if url.startswith(STATIC_ORIGIN):
            relative = unquote(url[len(STATIC_ORIGIN) :].split("?")[0].split("#")[0])
            if ".." not in Path(relative).parts:
                found = finders.find(relative)
                if found:
                    path = Path(found)
                    content_type = (
                        mimetypes.guess_type(path.name)[0] or "application/octet-stream"
                    )
                    return URLFetcherResponse(
                        url,
                        body=path.read_bytes(),
                        headers={"Content-Type": content_type},
                    )
        logger.warning("PDF render refused to fetch %s", url[:200])
        raise ValueError(
            f"Not fetched: only the app's own static files are allowed ({url[:80]})"
        )


@dataclass(frozen=True)
class RenderedPdf:
    content: bytes
    pages: int


def svg_data_url(svg: str) -> str:
    return "data:image/svg+xml;base64," + base64.b64encode(svg.encode()).decode()


def _top(risks, n: int = 3) -> list:
    return sorted(risks, key=lambda r: (-r.exposure, r.position, r.pk))[:n]


def _party_rows(by_party: dict, shown: int = 4) -> list[dict]:
    """Who invests, largest first; beyond the first few, one line for the rest."""
    rows = [
        {"name": f"by {name}", "amount": amount} for name, amount in by_party.items()
    ]
    if len(rows) > shown + 1:
        rest = sum((r["amount"] for r in rows[shown:]), figures.ZERO)
        rows = [
            *rows[:shown],
            {"name": f"by {len(rows) - shown} others", "amount": rest},
        ]
    return rows


def document_context(
    case: Case, *, paper_size: str = PaperSize.A4, version: int = 1
) -> dict:
    """Everything the PDF shows, gathered in a fixed number of queries."""
    records = {r.stage: r for r in StageRecord.objects.filter(case=case)}
    sections = []
    for stage in STAGES:
        items = list(stage.items(case))
        picture = stage.draw_picture(case, items)
        sections.append(
            {
                "stage": stage,
                "items": items,
                "record": records.get(stage.slug),
                "picture": svg_data_url(picture) if picture else None,
            }
        )
    by_key = {s["stage"].key: s["items"] for s in sections}
    members = list(
        Membership.objects.filter(case=case)
        .select_related("user")
        .order_by("side", "role")
    )
    numbers = figures.compute(case)
    recommendation = Recommendation.objects.filter(case=case).first()
    ratings = {(r.side, r.element): r for r in BuyingRating.objects.filter(case=case)}
    buying_view = [
        {
            "label": label,
            "client": ratings.get((Side.CLIENT, element)),
            "seller": ratings.get((Side.SELLER, element)),
        }
        for element, label in BuyingElement.choices
    ]
    parties = by_key["ecosystem"]
    changes = by_key["changes"]
    legs = {leg: sum(1 for c in changes if c.leg == leg) for leg in Leg.values}
    return {
        "case": case,
        "party_rows": _party_rows(numbers.investment_by_party),
        "paper_size": paper_size,
        "version": version,
        "generated_at": timezone.now(),
        "static": STATIC_ORIGIN,
        "sections": sections,
        "items": by_key,
        "toc": [
            ("summary", "Executive summary"),
            ("numbers", "The numbers"),
            *((f"stage-{s.slug}", f"{s.number}. {s.title}") for s in STAGES),
            ("participants", "Participants and agreement"),
            ("appendix-health", "Appendix: case health"),
        ],
        "records": [
            {"stage": stage, "record": records.get(stage.slug)} for stage in STAGES
        ],
        "agreed_count": sum(
            1 for r in records.values() if r.status == StageStatus.AGREED
        ),
        "members_by_side": [
            {"side": label, "members": [m for m in members if m.side == value]}
            for value, label in Side.choices
        ],
        "figures": numbers,
        "recommendation": recommendation,
        "buying_view": buying_view,
        "health": health.check(case, numbers),
        "legs": legs,
        "units": [p for p in parties if p.organisation.is_business_unit],
        "companies": [p for p in parties if not p.organisation.is_business_unit],
        "top_risks_acting": _top(by_key["risks_of_acting"]),
        "top_risks_not_acting": _top(by_key["risks_of_not_acting"]),
        "charts": {
            "money": svg_data_url(charts.investment_vs_benefit(numbers)),
            "risks_acting": svg_data_url(
                charts.risk_map(by_key["risks_of_acting"], title="Risks of acting")
            ),
            "risks_not_acting": svg_data_url(
                charts.risk_map(
                    by_key["risks_of_not_acting"], title="Risks of not acting"
                )
            ),
        },
    }


def render_html(context: dict) -> str:
    return render_to_string("cases/pdf/case.html", context)


# What a worker keeps between renders, per thread (Pango's font map is not
# thread-safe): the font configuration, so that fonts and their shaping caches
# stay loaded instead of being read again for every export, and the stylesheet
# parsed against it, parsed again only when the file changes.
_kept = threading.local()
STYLESHEET = "css/pdf.css"


def _fonts() -> FontConfiguration:
    if getattr(_kept, "fonts", None) is None:
        _kept.fonts = FontConfiguration()
    return _kept.fonts


def _stylesheet() -> weasyprint.CSS:
    path = finders.find(STYLESHEET)
    key = (path, os.stat(path).st_mtime_ns)
    if getattr(_kept, "stylesheet_key", None) != key:
        _kept.stylesheet = weasyprint.CSS(
            url=STATIC_ORIGIN + STYLESHEET,
            url_fetcher=StaticOnlyFetcher(),
            font_config=_fonts(),
        )
        _kept.stylesheet_key = key
    return _kept.stylesheet


def layout(html: str) -> weasyprint.Document:
    """WeasyPrint's layout of the document's HTML, with pdf.css.

    pdf.css goes in already parsed, as what WeasyPrint calls a user stylesheet:
    it ranks below the template's own `<style>` and `style` attributes, which
    only set the paper size and column widths."""
    return weasyprint.HTML(
        string=html, base_url=STATIC_ORIGIN, url_fetcher=StaticOnlyFetcher()
    ).render(stylesheets=[_stylesheet()], font_config=_fonts())


@contextmanager
def collector_paused() -> Iterator[None]:
    """Python's cycle collector off while WeasyPrint works.

    A render allocates a few million short-lived objects, nearly all freed by
    reference counting as soon as they are done with; each batch of them would
    otherwise set the collector walking the process's whole heap (Django, the
    ORM rows, WeasyPrint's own caches), some 15 % of a render. The few cycles a
    render leaves are collected in one pass once the collector is back on.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def render_pdf(
    case: Case,
    *,
    paper_size: str = PaperSize.A4,
    version: int = 1,
    progress: Progress | None = None,
) -> RenderedPdf:
    """Render the case as the executive PDF, reporting progress as it goes."""
    report = progress or (lambda percent, step: None)
    steps = [("start", time.perf_counter())]

    def step(percent: int, name: str) -> None:
        steps.append((name, time.perf_counter()))
        report(percent, name)

    step(10, "Gathering the case")
    context = document_context(case, paper_size=paper_size, version=version)
    step(35, "Writing the pages")
    html = render_html(context)
    with collector_paused():
        step(45, "Laying out the pages")
        document = layout(html)
        step(85, "Writing the PDF")
        content = document.write_pdf()
        pages = len(document.pages)
        # Let go of the laid-out document while the collector is still off:
        # back on, its first pass would walk the whole tree before letting go.
        del document
    step(95, "Saving the file")
    logger.info(
        "PDF of case %s: %d pages in %.2f s (%s)",
        case.pk,
        pages,
        steps[-1][1] - steps[0][1],
        ", ".join(
            f"{name.lower()} {end - start:.2f} s"
            for (name, start), (_, end) in pairwise(steps[1:])
        ),
    )
    return RenderedPdf(content=content, pages=pages)


def warm_up() -> None:
    """Load fonts, the stylesheet and the chart machinery once (called by the
    worker at start, before its pool forks)."""
    layout(
        "<h1>Warm</h1><p><strong>up</strong> <em>the</em> <strong><em>fonts</em></strong></p>"
    ).write_pdf()
    charts.load_metrics()
