"""Services of the executive PDF export: ask for one, run one, recover lost ones.

The PdfExport row is the job's whole state, so the web never needs Celery's
result backend and a worker can die at any moment without losing an export:

- request_export() commits the row, then publishes the task. A broker that cannot
  be reached marks the row failed and raises ExportsUnavailable, so the user is
  told at once instead of waiting on a job that will never run.
- run_export() claims the row with one conditional UPDATE (queued, or running
  under a worker that is gone), so a redelivered or re-sent task never renders
  twice, and writes the file under a name fixed by the row: one export, one file.
- recover_exports() runs when a worker starts: it re-sends exports whose worker
  died (the filesystem broker cannot redeliver a message a killed worker took).
- fail_stuck_exports() marks failed, with a reason, exports queued or running far
  longer than the time limit; the status view calls it, and so can cron.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import socket
from datetime import timedelta
from pathlib import Path

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import InterfaceError, OperationalError, transaction
from django.db.models import F
from django.utils import timezone

from .models import Case, ExportStatus, Membership, PaperSize, PdfExport

logger = logging.getLogger(__name__)

MAX_ATTEMPTS = 3
# Part of every export's content hash: bump it when the PDF's layout changes, so
# unchanged cases are rendered again instead of reusing a file in the old layout.
PDF_LAYOUT_VERSION = "4"  # 4: amounts fit their cells, ROI past 1,000 % in words
UNAVAILABLE = (
    "Exports are unavailable right now: the export service cannot be reached. "
    "Nothing else is affected; please try again in a few minutes."
)


class ExportsUnavailable(Exception):
    """The broker cannot be reached: no export can be queued right now."""


def content_hash(case: Case, paper_size: str) -> str:
    """What the PDF would show, as a hash: the case file, the people, the paper
    and the layout version. Same hash, same PDF."""
    from . import portability

    members = list(
        Membership.objects.filter(case=case)
        .order_by("user_id")
        .values_list(
            "user__first_name", "user__last_name", "user__email", "side", "role"
        )
    )
    payload = json.dumps(
        {
            "case": portability.export_case(case),
            "status": case.status,
            "stage_statuses": list(
                case.stage_records.order_by("stage").values_list(
                    "stage", "status", "notes"
                )
            ),
            "members": members,
            "paper": paper_size,
            "layout": PDF_LAYOUT_VERSION,
        },
        sort_keys=True,
        default=str,
    )
    return hashlib.sha256(payload.encode()).hexdigest()


def request_export(*, case: Case, user, paper_size: str = PaperSize.A4) -> PdfExport:
    """Ask for the case's PDF. An unchanged case reuses its last file at once."""
    if paper_size not in PaperSize.values:
        raise ValueError(f"Unknown paper size {paper_size!r}.")
    digest = content_hash(case, paper_size)
    with transaction.atomic():
        previous = (
            PdfExport.objects.filter(
                case=case, content_hash=digest, status=ExportStatus.DONE
            )
            .exclude(file="")
            .order_by("-finished_at")
            .first()
        )
        if previous and default_storage.exists(previous.file.name):
            return PdfExport.objects.create(
                case=case,
                requested_by=user,
                paper_size=paper_size,
                content_hash=digest,
                case_version=previous.case_version,
                status=ExportStatus.DONE,
                progress=100,
                step="Reused: the case has not changed since that PDF",
                file=previous.file.name,
                pages=previous.pages,
                size_bytes=previous.size_bytes,
                reused_from=previous.reused_from or previous,
                finished_at=timezone.now(),
            )
        export = PdfExport.objects.create(
            case=case,
            requested_by=user,
            paper_size=paper_size,
            content_hash=digest,
            case_version=_version_for(case, digest),
            step="Waiting for a worker",
        )
    _send(export)
    return export


def _version_for(case: Case, digest: str) -> int:
    """Versions count the different contents exported: same content, same version."""
    same = PdfExport.objects.filter(case=case, content_hash=digest).first()
    if same:
        return same.case_version
    hashes = (
        PdfExport.objects.filter(case=case).values("content_hash").distinct().count()
    )
    return hashes + 1


def _send(export: PdfExport) -> None:
    """Publish the render task, after the row is committed. Fails fast when the
    broker is down: the row is marked failed and ExportsUnavailable raised."""
    from .tasks import render_export

    try:
        render_export.apply_async((export.pk,), retry=False)
    except Exception as exc:  # kombu raises several kinds; all mean "not queued"
        logger.warning("Could not queue export %s: %s", export.pk, exc)
        PdfExport.objects.filter(pk=export.pk).update(
            status=ExportStatus.FAILED,
            error=UNAVAILABLE,
            step="",
            finished_at=timezone.now(),
        )
        raise ExportsUnavailable(UNAVAILABLE) from exc


def worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def _worker_is_gone(worker: str, heartbeat_at) -> bool:
    """True when the process that claimed an export can no longer finish it."""
    host, _, pid = worker.rpartition(":")
    if host == socket.gethostname() and pid.isdigit():
        try:
            os.kill(int(pid), 0)
        except ProcessLookupError:
            return True
        except PermissionError:
            return False
        return _is_zombie(int(pid))
    stale = timezone.now() - timedelta(seconds=settings.CELERY_TASK_TIME_LIMIT + 30)
    return heartbeat_at is None or heartbeat_at < stale


