"""The case's pages on a phone (390 x 844): nothing scrolls sideways, a stage's
content starts on the first screen, and the People page's Remove asks first."""

import pytest
from playwright.sync_api import expect

from cases.stages import STAGES

from .conftest import log_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PHONE = {"width": 390, "height": 844}
FACILITATOR = "anna.berg@northwind.example"


def phone_page(browser, live_server, **context):
    page = browser.new_context(viewport=PHONE, **context).new_page()
    log_in(page, live_server, FACILITATOR)
    return page


def test_no_page_scrolls_sideways_on_a_phone(browser, live_server, demo_case):
    page = phone_page(browser, live_server)
    case_url = f"{live_server.url}/cases/{demo_case.pk}/"
    pages = ["", "numbers/", "decision/", "exports/", "activity/", "members/"]
    pages += [f"stages/{stage.slug}/" for stage in STAGES]
    pages += [f"present/{stage.slug}/" for stage in STAGES]
    too_wide = {}
    for path in pages:
        page.goto(case_url + path)
        width = page.evaluate("document.documentElement.scrollWidth")
        if width > PHONE["width"]:
            too_wide[path or "overview"] = width
    assert not too_wide, f"pages wider than the phone: {too_wide}"


def test_a_stage_starts_on_the_first_screen_of_a_phone(browser, live_server, demo_case):
    page = phone_page(browser, live_server)
    for stage in STAGES:
        page.goto(f"{live_server.url}/cases/{demo_case.pk}/stages/{stage.slug}/")
        title = page.get_by_role("heading", level=2, name=stage.title)
        assert title.bounding_box()["y"] < PHONE["height"], stage.slug


def test_the_stepper_folds_behind_a_toggle_on_a_phone(browser, live_server, demo_case):
    page = phone_page(browser, live_server)
    page.goto(f"{live_server.url}/cases/{demo_case.pk}/stages/ecosystem/")
    stages = page.locator("#stepper-list")
    toggle = page.get_by_role("button", name="Stage 3 of 9 · Ecosystem")
    expect(stages).to_be_hidden()
    toggle.click()
    expect(stages).to_be_visible()
    expect(toggle).to_have_attribute("aria-expanded", "true")
    stages.get_by_role("link", name="Investments").click()
    expect(page.get_by_role("heading", level=2, name="Investments")).to_be_visible()

    page.set_viewport_size({"width": 1400, "height": 1000})
    expect(page.locator("#stepper-list")).to_be_visible()
    expect(page.locator(".stepper-toggle")).to_be_hidden()


def test_an_open_stepper_stays_open_when_another_stage_moves_on(
    browser, live_server, demo_case
):
    page = phone_page(browser, live_server)
    page.goto(f"{live_server.url}/cases/{demo_case.pk}/stages/benefits/")
    page.locator(".stepper-toggle").click()
    stages = page.locator("#stepper-list")
    expect(stages).to_be_visible()
    count = stages.locator('[data-stage-count="changes"]')
    before = int(count.inner_text())

    editor = browser.new_context().new_page()
    log_in(editor, live_server, "maria.lopez@harbour.example")
    editor.goto(f"{live_server.url}/cases/{demo_case.pk}/stages/changes/")
    form = editor.locator("#add-item form")
    form.get_by_label("Leg").select_option("process")
    form.get_by_label("Title").fill("Publish the delivery slots to site managers")
    form.get_by_role("button", name="Add change").click()

    expect(count).to_have_text(str(before + 1), timeout=4000)
    page.wait_for_timeout(300)  # past htmx's settling of the swapped classes
    expect(stages).to_be_visible()
    expect(page.locator(".stepper-toggle")).to_have_attribute("aria-expanded", "true")


def test_an_items_text_has_the_cards_width_on_a_phone(browser, live_server, demo_case):
    """Edit and Delete sit in a row under the text, not in a column beside it."""
    page = phone_page(browser, live_server)
    page.goto(f"{live_server.url}/cases/{demo_case.pk}/stages/changes/")
    card = page.locator(".item-card").first
    text = card.locator(".item-main").bounding_box()
    actions = card.locator(".item-actions").bounding_box()
    assert text["width"] > card.bounding_box()["width"] - 50
    assert actions["y"] >= text["y"] + text["height"]


@pytest.mark.parametrize("javascript", [True, False], ids=["js", "no-js"])
def test_removing_a_person_asks_first_naming_them(
    browser, live_server, demo_case, javascript
):
    maria = demo_case.memberships.get(user__email="maria.lopez@harbour.example")
    page = phone_page(browser, live_server, java_script_enabled=javascript)
    page.goto(f"{live_server.url}/cases/{demo_case.pk}/members/")
    row = page.locator(f"#person-{maria.pk}")

    row.get_by_text("Remove", exact=True).click()
    confirm = row.get_by_role("button", name="Remove Maria Lopez")
    expect(confirm).to_be_visible()
    expect(row).to_contain_text("Remove Maria Lopez from this case?")
    assert demo_case.memberships.filter(pk=maria.pk).exists(), "asked, not removed"

    row.get_by_text("Cancel", exact=True).click()  # changed their mind
    expect(confirm).to_be_hidden()
    assert demo_case.memberships.filter(pk=maria.pk).exists()

    row.get_by_text("Remove", exact=True).click()
    confirm.click()
    expect(page.locator("#messages")).to_contain_text(
        "maria.lopez@harbour.example was removed from the case."
    )
    expect(page.locator(f"#person-{maria.pk}")).to_have_count(0)
    assert not demo_case.memberships.filter(pk=maria.pk).exists()


def test_the_presenter_moves_with_the_arrow_keys(browser, live_server, demo_case):
    page = phone_page(browser, live_server)
    base = f"{live_server.url}/cases/{demo_case.pk}"
    page.goto(f"{base}/present/ecosystem/")
    page.keyboard.press("ArrowRight")
    page.wait_for_url(f"{base}/present/leading-metrics/")
    page.keyboard.press("ArrowLeft")
    page.wait_for_url(f"{base}/present/ecosystem/")
    page.keyboard.press("Escape")
    page.wait_for_url(f"{base}/stages/ecosystem/")
