"""The figures as a reader meets them: GET /cases/<id>/summary.json, the
`case_summary` command (the same document), and the numbers page with its
tables and charts, in a bounded number of queries whatever the case's size.

The persona case is given a 3-year horizon at 10 % and the investments and
benefits of test_figures.py's "spread" case, so every figure below is the one
worked out by hand there.
"""

from __future__ import annotations

import json
import re
from decimal import Decimal
from html import unescape
from io import StringIO
from urllib.parse import urlencode

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse

from cases.models import (
    Benefit,
    BenefitYear,
    Case,
    ChangeItem,
    InactionCost,
    Investment,
    InvestmentKind,
    Leg,
    RiskOfActing,
    RiskOfNotActing,
    Role,
    Side,
)
from cases.templatetags.case_tags import (
    ROOMS,
    break_even,
    break_even_note,
    fit_unit,
    money_short,
    money_whole,
    number,
    roi,
    table_columns,
    truncatewords_lines,
)

from ..factories import (
    BenefitFactory,
    BenefitYearFactory,
    CaseFactory,
    InactionCostFactory,
    InvestmentFactory,
    MembershipFactory,
    RiskOfActingFactory,
    RiskOfNotActingFactory,
)

D = Decimal
PERSONAS = ["facilitator", "client_contributor", "partner", "viewer"]
KEYS = {
    "currency",
    "discount_rate",
    "years",
    "investment",
    "investment_time_days",
    "investment_time_value",
    "benefits",
    "net",
    "cumulative",
    "npv",
    "payback_year",
    "roi",
    "break_even_share",
    "cost_of_inaction",
    "risks",
    "health",
}


def url(name: str, case) -> str:
    return reverse(f"cases:{name}", args=[case.pk])


@pytest.fixture
def figured(case) -> Case:
    """The persona case, 3 years at 10 %, with (see test_figures.spread):

    I = [76,000, 26,500, 10,000, 0], of which time 20 and 17.5 person-days
    B = low [0, 20,000, 30,000, 40,000], expected [0, 40,000, 60,000, 80,000],
        high [0, 60,000, 90,000, 120,000]
    cost of not acting [0, 20,000, 40,000, 0]; risks of acting at 4 and 16,
    a risk of not acting at 20.
    """
    Case.objects.filter(pk=case.pk).update(horizon_years=3, discount_rate=D("0.10"))
    case.refresh_from_db()
    client, seller = case.client, case.seller
    for year, kind, amount, org in [
        (0, InvestmentKind.CAPEX, "60000", client),
        (1, InvestmentKind.OPEX, "10000", seller),
        (2, InvestmentKind.OPEX, "10000", client),
    ]:
        InvestmentFactory(
            case=case, year=year, kind=kind, amount=D(amount), organisation=org
        )
    for year, days, rate, org in [
        (0, "20", "800", client),
        (1, "12.5", "1000", seller),
        (1, "5", "800", client),
    ]:
        InvestmentFactory(
            case=case,
            year=year,
            kind=InvestmentKind.TIME,
            amount=None,
            person_days=D(days),
            day_rate=D(rate),
            organisation=org,
        )
    first, second = BenefitFactory(case=case), BenefitFactory(case=case)
    for year in (1, 2, 3):
        BenefitYearFactory(
            benefit=first, year=year, low=20000, expected=40000, high=60000
        )
    BenefitYearFactory(benefit=second, year=2, low=10000, expected=20000, high=30000)
    BenefitYearFactory(benefit=second, year=3, low=20000, expected=40000, high=60000)
    risk = RiskOfNotActingFactory(case=case, likelihood=4, impact=5)
    InactionCostFactory(risk=risk, year=1, amount=D("20000"))
    InactionCostFactory(risk=risk, year=2, amount=D("40000"))
    RiskOfActingFactory(case=case, likelihood=2, impact=2)
    RiskOfActingFactory(case=case, likelihood=4, impact=4)
    return case


# --- summary.json -----------------------------------------------------------------


@pytest.mark.parametrize("persona", PERSONAS)
def test_every_member_reads_the_summary(figured, as_user, request, persona):
    user = request.getfixturevalue(persona)

    response = as_user(user).get(url("summary_json", figured))

    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    data = response.json()
    assert set(data) >= KEYS
    assert set(data["benefits"]) == {"low", "expected", "high"}
    assert set(data["cost_of_inaction"]) == {"yearly", "present_value"}
    assert set(data["risks"]) == {"acting", "not_acting"}
    assert data["npv"]["expected"] == "37700.23"


