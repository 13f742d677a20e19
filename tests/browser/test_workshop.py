"""Workshop mode in real browsers: the facilitator's projector and a client's
laptop on the same case at the same time."""

import time

import pytest
from playwright.sync_api import expect

from .conftest import log_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_presenter_view_shows_a_new_risk_within_3_seconds(
    browser, live_server, demo_case
):
    facilitator = browser.new_context(
        viewport={"width": 1600, "height": 900}
    ).new_page()
    log_in(facilitator, live_server, "anna.berg@northwind.example")
    facilitator.goto(
        f"{live_server.url}/cases/{demo_case.pk}/present/risks-of-not-acting/"
    )
    expect(
        facilitator.get_by_role("heading", name="Risk of not acting")
    ).to_be_visible()
    presenter_url = facilitator.url

    laptop = browser.new_context().new_page()
    log_in(laptop, live_server, "maria.lopez@harbour.example")
    laptop.goto(f"{live_server.url}/cases/{demo_case.pk}/stages/risks-of-not-acting/")
    form = laptop.locator("#add-item form")
    form.get_by_label("Title").fill("Our best dispatchers are headhunted")
    form.get_by_label("Likelihood").select_option("4")
    form.get_by_label("Impact").select_option("4")
    form.get_by_role("button", name="Add risk").click()
    added = time.monotonic()
    expect(laptop.locator(".item-card", has_text="headhunted")).to_be_visible()

    expect(facilitator.locator("#presenter-items")).to_contain_text(
        "Our best dispatchers are headhunted", timeout=3000
    )
    assert time.monotonic() - added < 3
    assert facilitator.url == presenter_url, "no reload: the same page updated itself"
    expect(facilitator.locator("#room")).to_contain_text("Maria Lopez")


VIEWER = "david.chen@harbour.example"  # the client's CFO, a viewer
EDITOR = "anna.berg@northwind.example"  # the seller's facilitator


def stage_page_as(browser, live_server, email: str, case, slug: str):
    """A browser of its own, logged in as `email`, on one stage of `case`."""
    page = browser.new_context().new_page()
    log_in(page, live_server, email)
    page.goto(f"{live_server.url}/cases/{case.pk}/stages/{slug}/")
    return page


def add_change(page, leg: str, title: str) -> None:
    form = page.locator("#add-item form")
    form.get_by_label("Leg").select_option(leg)
    form.get_by_label("Title").fill(title)
    form.get_by_role("button", name="Add change").click()


def test_an_open_stage_page_shows_another_persons_item(browser, live_server, demo_case):
    watcher = stage_page_as(browser, live_server, VIEWER, demo_case, "changes")
    count_before = int(watcher.locator("#stage-count").inner_text())

    editor = stage_page_as(browser, live_server, EDITOR, demo_case, "changes")
    add_change(editor, "people", "Pair planners with drivers for a week")

    expect(watcher.locator("#item-list")).to_contain_text(
        "Pair planners with drivers for a week", timeout=3000
    )
    expect(watcher.locator("#stage-count")).to_have_text(str(count_before + 1))


def test_an_open_stage_page_counts_an_item_added_on_another_stage(
    browser, live_server, demo_case
):
    """The stepper follows the other stages, without touching the page's list."""
    watcher = stage_page_as(browser, live_server, VIEWER, demo_case, "benefits")
    changes_count = watcher.locator('[data-stage-count="changes"]')
    before = int(changes_count.inner_text())
    list_before = watcher.locator("#item-list").inner_html()

    editor = stage_page_as(browser, live_server, EDITOR, demo_case, "changes")
    add_change(editor, "process", "Publish the delivery slots to site managers")

    expect(changes_count).to_have_text(str(before + 1), timeout=3000)
    assert watcher.locator("#item-list").inner_html() == list_before
