"""Numbers as a user types them into the web forms, and as the edit forms show
them back: what is not a plain number (in the app's own format, see
cases.forms.NumberField) is refused at the field with one message in the app's
words, nothing saved; a saved number shows as people write it (60, not 60.0000)
and comes back unchanged when the form is saved as shown.
"""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.urls import reverse

from cases import activity
from cases.models import Benefit, Case, Investment, LeadingMetric

from ..factories import (
    BenefitFactory,
    BenefitYearFactory,
    InactionCostFactory,
    InvestmentFactory,
    LaggingMetricFactory,
    LeadingMetricFactory,
    RiskOfNotActingFactory,
)
from .test_stage_views import (
    HTMX,
    browser_post_data,
    create_data,
    create_url,
    errors_at,
    form_inputs,
    input_value,
    item_url,
    new_case_data,
    row_counts,
    settings_data,
    text_of,
)


@pytest.fixture
def editor(as_user, facilitator):
    return as_user(facilitator)


# The words every refused number's message has, saying what is accepted.
NOT_A_NUMBER = "Enter a number such as 12000, 12,000 or 12000.50"
BOTH_WAYS = "Is it 2,500 or 2.5? Write it as 2,500 or as 2.5."
REFUSED = object()

# What the user typed -> what is saved, or REFUSED with the message's words.
# An investment's amount is required (for cash); a metric's baseline is not, and
# may be negative.
TYPED = [
    # typed, amount (required, 0 or more), baseline (optional)
    ("12k", (REFUSED, NOT_A_NUMBER), (REFUSED, NOT_A_NUMBER)),
    ("2.500,50", (REFUSED, NOT_A_NUMBER), (REFUSED, NOT_A_NUMBER)),
    ("1,000", Decimal("1000"), Decimal("1000")),
    ("12,000.50", Decimal("12000.50"), Decimal("12000.50")),
    ("1 000", (REFUSED, NOT_A_NUMBER), (REFUSED, NOT_A_NUMBER)),
    ("1,00", (REFUSED, NOT_A_NUMBER), (REFUSED, NOT_A_NUMBER)),
    ("12,5", (REFUSED, NOT_A_NUMBER), (REFUSED, NOT_A_NUMBER)),
    ("-5", (REFUSED, "Enter an amount of 0 or more."), Decimal("-5")),
    ("1e6", (REFUSED, NOT_A_NUMBER), (REFUSED, NOT_A_NUMBER)),
    ("EUR 5", (REFUSED, NOT_A_NUMBER), (REFUSED, NOT_A_NUMBER)),
    ("", (REFUSED, "Give the amount."), None),
    ("2.500", (REFUSED, BOTH_WAYS), (REFUSED, BOTH_WAYS)),
    ("0.500", Decimal("0.5"), Decimal("0.5")),
    (" 42 ", Decimal("42"), Decimal("42")),
]


def _typed_into(slug: str, field: str, column: int):
    return [
        pytest.param(slug, field, typed, expected[column], id=f"{field}-{typed!r}")
        for typed, *expected in TYPED
    ]


@pytest.mark.parametrize(
    ("slug", "field", "typed", "expected"),
    [
        *_typed_into("investments", "amount", 0),
        *_typed_into("leading-metrics", "baseline", 1),
    ],
)
def test_a_typed_number_is_saved_as_typed_or_refused_at_the_field(
    slug, field, typed, expected, case, editor
):
    before = row_counts()
    url = create_url(case, slug)

    response = editor.post(
        url, create_data(slug, case, "Typed item", **{field: typed}), headers=HTMX
    )

    if isinstance(expected, tuple):
        assert response.status_code == 400
        errors = errors_at(text_of(response), field, url)
        assert len(errors) == 1 and errors[0].startswith(expected[1]), errors
        assert row_counts() == before
    else:
        assert response.status_code == 200, errors_at(text_of(response), field, url)
        model = Investment if slug == "investments" else LeadingMetric
        assert getattr(model.objects.get(case=case), field) == expected


@pytest.mark.parametrize("typed", ["12k", "2.500,50", "1e6", "2.500"])
def test_a_benefit_year_refuses_what_is_not_a_number(typed, case, editor):
    url = create_url(case, "benefits")
    response = editor.post(
        url, create_data("benefits", case, "Typed benefit", y1_expected=typed)
    )
    assert response.status_code == 400
    assert len(errors_at(text_of(response), "y1_expected", url)) == 1
    assert not Benefit.objects.exists()


def test_amounts_are_text_inputs_the_browser_does_not_rewrite(case, editor):
    """A browser's number input keeps "12" of "12k" and reads "2.500,50" as
    2.50050 before the server sees it: amounts are text with a number pad."""
    for slug, names in {
        "investments": ["amount", "person_days", "day_rate"],
        "leading-metrics": ["baseline", "target"],
        "benefits": ["y1_low", "y1_expected", "y1_high"],
        "risks-of-not-acting": ["y1_amount"],
    }.items():
        html = text_of(editor.get(reverse("cases:stage", args=[case.pk, slug])))
        for name in names:
            tag = html[html.rindex("<input", 0, html.index(f'name="{name}"')) :]
            tag = tag[: tag.index(">")]
            assert 'type="text"' in tag and 'inputmode="decimal"' in tag, tag


