"""The README's first command, `./dev run`, as a new user runs it: it sets up,
loads the demo, and starts the web server and the PDF worker on the embedded
defaults (SQLite, the filesystem broker). Driven over HTTP like a browser: log
in with a demo account, export the demo case's PDF, download it, read it.

The run gets a database, media folder and broker folder of its own (the
developer's var/ is not touched) and the embedded broker even where the suite
runs against Redis: that default is what the README promises.
"""

from __future__ import annotations

import html
import io
import os
import re
import signal
import socket
import subprocess
import time
import uuid
from http.cookiejar import CookieJar
from pathlib import Path
from urllib.error import URLError
from urllib.parse import urlencode
from urllib.request import HTTPCookieProcessor, Request, build_opener

import pypdf
import pytest
from django.conf import settings

ROOT = Path(settings.BASE_DIR)
DEMO_EMAIL = "anna.berg@northwind.example"
DEMO_PASSWORD = "demo-pass-2026"
DEMO_TITLE = "Direct-to-site delivery for regional distribution"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Browser:
    """Just enough of a browser: cookies, and the CSRF token of the last form."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.opener = build_opener(HTTPCookieProcessor(CookieJar()))

    def get(self, path: str, timeout: float = 30) -> str:
        with self.opener.open(self.base + path, timeout=timeout) as response:
            return response.read().decode()

    def get_bytes(self, path: str) -> tuple[str, bytes]:
        with self.opener.open(self.base + path, timeout=30) as response:
            return response.headers["Content-Type"], response.read()

    def post(self, path: str, form_page: str, data: dict) -> str:
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form_page)
        assert token, "no CSRF token on the form's page"
        body = urlencode({"csrfmiddlewaretoken": token.group(1), **data}).encode()
        request = Request(  # noqa: S310 (http://127.0.0.1 only)
            self.base + path, data=body, headers={"Referer": self.base + path}
        )
        with self.opener.open(request, timeout=30) as response:
            return response.read().decode()


class DevRun:
    """A running `./dev run`: where it answers, and what it printed."""

    def __init__(self, process: subprocess.Popen, base: str, log: Path) -> None:
        self.process, self.base, self.log = process, base, log

    def wait_for(self, check, *, timeout: float, what: str):
        """`check()`'s first true answer; a failure as soon as `./dev run`
        ends, or once `timeout` seconds have passed."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            result = check()
            if result:
                return result
            if self.process.poll() is not None:
                pytest.fail(
                    f"{what}: ./dev run ended. It said:\n{self.log.read_text()}"
                )
            time.sleep(0.5)
        pytest.fail(
            f"{what} within {timeout:.0f} s. ./dev run said:\n{self.log.read_text()}"
        )


def app_settings() -> set[str]:
    """The environment variables the app's settings read: a run of its own
    must not take the suite's (DEBUG, CACHE_URL, SECRET_KEY...)."""
    source = (ROOT / "businesscase" / "settings.py").read_text()
    names = set(re.findall(r'env\.\w+\(\s*"([A-Z_]+)"', source))
    assert {"DEBUG", "DATABASE_URL", "CACHE_URL"} <= names, "settings read otherwise"
    return names


@pytest.fixture
def dev_run(tmp_path):
    """`./dev run` started as the README says, stopped (web and worker) after."""
    port = free_port()
    log = tmp_path / "dev-run.log"
    env = {
        **{k: v for k, v in os.environ.items() if k not in app_settings()},
        "PORT": str(port),
        "DATABASE_URL": f"sqlite:///{tmp_path / 'app.sqlite3'}",
        "MEDIA_ROOT": str(tmp_path / "media"),
        "CELERY_BROKER_URL": "filesystem://localhost/",
        "CELERY_BROKER_DIR": str(tmp_path / "broker"),
        "CELERY_QUEUE": f"dev-run-{uuid.uuid4().hex[:8]}",
        "PYTHONUNBUFFERED": "1",
    }
    env.pop("DJANGO_SETTINGS_MODULE", None)
    with log.open("w") as out:
        process = subprocess.Popen(
            ["./dev", "run"],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # honcho, web and worker: one group to stop
        )
    try:
        yield DevRun(process, f"http://127.0.0.1:{port}", log)
    finally:
        for sig, grace in ((signal.SIGTERM, 20), (signal.SIGKILL, 10)):
            try:
                os.killpg(process.pid, sig)
            except ProcessLookupError:
                break
            try:
                process.wait(timeout=grace)
                break
            except subprocess.TimeoutExpired:
                continue


def test_dev_run_serves_the_demo_and_its_worker_renders_the_pdf(dev_run):
    browser = Browser(dev_run.base)

    def login_page():
        try:
            return browser.get("/accounts/login/", timeout=5)
        except (URLError, ConnectionError, TimeoutError):
            return None

    page = dev_run.wait_for(login_page, timeout=300, what="no login page")
    assert "demo" in page.lower()  # the login page mentions the demo accounts

    dashboard = browser.post(
        "/accounts/login/", page, {"login": DEMO_EMAIL, "password": DEMO_PASSWORD}
    )
    assert DEMO_TITLE in html.unescape(dashboard)
    case_id = re.search(r'href="/cases/(\d+)/"', dashboard).group(1)

    exports = f"/cases/{case_id}/exports/"
    browser.post(exports, browser.get(exports), {"paper_size": "A4"})

    def download_link():
        found = re.search(
            rf'href="(/cases/{case_id}/exports/\d+/download/)"', browser.get(exports)
        )
        return found and found.group(1)

    link = dev_run.wait_for(download_link, timeout=120, what="no PDF ready")
    content_type, content = browser.get_bytes(link)

    assert content_type == "application/pdf"
    pdf = pypdf.PdfReader(io.BytesIO(content))
    assert len(pdf.pages) >= 10
    assert pdf.metadata.title == DEMO_TITLE
    text = " ".join(page.extract_text() for page in pdf.pages)
    for heading in ("Executive summary", "Risks of not acting", "Participants"):
        assert heading in text
