"""The Executive PDF page in a real browser with a real worker: the status moves
from queued to ready without a reload, the list of earlier exports follows, and
the file downloads."""

import pypdf
import pytest
from playwright.sync_api import expect

from ..workers import Worker
from .conftest import log_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

VIEWER = "david.chen@harbour.example"  # the client's CFO: viewers may export too


@pytest.fixture
def worker(celery_queue, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    worker = Worker(
        queue=celery_queue, media_root=settings.MEDIA_ROOT, log=tmp_path / "worker.log"
    ).start()
    yield worker
    worker.stop()


def test_an_export_moves_to_ready_and_joins_the_list_without_a_reload(
    browser, live_server, demo_case, worker, tmp_path
):
    page = browser.new_context(accept_downloads=True).new_page()
    log_in(page, live_server, VIEWER)
    page.goto(f"{live_server.url}/cases/{demo_case.pk}/exports/")
    history = page.locator("#export-history")
    expect(history).to_contain_text("No PDF has been made of this case yet")
    url = page.url

    page.get_by_role("button", name="Export PDF").click()

    # At once, the new export is in the list of earlier ones, not yet ready.
    expect(history.locator("tbody tr")).to_have_count(1)
    expect(history).not_to_contain_text("No PDF has been made")
    status = page.locator("#export-status")
    expect(status.get_by_role("link", name="Download the PDF")).to_be_visible(
        timeout=60_000
    )
    expect(status).to_contain_text("19 pages")
    # The list shows the file too, with who asked, still without a reload.
    row = history.locator("tbody tr").first
    expect(row).to_contain_text("Ready")
    expect(row).to_contain_text("David Chen")
    expect(row.get_by_role("link", name="PDF")).to_be_visible()
    assert page.url == url

    with page.expect_download() as download:
        row.get_by_role("link", name="PDF").click()
    saved = tmp_path / "case.pdf"
    download.value.save_as(saved)
    reader = pypdf.PdfReader(saved)
    assert len(reader.pages) == 19
    assert demo_case.title in reader.metadata.title
