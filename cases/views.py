"""Views of the case: thin. Each one starts with the access helper, validates with
a form, writes through a service, and answers an htmx request with a template
partial and a normal request with the whole page from the same template.
"""

from __future__ import annotations

import json

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.files.storage import default_storage
from django.db.models import Prefetch
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.text import slugify
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from . import exports, portability, services
from .access import get_case_for_user
from .forms import (
    CaseSettingsForm,
    ExportForm,
    ImportCaseForm,
    MemberForm,
    MembershipForm,
    NewCaseForm,
    StageNotesForm,
)
from .models import Case, Membership, PdfExport, StageItem, StageRecord, StageStatus
from .stages import STAGES, Stage, get_stage, stage_counts, with_item_counts


def _is_htmx(request: HttpRequest) -> bool:
    return bool(getattr(request, "htmx", False))


def _stage_nav(case: Case) -> list[dict]:
    """The nine stages with their status and item count, for the stepper.
    Two queries whatever the size of the case."""
    counts = stage_counts(case)
    records = {r.stage: r for r in StageRecord.objects.filter(case=case)}
    nav = []
    for stage in STAGES:
        record = records.get(stage.slug)
        nav.append(
            {
                "stage": stage,
                "count": counts[stage.key],
                "status": record.status if record else StageStatus.EMPTY,
                "status_label": record.get_status_display() if record else "Empty",
                "record": record,
            }
        )
    return nav


def _progress(nav: list[dict]) -> dict:
    started = sum(1 for s in nav if s["count"])
    agreed = sum(1 for s in nav if s["status"] == StageStatus.AGREED)
    return {
        "started": started,
        "agreed": agreed,
        "total": len(nav),
        "percent": round(100 * started / len(nav)),
        "agreed_percent": round(100 * agreed / len(nav)),
    }


# --- Dashboard and new cases ----------------------------------------------------


@require_GET
def healthz(request: HttpRequest) -> HttpResponse:
    """A trivial view: the yardstick bench/pages.py compares pages against."""
    return HttpResponse("ok", content_type="text/plain")


@login_required
@require_GET
def dashboard(request: HttpRequest) -> HttpResponse:
    memberships = {m.case_id: m for m in Membership.objects.filter(user=request.user)}
    cases = with_item_counts(
        Case.objects.visible_to(request.user).select_related("client", "seller")
    ).prefetch_related(Prefetch("stage_records", to_attr="records"))
    rows = []
    for case in cases:
        statuses = {r.stage: r.status for r in case.records}
        nav = [
            {
                "count": getattr(case, stage.count_name),
                "status": statuses.get(stage.slug, StageStatus.EMPTY),
            }
            for stage in STAGES
        ]
        rows.append(
            {
                "case": case,
                "membership": memberships[case.pk],
                "progress": _progress(nav),
            }
        )
    return render(request, "cases/dashboard.html", {"rows": rows})


@login_required
@require_http_methods(["GET", "POST"])
def case_new(request: HttpRequest) -> HttpResponse:
    form = NewCaseForm(request.POST or None, user=request.user)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        case = services.create_case(
            user=request.user,
            title=data["title"],
            idea=data["idea"],
            client=data["client"] or data["new_client"],
            seller=data["seller"] or data["new_seller"],
            currency=data["currency"],
            horizon_years=data["horizon_years"],
            discount_rate=data["discount_rate"],
            side=data["side"],
        )
        messages.success(request, "Case opened. Start with the models it changes.")
        return redirect(case)
    return render(request, "cases/case_new.html", {"form": form})


@login_required
@require_http_methods(["GET", "POST"])
def case_import(request: HttpRequest) -> HttpResponse:
    form = ImportCaseForm(request.POST or None, request.FILES or None)
    error = None
    if request.method == "POST" and form.is_valid():
        try:
            case = portability.import_case_file(
                form.cleaned_data["file"], user=request.user
            )
        except portability.CaseFormatError as exc:
            error = exc
        else:
            messages.success(
                request, f"Imported “{case.title}”. You are its facilitator."
            )
            return redirect(case)
    return render(request, "cases/case_import.html", {"form": form, "error": error})