def test_the_summary_figures(figured, as_user, viewer):
    data = as_user(viewer).get(url("summary_json", figured)).json()

    assert data["currency"] == "EUR"
    assert D(data["discount_rate"]) == D("0.1")
    assert isinstance(data["discount_rate"], str)
    assert data["years"] == [0, 1, 2, 3]
    # Money is a string to the cent; days drop trailing zeros.
    assert data["investment"] == ["76000.00", "26500.00", "10000.00", "0.00"]
    assert data["investment_time_days"] == ["20", "17.5", "0", "0"]
    assert data["investment_time_value"] == ["16000.00", "16500.00", "0.00", "0.00"]
    assert data["investment_time_by_party"] == {
        figured.client.name: {"days": "25", "value": "20000.00"},
        figured.seller.name: {"days": "12.5", "value": "12500.00"},
    }
    assert data["benefits"] == {
        "low": ["0.00", "20000.00", "30000.00", "40000.00"],
        "expected": ["0.00", "40000.00", "60000.00", "80000.00"],
        "high": ["0.00", "60000.00", "90000.00", "120000.00"],
    }
    assert data["net"]["expected"] == ["-76000.00", "13500.00", "50000.00", "80000.00"]
    assert data["cumulative"]["expected"] == [
        "-76000.00",
        "-62500.00",
        "-12500.00",
        "67500.00",
    ]
    assert data["npv"] == {
        "low": "-35327.57",
        "expected": "37700.23",
        "high": "110728.02",
    }
    assert data["payback_year"] == {"low": None, "expected": 3, "high": 2}
    assert data["roi"] == {"low": "-0.2000", "expected": "0.6000", "high": "1.4000"}
    assert data["break_even_share"] == "0.7419"
    # PV = 20,000 / 1.1 + 40,000 / 1.21 = 18,181.82 + 33,057.85
    assert data["cost_of_inaction"] == {
        "yearly": ["0.00", "20000.00", "40000.00", "0.00"],
        "present_value": "51239.67",
    }
    assert data["risks"] == {
        "acting": {"low": 1, "medium": 0, "high": 0, "critical": 1},
        "not_acting": {"low": 0, "medium": 0, "high": 0, "critical": 1},
    }


def test_the_summary_lists_the_health_issues_with_links(figured, as_user, viewer):
    data = as_user(viewer).get(url("summary_json", figured)).json()

    assert data["health"], "a half-filled case has weak spots"
    for issue in data["health"]:
        assert set(issue) == {"code", "message", "stage", "url"}
        if issue["stage"]:
            assert issue["url"] == f"/cases/{figured.pk}/stages/{issue['stage']}/"
    assert {
        "code": "empty_stage",
        "message": "Stage 1, Models to change, is empty.",
        "stage": "models",
        "url": f"/cases/{figured.pk}/stages/models/",
    } in data["health"]
    assert "no_payback_expected" not in [i["code"] for i in data["health"]]


def test_an_empty_case_has_a_summary_without_ratios(case, as_user, viewer):
    data = as_user(viewer).get(url("summary_json", case)).json()

    assert data["years"] == [0, 1, 2, 3, 4, 5]
    assert data["investment"] == ["0.00"] * 6
    assert data["npv"] == {"low": "0.00", "expected": "0.00", "high": "0.00"}
    assert data["roi"] == {"low": None, "expected": None, "high": None}
    assert data["payback_year"] == {"low": None, "expected": None, "high": None}
    assert data["break_even_share"] is None


def test_an_outsider_gets_404_for_the_summary(figured, as_user, outsider):
    assert as_user(outsider).get(url("summary_json", figured)).status_code == 404


def test_an_anonymous_visitor_is_sent_to_log_in(figured, client):
    target = url("summary_json", figured)

    response = client.get(target)

    assert response.status_code == 302
    login = reverse("account_login")
    assert response.url == f"{login}?{urlencode({'next': target}, safe='/')}"


# --- the case_summary command ---------------------------------------------------------


def test_the_command_prints_the_same_document(figured, as_user, facilitator):
    out = StringIO()

    call_command("case_summary", figured.pk, stdout=out)

    printed = json.loads(out.getvalue())
    served = as_user(facilitator).get(url("summary_json", figured)).json()
    assert printed == served
    assert printed["npv"]["expected"] == "37700.23"


