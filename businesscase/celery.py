"""The Celery app. Workers render the executive PDF (cases/tasks.py).

Broker from CELERY_BROKER_URL: Redis in production; with nothing set, kombu's
filesystem transport under var/broker, which needs no server. Job state lives in
our own PdfExport rows, so no result backend is configured.
"""

import ctypes.util
import gc
import logging
import os
from pathlib import Path

from celery import Celery
from celery.signals import worker_init, worker_ready

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "businesscase.settings")

app = Celery("businesscase")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

logger = logging.getLogger("businesscase.worker")

# What WeasyPrint needs from Debian: (library, package that ships it).
PDF_LIBRARIES = [
    ("pango-1.0", "libpango-1.0-0"),
    ("pangoft2-1.0", "libpangoft2-1.0-0"),
    ("harfbuzz-subset", "libharfbuzz-subset0"),
]
PDF_FONT = ("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf", "fonts-dejavu-core")


def missing_pdf_packages() -> list[str]:
    missing = [
        pkg for lib, pkg in PDF_LIBRARIES if ctypes.util.find_library(lib) is None
    ]
    if not Path(PDF_FONT[0]).exists():
        missing.append(PDF_FONT[1])
    return missing


@worker_init.connect
def report_missing_pdf_packages(**kwargs) -> None:
    missing = missing_pdf_packages()
    if missing:
        logger.error(
            "PDF exports will fail or be slow: missing system packages %s. "
            "Install them with: apt-get install %s",
            ", ".join(missing),
            " ".join(missing),
        )


@worker_init.connect
def preload_pdf_renderer(**kwargs) -> None:
    """Import WeasyPrint and lay out one tiny page before the pool
    forks, so every child starts warm and the first export is as fast as the rest."""
    if missing_pdf_packages():
        return
    try:
        import django

        django.setup()
        from cases import pdf

        pdf.warm_up()
    except Exception:
        logger.exception("Could not preload the PDF renderer")
    # What is loaded now lives as long as the worker: keep it out of the cycle
    # collector's walks (and shared with the forked children, copy-on-write).
    gc.collect()
    gc.freeze()


@worker_ready.connect
def recover_exports(**kwargs) -> None:
    """Exports a stopped worker left unfinished are sent again (see cases.exports)."""
    from cases.exports import recover_exports as recover

    try:
        recover()
    except Exception:  # never keep a worker from starting
        logger.exception("Could not recover unfinished exports")
