"""Live workshops: a cheap "has anything changed?" token per stage, and who is
in the room.

Every open stage page and presenter view asks every couple of seconds whether
its stage changed. The answer must cost next to nothing, so the token is built
from a few indexed MAX() lookups: the stage's item history (adds, edits and
deletes all write a history row), the stage record's history (notes, status),
and the stage's comments and sign-offs. Only when the token moved does the
client fetch the stage's items again.

Presence lives in the cache: each poll marks its user as seen in the case, and
"in the room" is everyone seen in the last PRESENCE_SECONDS.
"""

from __future__ import annotations

import time

from django.core.cache import cache
from django.db.models import Count, Max

from .models import Case, Comment, StageRecord, StageSignOff
from .stages import Stage

PRESENCE_SECONDS = 20


def change_token(case: Case, stage: Stage) -> str:
    items = stage.model.history.filter(case_id=case.pk).aggregate(m=Max("history_id"))[
        "m"
    ]
    record = StageRecord.history.filter(case_id=case.pk, stage=stage.slug).aggregate(
        m=Max("history_id")
    )["m"]
    comments = Comment.objects.filter(case=case, stage=stage.slug).aggregate(
        m=Max("id"), n=Count("id")
    )
    sign_offs = StageSignOff.objects.filter(case=case, stage=stage.slug).aggregate(
        m=Max("id"), n=Count("id")
    )
    return "-".join(
        str(v or 0)
        for v in (
            items,
            record,
            comments["m"],
            comments["n"],
            sign_offs["m"],
            sign_offs["n"],
        )
    )


def _presence_key(case: Case) -> str:
    return f"presence:case:{case.pk}"


def mark_present(case: Case, user, stage: Stage | None = None) -> None:
    """Record that `user` has the case open now (on `stage`, if given)."""
    seen = cache.get(_presence_key(case)) or {}
    now = time.time()
    seen = {uid: v for uid, v in seen.items() if now - v[0] < PRESENCE_SECONDS * 3}
    seen[user.pk] = (now, stage.slug if stage else "")
    cache.set(_presence_key(case), seen, PRESENCE_SECONDS * 3)


def present_user_ids(case: Case) -> dict[int, str]:
    """Users seen in the last PRESENCE_SECONDS, with the stage they are on."""
    now = time.time()
    seen = cache.get(_presence_key(case)) or {}
    return {
        uid: slug for uid, (at, slug) in seen.items() if now - at < PRESENCE_SECONDS
    }