def _is_zombie(pid: int) -> bool:
    """A process that died but is not yet reaped still answers signal 0. A
    killed worker's pool process is one until init reaps it, which can take a
    while on a busy machine: long enough for the next worker to start and think
    the render still in hand. Linux tells by /proc; elsewhere, assume alive."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    # "pid (command) state ...": the command may hold spaces and parentheses.
    return stat.rpartition(")")[2].split()[:1] in (["Z"], ["X"])


def claim(export_id: int) -> PdfExport | None:
    """Take the export for this process, or None when it is not ours to render:
    already done or failed, or running in a live worker."""
    export = PdfExport.objects.filter(pk=export_id).first()
    if export is None or export.is_finished:
        return None
    if export.status == ExportStatus.RUNNING and not _worker_is_gone(
        export.worker, export.heartbeat_at
    ):
        return None
    if export.attempts >= MAX_ATTEMPTS:
        _fail(
            export.pk,
            f"Gave up after {export.attempts} attempts; the last one did not finish.",
        )
        return None
    now = timezone.now()
    taken = (
        PdfExport.objects.filter(
            pk=export_id, status=export.status, worker=export.worker
        )
        .filter(attempts=export.attempts)
        .update(
            status=ExportStatus.RUNNING,
            worker=worker_id(),
            started_at=now,
            heartbeat_at=now,
            attempts=F("attempts") + 1,
            progress=5,
            step="Starting",
        )
    )
    return PdfExport.objects.select_related("case").get(pk=export_id) if taken else None


def _progress(export: PdfExport, percent: int, step: str) -> None:
    PdfExport.objects.filter(pk=export.pk, worker=export.worker).update(
        progress=percent, step=step, heartbeat_at=timezone.now()
    )


def _fail(export_id: int, reason: str) -> None:
    PdfExport.objects.filter(pk=export_id).exclude(status=ExportStatus.DONE).update(
        status=ExportStatus.FAILED,
        error=reason[:2000],
        step="",
        finished_at=timezone.now(),
    )


def run_export(export_id: int) -> PdfExport | None:
    """Render a claimed export and store its file. Returns None when the export
    was not ours to render. A render error leaves the export failed with a
    readable reason; a database error is raised for the task to retry."""
    from . import pdf

    export = claim(export_id)
    if export is None:
        logger.info(
            "Export %s is not ours to render (done, failed or taken).", export_id
        )
        return None
    try:
        rendered = pdf.render_pdf(
            export.case,
            paper_size=export.paper_size,
            version=export.case_version,
            progress=lambda percent, step: _progress(export, percent, step),
        )
    except (OperationalError, InterfaceError):
        # The database blinked: give the row back so the task's retry can claim it.
        PdfExport.objects.filter(pk=export.pk, worker=export.worker).update(
            status=ExportStatus.QUEUED, step="Waiting to retry", worker=""
        )
        raise
    except Exception as exc:
        logger.exception("Export %s failed", export_id)
        _fail(export_id, render_error_message(exc))
        export.refresh_from_db()
        return export
    name = f"exports/case-{export.case_id}/export-{export.pk}.pdf"
    # A fixed name per export: a second run replaces the file instead of adding one.
    if default_storage.exists(name):
        default_storage.delete(name)
    stored = default_storage.save(name, ContentFile(rendered.content))
    done = PdfExport.objects.filter(pk=export.pk, worker=export.worker).update(
        status=ExportStatus.DONE,
        progress=100,
        step="Ready",
        file=stored,
        pages=rendered.pages,
        size_bytes=len(rendered.content),
        error="",
        finished_at=timezone.now(),
    )
    if not done:
        logger.warning(
            "Export %s was taken over while rendering; keeping its result.", export_id
        )
    export.refresh_from_db()
    return export


def render_error_message(exc: BaseException) -> str:
    from celery.exceptions import SoftTimeLimitExceeded

    if isinstance(exc, SoftTimeLimitExceeded):
        return (
            f"Rendering took longer than {settings.CELERY_TASK_SOFT_TIME_LIMIT} seconds "
            "and was stopped. Try again; if it keeps happening, the case may be too "
            "large for one PDF."
        )
    return f"The PDF could not be rendered: {type(exc).__name__}: {exc}"[:2000]


def recover_exports() -> list[int]:
    """Re-send running exports whose worker is gone, however young, and queued
    ones older than a few seconds, whose message may have died with a worker (a
    younger one's message is most likely still on its way). Duplicates are
    harmless: claim() lets only one run render."""
    recent = timezone.now() - timedelta(seconds=5)
    resend = []
    for export in PdfExport.objects.unfinished():
        if export.status == ExportStatus.QUEUED:
            if export.requested_at < recent:
                resend.append(export)
        elif _worker_is_gone(export.worker, export.heartbeat_at):
            resend.append(export)
    for export in resend:
        try:
            _send(export)
        except ExportsUnavailable:
            break
    if resend:
        logger.warning(
            "Re-sent exports left behind by a stopped worker: %s",
            [e.pk for e in resend],
        )
    return [e.pk for e in resend]


def fail_stuck_exports(*, case: Case | None = None) -> int:
    """Mark failed the exports queued or running far longer than the time limit."""
    limit = settings.EXPORT_STUCK_AFTER_SECONDS
    cutoff = timezone.now() - timedelta(seconds=limit)
    stuck = PdfExport.objects.unfinished().filter(requested_at__lt=cutoff)
    if case is not None:
        stuck = stuck.filter(case=case)
    return stuck.update(
        status=ExportStatus.FAILED,
        step="",
        finished_at=timezone.now(),
        error=(
            f"The export did not finish within {limit // 60} minutes and was stopped. "
            "Please try again."
        ),
    )


def unfinished_or_recent(case: Case, limit: int = 20):
    return (
        PdfExport.objects.filter(case=case)
        .select_related("requested_by")
        .order_by("-requested_at", "-id")[:limit]
    )
