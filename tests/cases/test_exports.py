"""PDF exports: who may ask and download, what an unchanged case reuses, and what
the user sees when the broker is down, a render fails or a job is stuck."""

from __future__ import annotations

import io
import socket
import subprocess
import time
from datetime import timedelta
from pathlib import Path

import pypdf
import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.urls import reverse
from django.utils import timezone

from cases import exports, pdf
from cases.models import ExportStatus, PdfExport

from ..factories import CaseFactory, ChangeItemFactory, RiskOfActingFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def media_root(tmp_path, settings):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


def done_export(case, user, content=b"%PDF-1.7 test"):
    export = PdfExport.objects.create(
        case=case,
        requested_by=user,
        content_hash="x" * 64,
        status=ExportStatus.DONE,
        progress=100,
        pages=1,
    )
    export.file.save(f"export-{export.pk}.pdf", ContentFile(content))
    return export


def urls(case, export):
    return {
        "page": reverse("cases:exports", args=[case.pk]),
        "status": reverse("cases:export_status", args=[case.pk, export.pk]),
        "download": reverse("cases:export_download", args=[case.pk, export.pk]),
    }


# --- Access ---------------------------------------------------------------------


@pytest.mark.parametrize("name", ["page", "status", "download"])
def test_anonymous_is_sent_to_log_in(client, case, facilitator, name):
    url = urls(case, done_export(case, facilitator))[name]
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


@pytest.mark.parametrize("name", ["page", "status", "download"])
def test_non_member_gets_404_for_every_export_url(
    as_user, case, facilitator, outsider, name
):
    url = urls(case, done_export(case, facilitator))[name]
    assert as_user(outsider).get(url).status_code == 404


def test_non_member_cannot_ask_for_an_export(as_user, case, outsider):
    response = as_user(outsider).post(
        reverse("cases:exports", args=[case.pk]), {"paper_size": "A4"}
    )
    assert response.status_code == 404
    assert not PdfExport.objects.exists()


@pytest.mark.parametrize("persona", ["viewer", "client_contributor", "facilitator"])
def test_every_member_may_download(as_user, case, facilitator, persona, request):
    user = request.getfixturevalue(persona)
    export = done_export(case, facilitator, b"%PDF-1.7 the agreed one")
    response = as_user(user).get(urls(case, export)["download"])
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == b"%PDF-1.7 the agreed one"
    assert response["Content-Type"] == "application/pdf"


def test_viewer_may_ask_for_an_export(as_user, case, viewer):
    response = as_user(viewer).post(
        reverse("cases:exports", args=[case.pk]), {"paper_size": "letter"}
    )
    assert response.status_code == 302
    export = PdfExport.objects.get(case=case)
    assert export.requested_by == viewer
    assert export.paper_size == "letter"
    assert export.status == ExportStatus.QUEUED


def test_an_export_of_another_case_is_404_through_this_cases_urls(
    as_user, case, facilitator
):
    foreign = done_export(CaseFactory(), facilitator)
    client = as_user(facilitator)
    assert client.get(urls(case, foreign)["status"]).status_code == 404
    assert client.get(urls(case, foreign)["download"]).status_code == 404


def test_files_are_not_served_from_a_public_media_url(as_user, case, facilitator):
    export = done_export(case, facilitator)
    assert as_user(facilitator).get(f"/media/{export.file.name}").status_code == 404


def test_unknown_paper_size_is_refused(as_user, case, facilitator):
    response = as_user(facilitator).post(
        reverse("cases:exports", args=[case.pk]), {"paper_size": "A0"}
    )
    assert response.status_code == 200
    assert not PdfExport.objects.exists()


# --- The page -----------------------------------------------------------------------


def test_page_lists_earlier_exports_with_who_and_when(
    as_user, case, facilitator, viewer
):
    done_export(case, facilitator)
    page = as_user(viewer).get(reverse("cases:exports", args=[case.pk])).text
    assert facilitator.get_full_name() in page
    assert "Ready" in page
    assert "Download" not in page or "PDF" in page