def test_the_command_refuses_an_unknown_case(db):
    with pytest.raises(CommandError, match="No case with id 987654"):
        call_command("case_summary", 987654, stdout=StringIO())


# --- the numbers page ----------------------------------------------------------------------


def text_of(html: str) -> str:
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", html)).split())


def table_row(html: str, heading: str) -> list[str]:
    """The cells of the per-year table's row headed `heading`."""
    match = re.search(
        rf'<tr><th scope="row">{re.escape(heading)}</th>(.*?)</tr>', html, re.S
    )
    assert match, heading
    return [text_of(c) for c in re.findall(r"<td[^>]*>(.*?)</td>", match.group(1))]


def scenario_row(html: str, scenario: str) -> list[str]:
    match = re.search(rf'<tr data-scenario="{scenario}">(.*?)</tr>', html, re.S)
    assert match, scenario
    return [text_of(c) for c in re.findall(r"<td[^>]*>(.*?)</td>", match.group(1))]


@pytest.mark.parametrize("persona", PERSONAS)
def test_the_numbers_page(figured, as_user, request, persona):
    response = as_user(request.getfixturevalue(persona)).get(url("numbers", figured))

    assert response.status_code == 200
    html = response.content.decode()
    # the per-year table
    for year in range(4):
        assert f'<th scope="col" class="num">Year {year}</th>' in html
    assert table_row(html, "Investment") == [
        "76,000",
        "26,500",
        "10,000",
        "0",
        "112,500",
    ]
    assert table_row(html, "Benefits, expected") == [
        "0",
        "40,000",
        "60,000",
        "80,000",
        "180,000",
    ]
    assert table_row(html, "Cumulative, expected")[:4] == [
        "-76,000",
        "-62,500",
        "-12,500",
        "67,500",
    ]
    assert table_row(html, "Cost of not acting") == [
        "0",
        "20,000",
        "40,000",
        "0",
        "60,000",
    ]
    # the scenario table: NPV, payback, ROI
    # (NPV in whole units, like every other amount: 37,700.23 in the JSON)
    assert scenario_row(html, "expected") == ["37,700", "year 3", "60 %"]
    assert scenario_row(html, "low") == ["-35,328", "not within 3 years", "-20 %"]
    assert scenario_row(html, "high") == ["110,728", "year 2", "140 %"]
    assert text_of(re.search(r'id="break-even">(.*?)<', html).group(1)) == "74 %"
    assert text_of(re.search(r'id="break-even-note">(.*?)<', html).group(1)) == (
        "The case holds if 74 % of the expected benefits come true."
    )
    # the money chart and the two risk maps, inline
    assert html.count("<svg") >= 3
    assert "Risks of acting: likelihood and impact" in html
    assert "Risks of not acting: likelihood and impact" in html
    # the health list, with its links
    assert 'id="case-health"' in html
    assert f'href="/cases/{figured.pk}/stages/models/"' in html


def test_the_numbers_page_of_an_empty_case(case, as_user, viewer):
    response = as_user(viewer).get(url("numbers", case))

    assert response.status_code == 200
    html = response.content.decode()
    assert scenario_row(html, "expected") == ["0", "n/a", "n/a"]
    assert text_of(re.search(r'id="break-even">(.*?)<', html).group(1)) == "n/a"
    assert "Needs both investments and counted benefits." in html
    assert html.count("<svg") >= 3


def test_the_numbers_page_words_figures_out_of_the_ordinary(case, as_user, viewer):
    """Benefits a sliver of a 950-billion investment: the break-even share in
    words, never "67349 %"; amounts in billions, never "950003.86M"."""
    InvestmentFactory(case=case, year=0, amount=D("950003860000.40"))
    BenefitYearFactory(
        benefit=BenefitFactory(case=case),
        year=1,
        low=D("1000000"),
        expected=D("1410000"),
        high=D("2000000"),
    )

    html = as_user(viewer).get(url("numbers", case)).content.decode()

    assert text_of(re.search(r'id="break-even">(.*?)<', html).group(1)) == "> 100 %"
    note = text_of(re.search(r'id="break-even-note">(.*?)<', html).group(1))
    assert note.startswith("Even the expected benefits do not cover the investment:")
    assert note.endswith(" times as large.")
    page = text_of(html)
    assert not re.search(r"\d{4,} ?%", page)
    assert "950.00B" in page
    assert not re.search(r"\d{4,}(\.\d+)?[kMBT]\b", page)
    npv = scenario_row(html, "expected")[0]
    assert re.fullmatch(r"-[\d,]+", npv), npv  # whole units
    # the JSON keeps the number itself
    data = as_user(viewer).get(url("summary_json", case)).json()
    assert D(data["break_even_share"]) > 100_000