# --- The edit forms show numbers as people write them ----------------------------


def _edit_form(editor, case: Case, slug: str, item) -> tuple[str, str]:
    url = item_url("item_edit", case, slug, item)
    return text_of(editor.get(url, headers=HTMX)), url


def test_metric_edit_forms_show_plain_numbers(case, editor):
    leading = LeadingMetricFactory(
        case=case, baseline=Decimal("0"), target=Decimal("60")
    )
    lagging = LaggingMetricFactory(
        case=case, baseline=Decimal("41.50"), target=Decimal("0.0250")
    )

    html, url = _edit_form(editor, case, "leading-metrics", leading)
    shown = (input_value(html, url, "baseline"), input_value(html, url, "target"))
    assert shown == ("0", "60")
    html, url = _edit_form(editor, case, "lagging-metrics", lagging)
    shown = (input_value(html, url, "baseline"), input_value(html, url, "target"))
    assert shown == ("41.5", "0.025")


def test_benefit_investment_and_inaction_edit_forms_show_plain_numbers(case, editor):
    benefit = BenefitFactory(case=case)
    BenefitYearFactory(
        benefit=benefit,
        year=1,
        low=Decimal("120000.00"),
        expected=Decimal("150000.50"),
        high=Decimal("200000"),
    )
    cash = InvestmentFactory(case=case, amount=Decimal("90000.00"))
    time = InvestmentFactory(
        case=case,
        kind="time",
        amount=None,
        person_days=Decimal("12.50"),
        day_rate=Decimal("800.00"),
    )
    risk = RiskOfNotActingFactory(case=case)
    InactionCostFactory(risk=risk, year=2, amount=Decimal("300000.00"))

    html, url = _edit_form(editor, case, "benefits", benefit)
    years = [input_value(html, url, f"y1_{c}") for c in ("low", "expected", "high")]
    assert years == ["120000", "150000.5", "200000"]
    html, url = _edit_form(editor, case, "investments", cash)
    assert input_value(html, url, "amount") == "90000"
    html, url = _edit_form(editor, case, "investments", time)
    days = (input_value(html, url, "person_days"), input_value(html, url, "day_rate"))
    assert days == ("12.5", "800")
    html, url = _edit_form(editor, case, "risks-of-not-acting", risk)
    assert input_value(html, url, "y2_amount") == "300000"


@pytest.mark.parametrize(
    ("rate", "shown"),
    [("0.08", "8"), ("0.10", "10"), ("0.075", "7.5"), ("0", "0")],
)
def test_the_settings_show_the_discount_rate_as_typed(
    rate, shown, case, facilitator, as_user
):
    Case.objects.filter(pk=case.pk).update(discount_rate=Decimal(rate))
    url = reverse("cases:settings", args=[case.pk])
    html = text_of(as_user(facilitator).get(url))
    assert input_value(html, url, "discount_rate") == shown


def test_saving_an_edit_form_as_shown_keeps_every_number(case, editor):
    benefit = BenefitFactory(case=case, title="Fewer trucks")
    BenefitYearFactory(
        benefit=benefit,
        year=1,
        low=Decimal("120000"),
        expected=Decimal("150000.50"),
        high=Decimal("200000"),
    )
    metric = LaggingMetricFactory(
        case=case, baseline=Decimal("41.5"), target=Decimal("0.025")
    )
    for slug, item, text in [
        ("benefits", benefit, {"title": "Fewer, fuller trucks"}),
        ("lagging-metrics", metric, {"name": "Cost per delivery"}),
    ]:
        html, url = _edit_form(editor, case, slug, item)
        response = editor.post(url, browser_post_data(html, url, **text), headers=HTMX)
        assert response.status_code == 200, text_of(response)
    row = benefit.yearly.get()
    assert (row.low, row.expected, row.high) == (120000, Decimal("150000.5"), 200000)
    metric.refresh_from_db()
    assert (metric.name, metric.baseline, metric.target) == (
        "Cost per delivery",
        Decimal("41.5"),
        Decimal("0.025"),
    )
    changes = [str(entry) for entry in activity.feed(case).entries][:2]
    # Renamed, and nothing else: no number "changed" from 41.5000 to 41.5.
    assert len(changes) == 2, changes
    assert all("renamed" in c and " and " not in c for c in changes), changes


# --- One message, in the app's words ----------------------------------------------

DJANGO_WORDS = ("Ensure", "This field", "Enter a whole number.", "Enter a number.")


def _one_message(html: str, field: str, action: str) -> str:
    errors = errors_at(html, field, action)
    assert len(errors) == 1, errors
    assert not any(words in errors[0] for words in DJANGO_WORDS), errors
    return errors[0]


