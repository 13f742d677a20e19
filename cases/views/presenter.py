"""Workshop mode: the presenter view for a projector, and the cheap "what changed
since" endpoint that keeps it and every open stage page current."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from .. import live
from ..access import get_case_for_user
from ..models import Membership
from ..stages import STAGES, get_stage
from .common import _stage_nav
from .stages import _add_form_choices, _items_context

POLL_SECONDS = 2


def _room(case) -> list[Membership]:
    """The members seen in the case in the last few seconds."""
    present = live.present_user_ids(case)
    if not present:
        return []
    return list(
        Membership.objects.filter(case=case, user_id__in=present)
        .select_related("user")
        .order_by("side", "user__first_name")
    )


def _presenter_context(case, stage) -> dict:
    index = STAGES.index(stage)
    return {
        "case": case,
        "stage": stage,
        "items": list(stage.items(case)),
        "room": _room(case),
        "previous": STAGES[index - 1] if index > 0 else None,
        "next": STAGES[index + 1] if index + 1 < len(STAGES) else None,
        "token": live.change_token(case, stage)
        + ":"
        + ".".join(str(uid) for uid in sorted(live.present_user_ids(case))),
        "poll_ms": POLL_SECONDS * 1000,
    }


@login_required
@require_GET
def presenter(request: HttpRequest, case_id: int, stage_slug: str) -> HttpResponse:
    """One stage at a time in large type, for the projector."""
    case = get_case_for_user(request.user, case_id)
    stage = get_stage(stage_slug)
    live.mark_present(case, request.user, stage)
    return render(request, "cases/presenter.html", _presenter_context(case, stage))


@login_required
@require_GET
def stage_changes(request: HttpRequest, case_id: int, stage_slug: str) -> HttpResponse:
    """204 when the stage has not changed since the client's token; otherwise the
    stage's items as the asking page shows them, with the new token in the
    X-Changes-Token header. Polled every few seconds by open pages.

    A stage page whose own stage is unchanged while another moved on gets its
    stepper alone, marked by an X-Changes-Only header naming the element.

    With the items, someone who may edit also gets the fresh choices of the
    page's add form (a <template id="add-item-choices">, read by app.js)."""
    case = get_case_for_user(request.user, case_id)
    stage = get_stage(stage_slug)
    live.mark_present(case, request.user, stage)
    since = request.GET.get("since", "")
    presenter = request.GET.get("view") == "presenter"
    if presenter:
        # The projector also shows who is in the room: a newcomer is a change.
        token = live.change_token(case, stage)
        token += ":" + ".".join(str(uid) for uid in sorted(live.present_user_ids(case)))
    else:
        nav = _stage_nav(case)
        token = live.page_token(case, stage, nav)
    if since == token:
        response = HttpResponse(status=204)
    elif presenter:
        response = render(
            request,
            "cases/presenter.html#presenter-live",
            _presenter_context(case, stage),
        )
    elif live.only_the_stepper_moved(since, token):
        response = render(
            request,
            "cases/_stepper.html",
            {"case": case, "stage": stage, "nav": nav},
        )
        response["X-Changes-Only"] = "stepper"
    else:
        context = {
            "case": case,
            "stage": stage,
            "nav": nav,
            "can_edit": case.membership.can_edit,
            "token": token,
            **_items_context(case, stage, nav),
        }
        if context["can_edit"]:
            # The list moved: so may the choices its open add form offers (from
            # its stage and the stages it watches, Stage.watched_stages).
            context.update(_add_form_choices(case, stage))
        response = render(request, "cases/stage.html#live-items", context)
    response["X-Changes-Token"] = token
    response["Cache-Control"] = "no-store"
    return response
