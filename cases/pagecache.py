"""Parts of a case's pages rendered once per revision and served again.

A stage page of a large case renders hundreds of items; doing that on every
request makes the page slow for everyone in a workshop. Most of a page depends
only on the case as it is now and on what the viewer may do, so it is kept in
the cache under exactly that:

    the code's build, the page, the case, the case's revision, the viewer's
    side and role (and what they allow), and anything else the page names.

`Case.revision` moves on every change to anything a page shows
(`cases/revision.py`), so a kept part is never stale: a change makes a new key,
and old keys expire. Reading the revision costs nothing (it is on the case row
every view loads), so a page served from the cache costs the queries of its
header only, whatever the size of the case.

A view opts in through `render_page`: it passes a `CachedPart` for the page's
body and a function that builds the full context, called only on a miss. The
template wraps the part in `{% cached_part part %}...{% endcached_part %}`
(cases/templatetags/case_tags.py), and may wrap smaller shared parts the same
way (a stage's item list). Renders particular to one request (a form with
errors, an edit in progress, a conflict, the item just added) pass no part and
render as usual.

CSRF tokens: kept HTML must not hold one person's token. While a page or part
renders for the cache, `{% csrf_token %}` writes `CSRF_SLOT` instead, and every
response fills the slots with a freshly masked token for the person asking:
`render_page` for a whole page, the `{% cached_part %}` tag for a part sent on
its own (an htmx add, a live update).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from functools import cache, cached_property
from pathlib import Path

from django.conf import settings
from django.contrib import messages
from django.core.cache import caches
from django.http import HttpRequest, HttpResponse
from django.middleware.csrf import get_token
from django.template.loader import render_to_string

from .models import Case

CSRF_SLOT = "csrf-slot-filled-per-request"


@cache
def build_id() -> str:
    """A short fingerprint of the code and templates, so that a deploy (with a
    shared cache such as Redis) never serves parts rendered by the old code."""
    digest = hashlib.sha256()
    root = Path(settings.BASE_DIR)
    for folder in ("businesscase", "cases", "ecosystem", "templates"):
        for path in sorted((root / folder).rglob("*")):
            if path.suffix in {".py", ".html"}:
                stat = path.stat()
                digest.update(f"{path}:{stat.st_mtime_ns}:{stat.st_size}".encode())
    return digest.hexdigest()[:12]


class CachedPart:
    """A part of a page (its body, or a list in it) for everyone who may do the
    same in the case."""

    def __init__(
        self, page: str, case: Case, *names: object, only_edit_rights: bool = False
    ) -> None:
        """only_edit_rights: the part differs only between those who may edit
        and those who may not (a list of items), so it is shared more widely."""
        membership = case.membership
        viewer = (
            (int(membership.can_edit),)
            if only_edit_rights
            else (
                membership.side,
                membership.role,
                int(membership.can_edit),
                int(membership.can_manage),
            )
        )
        self.key = ":".join(
            str(p)
            for p in ("part", build_id(), page, case.pk, case.revision, *viewer, *names)
        )

    @cached_property
    def html(self) -> str | None:
        """The kept HTML, looked up when first asked for (a whole page kept for
        the person asking makes the part's own lookup needless)."""
        return _get(self.key)

    @property
    def hit(self) -> bool:
        return self.html is not None

    def store(self, html: str) -> None:
        _set(self.key, html)
        self.html = html


def render_page(
    request: HttpRequest,
    template: str,
    part: CachedPart,
    context: dict,
    full_context: Callable[[], dict],
) -> HttpResponse:
    """A page whose body is `part`, served in the cheapest way that is right:

    - whole from the cache, when this person has seen the page at this revision
      and no message waits for them (the navigation bar names them);
    - else rendered around the kept body, when the part holds it;
    - else rendered in full, with `full_context()` added to `context`.

    Either of the last two keeps the page for the next time."""
    whole_key = f"{part.key}:user:{request.user.pk}"
    waiting = len(messages.get_messages(request)) > 0
    page = None if waiting else _get(whole_key)  # bytes, ready to send
    if page is None:
        if not part.hit:
            context = {**context, **full_context()}
        context = {**context, "page_part": part, "csrf_token": CSRF_SLOT}
        page = render_to_string(template, context, request).encode()
        if not waiting:
            _set(whole_key, page)
    return HttpResponse(page.replace(CSRF_SLOT.encode(), get_token(request).encode()))


def _get(key: str):
    if not settings.PAGE_CACHE_SECONDS:
        return None
    return caches[settings.PAGE_CACHE_ALIAS].get(key)


def _set(key: str, html: str | bytes) -> None:
    if settings.PAGE_CACHE_SECONDS:
        caches[settings.PAGE_CACHE_ALIAS].set(key, html, settings.PAGE_CACHE_SECONDS)