def test_the_numbers_page_puts_twelve_digit_amounts_in_one_unit(case, as_user, viewer):
    """999,999,999,999 a year (the most an amount may be), twice over: the
    per-year table would be wider than the page at 1,400 px (see the browser
    test), so all of it is in one unit, named in its corner; the JSON keeps
    every cent."""
    amount = D("999999999999")
    for year in range(6):
        for kind in (InvestmentKind.CAPEX, InvestmentKind.OPEX):
            InvestmentFactory(case=case, year=year, kind=kind, amount=amount)
    benefit = BenefitFactory(case=case)
    for year in range(6):
        BenefitYearFactory(
            benefit=benefit, year=year, low=amount, expected=amount, high=amount
        )

    html = as_user(viewer).get(url("numbers", case)).content.decode()

    corner = re.search(r'<thead class="table-light"><tr><th scope="col">(.*?)<', html)
    assert corner.group(1) == "EUR, in trillions"
    assert table_row(html, "Investment") == ["2.00T"] * 6 + ["12.00T"]
    assert table_row(html, "Benefits, expected") == ["1.00T"] * 6 + ["6.00T"]
    assert table_row(html, "Net, low") == ["-1.00T"] * 6 + [""]
    data = as_user(viewer).get(url("summary_json", case)).json()
    assert data["investment"][0] == "1999999999998.00"


def test_roi_past_a_thousand_percent_reads_over_1000(case, as_user, viewer):
    """An investment of 1 against 10 million of benefits: "over 1,000 %" on the
    page, never "999,999,900 %"; the JSON keeps the ratio itself."""
    InvestmentFactory(case=case, year=0, amount=D("1"))
    BenefitYearFactory(
        benefit=BenefitFactory(case=case),
        year=1,
        low=D("10000000"),
        expected=D("10000000"),
        high=D("10000000"),
    )

    html = as_user(viewer).get(url("numbers", case)).content.decode()

    for scenario in ("low", "expected", "high"):
        assert scenario_row(html, scenario)[2] == "over 1,000 %"
    assert "999,999,900" not in text_of(html)
    data = as_user(viewer).get(url("summary_json", case)).json()
    assert data["roi"]["expected"] == "9999999.0000"


# --- how figures are worded --------------------------------------------------------------


@pytest.mark.parametrize(
    ("ratio", "shown"),
    [
        (None, "n/a"),
        (D("0.6"), "60 %"),
        (D("-0.2"), "-20 %"),
        (D("-1"), "-100 %"),
        (D("-0.004"), "0 %"),  # never "-0 %"
        (D("0.125"), "13 %"),
        (D("9.994"), "999 %"),
        (D("10"), "1,000 %"),
        (D("10.0001"), "over 1,000 %"),
        (D("9999999"), "over 1,000 %"),
    ],
)
def test_roi_in_whole_percent_up_to_a_thousand(ratio, shown):
    assert roi(ratio) == shown


@pytest.mark.parametrize(
    ("values", "room", "shown"),
    [
        # in full while the widest fits (room in em; a digit is 0.64 em)
        ([D("1250000.50"), D("-90000")], 10, ["1,250,000.50", "-90,000"]),
        # then without the cents
        ([D("1250000.50"), D("-90000")], 6.5, ["1,250,001", "-90,000"]),
        # then millions, with as many decimals as fit
        ([D("12345678"), D("150000")], 5, ["12.35M", "0.15M"]),
        ([D("12345678"), D("150000")], 3.5, ["12.3M", "0.2M"]),
        ([D("125000000"), D("1250000")], 3.5, ["125M", "1M"]),
        # billions once millions would need five digits before the point
        ([D("1999999999998"), D("999999999"), 0], 6.5, ["2,000.00B", "1.00B", "0"]),
        ([D("1999999999998"), D("-150000000000")], 4, ["2,000B", "-150B"]),
        ([D("1999999999998"), D("-150000000000")], 3.7, ["2.00T", "-0.15T"]),
        ([D("-0.1"), D("5000000")], 4, ["0.00M", "5.00M"]),  # never "-0.00M"
        # past any unit: trillions without decimals, left to wrap
        ([D("1e20")], 3, ["100,000,000T"]),
    ],
)
def test_a_tables_amounts_share_the_most_precise_unit_that_fits(values, room, shown):
    unit = fit_unit(table_columns(values), room)
    assert [unit.show(v) for v in values] == shown


