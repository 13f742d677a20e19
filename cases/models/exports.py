"""An export of the case as the executive PDF: one row per request, rendered by a
Celery worker. The row is the job's state (no Celery result backend)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.urls import reverse
from django.utils import timezone

from .case import Case


class ExportStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Rendering"
    DONE = "done", "Ready"
    FAILED = "failed", "Failed"


class PaperSize(models.TextChoices):
    A4 = "A4", "A4"
    LETTER = "letter", "US Letter"


class PdfExportQuerySet(models.QuerySet):
    def unfinished(self) -> PdfExportQuerySet:
        return self.filter(status__in=[ExportStatus.QUEUED, ExportStatus.RUNNING])


class PdfExport(models.Model):
    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="exports")
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    requested_at = models.DateTimeField(default=timezone.now, db_index=True)
    paper_size = models.CharField(
        max_length=10, choices=PaperSize.choices, default=PaperSize.A4
    )
    status = models.CharField(
        max_length=10, choices=ExportStatus.choices, default=ExportStatus.QUEUED
    )
    progress = models.PositiveSmallIntegerField(default=0)  # percent
    step = models.CharField(max_length=100, blank=True)  # what the worker is doing
    # The state of the case the PDF shows: the same hash means the same content,
    # so an unchanged case reuses its last file instead of rendering again.
    content_hash = models.CharField(max_length=64, db_index=True)
    case_version = models.PositiveIntegerField(
        default=1, help_text="Counts the exports of different content of this case."
    )
    file = models.FileField(upload_to="exports/", blank=True)
    pages = models.PositiveIntegerField(null=True, blank=True)
    size_bytes = models.PositiveIntegerField(null=True, blank=True)
    reused_from = models.ForeignKey(
        "self", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    error = models.TextField(blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    worker = models.CharField(max_length=200, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    objects = PdfExportQuerySet.as_manager()

    class Meta:
        ordering = ["-requested_at", "-id"]
        verbose_name = "PDF export"

    def __str__(self) -> str:
        return f"PDF of {self.case} ({self.get_status_display()}, {self.requested_at:%Y-%m-%d %H:%M})"

    def get_absolute_url(self) -> str:
        return reverse("cases:export_status", args=[self.case_id, self.pk])

    @property
    def is_finished(self) -> bool:
        return self.status in (ExportStatus.DONE, ExportStatus.FAILED)

    @property
    def download_name(self) -> str:
        from django.utils.text import slugify

        return f"{slugify(self.case.title)[:60] or 'case'}-v{self.case_version}-{self.paper_size.lower()}.pdf"
