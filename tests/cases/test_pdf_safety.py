"""The PDF renderer fetches nothing but the app's own static files: markup typed
into a case is printed as text, and neither the server's files nor its network
end up in (or are touched by) the PDF."""

from __future__ import annotations

import io
import threading
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pypdf
import pytest
from django.contrib.staticfiles import finders
from django.core.exceptions import SuspiciousFileOperation

from cases import pdf
from cases.models import StageRecord

from ..factories import (
    CaseFactory,
    ChangeItemFactory,
    ClientFactory,
    EcosystemPartyFactory,
    OrganisationFactory,
    RiskOfActingFactory,
)

FILE_IMG = '<img src="file:///etc/hostname">'
FILE_ATTACHMENT = '<link rel="attachment" href="file:///etc/hostname">'


def squash(text: str) -> str:
    """Text with no whitespace and no hyphens added by line breaking."""
    return "".join(text.split()).replace("\u2010", "").replace("\u00ad", "")


class Server:
    """A local HTTP server that counts the requests it gets."""

    def __init__(self):
        self.requests: list[str] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                server.requests.append(self.path)
                self.send_response(200)
                self.send_header("Content-Type", "image/png")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.httpd.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}/"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()


@pytest.fixture
def server():
    server = Server()
    # The counter counts: a request that does reach it is seen.
    with urllib.request.urlopen(server.url + "probe", timeout=5):  # noqa: S310
        pass
    assert server.requests == ["/probe"]
    server.requests.clear()
    yield server
    server.httpd.shutdown()
    server.httpd.server_close()


def hostname() -> str:
    path = Path("/etc/hostname")
    return path.read_text().strip() if path.exists() else ""


def test_markup_in_a_case_is_printed_as_text_and_fetches_nothing(db, server):
    remote_img = f'<img src="{server.url}x.png">'
    remote_attachment = f'<link rel="attachment" href="{server.url}a.txt">'
    case = CaseFactory(
        title="Hostile input",
        idea=f"Ship straight to site. {remote_img} {remote_attachment}",
        client=ClientFactory(name=f'Acme "> {FILE_ATTACHMENT} Corp'),
    )
    ChangeItemFactory(case=case, title=FILE_IMG, description=FILE_ATTACHMENT)
    RiskOfActingFactory(case=case, title="Remote image", mitigation=remote_img)
    EcosystemPartyFactory(
        case=case,
        organisation=OrganisationFactory(name=f"Evil {remote_img} Ltd"),
        responsibilities=FILE_IMG,
    )
    StageRecord.objects.filter(case=case, stage="models").update(
        notes=f"{FILE_IMG} {remote_attachment}"
    )

    rendered = pdf.render_pdf(case)

    assert server.requests == []
    reader = pypdf.PdfReader(io.BytesIO(rendered.content))
    assert dict(reader.attachments) == {}
    names = reader.trailer["/Root"].get("/Names")
    assert names is None or "/EmbeddedFiles" not in names.get_object()
    for page in reader.pages:
        for annot in page.get("/Annots") or []:
            assert annot.get_object().get("/Subtype") != "/FileAttachment"
    text = "\n".join(page.extract_text() for page in reader.pages)
    if content := hostname():
        assert content not in text
    printed = squash(text)
    for markup in (FILE_IMG, FILE_ATTACHMENT, remote_img, remote_attachment):
        assert squash(markup) in printed, markup
    assert squash(f"Evil {remote_img} Ltd") in printed
    # The client's name is metadata too: the quote did not break out of it.
    assert reader.metadata["/Author"].endswith(f'with Acme "> {FILE_ATTACHMENT} Corp')


# --- The fetcher on its own ----------------------------------------------------------


@pytest.fixture
def fetcher():
    return pdf.StaticOnlyFetcher(timeout=2)


def test_fetcher_serves_data_urls(fetcher):
    response = fetcher.fetch("data:text/plain;base64,aGVsbG8=")

    assert response.read() == b"hello"


def test_fetcher_serves_the_apps_own_static_files(fetcher):
    response = fetcher.fetch(pdf.STATIC_ORIGIN + "css/pdf.css")

    assert response.read() == Path(finders.find("css/pdf.css")).read_bytes()
    assert response.content_type == "text/css"


@pytest.mark.parametrize(
    "url",
    [
        pdf.STATIC_ORIGIN + "../../etc/passwd",
        pdf.STATIC_ORIGIN + "css/../../../etc/passwd",
        pdf.STATIC_ORIGIN + "%2e%2e/%2e%2e/etc/passwd",
        pdf.STATIC_ORIGIN + "/etc/passwd",
        pdf.STATIC_ORIGIN + "%2Fetc%2Fhostname",
        pdf.STATIC_ORIGIN + "css/missing.css",
        "file:///etc/hostname",
        "file:///etc/passwd",
        "https://jointcase.invalid/etc/passwd",
    ],
)
def test_fetcher_refuses_anything_else(fetcher, url):
    with pytest.raises((ValueError, SuspiciousFileOperation)):
        fetcher.fetch(url)


def test_fetcher_refuses_the_network_without_a_request(fetcher, server):
    for url in (server.url, server.url + "x.png", f"http://localhost:{server.port}/"):
        with pytest.raises(ValueError, match="Not fetched"):
            fetcher.fetch(url)

    assert server.requests == []
