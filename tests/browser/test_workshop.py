"""Workshop mode in real browsers: the facilitator's projector and a client's
laptop on the same case at the same time."""

import time
from datetime import date, timedelta

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


CONTRIBUTOR = "maria.lopez@harbour.example"  # the client's contributor


def add_lagging_metric(page, name: str) -> None:
    form = page.locator("#add-item form")
    form.get_by_label("Name").fill(name)
    form.get_by_label("Unit").fill("EUR")
    form.get_by_label("Baseline").fill("41")
    form.get_by_label("Target").fill("36")
    form.get_by_label("By when").fill((date.today() + timedelta(days=700)).isoformat())
    form.get_by_label("Owner").fill("Finance Director")
    form.get_by_label("Measured").select_option("quarterly")
    form.get_by_role("button", name="Add lagging metric").click()
    expect(page.locator("#item-list .item-card", has_text=name)).to_be_visible()


def caret(page) -> dict:
    return page.evaluate(
        "() => ({name: document.activeElement.name,"
        " start: document.activeElement.selectionStart})"
    )


def test_an_open_add_form_offers_a_metric_added_meanwhile_and_keeps_her_input(
    browser, live_server, demo_case
):
    """Maria is half way through a benefit when Anna adds a lagging metric: her
    "proved by" list offers it within seconds, with nothing she typed or picked
    lost, and her benefit is added as she wrote it."""
    maria = stage_page_as(browser, live_server, CONTRIBUTOR, demo_case, "benefits")
    form = maria.locator("#add-item form")
    proved_by = form.get_by_label("Proved by")
    proved_by.select_option(label="On-time-in-full site deliveries")
    picked = proved_by.input_value()
    form.get_by_label("Category").select_option("customer")
    title = form.get_by_label("Title")
    title.fill("Fewer sites waiting for late trucks")
    title.evaluate("input => input.setSelectionRange(5, 5)")  # she is mid-word
    assert caret(maria) == {"name": "title", "start": 5}

    anna = stage_page_as(browser, live_server, EDITOR, demo_case, "lagging-metrics")
    add_lagging_metric(anna, "Cost per order")

    expect(proved_by.locator("option", has_text="Cost per order")).to_have_count(
        1, timeout=5000
    )
    expect(title).to_have_value("Fewer sites waiting for late trucks")
    expect(proved_by).to_have_value(picked)
    assert caret(maria) == {"name": "title", "start": 5}, "focus and caret kept"
    assert form.get_by_label("Category").input_value() == "customer"

    form.get_by_role("button", name="Add benefit").click()
    card = maria.locator(".item-card", has_text="Fewer sites waiting for late trucks")
    expect(card).to_be_visible()
    expect(card).to_contain_text("Proved by: On-time-in-full site deliveries")
    expect(card).to_contain_text("Customer")


def test_an_open_add_form_drops_a_deleted_choice_and_keeps_the_others_ticked(
    browser, live_server, demo_case
):
    """The "drives" ticks of an open leading-metric form: a lagging metric added
    elsewhere appears unticked, one deleted goes, the ticked ones stay."""
    from cases.models import LaggingMetric

    metrics = LaggingMetric.objects.filter(case=demo_case).order_by("name")
    kept, doomed = metrics[0].name, metrics[1].name
    maria = stage_page_as(
        browser, live_server, CONTRIBUTOR, demo_case, "leading-metrics"
    )
    form = maria.locator("#add-item form")
    form.get_by_label("Name").fill("Slots booked online")
    form.get_by_label(kept, exact=True).check()
    form.get_by_label(doomed, exact=True).check()

    anna = stage_page_as(browser, live_server, EDITOR, demo_case, "lagging-metrics")
    add_lagging_metric(anna, "Cost per order")
    anna.on("dialog", lambda dialog: dialog.accept())
    anna.locator(".item-card", has_text=doomed).get_by_role(
        "link", name="Delete"
    ).click()
    expect(anna.locator(".item-card", has_text=doomed)).to_have_count(0)

    new = form.get_by_label("Cost per order", exact=True)
    expect(new).to_have_count(1, timeout=5000)
    expect(form.get_by_label(doomed, exact=True)).to_have_count(0, timeout=5000)
    expect(new).not_to_be_checked()
    expect(form.get_by_label(kept, exact=True)).to_be_checked()
    expect(form.get_by_label("Name")).to_have_value("Slots booked online")
    new.check()  # its label names its own box
    expect(new).to_be_checked()
