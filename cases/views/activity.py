"""The case's activity feed: who added, changed and deleted what, newest first,
filterable by stage and by person."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from .. import activity
from ..access import get_case_for_user
from ..stages import BY_SLUG, STAGES
from .common import _is_htmx


def _int(value: str | None, default: int | None = None) -> int | None:
    try:
        return int(value) if value else default
    except ValueError:
        return default


@login_required
@require_GET
def activity_page(request: HttpRequest, case_id: int) -> HttpResponse:
    case = get_case_for_user(request.user, case_id)
    members = list(
        case.memberships.select_related("user").order_by("side", "user__email")
    )
    people = {m.user_id: m for m in members}
    stage = BY_SLUG.get(request.GET.get("stage", ""))
    person = _int(request.GET.get("person"))
    if person not in people:
        person = None
    page = max(_int(request.GET.get("page"), 1) or 1, 1)
    # ?recent=1: the few newest entries, as the overview loads them.
    recent = bool(request.GET.get("recent"))
    feed = activity.feed(
        case,
        stage=stage,
        user_id=person,
        page=1 if recent else page,
        per_page=activity.RECENT if recent else activity.PAGE_SIZE,
        sides={m.user_id: m.side for m in members},
    )
    filters = {"stage": stage.slug if stage else "", "person": person or ""}
    context = {
        "case": case,
        "feed": feed,
        "stages": STAGES,
        "members": members,
        "stage_filter": stage,
        "person_filter": person,
        "filter_query": "&".join(f"{k}={v}" for k, v in filters.items() if v),
    }
    if recent:
        template = "cases/activity.html#entry-list"
    elif _is_htmx(request):
        template = "cases/activity.html#feed"
    else:
        template = "cases/activity.html"
    return render(request, template, context)
