"""A workshop under load: 30 participants on one case against gunicorn on 127.0.0.1.

    .venv/bin/python bench/workshop.py [--participants 30] [--seconds 60]
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/bench_workshop .venv/bin/python bench/workshop.py

Each simulated participant has a stage page open: it asks the "what changed
since" endpoint every 2 s, and every 5-10 s it edits one of a small pool of shared
items through the real edit form (reading the form, then posting it with the
version it read), so that participants collide as people do in a room. A 409 is a
conflict shown to the user, not an error. At the end every edit the server
accepted is looked for in the database's history: an accepted edit missing there
is a lost edit. Prints requests, p50/p95/p99 per endpoint, errors, conflicts and
lost edits. Goals (issue 4): p95 under 200 ms, zero errors, zero lost edits.

The run is bounded (--seconds) and only talks to 127.0.0.1.
"""

from __future__ import annotations

import argparse
import http.client
import os
import random
import socket
import statistics
import subprocess
import sys
import threading
import time
from collections import defaultdict
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
SQLITE = ROOT / "var" / "bench-workshop.sqlite3"


class FormReader(HTMLParser):
    """The fields of the first <form> in a page fragment, as a browser would send them."""

    def __init__(self):
        super().__init__()
        self.fields: dict[str, str] = {}
        self._textarea: str | None = None
        self._select: str | None = None
        self._done = False

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if self._done:
            return
        if (
            tag == "input"
            and a.get("name")
            and a.get("type") not in ("checkbox", "submit")
        ):
            self.fields[a["name"]] = a.get("value") or ""
        elif tag == "input" and a.get("type") == "checkbox" and "checked" in a:
            self.fields[a["name"]] = a.get("value", "on")
        elif tag == "textarea":
            self._textarea = a.get("name")
            self.fields[self._textarea] = ""
        elif tag == "select":
            self._select = a.get("name")
        elif tag == "option" and self._select and "selected" in a:
            self.fields[self._select] = a.get("value", "")

    def handle_endtag(self, tag):
        if tag == "textarea":
            self._textarea = None
        elif tag == "select":
            self._select = None
        elif tag == "form":
            self._done = True

    def handle_data(self, data):
        if self._textarea:
            self.fields[self._textarea] += data


class Stats:
    def __init__(self):
        self.lock = threading.Lock()
        self.times: dict[str, list[float]] = defaultdict(list)
        self.errors: list[str] = []
        self.conflicts = 0
        self.accepted: list[tuple[int, str]] = []

    def record(self, endpoint: str, seconds: float) -> None:
        with self.lock:
            self.times[endpoint].append(seconds * 1000)


def request(port, method, path, cookie, csrf=None, body=None, htmx=True):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    headers = {"Cookie": cookie}
    if htmx:
        headers["HX-Request"] = "true"
    if body is not None:
        headers["Content-Type"] = "application/x-www-form-urlencoded"
        headers["X-CSRFToken"] = csrf
        headers["Referer"] = f"http://127.0.0.1:{port}/"
    started = time.perf_counter()
    conn.request(method, path, body=body, headers=headers)
    response = conn.getresponse()
    text = response.read().decode(errors="replace")
    elapsed = time.perf_counter() - started
    conn.close()
    return response.status, text, elapsed, response.getheader("X-Changes-Token")


def participant(n, port, session, csrf, case_id, stage_slugs, pool, deadline, stats):
    cookie = f"sessionid={session}; csrftoken={csrf}"
    rng = random.Random(n)
    watched = stage_slugs[n % len(stage_slugs)]
    token = ""
    next_poll = time.monotonic() + rng.random() * 2
    next_edit = time.monotonic() + rng.uniform(5, 10)
    edits = 0
    while time.monotonic() < deadline:
        now = time.monotonic()
        if now >= next_poll:
            path = f"/cases/{case_id}/stages/{watched}/changes/?{urlencode({'since': token})}"
            status, _, elapsed, new_token = request(port, "GET", path, cookie)
            stats.record("poll changes", elapsed)
            if status not in (200, 204):
                stats.errors.append(f"poll {status}")
            token = new_token or token
            next_poll = now + 2
        if now >= next_edit:
            item_id = rng.choice(pool)
            edit = f"/cases/{case_id}/stages/changes/items/{item_id}/edit/"
            status, html, elapsed, _ = request(port, "GET", edit, cookie)
            stats.record("open edit form", elapsed)
            if status != 200:
                stats.errors.append(f"open edit {status}")
            else:
                reader = FormReader()
                reader.feed(html)
                fields = reader.fields
                edits += 1
                title = f"Participant {n} edit {edits}"
                fields["title"] = title
                time.sleep(rng.uniform(0.5, 2.0))  # typing
                status, _, elapsed, _ = request(
                    port, "POST", edit, cookie, csrf=csrf, body=urlencode(fields)
                )
                stats.record("save edit", elapsed)
                with stats.lock:
                    if status == 200:
                        stats.accepted.append((item_id, title))
                    elif status == 409:
                        stats.conflicts += 1
                    else:
                        stats.errors.append(f"save {status}")
            next_edit = time.monotonic() + rng.uniform(5, 10)
        time.sleep(0.05)


