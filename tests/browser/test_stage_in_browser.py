"""The main flow in a real browser: the client contributor adds a leading metric
on its stage page (htmx, no reload) and finds it counted on the overview."""

from datetime import date, timedelta

import pytest
from playwright.sync_api import expect

from .conftest import log_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_client_contributor_adds_a_leading_metric(page, live_server, demo_case):
    from cases.models import LeadingMetric

    before = LeadingMetric.objects.filter(case=demo_case).count()
    log_in(page, live_server, "maria.lopez@harbour.example")

    page.get_by_role("link", name=demo_case.title).click()
    overview_tile = page.locator("[data-count='leading-metrics']")
    expect(overview_tile).to_have_text(str(before))

    page.locator("a.stage-tile[data-stage='leading-metrics']").click()
    expect(page.get_by_role("heading", name="Leading metrics", level=2)).to_be_visible()

    form = page.locator("#add-item form")
    form.get_by_label("Name").fill("Site deliveries booked online")
    form.get_by_label("Unit").fill("%")
    form.get_by_label("Baseline").fill("12")
    form.get_by_label("Target").fill("45")
    form.get_by_label("By when").fill((date.today() + timedelta(days=365)).isoformat())
    form.get_by_label("Owner").fill("Head of Trade Counter")
    form.get_by_label("Measured").select_option("monthly")
    url_before = page.url
    form.get_by_role("button", name="Add leading metric").click()

    new_item = page.locator(".item-card", has_text="Site deliveries booked online")
    expect(new_item).to_be_visible()
    expect(new_item).to_contain_text("Added by Maria Lopez")
    expect(page.locator("#stage-count")).to_have_text(str(before + 1))
    expect(page.locator("[data-stage-count='leading-metrics']")).to_have_text(
        str(before + 1)
    )
    assert page.url == url_before, "the item was added without leaving the page"

    page.get_by_role("link", name="Case overview").click()
    expect(page.locator("[data-count='leading-metrics']")).to_have_text(str(before + 1))
    assert LeadingMetric.objects.filter(case=demo_case).count() == before + 1


def test_validation_error_shows_where_the_user_typed(page, live_server, demo_case):
    log_in(page, live_server, "maria.lopez@harbour.example")
    page.goto(f"{live_server.url}/cases/{demo_case.pk}/stages/risks-of-acting/")
    form = page.locator("#add-item form")
    form.get_by_label("Title").fill("Depot staff resist")
    form.get_by_label("Leg").select_option("people")
    form.get_by_label("Likelihood").select_option("3")
    # Impact left empty: the error must appear beside it, and nothing is added.
    count_before = page.locator("#stage-count").inner_text()
    form.get_by_role("button", name="Add risk").click()
    expect(page.locator("#add-item .invalid-feedback")).to_contain_text("required")
    expect(page.locator("#add-item input[name='title']")).to_have_value(
        "Depot staff resist"
    )
    expect(page.locator("#stage-count")).to_have_text(count_before)
