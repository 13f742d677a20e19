"""A newcomer joins by the emailed link, is asked who they are, says it, and
reaches the case, where the facilitator sees their name at once."""

import pytest
from playwright.sync_api import expect

from .conftest import log_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

NEWCOMER = "sam.okafor@harbour.example"


def test_an_invited_newcomer_gives_their_name_and_the_case_shows_it(
    browser, live_server, demo_case
):
    from django.contrib.auth import get_user_model
    from django.urls import reverse

    from cases import invitations
    from cases.models import Role, Side

    facilitator = browser.new_context().new_page()
    log_in(facilitator, live_server, "anna.berg@northwind.example")
    _, token = invitations.invite(
        case=demo_case,
        invited_by=get_user_model().objects.get(email="anna.berg@northwind.example"),
        email=NEWCOMER,
        side=Side.CLIENT,
        role=Role.CONTRIBUTOR,
        base_url=live_server.url,
    )
    overview = f"{live_server.url}{demo_case.get_absolute_url()}"

    page = browser.new_context().new_page()
    page.goto(f"{live_server.url}{reverse('cases:invitation', args=[token])}")
    page.get_by_role("button", name="Join the case").click()

    expect(page.get_by_role("heading", name="Your profile", level=1)).to_be_visible()
    expect(page.locator("#messages")).to_contain_text(f"Welcome to “{demo_case.title}”")
    expect(page.locator("#messages")).to_contain_text("Tell the others who you are")
    expect(page.get_by_role("link", name="Set a password")).to_be_visible()

    facilitator.goto(overview)  # kept in the cache from here on
    people = facilitator.locator("section", has_text="Who is in the case")
    expect(people).to_contain_text("sam.okafor")

    # Only half a name: told at the field, nothing saved.
    page.get_by_label("First name").fill("Sam")
    page.get_by_role("button", name="Save your name").click()
    expect(page.locator("#id_last_name ~ .invalid-feedback")).to_have_text(
        "Give your last name."
    )
    expect(page.get_by_text("Nothing was saved")).to_be_visible()

    page.get_by_label("Last name").fill("Okafor")
    page.get_by_role("button", name="Save your name").click()

    page.wait_for_url(overview)
    expect(page.locator("#messages")).to_contain_text(
        "Saved. Your cases show you as Sam Okafor."
    )
    header = page.locator("nav").get_by_role("link", name="Sam Okafor")
    expect(header).to_be_visible()

    facilitator.reload()
    expect(people).to_contain_text("Sam Okafor")
    expect(people).not_to_contain_text("sam.okafor")

    header.click()
    expect(page.get_by_label("First name")).to_have_value("Sam")
    expect(page.get_by_label("Last name")).to_have_value("Okafor")