# --- One case -------------------------------------------------------------------


@login_required
@require_GET
def overview(request: HttpRequest, case_id: int) -> HttpResponse:
    case = get_case_for_user(request.user, case_id)
    nav = _stage_nav(case)
    members = case.memberships.select_related("user").order_by(
        "side", "role", "user__email"
    )
    return render(
        request,
        "cases/overview.html",
        {"case": case, "nav": nav, "progress": _progress(nav), "members": members},
    )


@login_required
@require_http_methods(["GET", "POST"])
def case_settings(request: HttpRequest, case_id: int) -> HttpResponse:
    case = get_case_for_user(request.user, case_id, manage=True)
    form = CaseSettingsForm(request.POST or None, instance=case)
    if request.method == "POST" and form.is_valid():
        services.update_case_settings(
            case=case,
            user=request.user,
            **{name: form.cleaned_data[name] for name in form.Meta.fields},
        )
        messages.success(request, "Case settings saved.")
        return redirect(case)
    return render(request, "cases/case_settings.html", {"case": case, "form": form})


@login_required
@require_GET
def case_export(request: HttpRequest, case_id: int) -> HttpResponse:
    case = get_case_for_user(request.user, case_id)
    document = portability.export_case(case)
    response = HttpResponse(
        json.dumps(document, indent=2, ensure_ascii=False) + "\n",
        content_type="application/json; charset=utf-8",
    )
    filename = f"{slugify(case.title)[:60] or 'case'}-{case.pk}.json"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


# --- Members --------------------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def members(request: HttpRequest, case_id: int) -> HttpResponse:
    case = get_case_for_user(request.user, case_id, manage=request.method == "POST")
    form = MemberForm(request.POST or None, case=case)
    if request.method == "POST" and form.is_valid():
        try:
            services.add_member(
                case=case,
                user=form.cleaned_data["user"],
                side=form.cleaned_data["side"],
                role=form.cleaned_data["role"],
            )
        except ValidationError as exc:
            form.add_error("email", exc)
        else:
            messages.success(request, f"{form.cleaned_data['email']} joined the case.")
            return redirect("cases:members", case.pk)
    rows = [
        {"membership": m, "form": MembershipForm(instance=m, prefix=f"m{m.pk}")}
        for m in case.memberships.select_related("user").order_by(
            "side", "role", "user__email"
        )
    ]
    return render(
        request, "cases/members.html", {"case": case, "form": form, "rows": rows}
    )


@login_required
@require_POST
def member_update(
    request: HttpRequest, case_id: int, membership_id: int
) -> HttpResponse:
    case = get_case_for_user(request.user, case_id, manage=True)
    membership = get_object_or_404(Membership, pk=membership_id, case=case)
    form = MembershipForm(request.POST, instance=membership, prefix=f"m{membership.pk}")
    if form.is_valid():
        try:
            services.change_member(
                membership=Membership.objects.get(pk=membership.pk),
                side=form.cleaned_data["side"],
                role=form.cleaned_data["role"],
            )
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        else:
            messages.success(request, f"{membership.user.email}'s role was changed.")
    else:
        messages.error(request, "Pick a side and a role from the lists.")
    return redirect("cases:members", case.pk)


@login_required
@require_POST
def member_remove(
    request: HttpRequest, case_id: int, membership_id: int
) -> HttpResponse:
    case = get_case_for_user(request.user, case_id, manage=True)
    membership = get_object_or_404(Membership, pk=membership_id, case=case)
    try:
        services.remove_member(membership=membership)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, f"{membership.user.email} was removed from the case.")
    if (
        membership.user_id == request.user.pk
        and not Membership.objects.filter(pk=membership.pk).exists()
    ):
        return redirect("cases:dashboard")
    return redirect("cases:members", case.pk)