def test_htmx_request_answers_with_a_polling_status(as_user, case, facilitator):
    response = as_user(facilitator).post(
        reverse("cases:exports", args=[case.pk]),
        {"paper_size": "A4"},
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 200
    assert "<html" not in response.text
    export = PdfExport.objects.get(case=case)
    assert f'hx-get="{urls(case, export)["status"]}"' in response.text
    assert 'hx-trigger="every 1s"' in response.text
    # The new export joins the list of earlier ones at once.
    history = history_in(response.text)
    assert history is not None and 'hx-swap-oob="true"' in history
    assert f'id="export-{export.pk}"' in history and "Queued" in history
    assert "No PDF has been made" not in history


def history_in(html: str) -> str | None:
    """The list of earlier exports in a page or an htmx answer, or None."""
    start = html.find('id="export-history"')
    return html[start : html.find("</table>", start)] if start >= 0 else None


def test_status_of_a_finished_export_stops_polling(as_user, case, facilitator):
    export = done_export(case, facilitator)
    response = as_user(facilitator).get(
        urls(case, export)["status"], HTTP_HX_REQUEST="true"
    )
    assert "hx-trigger" not in response.text
    assert urls(case, export)["download"] in response.text
    # The list of earlier exports on the page is replaced too: with the file.
    history = history_in(response.text)
    assert history is not None and 'hx-swap-oob="true"' in history
    assert urls(case, export)["download"] in history


def test_status_of_a_running_export_leaves_the_list_alone(as_user, case, facilitator):
    as_user(facilitator).post(
        reverse("cases:exports", args=[case.pk]), {"paper_size": "A4"}
    )
    export = PdfExport.objects.get(case=case)
    assert not export.is_finished
    response = as_user(facilitator).get(
        urls(case, export)["status"], HTTP_HX_REQUEST="true"
    )
    assert 'hx-trigger="every 1s"' in response.text
    assert history_in(response.text) is None


# --- Reuse and versions -----------------------------------------------------------


def test_unchanged_case_reuses_its_last_file_and_a_change_renders_again(
    case, facilitator
):
    first = exports.request_export(case=case, user=facilitator)
    exports.run_export(first.pk)
    first.refresh_from_db()
    assert first.status == ExportStatus.DONE

    again = exports.request_export(case=case, user=facilitator)
    assert again.status == ExportStatus.DONE, "no render needed"
    assert again.file.name == first.file.name
    assert again.reused_from == first
    assert again.case_version == first.case_version == 1

    ChangeItemFactory(case=case, title="Train the dispatchers")
    changed = exports.request_export(case=case, user=facilitator)
    assert changed.status == ExportStatus.QUEUED
    assert changed.content_hash != first.content_hash
    assert changed.case_version == 2


def test_paper_size_is_part_of_what_is_reused(case, facilitator):
    a4 = exports.request_export(case=case, user=facilitator, paper_size="A4")
    exports.run_export(a4.pk)
    letter = exports.request_export(case=case, user=facilitator, paper_size="letter")
    assert letter.status == ExportStatus.QUEUED


# --- One export, one file -------------------------------------------------------------


def test_a_second_run_of_the_same_export_renders_nothing(case, facilitator, media_root):
    export = exports.request_export(case=case, user=facilitator)
    assert exports.run_export(export.pk).status == ExportStatus.DONE
    assert exports.run_export(export.pk) is None, (
        "a redelivered task does not render again"
    )
    export.refresh_from_db()
    assert export.attempts == 1
    files = list((media_root / "exports" / f"case-{case.pk}").iterdir())
    assert len(files) == 1
    reader = pypdf.PdfReader(files[0])
    assert reader.metadata.title == case.title


def test_an_export_running_in_a_live_worker_is_not_taken(case, facilitator):
    export = exports.request_export(case=case, user=facilitator)
    PdfExport.objects.filter(pk=export.pk).update(
        status=ExportStatus.RUNNING,
        worker=exports.worker_id(),
        heartbeat_at=timezone.now(),
    )
    assert exports.run_export(export.pk) is None


def test_an_export_whose_worker_died_is_taken_over(case, facilitator):
    export = exports.request_export(case=case, user=facilitator)
    dead_pid = 2**22 + 12345  # above pid_max on Linux: no such process
    PdfExport.objects.filter(pk=export.pk).update(
        status=ExportStatus.RUNNING,
        worker=f"{socket.gethostname()}:{dead_pid}",
        attempts=1,
        heartbeat_at=timezone.now(),
    )
    assert exports.run_export(export.pk).status == ExportStatus.DONE
    export.refresh_from_db()
    assert export.attempts == 2


def test_a_killed_worker_not_yet_reaped_counts_as_gone(case, facilitator, monkeypatch):
    """A killed pool process stays a zombie until init reaps it, and a zombie
    still answers signal 0: the worker that starts next must not take it for
    one still rendering (seen in CI on a busy machine)."""
    sent = []
    monkeypatch.setattr(exports, "_send", lambda export: sent.append(export.pk))
    dead = subprocess.Popen(["true"])  # noqa: S607
    deadline = time.monotonic() + 10
    while Path(f"/proc/{dead.pid}/stat").read_text().split()[2] != "Z":
        assert time.monotonic() < deadline, "the child should have exited"
        time.sleep(0.01)
    try:
        export = exports.request_export(case=case, user=facilitator)
        PdfExport.objects.filter(pk=export.pk).update(
            status=ExportStatus.RUNNING,
            worker=f"{socket.gethostname()}:{dead.pid}",
            heartbeat_at=timezone.now(),
        )
        sent.clear()

        assert exports.recover_exports() == [export.pk]
    finally:
        dead.wait()
    live = exports.request_export(case=CaseFactory(), user=facilitator)
    PdfExport.objects.filter(pk=live.pk).update(
        status=ExportStatus.RUNNING,
        worker=exports.worker_id(),  # this very process: alive
        heartbeat_at=timezone.now(),
    )
    assert live.pk not in exports.recover_exports()


def test_a_starting_worker_resends_what_a_dead_worker_was_rendering_at_once(
    case, facilitator, monkeypatch
):
    """A render can now be killed within a second of the request: the worker
    that starts next must not wait for the export to grow old."""
    sent = []
    monkeypatch.setattr(exports, "_send", lambda export: sent.append(export.pk))
    dying = exports.request_export(case=case, user=facilitator)
    PdfExport.objects.filter(pk=dying.pk).update(
        status=ExportStatus.RUNNING,
        worker=f"{socket.gethostname()}:{2**22 + 12345}",  # no such process
        heartbeat_at=timezone.now(),
    )
    sent.clear()
    just_queued = exports.request_export(case=CaseFactory(), user=facilitator)
    old_queued = exports.request_export(case=CaseFactory(), user=facilitator)
    PdfExport.objects.filter(pk=old_queued.pk).update(
        requested_at=timezone.now() - timedelta(minutes=1)
    )
    sent.clear()

    assert sorted(exports.recover_exports()) == sorted([dying.pk, old_queued.pk])
    assert just_queued.pk not in sent  # its message is most likely still on its way


def test_gives_up_after_repeated_attempts(case, facilitator):
    export = exports.request_export(case=case, user=facilitator)
    PdfExport.objects.filter(pk=export.pk).update(attempts=exports.MAX_ATTEMPTS)
    assert exports.run_export(export.pk) is None
    export.refresh_from_db()
    assert export.status == ExportStatus.FAILED
    assert "Gave up after" in export.error


# --- Failures the user must read ----------------------------------------------------


def test_render_error_leaves_a_readable_reason_on_the_page(
    as_user, case, facilitator, monkeypatch
):
    def broken(*args, **kwargs):
        raise ValueError("the chart library ran out of colours")

    monkeypatch.setattr(pdf, "render_pdf", broken)
    export = exports.request_export(case=case, user=facilitator)
    exports.run_export(export.pk)
    export.refresh_from_db()
    assert export.status == ExportStatus.FAILED, "never stuck in running"
    page = (
        as_user(facilitator)
        .get(urls(case, export)["status"], HTTP_HX_REQUEST="true")
        .text
    )
    assert "The export failed." in page
    assert "the chart library ran out of colours" in page
    assert "hx-trigger" not in page


def test_stuck_export_is_marked_failed_on_next_view(
    as_user, case, facilitator, settings
):
    export = exports.request_export(case=case, user=facilitator)
    old = timezone.now() - timedelta(seconds=settings.EXPORT_STUCK_AFTER_SECONDS + 60)
    PdfExport.objects.filter(pk=export.pk).update(
        requested_at=old, status=ExportStatus.RUNNING
    )
    page = (
        as_user(facilitator)
        .get(urls(case, export)["status"], HTTP_HX_REQUEST="true")
        .text
    )
    export.refresh_from_db()
    assert export.status == ExportStatus.FAILED
    assert "did not finish within" in export.error
    assert "did not finish within" in page


def test_recent_unfinished_export_is_not_stuck(case, facilitator):
    export = exports.request_export(case=case, user=facilitator)
    assert exports.fail_stuck_exports() == 0
    export.refresh_from_db()
    assert export.status == ExportStatus.QUEUED


@pytest.fixture
def broker_down(monkeypatch):
    """Point the Celery app at a closed port, as when Redis is down. The app's
    real connection pools are set aside, not closed, and put back afterwards.
    Celery prefers the CELERY_BROKER_URL environment variable to its config
    (CI sets it for the Redis run), so both are pointed at the closed port."""
    from businesscase.celery import app

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        closed_port = sock.getsockname()[1]

    saved = (
        app.conf.broker_url,
        app.conf.broker_transport_options,
        app._pool,
        app.amqp._producer_pool,
    )
    app._pool = None
    app.amqp._producer_pool = None
    closed = f"redis://127.0.0.1:{closed_port}/0"
    monkeypatch.setenv("CELERY_BROKER_URL", closed)
    app.conf.broker_url = closed
    app.conf.broker_transport_options = {}
    yield
    if app._pool is not None:
        app._pool.force_close_all()
    (
        app.conf.broker_url,
        app.conf.broker_transport_options,
        app._pool,
        app.amqp._producer_pool,
    ) = saved


def test_broker_down_gives_a_clear_message_and_the_app_works_on(
    as_user, case, facilitator, broker_down
):
    client = as_user(facilitator)
    started = time.monotonic()
    response = client.post(
        reverse("cases:exports", args=[case.pk]), {"paper_size": "A4"}, follow=True
    )
    assert time.monotonic() - started < 10, "the user is not kept waiting"
    assert response.status_code == 200
    assert "Exports are unavailable right now" in response.text
    export = PdfExport.objects.get(case=case)
    assert export.status == ExportStatus.FAILED
    assert "unavailable" in export.error

    htmx = client.post(
        reverse("cases:exports", args=[case.pk]),
        {"paper_size": "A4"},
        HTTP_HX_REQUEST="true",
    )
    assert htmx.status_code == 503
    assert "Exports are unavailable right now" in htmx.text

    # Everything else works as before.
    assert client.get(reverse("cases:overview", args=[case.pk])).status_code == 200
    add = client.post(
        reverse("cases:item_create", args=[case.pk, "risks-of-acting"]),
        {"title": "Carrier capacity", "leg": "process", "likelihood": 3, "impact": 3},
    )
    assert add.status_code == 302


def test_render_pdf_of_a_case_with_risks_reads_back(case, facilitator):
    """The synchronous path (manage.py render_pdf) shares the worker's code."""
    RiskOfActingFactory(case=case, title="Depot staff resist the new routes")
    rendered = pdf.render_pdf(case)
    reader = pypdf.PdfReader(io.BytesIO(rendered.content))
    assert len(reader.pages) == rendered.pages
    text = " ".join(" ".join(p.extract_text() for p in reader.pages).split())
    assert "Depot staff resist the new routes" in text


def test_download_of_a_missing_file_is_404(as_user, case, facilitator):
    export = done_export(case, facilitator)
    default_storage.delete(export.file.name)
    assert as_user(facilitator).get(urls(case, export)["download"]).status_code == 404
