"""The stage pages: items added, edited and deleted in place (htmx), notes, agreement."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from .. import services
from ..access import get_case_for_user
from ..forms import (
    StageNotesForm,
)
from ..models import Case, StageItem, StageRecord, StageStatus
from ..stages import Stage, get_stage
from .common import _is_htmx, _stage_nav

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