@pytest.mark.parametrize(
    ("typed", "field", "message"),
    [
        pytest.param(
            {"amount": "1000000000000"},
            "amount",
            "Too large: at most 999,999,999,999.99.",
            id="amount-too-large",
        ),
        pytest.param(
            {"amount": "99999999999999999"},
            "amount",
            "Too large: at most 999,999,999,999.99.",
            id="amount-far-too-large",
        ),
        pytest.param(
            {"amount": "12.3456"}, "amount", "Use at most 2 decimals.", id="cents"
        ),
        pytest.param(
            {"kind": "time", "amount": "", "person_days": "123456789", "day_rate": "1"},
            "person_days",
            "Too large: at most 99,999,999.99.",
            id="days-too-large",
        ),
        pytest.param(
            {"year": "-1"},
            "year",
            "The year cannot be before the decision.",
            id="year-negative",
        ),
        pytest.param(
            {"year": "2.5"}, "year", "Enter a whole number, such as 3.", id="year-2.5"
        ),
        pytest.param(
            {"year": "70000"},
            "year",
            "Too large: at most 32,767.",
            id="year-70000",  # the same on every database
        ),
        pytest.param(
            {"year": "9"},
            "year",
            "Year 9 is beyond the case's horizon of 5 years.",
            id="year-9",
        ),
    ],
)
def test_an_investment_number_gets_one_message(typed, field, message, case, editor):
    url = create_url(case, "investments")
    response = editor.post(url, create_data("investments", case, "Big", **typed))
    assert response.status_code == 400
    assert _one_message(text_of(response), field, url) == message
    assert not Investment.objects.exists()


@pytest.mark.parametrize(
    ("slug", "typed", "field", "message"),
    [
        ("benefits", {"y1_low": "-1"}, "y1_low", "Enter an amount of 0 or more."),
        (
            "benefits",
            {"y1_high": "1,000,000,000,000"},
            "y1_high",
            "Too large: at most 999,999,999,999.99.",
        ),
        ("risks-of-not-acting", {"y2_amount": "-1"}, "y2_amount", "0 or more."),
        ("leading-metrics", {"target": "1.23456"}, "target", "Use at most 4 decimals."),
        (
            "risks-of-acting",
            {"impact": ""},
            "impact",
            "The impact is required: pick 1 (lowest) to 5 (highest).",
        ),
    ],
)
def test_other_numbers_get_one_message(slug, typed, field, message, case, editor):
    url = create_url(case, slug)
    response = editor.post(url, create_data(slug, case, "Typed", **typed))
    assert response.status_code == 400
    assert _one_message(text_of(response), field, url).endswith(message)


@pytest.mark.parametrize(
    ("typed", "field", "message"),
    [
        ("0", "horizon_years", "The horizon is at least 1 year."),
        ("-1", "horizon_years", "The horizon is at least 1 year."),
        ("11", "horizon_years", "The horizon is at most 10 years."),
        ("", "horizon_years", "Enter a whole number."),
        ("five", "horizon_years", "Enter a whole number, such as 3."),
        ("-1", "discount_rate", "The discount rate cannot be negative."),
        ("150", "discount_rate", "The discount rate is at most 100 %."),
        ("8,5", "discount_rate", "Enter a percentage such as 8 or 7.5"),
        ("", "discount_rate", "Give the discount rate, for example 8."),
    ],
)
def test_new_case_and_settings_numbers_get_one_message(
    typed, field, message, case, facilitator, as_user
):
    browser = as_user(facilitator)
    new_url = reverse("cases:new")
    settings_url = reverse("cases:settings", args=[case.pk])
    before = row_counts()

    new = browser.post(new_url, new_case_data(**{field: typed}))
    changed = browser.post(settings_url, settings_data(case, **{field: typed}))

    allowed = ("Enter a whole number.",)  # the app's own words for an empty field
    for response, url in [(new, new_url), (changed, settings_url)]:
        assert response.status_code != 302
        errors = errors_at(text_of(response), field, url)
        assert len(errors) == 1 and errors[0].startswith(message), errors
        assert errors[0] in allowed or not any(w in errors[0] for w in DJANGO_WORDS)
    assert row_counts() == before


@pytest.mark.parametrize(("typed", "saved"), [("7.5", "0.075"), ("8 %", "0.08")])
def test_a_discount_rate_is_read_as_a_percentage(
    typed, saved, case, facilitator, as_user
):
    url = reverse("cases:settings", args=[case.pk])
    response = as_user(facilitator).post(url, settings_data(case, discount_rate=typed))
    assert response.status_code == 302
    case.refresh_from_db()
    assert case.discount_rate == Decimal(saved)


def test_the_new_case_form_takes_its_horizon_as_a_number_input(facilitator, as_user):
    """Whole numbers keep the browser's number input (small, with min and max)."""
    html = text_of(as_user(facilitator).get(reverse("cases:new")))
    kinds = {name: kind for kind, name, _v in form_inputs(html, reverse("cases:new"))}
    assert kinds["horizon_years"] == "number"
    assert kinds["discount_rate"] == "text"
