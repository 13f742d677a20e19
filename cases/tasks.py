"""Celery tasks: thin, taking ids; the work is in cases/exports.py."""

import gc

from celery import shared_task
from django.db import InterfaceError, OperationalError

from . import exports


@shared_task(
    acks_late=True,
    reject_on_worker_lost=True,
    # A database that blinks (restart, lock timeout) is worth another try; a
    # render error is not: it is recorded on the export for the user to read.
    autoretry_for=(OperationalError, InterfaceError),
    retry_backoff=2,
    retry_backoff_max=60,
    retry_jitter=True,
    max_retries=4,
)
def render_export(export_id: int) -> None:
    """Render one export. Safe to run twice: only one run claims the row."""
    try:
        exports.run_export(export_id)
    finally:
        # The render runs with the cycle collector paused (cases/pdf.py); what
        # it left behind is collected now that the file is ready, rather than
        # in the middle of the next export.
        gc.collect()


@shared_task
def fail_stuck_exports() -> int:
    return exports.fail_stuck_exports()
