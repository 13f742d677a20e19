"""The executive PDF: ask for one, watch it render, download it."""

from __future__ import annotations

import zlib

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.files.storage import default_storage
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods

from .. import exports
from ..access import get_case_for_user
from ..forms import (
    ExportForm,
)
from ..models import Case, PdfExport
from .common import _is_htmx

# --- The executive PDF ------------------------------------------------------------


def latest_export(case: Case) -> PdfExport | None:
    exports.fail_stuck_exports(case=case)
    return (
        PdfExport.objects.filter(case=case)
        .select_related("requested_by")
        .order_by("-requested_at", "-id")
        .first()
    )


def export_state(export: PdfExport | None) -> str:
    """What a page shows of an export, as a short key part: exports do not move
    the case's revision, so a kept page that shows one names its state."""
    if export is None:
        return "no-export"
    shown = f"{export.status}|{export.progress}|{export.step}|{export.error}"
    return f"export-{export.pk}-{zlib.crc32(shown.encode()):08x}"


@login_required
@require_http_methods(["GET", "POST"])
def exports_page(request: HttpRequest, case_id: int) -> HttpResponse:
    """The case's PDF exports: ask for one (every member may, viewers too) and
    see the earlier ones with who asked and when."""
    case = get_case_for_user(request.user, case_id)
    form = ExportForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            export = exports.request_export(
                case=case, user=request.user, paper_size=form.cleaned_data["paper_size"]
            )
        except exports.ExportsUnavailable as exc:
            if _is_htmx(request):
                context = {"case": case, "unavailable": str(exc)}
                return render(
                    request, "cases/exports.html#export-status", context, status=503
                )
            messages.error(request, str(exc))
            return redirect("cases:exports", case.pk)
        if _is_htmx(request):
            # The new export joins the list of earlier ones at once.
            context = {"case": case, "export": export, **_history(case, oob=True)}
            return render(request, "cases/exports.html#export-status", context)
        return redirect("cases:exports", case.pk)
    exports.fail_stuck_exports(case=case)
    context = {"case": case, "form": form, "export": None, **_history(case)}
    return render(request, "cases/exports.html", context)


def _history(case: Case, *, oob: bool = False) -> dict:
    """The case's exports, newest first, for the list of earlier exports;
    `oob`: sent beside an export's status, to replace the list on the page."""
    history = (
        PdfExport.objects.filter(case=case)
        .select_related("requested_by")
        .order_by("-requested_at", "-id")[:50]
    )
    return {"history": history, "history_oob": oob}


@login_required
@require_GET
def export_status(request: HttpRequest, case_id: int, export_id: int) -> HttpResponse:
    """One export's status; htmx polls it until the export is finished."""
    case = get_case_for_user(request.user, case_id)
    export = get_object_or_404(PdfExport, pk=export_id, case=case)
    if not export.is_finished and exports.fail_stuck_exports(case=case):
        export.refresh_from_db()
    context = {"case": case, "export": export}
    if _is_htmx(request):
        if export.is_finished:
            # The last answer of the poll: the list shows the file (or the
            # failure) too.
            context |= _history(case, oob=True)
        return render(request, "cases/exports.html#export-status", context)
    return redirect(f"{reverse('cases:exports', args=[case.pk])}#export-{export.pk}")


@login_required
@require_GET
def export_download(request: HttpRequest, case_id: int, export_id: int) -> FileResponse:
    """The PDF, served through this view (never a public media URL) so that only
    members of the case can fetch it."""
    case = get_case_for_user(request.user, case_id)
    export = get_object_or_404(PdfExport, pk=export_id, case=case)
    if not export.file or not default_storage.exists(export.file.name):
        raise Http404("This export has no file.")
    return FileResponse(
        default_storage.open(export.file.name, "rb"),
        as_attachment=True,
        filename=export.download_name,
        content_type="application/pdf",
    )
