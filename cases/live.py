"""Live workshops: a cheap "has anything changed?" token per stage, and who is
in the room.

Every open stage page and presenter view asks every couple of seconds whether
its stage changed. The answer must cost next to nothing, so the token is one
query of indexed MAX() and COUNT() lookups, read as scalar subqueries of the
case row. It covers:

- the stage's item history (adds, edits and deletes all write a history row);
- the item history of every stage its cards show data from (`Stage.shows_from`
  in cases/stages.py: a benefit names the lagging metric that proves it, so
  renaming that metric is a change of the Benefits stage too), and of every
  stage its add form picks from (`Stage.picks_from`: an investment's party);
- the stage record's history (notes, status);
- the stage's comments and sign-offs (newest id and count, so a delete counts).

Anything else (another stage's comments, an unrelated stage's items) leaves the
token alone. Only when the token moved does the client fetch the stage's items
again.

A stage page also shows the stepper: every stage's item count and status. Its
token (`page_token`) adds those, so that when only another stage moved on, the
page gets a fresh stepper and keeps its items as they are.

When the items changed, a page whose user may add items also gets the fresh
choices of its add form (views.stages._add_form_choices): its choices come from
the stage's own items or from the stages it watches (a benefit's lagging
metric, the metrics a leading metric drives, an investment's party), whose
changes move the token, so an unchanged page still costs the token alone.

Presence lives in the cache: each poll marks its user as seen in the case, and
"in the room" is everyone seen in the last PRESENCE_SECONDS.
"""

from __future__ import annotations

import time

from django.core.cache import cache
from django.db.models import Count, Max

from .models import Case, Comment, StageRecord, StageSignOff
from .stages import Stage, of_case

PRESENCE_SECONDS = 20


def change_token(case: Case, stage: Stage) -> str:
    """A string that moves whenever what the stage's page shows changes."""
    comments = Comment.objects.filter(stage=stage.slug)
    sign_offs = StageSignOff.objects.filter(stage=stage.slug)
    parts = {
        "items_last": of_case(stage.model.history.all(), Max("history_id")),
        **{
            f"{other.key}_last": of_case(other.model.history.all(), Max("history_id"))
            for other in stage.watched_stages
        },
        "record_last": of_case(
            StageRecord.history.filter(stage=stage.slug), Max("history_id")
        ),
        "comments_last": of_case(comments, Max("id")),
        "comments_count": of_case(comments, Count("id")),
        "sign_offs_last": of_case(sign_offs, Max("id")),
        "sign_offs_count": of_case(sign_offs, Count("id")),
    }
    row = Case.objects.filter(pk=case.pk).values(**parts).get()
    return "-".join(str(row[name] or 0) for name in parts)


# A stage page's token: its stage's token, then the stepper's (every stage's item
# count and status), so that a page learns when another stage moved on too.
STEPPER_SPLIT = "~"


def page_token(case: Case, stage: Stage, nav: list[dict]) -> str:
    """The token of a stage page, whose stepper (`nav`, from
    views.common._stage_nav) shows the other stages' counts and statuses."""
    stepper = ".".join(f"{entry['count']}{entry['status'][:2]}" for entry in nav)
    return f"{change_token(case, stage)}{STEPPER_SPLIT}{stepper}"


def only_the_stepper_moved(since: str, token: str) -> bool:
    """Whether a page holding `since` needs the stepper only, not its items."""
    stage_since, _, stepper_since = since.partition(STEPPER_SPLIT)
    stage_now, _, stepper_now = token.partition(STEPPER_SPLIT)
    return stage_since == stage_now and stepper_since != stepper_now


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
