"""The executive PDF through a real `celery worker` process, on the broker the
settings name: the embedded filesystem broker by default, Redis when
CELERY_BROKER_URL points at it (CI runs both)."""

from __future__ import annotations

import io

import pypdf
import pytest
from django.core.management import call_command
from django.urls import reverse

from cases import exports
from cases.management.commands.make_big_case import build_big_case
from cases.models import Case, ExportStatus, PdfExport
from cases.stages import STAGES

from ..workers import Worker, wait_for

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def media_root(tmp_path, settings):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


@pytest.fixture
def start_worker(celery_queue, media_root, tmp_path):
    workers: list[Worker] = []

    def start() -> Worker:
        worker = Worker(
            queue=celery_queue, media_root=media_root, log=tmp_path / "worker.log"
        )
        workers.append(worker.start())
        return worker

    yield start
    for worker in workers:
        worker.stop()


@pytest.fixture
def demo(db):
    call_command("load_demo", stdout=io.StringIO())
    return Case.objects.get(extra__demo=True)


def pdf_text(content: bytes) -> str:
    return "\n".join(
        page.extract_text() for page in pypdf.PdfReader(io.BytesIO(content)).pages
    )


def test_demo_case_exported_through_the_web_by_a_real_worker(
    client, demo, start_worker
):
    start_worker()
    viewer = demo.memberships.get(role="viewer").user  # viewers may export too
    client.force_login(viewer)

    response = client.post(
        reverse("cases:exports", args=[demo.pk]),
        {"paper_size": "A4"},
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 200
    assert 'hx-trigger="every 1s"' in response.text, "the page polls while it renders"
    export = PdfExport.objects.get(case=demo)
    status_url = reverse("cases:export_status", args=[demo.pk, export.pk])

    def finished():
        page = client.get(status_url, HTTP_HX_REQUEST="true").text
        return page if "hx-trigger" not in page else None

    page = wait_for(finished, timeout=120, interval=0.5, what="the export to finish")
    export.refresh_from_db()
    assert export.status == ExportStatus.DONE, export.error
    assert "Download the PDF" in page, "polling stopped and the download link shows"

    download = client.get(reverse("cases:export_download", args=[demo.pk, export.pk]))
    assert download.status_code == 200
    assert download["Content-Type"] == "application/pdf"
    assert "attachment" in download["Content-Disposition"]
    content = b"".join(download.streaming_content)
    reader = pypdf.PdfReader(io.BytesIO(content))
    assert len(reader.pages) == export.pages >= 12
    assert reader.metadata.title == demo.title
    text = " ".join(pdf_text(content).split())  # table cells wrap lines
    for stage in STAGES:
        assert stage.title in text, f"stage heading {stage.title!r} in the PDF"
    assert "Harbour Building Supplies" in text
    assert "Double handling grows with wages and fuel" in text  # a risk of not acting
    assert "1,033,900" in text  # its total investment, as the summary shows it


def test_killed_worker_does_not_lose_the_export(demo, start_worker, media_root):
    """SIGKILL mid-render; a new worker finishes the same export, with one file."""
    owner = demo.memberships.get(role="facilitator").user
    big = build_big_case(user=owner, items=500)  # long enough to kill mid-render
    worker = start_worker()
    export = exports.request_export(case=big, user=owner)

    def rendering():
        export.refresh_from_db()
        return export.status == ExportStatus.RUNNING and export.progress >= 35

    wait_for(rendering, timeout=120, interval=0.05, what="the render to start")
    worker.kill()
    export.refresh_from_db()
    assert export.status == ExportStatus.RUNNING, "killed mid-render, not finished"
    assert not export.file

    start_worker()  # a new worker picks up what the dead one left

    def done():
        export.refresh_from_db()
        return export.is_finished

    wait_for(
        done, timeout=240, interval=0.5, what="the export to finish after the restart"
    )
    assert export.status == ExportStatus.DONE, export.error
    assert export.attempts == 2
    assert PdfExport.objects.filter(case=big).count() == 1
    files = list((media_root / "exports" / f"case-{big.pk}").iterdir())
    assert [f.name for f in files] == [f"export-{export.pk}.pdf"]
    reader = pypdf.PdfReader(files[0])
    assert len(reader.pages) == export.pages
    assert reader.metadata.title == big.title


def test_worker_start_names_missing_pdf_packages(monkeypatch, caplog):
    """Without pango or harfbuzz-subset the worker says what to install, at start."""
    import businesscase.celery as worker_app

    monkeypatch.setattr(
        worker_app.ctypes.util,
        "find_library",
        lambda name: None if name == "harfbuzz-subset" else f"lib{name}.so",
    )
    with caplog.at_level("ERROR", logger="businesscase.worker"):
        worker_app.report_missing_pdf_packages()
    assert "apt-get install libharfbuzz-subset0" in caplog.text
