"""Agreement on the stage pages and the case's status: sign-offs by both sides,
comments beside each stage, and the status control on the overview.

Each view starts with the access helper and writes through a service; an htmx
request gets the partial (`cases/_agreement.html`, `_comments.html`,
`_case_status.html`), a normal one a redirect back to the page, so every
control works without JavaScript.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST

from .. import services
from ..access import get_case_for_user
from ..forms import CaseStatusForm, CommentForm
from ..models import (
    Case,
    CaseStatus,
    CaseStatusChange,
    Comment,
    Side,
    StageRecord,
    StageSignOff,
    StageStatus,
    display_name,
)
from ..stages import STAGES, Stage, get_stage
from .common import _is_htmx, _stage_nav
from .stages import _stage_context

# What the button for each move says.
TRANSITION_LABELS: dict[tuple[str, str], str] = {
    (CaseStatus.DRAFT, CaseStatus.IN_REVIEW): "Send for review",
    (CaseStatus.IN_REVIEW, CaseStatus.AGREED): "Mark the case agreed",
    (CaseStatus.IN_REVIEW, CaseStatus.DRAFT): "Back to draft",
    (CaseStatus.DRAFT, CaseStatus.ARCHIVED): "Archive",
    (CaseStatus.IN_REVIEW, CaseStatus.ARCHIVED): "Archive",
    (CaseStatus.AGREED, CaseStatus.ARCHIVED): "Archive",
    (CaseStatus.AGREED, CaseStatus.IN_REVIEW): "Reopen for review",
    (CaseStatus.ARCHIVED, CaseStatus.DRAFT): "Restore to draft",
}


# --- Contexts, shared by the views and the template tags of the full pages ---------


def _signer(sign_off: StageSignOff) -> str:
    return f"{display_name(sign_off.user)} ({sign_off.get_side_display().lower()})"


def stage_sign_offs(case: Case, stage: Stage) -> list[StageSignOff]:
    return list(
        StageSignOff.objects.filter(case=case, stage=stage.slug)
        .select_related("user")
        .order_by("signed_at")
    )


def agreement_context(
    case: Case,
    stage: Stage,
    *,
    record: StageRecord | None = None,
    has_items: bool | None = None,
    error: str = "",
) -> dict:
    if record is None:
        record = StageRecord.objects.filter(case=case, stage=stage.slug).first()
    if has_items is None:
        has_items = stage.model.objects.filter(case=case).exists()
    sign_offs = {s.side: s for s in stage_sign_offs(case, stage)}
    membership = case.membership
    may_sign = membership.can_edit and membership.side in services.SIGNING_SIDES
    sides = [
        {
            "side": side,
            "label": Side(side).label,
            "sign_off": sign_offs.get(side),
            "name": display_name(sign_offs[side].user) if side in sign_offs else "",
            "mine": may_sign and side == membership.side,
        }
        for side in services.SIGNING_SIDES
    ]
    return {
        "case": case,
        "stage": stage,
        "agreed": bool(record and record.status == StageStatus.AGREED),
        "sides": sides,
        "may_sign": may_sign,
        "has_items": has_items,
        "error": error,
    }


def comments_context(case: Case, stage: Stage, *, form=None, posted=False) -> dict:
    comments = list(
        Comment.objects.filter(case=case, stage=stage.slug).select_related("author")
    )
    for comment in comments:
        comment.author_name = display_name(comment.author)
    return {
        "case": case,
        "stage": stage,
        "comments": comments,
        "may_comment": case.membership.can_comment,  # not on an archived case
        "comment_form": form if form is not None else CommentForm(),
        "posted": posted,
    }


def case_status_context(
    case: Case, *, form=None, error: str = "", agreed_stages: int | None = None
) -> dict:
    changes = list(
        CaseStatusChange.objects.filter(case=case).select_related("changed_by")
    )
    for change in changes:
        change.by_name = display_name(change.changed_by)
    if agreed_stages is None:
        agreed_stages = services.agreed_stage_count(case)
    transitions = [
        {
            "value": to,
            "label": TRANSITION_LABELS.get((case.status, to), CaseStatus(to).label),
            "backwards": to in (CaseStatus.DRAFT, CaseStatus.IN_REVIEW)
            and case.status != CaseStatus.DRAFT,
            "aside": to == CaseStatus.ARCHIVED and case.status != CaseStatus.AGREED,
            # Shown, but not offered, until it can be done: the case is agreed
            # only once all nine stages are.
            "blocked": (
                f"Once all {len(STAGES)} stages are agreed ({agreed_stages} now)."
                if to == CaseStatus.AGREED and agreed_stages < len(STAGES)
                else ""
            ),
        }
        for to in services.allowed_case_transitions(case)
    ]
    return {
        "case": case,
        # Not can_manage: a facilitator restores an archived case from here.
        "can_manage": case.membership.can_change_status,
        "transitions": transitions,
        "agreed_stages": agreed_stages,
        "changes": changes,
        "status_form": form if form is not None else CaseStatusForm(),
        "error": error,
    }


def reopen_warning_text(case: Case, stage: Stage, *, editing: bool) -> str:
    """What an editor is told before saving a change to a signed-off stage; empty
    when nobody has signed it off."""
    sign_offs = stage_sign_offs(case, stage)
    if not sign_offs:
        return ""
    names = " and ".join(_signer(s) for s in sign_offs)
    agreed = len({s.side for s in sign_offs}) >= len(services.SIGNING_SIDES)
    change = "Saving this change" if editing else "Adding, changing or deleting an item"
    if agreed:
        return (
            f"This stage is agreed. {change} reopens it for agreement and clears "
            f"the sign-offs of {names}."
        )
    return f"{names} signed off this stage. {change} clears that sign-off."


# --- Views ---------------------------------------------------------------------------


def _stage_url(case: Case, stage: Stage, anchor: str) -> str:
    return reverse("cases:stage", args=[case.pk, stage.slug]) + f"#{anchor}"


def _agreement_response(
    request: HttpRequest, case: Case, stage: Stage, *, done: str, error: str
) -> HttpResponse:
    if not _is_htmx(request):
        if error:
            messages.error(request, error)
        else:
            messages.success(request, done)
        return redirect(_stage_url(case, stage, "agreement"))
    context = agreement_context(case, stage, error=error)
    # The stepper and the editors' warning change with the agreement: swap them too.
    context.update(oob=True, nav=_stage_nav(case))
    return render(
        request, "cases/_agreement.html", context, status=400 if error else 200
    )


@login_required
@require_POST
def stage_sign_off(request: HttpRequest, case_id: int, stage_slug: str) -> HttpResponse:
    case = get_case_for_user(request.user, case_id, write=True)
    stage = get_stage(stage_slug)
    membership = services.signing_membership(case, request.user)
    error, done = "", ""
    try:
        services.sign_off_stage(case=case, stage=stage, user=request.user)
    except ValidationError as exc:
        error = " ".join(exc.messages)
    else:
        agreed = StageRecord.objects.filter(
            case=case, stage=stage.slug, status=StageStatus.AGREED
        ).exists()
        done = (
            f"Stage {stage.number} is agreed by both sides."
            if agreed
            else f"You signed off stage {stage.number} for the "
            f"{membership.get_side_display().lower()} side."
        )
    return _agreement_response(request, case, stage, done=done, error=error)


@login_required
@require_POST
def stage_sign_off_withdraw(
    request: HttpRequest, case_id: int, stage_slug: str
) -> HttpResponse:
    case = get_case_for_user(request.user, case_id, write=True)
    stage = get_stage(stage_slug)
    membership = services.signing_membership(case, request.user)
    error, done = "", ""
    try:
        services.withdraw_sign_off(case=case, stage=stage, user=request.user)
    except ValidationError as exc:
        error = " ".join(exc.messages)
    else:
        done = (
            f"The {membership.get_side_display().lower()} sign-off of stage "
            f"{stage.number} is withdrawn."
        )
    return _agreement_response(request, case, stage, done=done, error=error)


@login_required
@require_http_methods(["GET", "POST"])
def stage_comments(request: HttpRequest, case_id: int, stage_slug: str) -> HttpResponse:
    """Any member may comment, viewers included, unless the case is archived."""
    case = get_case_for_user(request.user, case_id, comment=request.method == "POST")
    stage = get_stage(stage_slug)
    if request.method == "GET":
        if not _is_htmx(request):
            return redirect(_stage_url(case, stage, "comments"))
        return render(request, "cases/_comments.html", comments_context(case, stage))
    form = CommentForm(request.POST)
    if form.is_valid():
        services.add_comment(
            case=case, stage=stage, user=request.user, text=form.cleaned_data["text"]
        )
        if not _is_htmx(request):
            messages.success(request, "Comment added.")
            return redirect(_stage_url(case, stage, "comments"))
        context = comments_context(case, stage, posted=True)
        return render(request, "cases/_comments.html", context)
    if _is_htmx(request):
        context = comments_context(case, stage, form=form)
        return render(request, "cases/_comments.html", context, status=400)
    # Without JavaScript: the whole stage page, with the form's errors.
    context = _stage_context(request, case, stage, comment_form=form)
    return render(request, "cases/stage.html", context, status=400)


@login_required
@require_POST
def case_status(request: HttpRequest, case_id: int) -> HttpResponse:
    """Move the case along its status pipeline; facilitators only, and the one
    change an archived case allows (restoring it)."""
    case = get_case_for_user(request.user, case_id, change_status=True)
    form = CaseStatusForm(request.POST)
    error = ""
    if form.is_valid():
        try:
            services.change_case_status(
                case=case,
                to_status=form.cleaned_data["to_status"],
                user=request.user,
                note=form.cleaned_data["note"],
            )
        except ValidationError as exc:
            error = " ".join(exc.messages)
    else:
        error = " ".join(
            message for errors in form.errors.values() for message in errors
        )
    if _is_htmx(request):
        context = case_status_context(case, form=form if error else None, error=error)
        return render(
            request, "cases/_case_status.html", context, status=400 if error else 200
        )
    if error:
        messages.error(request, error)
    else:
        messages.success(request, f"The case is now {case.get_status_display()}.")
    return redirect(reverse("cases:overview", args=[case.pk]) + "#case-status")