# --- Stage pages ------------------------------------------------------------------


def _stage_context(request: HttpRequest, case: Case, stage: Stage, **extra) -> dict:
    context = {
        "case": case,
        "stage": stage,
        "items": list(stage.items(case)),
        "nav": _stage_nav(case),
        "can_edit": case.membership.can_edit,
        "can_manage": case.membership.can_manage,
        "editing_id": None,
        "edit_form": None,
    }
    context["record"] = next(
        (n["record"] for n in context["nav"] if n["stage"] is stage), None
    )
    context["stage_agreed"] = bool(
        context["record"] and context["record"].status == StageStatus.AGREED
    )
    if context["can_edit"] and "form" not in extra:
        context["form"] = stage.form(case=case)
    context["notes_form"] = StageNotesForm(
        initial={"notes": context["record"].notes if context["record"] else ""}
    )
    context.update(extra)
    return context


def _stage_url(case: Case, stage: Stage, item: StageItem | None = None) -> str:
    url = reverse("cases:stage", args=[case.pk, stage.slug])
    return f"{url}#item-{item.pk}" if item else url


def _save(request: HttpRequest, case: Case, stage: Stage, form) -> StageItem:
    item = form.save(commit=False)
    return services.save_item(
        case=case, stage=stage, item=item, user=request.user, **form.related_changes()
    )


@login_required
@require_GET
def stage_page(request: HttpRequest, case_id: int, stage_slug: str) -> HttpResponse:
    case = get_case_for_user(request.user, case_id)
    stage = get_stage(stage_slug)
    return render(request, "cases/stage.html", _stage_context(request, case, stage))


@login_required
@require_POST
def item_create(request: HttpRequest, case_id: int, stage_slug: str) -> HttpResponse:
    case = get_case_for_user(request.user, case_id, write=True)
    stage = get_stage(stage_slug)
    form = stage.form(request.POST, case=case)
    if form.is_valid():
        try:
            item = _save(request, case, stage, form)
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            if not _is_htmx(request):
                messages.success(request, f"Added {stage.item_noun} “{item}”.")
                return redirect(_stage_url(case, stage, item))
            context = _stage_context(
                request, case, stage, added_id=item.pk, oob_nav=True
            )
            return render(request, "cases/stage.html#stage-items", context)
    context = _stage_context(request, case, stage, form=form)
    template = (
        "cases/stage.html#stage-items" if _is_htmx(request) else "cases/stage.html"
    )
    return render(request, template, context, status=400)


@login_required
@require_GET
def item_detail(
    request: HttpRequest, case_id: int, stage_slug: str, item_id: int
) -> HttpResponse:
    """One item as the list shows it (htmx: after "cancel" in the edit form)."""
    case = get_case_for_user(request.user, case_id)
    stage = get_stage(stage_slug)
    item = get_object_or_404(stage.items(case), pk=item_id)
    if not _is_htmx(request):
        return redirect(_stage_url(case, stage, item))
    context = {
        "case": case,
        "stage": stage,
        "item": item,
        "can_edit": case.membership.can_edit,
    }
    return render(request, "cases/stage.html#item-display", context)