def test_numbers_that_fit_keep_their_own_form():
    """Person-days and metrics as `number` shows them: 12.5, not 12.50."""
    unit = fit_unit(table_columns([D("12.5"), D("180")]), 6, plain=number)
    assert [unit.show(v) for v in (D("12.5"), D("180"))] == ["12.5", "180"]
    assert not unit.compact


def test_the_pdf_numbers_table_keeps_a_normal_years_amounts_in_full():
    """Five years (six columns) hold 12,345,678 in bold in full; 1,234,567.50 in
    eleven columns is made whole, then millions."""
    six, eleven = ROOMS["pdf-numbers"](6), ROOMS["pdf-numbers"](11)
    bold = table_columns(bold=[D("12345678")])
    assert fit_unit(bold, six).show(D("12345678")) == "12,345,678"
    cents = table_columns([D("1234567.50")])
    assert fit_unit(cents, eleven).show(D("1234567.50")) == "1.23M"


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        (None, "-"),
        (D("9999.5"), "9,999.50"),
        (D("250000"), "250k"),
        (D("-35972.52"), "-36k"),
        (D("1974418.79"), "1.97M"),
        (D("999999999"), "1.00B"),  # rounded before the unit is chosen
        (D("950003860000"), "950.00B"),
        (D("-2500000000"), "-2.50B"),
        (D("1200000000000"), "1.20T"),
        (D("3400000000000000"), "3,400.00T"),
    ],
)
def test_headline_money_goes_on_to_billions_and_trillions(value, shown):
    assert money_short(value) == shown


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        (None, "-"),
        (D("-35972.52"), "-35,973"),
        (D("1974418.79"), "1,974,419"),
        (D("37700.5"), "37,701"),
        (D("-0.4"), "0"),
        (D("120000"), "120,000"),
    ],
)
def test_money_in_whole_units(value, shown):
    assert money_whole(value) == shown


HOLDS = "The case holds if {} of the expected benefits come true."
SHORT = (
    "Even the expected benefits do not cover the investment: they would have to be {}."
)


@pytest.mark.parametrize(
    ("share", "headline", "note"),
    [
        (None, "n/a", ""),
        (D("0.00004"), "< 1 %", HOLDS.format("under 1 %")),
        (D("0.7419"), "74 %", HOLDS.format("74 %")),
        (D("1"), "100 %", HOLDS.format("100 %")),
        (D("1.004"), "> 100 %", SHORT.format("0.4 % larger")),
        (D("1.0001"), "> 100 %", SHORT.format("slightly larger")),
        (D("1.35"), "> 100 %", SHORT.format("35 % larger")),
        (D("2.46"), "> 100 %", SHORT.format("2.5 times as large")),
        (D("10.0529"), "> 100 %", SHORT.format("10 times as large")),
        (D("673.4896"), "> 100 %", SHORT.format("673 times as large")),
        (D("67349.2"), "> 100 %", SHORT.format("67,349 times as large")),
    ],
)
def test_the_break_even_share_in_words(share, headline, note):
    assert break_even(share) == headline
    assert break_even_note(share) == note


@pytest.mark.parametrize(
    ("idea", "words", "shown"),
    [
        ("One line.\nTwo  lines.", 60, "One line.\nTwo lines."),
        ("A\n\n\n\nB\n", 60, "A\n\nB"),
        ("One two three\nfour five", 4, "One two three\nfour…"),
        ("One two three\nfour", 4, "One two three\nfour"),
        ("One two three\nfour\nfive", 4, "One two three\nfour…"),
        ("1\n2\n3\n4\n5\n6\n7", 60, "1\n2\n3\n4\n5 6 7"),  # five lines at most
        ("x" * 500, 60, "x" * 420 + "…"),  # about seven characters a word
        (None, 60, ""),
    ],
)
def test_truncating_words_keeps_the_line_breaks(idea, words, shown):
    assert truncatewords_lines(idea, words) == shown


def test_an_outsider_gets_404_for_the_numbers(figured, as_user, outsider):
    assert as_user(outsider).get(url("numbers", figured)).status_code == 404


