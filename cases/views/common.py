"""Helpers shared by the case views."""

from __future__ import annotations

from django.http import HttpRequest

from ..models import Case, StageRecord, StageStatus
from ..stages import STAGES, stage_counts


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
        # Started, not yet agreed: the lighter part of the bar after the agreed one.
        "started_only_percent": round(100 * started / len(nav))
        - round(100 * agreed / len(nav)),
    }