@login_required
@require_http_methods(["GET", "POST"])
def item_edit(
    request: HttpRequest, case_id: int, stage_slug: str, item_id: int
) -> HttpResponse:
    case = get_case_for_user(request.user, case_id, write=True)
    stage = get_stage(stage_slug)
    item = get_object_or_404(stage.items(case), pk=item_id)
    form = stage.form(request.POST or None, instance=item, case=case)
    if request.method == "POST" and form.is_valid():
        try:
            item = _save(request, case, stage, form)
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            if not _is_htmx(request):
                messages.success(request, f"Saved {stage.item_noun} “{item}”.")
                return redirect(_stage_url(case, stage, item))
            item = stage.items(case).get(pk=item.pk)
            context = {
                "case": case,
                "stage": stage,
                "item": item,
                "can_edit": True,
                "saved": True,
            }
            return render(request, "cases/stage.html#item-display", context)
    status = 400 if request.method == "POST" else 200
    if _is_htmx(request):
        context = {
            "case": case,
            "stage": stage,
            "item": item,
            "edit_form": form,
            "stage_agreed": StageRecord.objects.filter(
                case=case, stage=stage.slug, status=StageStatus.AGREED
            ).exists(),
        }
        return render(request, "cases/stage.html#item-edit", context, status=status)
    context = _stage_context(request, case, stage, editing_id=item.pk, edit_form=form)
    return render(request, "cases/stage.html", context, status=status)


@login_required
@require_http_methods(["GET", "POST"])
def item_delete(
    request: HttpRequest, case_id: int, stage_slug: str, item_id: int
) -> HttpResponse:
    case = get_case_for_user(request.user, case_id, write=True)
    stage = get_stage(stage_slug)
    item = get_object_or_404(stage.model, pk=item_id, case=case)
    if request.method == "GET":
        return render(
            request,
            "cases/item_delete.html",
            {"case": case, "stage": stage, "item": item},
        )
    name = str(item)
    services.delete_item(case=case, stage=stage, item=item, user=request.user)
    if _is_htmx(request):
        context = {
            "case": case,
            "stage": stage,
            "nav": _stage_nav(case),
            "remaining": stage.model.objects.filter(case=case).count(),
        }
        return render(request, "cases/stage.html#item-deleted", context)
    messages.success(request, f"Deleted {stage.item_noun} “{name}”.")
    return redirect(_stage_url(case, stage))


@login_required
@require_POST
def stage_notes(request: HttpRequest, case_id: int, stage_slug: str) -> HttpResponse:
    case = get_case_for_user(request.user, case_id, write=True)
    stage = get_stage(stage_slug)
    form = StageNotesForm(request.POST)
    if form.is_valid():
        services.update_stage_notes(
            case=case, stage=stage, notes=form.cleaned_data["notes"], user=request.user
        )
        if not _is_htmx(request):
            messages.success(request, "Notes saved.")
            return redirect(_stage_url(case, stage))
        context = _stage_context(request, case, stage, notes_saved=True)
        return render(request, "cases/stage.html#stage-notes", context)
    context = _stage_context(request, case, stage, notes_form=form)
    template = (
        "cases/stage.html#stage-notes" if _is_htmx(request) else "cases/stage.html"
    )
    return render(request, template, context, status=400)


@login_required
@require_POST
def stage_agreement(
    request: HttpRequest, case_id: int, stage_slug: str
) -> HttpResponse:
    case = get_case_for_user(request.user, case_id, manage=True)
    stage = get_stage(stage_slug)
    agreed = request.POST.get("agreed") == "1"
    try:
        services.set_stage_agreed(
            case=case, stage=stage, agreed=agreed, user=request.user
        )
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(
            request, f"Stage {stage.number} is {'agreed' if agreed else 'reopened'}."
        )
    return redirect(_stage_url(case, stage))


# --- The executive PDF ------------------------------------------------------------


def _latest_export(case: Case) -> PdfExport | None:
    exports.fail_stuck_exports(case=case)
    return (
        PdfExport.objects.filter(case=case)
        .select_related("requested_by")
        .order_by("-requested_at", "-id")
        .first()
    )


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
            context = {"case": case, "export": export}
            return render(request, "cases/exports.html#export-status", context)
        return redirect("cases:exports", case.pk)
    exports.fail_stuck_exports(case=case)
    history = (
        PdfExport.objects.filter(case=case)
        .select_related("requested_by")
        .order_by("-requested_at", "-id")[:50]
    )
    context = {"case": case, "form": form, "history": history, "export": None}
    return render(request, "cases/exports.html", context)


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
