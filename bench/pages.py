"""Page speed: how long the overview and each stage page take, on the demo case and
on a 500-item case, next to a trivial view served by the same server.

    .venv/bin/python bench/pages.py [--requests 40] [--items 500]

It builds its own SQLite database under var/ (so it never touches yours), starts
gunicorn (one sync worker, DEBUG off) on 127.0.0.1, requests every page N times
after a warm-up (round robin over the pages, so a drift in the machine's load
touches them all alike), and prints the median and p95 in milliseconds and each
page's ratio to the trivial view's median. Goal (issue 2): a stage page of the 500-item
case within 4x the trivial view.
"""

from __future__ import annotations

import argparse
import http.client
import os
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DB = ROOT / "var" / "bench-pages.sqlite3"


def configure_env() -> dict[str, str]:
    env = {
        "DATABASE_URL": f"sqlite:///{DB}",
        "DEBUG": "false",
        "SECRET_KEY": "bench-only-not-secret",
        "ALLOWED_HOSTS": "127.0.0.1",
        "SESSION_COOKIE_SECURE": "false",
        "CSRF_COOKIE_SECURE": "false",
        "LOG_LEVEL": "WARNING",
    }
    os.environ.update(env)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "businesscase.settings")
    sys.path.insert(0, str(ROOT))
    return env


def prepare(items: int) -> tuple[str, list[tuple[str, str]], int]:
    """Build the database; return a session cookie, the (label, path) list and
    the large case's id."""
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from django.test import Client

    from cases.management.commands.make_big_case import build_big_case
    from cases.models import Case
    from cases.stages import STAGES

    DB.unlink(missing_ok=True)
    call_command("migrate", verbosity=0)
    call_command("collectstatic", interactive=False, verbosity=0)
    call_command("load_demo", verbosity=0, stdout=open(os.devnull, "w"))  # noqa: SIM115
    demo = Case.objects.order_by("pk").first()
    user = get_user_model().objects.get(email="anna.berg@northwind.example")
    started = time.perf_counter()
    big = build_big_case(user=user, items=items)
    print(f"built a {items}-item case in {time.perf_counter() - started:.1f} s")

    client = Client()
    client.force_login(user)
    cookie = client.cookies["sessionid"].value

    paths = [("trivial view", "/healthz")]
    for label, case in (("demo", demo), (f"{items} items", big)):
        paths.append((f"{label}: overview", f"/cases/{case.pk}/"))
        paths += [
            (
                f"{label}: {stage.number}. {stage.short_title}",
                f"/cases/{case.pk}/stages/{stage.slug}/",
            )
            for stage in STAGES
        ]
    return cookie, paths, big.pk


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def get(port: int, path: str, cookie: str) -> float:
    started = time.perf_counter()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    conn.request("GET", path, headers={"Cookie": f"sessionid={cookie}"})
    response = conn.getresponse()
    response.read()
    conn.close()
    elapsed = time.perf_counter() - started
    if response.status != 200:
        raise SystemExit(f"{path} answered {response.status}")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--requests", type=int, default=40, help="timed requests per page"
    )
    parser.add_argument(
        "--items", type=int, default=500, help="items in the large case"
    )
    parser.add_argument(
        "--after-change",
        type=int,
        default=10,
        help="timed first views after a change, per page of the large case",
    )
    args = parser.parse_args()
    big = f"{args.items} items: "

    env = configure_env()
    cookie, paths, big_pk = prepare(args.items)
    port = free_port()
    server = subprocess.Popen(
        [
            str(ROOT / ".venv" / "bin" / "gunicorn"),
            "businesscase.wsgi",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            "1",
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
        env={**os.environ, **env},
    )
    try:
        for _ in range(100):
            try:
                get(port, "/healthz", cookie)
                break
            except OSError:
                time.sleep(0.1)
        for _ in range(5):  # warm-up: templates compiled, caches filled
            for _label, path in paths:
                get(port, path, cookie)
        # Round robin: every page is timed under the same conditions as the
        # trivial view, so the ratios hold even if the machine's load drifts.
        times: dict[str, list[float]] = {label: [] for label, _path in paths}
        for _ in range(args.requests):
            for label, path in paths:
                times[label].append(get(port, path, cookie) * 1000)
        # The first view after a change renders the page again (the cache keys on
        # the case's revision): timed apart, on the large case.
        from cases import revision

        changed = [(label, path) for label, path in paths if label.startswith(big)]
        for _ in range(args.after_change):
            for label, path in changed:
                revision.bump(big_pk)
                times.setdefault(f"{label} *", []).append(
                    get(port, path, cookie) * 1000
                )
        results = []
        for label, samples in times.items():
            ordered = sorted(samples)
            p95 = ordered[min(len(ordered) - 1, round(0.95 * len(ordered)) - 1)]
            results.append((label, statistics.median(ordered), p95))
    finally:
        server.terminate()
        server.wait(timeout=10)

    trivial = results[0][1]
    print(f"\n{'page':38} {'median ms':>10} {'p95 ms':>8} {'x trivial':>10}")
    for label, median, p95 in results:
        print(f"{label:38} {median:10.1f} {p95:8.1f} {median / trivial:10.2f}")
    print("* the first view after a change to the case (nothing kept yet)")
    big_stages = [
        r
        for r in results
        if r[0].startswith(big) and "overview" not in r[0] and not r[0].endswith("*")
    ]
    worst = max(big_stages, key=lambda r: r[1])
    verdict = "meets" if worst[1] / trivial <= 4 else "MISSES"
    print(
        f"\nslowest {args.items}-item stage page: {worst[0]} at {worst[1] / trivial:.2f}x "
        f"the trivial view ({verdict} the 4x goal)"
    )
    misses = [r for r in results if r[0].endswith("*") and "overview" not in r[0]]
    if misses:
        slowest = max(misses, key=lambda r: r[1])
        print(
            f"slowest first view after a change: {slowest[0][:-2]} at "
            f"{slowest[1]:.0f} ms ({slowest[1] / trivial:.0f}x)"
        )


if __name__ == "__main__":
    main()
