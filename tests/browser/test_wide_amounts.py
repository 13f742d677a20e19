"""The largest amounts the forms take (999,999,999,999) on a wide screen
(1,400 px): the per-year table of the Numbers page, the stage pages and the
presenter's view fit the page without scrolling sideways."""

from decimal import Decimal

import pytest

from cases import figures
from cases.models import BenefitYear, Case, InactionCost, Investment
from cases.templatetags.case_tags import money

from .conftest import log_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

WIDE = {"width": 1400, "height": 900}
LARGEST = Decimal("999999999999")

# Elements wider than their box: the page itself, or a table's scrolling box.
TOO_WIDE = """() => [document.documentElement, ...document.querySelectorAll(
  '.table-responsive, table')].filter(e => e.scrollWidth > e.clientWidth + 1)
  .map(e => `${e.tagName.toLowerCase()}.${e.className}: ${e.scrollWidth} px`)"""


@pytest.mark.parametrize("horizon", [5, 10])
def test_twelve_digit_amounts_never_scroll_sideways_on_a_wide_screen(
    browser, live_server, demo_case, horizon
):
    """Every amount of the demo at the largest the forms take, each year."""
    BenefitYear.objects.filter(benefit__case=demo_case).update(
        low=LARGEST, expected=LARGEST, high=LARGEST
    )
    Investment.objects.filter(case=demo_case, amount__isnull=False).update(
        amount=LARGEST
    )
    InactionCost.objects.filter(risk__case=demo_case).update(amount=LARGEST)
    Case.objects.filter(pk=demo_case.pk).update(horizon_years=horizon)
    page = browser.new_context(viewport=WIDE).new_page()
    log_in(page, live_server, "anna.berg@northwind.example")
    case_url = f"{live_server.url}/cases/{demo_case.pk}/"
    paths = ["numbers/", "", "decision/"]
    for stage in ("benefits", "investments", "risks-of-not-acting"):
        paths += [f"stages/{stage}/", f"present/{stage}/"]

    too_wide = {}
    for path in paths:
        page.goto(case_url + path)
        if found := page.evaluate(TOO_WIDE):
            too_wide[path or "overview"] = found

    assert not too_wide
    page.goto(case_url + "numbers/")
    corner = page.locator(".numbers-table th").first
    assert corner.inner_text() == "EUR, in trillions"


def test_everyday_amounts_over_ten_years_stay_in_full_and_fit(
    browser, live_server, demo_case
):
    """Twelve columns of the demo's six- and seven-digit amounts just fit at
    1,400 px: they stay as typed."""
    Case.objects.filter(pk=demo_case.pk).update(horizon_years=10)
    page = browser.new_context(viewport=WIDE).new_page()
    log_in(page, live_server, "anna.berg@northwind.example")

    page.goto(f"{live_server.url}/cases/{demo_case.pk}/numbers/")

    assert page.evaluate(TOO_WIDE) == []
    assert page.locator(".numbers-table th").first.inner_text() == "EUR"
    total = page.locator(".numbers-table tbody tr").first.locator("td").last
    assert total.inner_text() == money(figures.compute(demo_case).total_investment)