# --- a bounded number of queries ------------------------------------------------------------

MAX_QUERIES = 25  # as in test_queries.py; the page makes about 20


def fill(case: Case, total: int, authors: list) -> dict[str, int]:
    """`total` items spread over the stages that carry figures and risks, each
    with an author, yearly rows and (for benefits) a range per year."""
    stages = ("changes", "benefits", "investments", "risks_of_acting")
    n = dict.fromkeys((*stages, "risks_of_not_acting"), total // 5)
    n["changes"] += total - sum(n.values())

    def common(i: int) -> dict:
        return {"case": case, "position": i, "created_by": authors[i % len(authors)]}

    ChangeItem.objects.bulk_create(
        ChangeItem(leg=Leg.values[i % 3], title=f"Change {i}", **common(i))
        for i in range(n["changes"])
    )
    benefits = Benefit.objects.bulk_create(
        Benefit(title=f"Benefit {i}", category="cost", **common(i))
        for i in range(n["benefits"])
    )
    BenefitYear.objects.bulk_create(
        BenefitYear(benefit=b, year=y, low=100, expected=150, high=200)
        for b in benefits
        for y in (1, 2, 3)
    )
    Investment.objects.bulk_create(
        Investment(
            title=f"Investment {i}",
            kind=InvestmentKind.TIME if i % 2 else InvestmentKind.OPEX,
            organisation=case.seller if i % 3 else case.client,
            year=i % (case.horizon_years + 1),
            amount=None if i % 2 else D(1000),
            person_days=D(2) if i % 2 else None,
            day_rate=D(500) if i % 2 else None,
            **common(i),
        )
        for i in range(n["investments"])
    )
    RiskOfActing.objects.bulk_create(
        RiskOfActing(
            title=f"Risk {i}",
            leg=Leg.PEOPLE,
            likelihood=1 + i % 5,
            impact=1 + (i // 5) % 5,
            **common(i),
        )
        for i in range(n["risks_of_acting"])
    )
    inaction = RiskOfNotActing.objects.bulk_create(
        RiskOfNotActing(title=f"Inaction {i}", likelihood=3, impact=3, **common(i))
        for i in range(n["risks_of_not_acting"])
    )
    InactionCost.objects.bulk_create(
        InactionCost(risk=r, year=y, amount=D(5000)) for r in inaction for y in (1, 2)
    )
    assert sum(n.values()) == total
    return n


@pytest.mark.parametrize("total", [5, 300], ids=["5-items", "300-items"])
def test_the_numbers_page_makes_a_bounded_number_of_queries(
    case, facilitator, as_user, django_assert_max_num_queries, total
):
    authors = [facilitator] + [
        MembershipFactory(case=case, side=side, role=Role.CONTRIBUTOR).user
        for side in (Side.CLIENT, Side.PARTNER)
    ]
    n = fill(case, total, authors)
    browser = as_user(facilitator)

    with django_assert_max_num_queries(MAX_QUERIES):
        response = browser.get(url("numbers", case))

    assert response.status_code == 200
    html = response.content.decode()
    # the page shows every risk in its lists, with its exposure chip
    assert html.count('<span class="chip band-') == (
        n["risks_of_acting"] + n["risks_of_not_acting"]
    )
    # 5-year horizon: each benefit counts 150 expected in years 1, 2 and 3
    expected = 150 * n["benefits"]
    assert table_row(html, "Benefits, expected")[1:4] == [f"{expected:,}"] * 3


@pytest.mark.parametrize("total", [5, 300], ids=["5-items", "300-items"])
def test_the_summary_makes_a_bounded_number_of_queries(
    case, facilitator, as_user, django_assert_max_num_queries, total
):
    fill(case, total, [facilitator])
    browser = as_user(facilitator)

    with django_assert_max_num_queries(MAX_QUERIES):
        data = browser.get(url("summary_json", case)).json()

    risks = data["risks"]
    assert sum(risks["acting"].values()) == RiskOfActing.objects.count()
    assert sum(risks["not_acting"].values()) == RiskOfNotActing.objects.count()


def test_another_cases_items_never_show(figured, as_user, viewer):
    other = CaseFactory(horizon_years=3)
    InvestmentFactory(case=other, year=0, amount=D("999999"))

    data = as_user(viewer).get(url("summary_json", figured)).json()

    assert data["investment"][0] == "76000.00"