def prepare(participants: int):
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from django.middleware.csrf import _get_new_csrf_string
    from django.test import Client

    from cases import services
    from cases.models import ChangeItem, Role, Side
    from cases.stages import BY_KEY, STAGES

    call_command("flush", interactive=False, verbosity=0)
    call_command("migrate", verbosity=0)
    call_command("load_demo", verbosity=0, stdout=open(os.devnull, "w"))  # noqa: SIM115
    from cases.models import Case

    case = Case.objects.get(extra__demo=True)
    anna = get_user_model().objects.get(email="anna.berg@northwind.example")
    pool = []
    for k in range(8):
        item = ChangeItem(
            case=case, leg="process", title=f"Shared item {k}", description="x"
        )
        item.full_clean()
        pool.append(
            services.save_item(
                case=case, stage=BY_KEY["changes"], item=item, user=anna
            ).pk
        )
    sessions = []
    User = get_user_model()
    for n in range(participants):
        user, _ = User.objects.get_or_create(
            username=f"participant{n}@bench.example",
            defaults={"email": f"participant{n}@bench.example", "first_name": f"P{n}"},
        )
        side = Side.CLIENT if n % 2 else Side.SELLER
        services.add_member(case=case, user=user, side=side, role=Role.CONTRIBUTOR)
        client = Client()
        client.force_login(user)
        sessions.append(client.cookies["sessionid"].value)
    csrf = _get_new_csrf_string()
    return case.pk, [s.slug for s in STAGES], pool, sessions, csrf


def lost_edits(accepted) -> int:
    from cases.models import ChangeItem

    lost = 0
    for item_id, title in accepted:
        if not ChangeItem.history.filter(id=item_id, title=title).exists():
            lost += 1
    return lost


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--participants", type=int, default=30)
    parser.add_argument("--seconds", type=int, default=60)
    args = parser.parse_args()

    os.environ.setdefault("DATABASE_URL", f"sqlite:///{SQLITE}")
    os.environ.update(
        {
            "DEBUG": "false",
            "SECRET_KEY": "bench-only",
            "LOG_LEVEL": "WARNING",
            "ALLOWED_HOSTS": "127.0.0.1",
            "SESSION_COOKIE_SECURE": "false",
            "CSRF_COOKIE_SECURE": "false",
        }
    )
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "businesscase.settings")
    sys.path.insert(0, str(ROOT))
    case_id, slugs, pool, sessions, csrf = prepare(args.participants)
    from django.core.management import call_command

    call_command("collectstatic", interactive=False, verbosity=0)

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = subprocess.Popen(
        [
            str(ROOT / ".venv" / "bin" / "gunicorn"),
            "businesscase.wsgi",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            "2",
            "--threads",
            "8",
            "--worker-class",
            "gthread",
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
        env=os.environ.copy(),
    )
    stats = Stats()
    try:
        for _ in range(100):
            try:
                request(port, "GET", "/healthz", "")
                break
            except OSError:
                time.sleep(0.1)
        deadline = time.monotonic() + args.seconds
        threads = [
            threading.Thread(
                target=participant,
                args=(
                    n,
                    port,
                    sessions[n],
                    csrf,
                    case_id,
                    slugs,
                    pool,
                    deadline,
                    stats,
                ),
            )
            for n in range(args.participants)
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    finally:
        server.terminate()
        server.wait(timeout=20)

    from django.db import connection

    engine = connection.vendor
    print(f"\n{args.participants} participants, {args.seconds} s, {engine}")
    print(f"{'endpoint':16} {'requests':>9} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8}")
    total = 0
    worst_p95 = 0.0
    for endpoint, times in sorted(stats.times.items()):
        times.sort()
        q = statistics.quantiles(times, n=100) if len(times) > 1 else times * 99
        total += len(times)
        worst_p95 = max(worst_p95, q[94])
        print(
            f"{endpoint:16} {len(times):9d} {statistics.median(times):8.1f} {q[94]:8.1f} {q[98]:8.1f}"
        )
    lost = lost_edits(stats.accepted)
    print(
        f"\nrequests {total}, errors {len(stats.errors)}, conflicts {stats.conflicts}, "
        f"accepted edits {len(stats.accepted)}, lost edits {lost}"
    )
    if stats.errors:
        print("first errors:", stats.errors[:5])
    print(
        "goals: p95 < 200 ms: {}; zero errors: {}; zero lost edits: {}".format(
            "yes" if worst_p95 < 200 else "NO",
            "yes" if not stats.errors else "NO",
            "yes" if lost == 0 else "NO",
        )
    )


if __name__ == "__main__":
    main()
