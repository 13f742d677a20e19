"""The stage pages: items added, edited and deleted in place (htmx), notes, agreement."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from .. import live, pagecache, services
from ..access import get_case_for_user, load_parties
from ..forms import (
    StageNotesForm,
)
from ..models import Case, StageItem, StageRecord, StageStatus, display_name
from ..stages import Stage, get_stage
from .common import _is_htmx, _stage_nav

# --- Stage pages ------------------------------------------------------------------


def _stage_context(request: HttpRequest, case: Case, stage: Stage, **extra) -> dict:
    load_parties(case)
    context = {
        "case": case,
        "stage": stage,
        "nav": _stage_nav(case),
        "can_edit": case.membership.can_edit,
        "can_manage": case.membership.can_manage,
        "editing_id": None,
        "edit_form": None,
    }
    context["token"] = live.page_token(case, stage, context["nav"])  # live updates
    context.update(_items_context(case, stage, context["nav"], **extra))
    context["stage_agreed"] = bool(
        context["record"] and context["record"].status == StageStatus.AGREED
    )
    if context["can_edit"] and "form" not in extra:
        context["form"] = stage.form(case=case)
    record = context["record"]
    context["notes_form"] = StageNotesForm(
        initial={
            "notes": record.notes if record else "",
            "version": record.version if record else None,
        }
    )
    context.update(extra)
    return context


def _items_context(case: Case, stage: Stage, nav: list[dict], **extra) -> dict:
    """The stage's items, read only if their list is not in the cache: a list
    that marks no item as just added or being edited is the same for everyone
    who may edit (and for everyone who may not), until the case changes."""
    entry = next(n for n in nav if n["stage"] is stage)
    plain = not (extra.get("added_id") or extra.get("editing_id"))
    return {
        "items": stage.items(case),  # a lazy queryset: rendered on a miss only
        "item_count": entry["count"],
        "record": entry["record"],
        "items_part": (
            pagecache.CachedPart("items", case, stage.slug, only_edit_rights=True)
            if plain
            else None
        ),
    }


def _add_form_choices(case: Case, stage: Stage) -> dict:
    """The add form's fields whose choices come from the case (its items, its
    organisations: a benefit's lagging metric, the metrics a leading metric
    drives, an investment's organisation), for a live answer to bring an open
    add form its fresh choices (static/js/app.js keeps what was typed and
    picked). Rendered only if their part is not in the cache, one query a field
    then; nothing for a form whose choices are all fixed. For those who may
    edit only: no one else has the form."""
    form = stage.form(case=case)
    fields = [
        form[name]
        for name, field in form.fields.items()
        if isinstance(field, forms.ModelChoiceField)
    ]
    if not fields:
        return {}
    return {
        "choice_fields": fields,
        "choices_part": pagecache.CachedPart(
            "add-choices", case, stage.slug, only_edit_rights=True
        ),
    }


def _stage_url(case: Case, stage: Stage, item: StageItem | None = None) -> str:
    url = reverse("cases:stage", args=[case.pk, stage.slug])
    return f"{url}#item-{item.pk}" if item else url


def _save(request: HttpRequest, case: Case, stage: Stage, form) -> StageItem:
    item = form.save(commit=False)
    return services.save_item(
        case=case,
        stage=stage,
        item=item,
        user=request.user,
        expected_version=form.expected_version,
        **form.related_changes(),
    )


# --- No lost work: an edit refused because someone else got there first ---------


def _who(request: HttpRequest, user) -> str:
    """Who saved the other version, as the person refused reads it."""
    if user is not None and user.pk == request.user.pk:
        return "You (in another window)"
    return display_name(user)


def _differences(form, current: StageItem) -> list[str]:
    """The labels of the fields where the refused edit differs from what is saved
    now, so the person sees at a glance what re-applying would change."""
    labels = []
    for name in form._meta.fields or ():
        if name not in form.cleaned_data:
            continue
        mine, theirs = form.cleaned_data[name], getattr(current, name)
        if hasattr(theirs, "all"):  # many-to-many links
            mine, theirs = {o.pk for o in mine or ()}, {o.pk for o in theirs.all()}
        if mine != theirs:
            labels.append(str(form.fields[name].label or name))
    grid = getattr(form, "grid_related", None)
    if grid:
        columns = ("year", *form.grid_columns)
        mine = {tuple(getattr(r, c) for c in columns) for r in form.yearly_rows}
        theirs = {
            tuple(getattr(r, c) for c in columns) for r in getattr(current, grid).all()
        }
        if mine != theirs:
            labels.append("Yearly figures")
    return labels


def _item_conflict(
    request: HttpRequest, case: Case, stage: Stage, form, item_id: int
) -> HttpResponse:
    """Someone saved the item after this edit began: show their version next to
    this person's, whose form now carries the new version so that saving it
    again re-applies their edit on purpose. Nothing was written."""
    current = stage.items(case).filter(pk=item_id).first()
    if current is None:
        return _item_gone(request, case, stage, item_id)
    data = request.POST.copy()
    data["version"] = str(current.version)
    # A separate instance: validating the form writes its values onto it, and
    # `current` must keep showing the other person's version.
    mine = stage.form(data, instance=stage.model.objects.get(pk=item_id), case=case)
    extra = {
        "conflict": True,
        "other_name": _who(request, current.updated_by),
        "differences": _differences(form, current),
        "stage_agreed": StageRecord.objects.filter(
            case=case, stage=stage.slug, status=StageStatus.AGREED
        ).exists(),
    }
    if _is_htmx(request):
        context = {"case": case, "stage": stage, "item": current, "edit_form": mine}
        return render(
            request, "cases/stage.html#item-edit", context | extra, status=409
        )
    context = _stage_context(
        request, case, stage, editing_id=item_id, edit_form=mine, **extra
    )
    return render(request, "cases/stage.html", context, status=409)


def _item_gone(
    request: HttpRequest, case: Case, stage: Stage, item_id: int
) -> HttpResponse:
    """The item was deleted while this person was editing it: say so (and by
    whom, if the history knows) and offer their text as a new item."""
    last = (
        stage.model.history.filter(id=item_id, case_id=case.pk)
        .select_related("history_user")
        .order_by("-history_date", "-history_id")
        .first()
    )
    if last is None:  # never an item of this case: reveal nothing
        raise Http404("No such item.")
    who = last.history_user if last.history_type == "-" else None
    message = (
        f"This item was deleted by {_who(request, who)} while you were editing it."
        if who is not None
        else "This item was deleted while you were editing it."
    )
    data = request.POST.copy()
    data.pop("version", None)
    form = stage.form(data, case=case)
    if _is_htmx(request):
        context = {
            "case": case,
            "stage": stage,
            "item_id": item_id,
            "gone_message": message,
            "edit_form": form,
        }
        return render(request, "cases/stage.html#item-conflict", context, status=409)
    messages.warning(
        request,
        f"{message} Your text is in the form at the bottom of the page: "
        f"add it again as a new {stage.item_noun}, or leave it.",
    )
    context = _stage_context(request, case, stage, form=form)
    return render(request, "cases/stage.html", context, status=409)


@login_required
@require_GET
def stage_page(request: HttpRequest, case_id: int, stage_slug: str) -> HttpResponse:
    case = get_case_for_user(request.user, case_id, with_parties=False)
    stage = get_stage(stage_slug)
    live.mark_present(case, request.user, stage)
    return pagecache.render_page(
        request,
        "cases/stage.html",
        pagecache.CachedPart("stage", case, stage.slug),
        {"case": case, "stage": stage},
        lambda: _stage_context(request, case, stage),
    )


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
    item = stage.items(case).filter(pk=item_id).first()
    if item is None:
        if request.method == "POST":
            return _item_gone(request, case, stage, item_id)
        raise Http404("No such item.")
    form = stage.form(request.POST or None, instance=item, case=case)
    if request.method == "POST" and form.is_valid():
        try:
            item = _save(request, case, stage, form)
        except services.EditConflict:
            return _item_conflict(request, case, stage, form, item_id)
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
        try:
            services.update_stage_notes(
                case=case,
                stage=stage,
                notes=form.cleaned_data["notes"],
                user=request.user,
                expected_version=form.cleaned_data["version"],
            )
        except services.EditConflict as conflict:
            return _notes_conflict(request, case, stage, conflict.current)
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


def _notes_conflict(
    request: HttpRequest, case: Case, stage: Stage, current: StageRecord
) -> HttpResponse:
    """Someone saved the notes after this person opened them: their notes next
    to the ones saved now; saving again (with the new version) re-applies."""
    data = request.POST.copy()
    data["version"] = str(current.version)
    context = _stage_context(
        request,
        case,
        stage,
        notes_form=StageNotesForm(data),
        notes_conflict=True,
        notes_other_name=_who(request, current.updated_by),
    )
    template = (
        "cases/stage.html#stage-notes" if _is_htmx(request) else "cases/stage.html"
    )
    return render(request, template, context, status=409)
