"""The decision page: the client's view of its buying decision beside the
seller's estimate, and the seller's recommendation.

Who may do what:
- the client side (contributor or facilitator) rates the client's view;
- the seller side (contributor or facilitator) records its estimate, separately;
- partners and viewers read, and rate nothing (403);
- only a facilitator on the seller side records the recommendation;
- outsiders get 404 on every URL, anonymous visitors the login page (checked for
  every URL in tests/cases/test_access.py).
"""

from __future__ import annotations

import re
from datetime import date, timedelta
from html import unescape

import pytest
from django.urls import reverse

from cases.models import BuyingElement, BuyingRating, Recommendation, Role, Side

from ..factories import CaseFactory, MembershipFactory, UserFactory
from .test_stage_views import browser_post_data

ELEMENTS = BuyingElement.values


def url(name: str, case) -> str:
    return reverse(f"cases:{name}", args=[case.pk])


def ratings_post(**scores) -> dict:
    """A ratings form: `product=4` or `product=(4, "why")`; the rest unrated."""
    data = {}
    for element in ELEMENTS:
        value = scores.get(element, "")
        score, comment = value if isinstance(value, tuple) else (value, "")
        data[f"{element}_score"] = str(score)
        data[f"{element}_comment"] = comment
    return data


def saved(case, side=None) -> dict[str, tuple[int, str]]:
    rows = BuyingRating.objects.filter(case=case)
    if side:
        rows = rows.filter(side=side)
    return {r.element: (r.score, r.comment) for r in rows}


def row_html(html: str, element: str) -> str:
    match = re.search(rf'<tr data-element="{element}">(.*?)</tr>', html, re.S)
    assert match, f"no row for {element}"
    return match.group(1)


def cells(html: str, element: str) -> list[str]:
    """The client, seller and gap cells of an element's row, as plain text."""
    found = re.findall(r"<td[^>]*>(.*?)</td>", row_html(html, element), re.S)
    return [" ".join(unescape(re.sub(r"<[^>]+>", " ", c)).split()) for c in found]


@pytest.fixture
def seller_contributor(case):
    return MembershipFactory(
        case=case, side=Side.SELLER, role=Role.CONTRIBUTOR, user=UserFactory()
    ).user


@pytest.fixture
def client_facilitator(case):
    return MembershipFactory(
        case=case, side=Side.CLIENT, role=Role.FACILITATOR, user=UserFactory()
    ).user


# --- ratings: who rates which side ---------------------------------------------------


@pytest.mark.parametrize("persona", ["client_contributor", "client_facilitator"])
def test_the_client_side_rates_the_clients_view(case, as_user, request, persona):
    user = request.getfixturevalue(persona)

    response = as_user(user).post(
        url("decision_ratings", case),
        ratings_post(product=(4, "Fits our sites."), price=2),
        follow=True,
    )

    assert response.redirect_chain == [(url("decision", case), 302)]
    assert "The client side&#x27;s ratings are saved." in response.content.decode()
    assert saved(case) == {"product": (4, "Fits our sites."), "price": (2, "")}
    assert set(BuyingRating.objects.values_list("side", flat=True)) == {Side.CLIENT}
    assert BuyingRating.objects.filter(updated_by=user).count() == 2
    html = response.content.decode()
    assert cells(html, "product")[0] == "4 /5 Fits our sites."
    assert cells(html, "product")[1] == "not rated"


@pytest.mark.parametrize("persona", ["facilitator", "seller_contributor"])
def test_the_seller_side_records_its_estimate_separately(
    case, as_user, request, client_contributor, persona
):
    as_user(client_contributor).post(
        url("decision_ratings", case), ratings_post(product=4, price=2, value=3)
    )
    user = request.getfixturevalue(persona)

    response = as_user(user).post(
        url("decision_ratings", case), ratings_post(product=5, price=2, value=1)
    )

    assert response.status_code == 302
    assert saved(case, Side.CLIENT) == {
        "product": (4, ""),
        "price": (2, ""),
        "value": (3, ""),
    }
    assert saved(case, Side.SELLER) == {
        "product": (5, ""),
        "price": (2, ""),
        "value": (1, ""),
    }
    assert BuyingRating.objects.filter(case=case).count() == 6


def test_the_page_shows_both_sides_and_the_gap(
    case, as_user, facilitator, client_contributor, viewer
):
    as_user(client_contributor).post(
        url("decision_ratings", case),
        ratings_post(product=(4, "Good enough"), price=2, value=3, risk=5),
    )
    as_user(facilitator).post(
        url("decision_ratings", case),
        ratings_post(product=(5, "They love it"), price=2, value=1, ease=4),
    )

    html = as_user(viewer).get(url("decision", case)).content.decode()

    # gap = seller - client
    assert cells(html, "product") == ["4 /5 Good enough", "5 /5 They love it", "+1"]
    assert cells(html, "price") == ["2 /5", "2 /5", "0"]
    assert cells(html, "value") == ["3 /5", "1 /5", "-2"]
    # one side only: no gap
    assert cells(html, "risk") == ["5 /5", "not rated", "-"]
    assert cells(html, "ease") == ["not rated", "4 /5", "-"]


def test_each_side_edits_only_its_own_ratings(
    case, as_user, facilitator, client_contributor
):
    as_user(client_contributor).post(
        url("decision_ratings", case), ratings_post(product=4, price=2)
    )
    as_user(facilitator).post(url("decision_ratings", case), ratings_post(product=5))

    # The client side changes one score and clears another.
    as_user(client_contributor).post(
        url("decision_ratings", case), ratings_post(product=3)
    )

    assert saved(case, Side.CLIENT) == {"product": (3, "")}
    assert saved(case, Side.SELLER) == {"product": (5, "")}


def test_the_form_shows_the_users_own_sides_ratings(
    case, as_user, facilitator, client_contributor
):
    as_user(client_contributor).post(
        url("decision_ratings", case), ratings_post(product=(2, "Too slow"))
    )
    as_user(facilitator).post(url("decision_ratings", case), ratings_post(product=5))

    client_page = as_user(client_contributor).get(url("decision", case))
    seller_page = as_user(facilitator).get(url("decision", case))

    assert client_page.context["ratings_form"]["product_score"].initial == 2
    assert client_page.context["ratings_form"]["product_comment"].initial == "Too slow"
    assert "Your side's view (client)" in client_page.content.decode()
    assert seller_page.context["ratings_form"]["product_score"].initial == 5
    assert "estimate of the client's view (seller)" in seller_page.content.decode()


@pytest.mark.parametrize("persona", ["partner", "viewer"])
def test_partners_and_viewers_rate_nothing(case, as_user, request, persona):
    user = request.getfixturevalue(persona)
    client = as_user(user)

    response = client.post(url("decision_ratings", case), ratings_post(product=5))

    assert response.status_code == 403
    assert not BuyingRating.objects.exists()
    page = client.get(url("decision", case))
    assert page.status_code == 200
    assert url("decision_ratings", case) not in page.content.decode()


# --- ratings: bad input ------------------------------------------------------------------


@pytest.mark.parametrize("score", ["7", "0", "abc", "4.5"])
def test_a_score_outside_one_to_five_is_refused(
    case, as_user, client_contributor, score
):
    response = as_user(client_contributor).post(
        url("decision_ratings", case), {**ratings_post(product=4), "price_score": score}
    )

    assert response.status_code == 400
    assert response.context["ratings_form"].errors == {
        "price_score": [
            f"Select a valid choice. {score} is not one of the available choices."
        ]
    }
    html = response.content.decode()
    assert "Nothing was saved." in html
    assert f"{score} is not one of the available choices." in html
    # the valid score in the same form is not saved either
    assert not BuyingRating.objects.exists()


def test_a_comment_without_a_score_is_refused(case, as_user, client_contributor):
    as_user(client_contributor).post(
        url("decision_ratings", case), ratings_post(ease=3)
    )

    response = as_user(client_contributor).post(
        url("decision_ratings", case),
        ratings_post(ease=4, risk=("", "We worry about winter.")),
    )

    assert response.status_code == 400
    assert response.context["ratings_form"].errors == {
        "risk_score": ["Give a rating for this comment."]
    }
    assert "Give a rating for this comment." in response.content.decode()
    # what was saved before stands untouched
    assert saved(case) == {"ease": (3, "")}


def test_a_rejected_form_keeps_what_was_typed(case, as_user, client_contributor):
    response = as_user(client_contributor).post(
        url("decision_ratings", case),
        ratings_post(product=(4, "Mostly"), price=("9", "Steep")),
    )

    assert response.status_code == 400
    html = response.content.decode()
    assert "Mostly" in html
    assert "Steep" in html


# --- the recommendation ------------------------------------------------------------------


RATIONALE = "Your drivers are not ready for site deliveries this year."


def recommend(client, case, verdict, **extra):
    data = {
        "verdict": verdict,
        "conditions": "",
        "defer_until": "",
        "other_provider": "",
        "rationale": RATIONALE,
        **extra,
    }
    return client.post(url("decision_recommendation", case), data)


def test_a_seller_facilitator_records_the_recommendation(case, as_user, facilitator):
    response = recommend(
        as_user(facilitator),
        case,
        "proceed_with_conditions",
        conditions="A pilot on three sites first.",
    )

    assert response.status_code == 302
    assert response.url == url("decision", case)
    recommendation = Recommendation.objects.get(case=case)
    assert recommendation.verdict == "proceed_with_conditions"
    assert recommendation.conditions == "A pilot on three sites first."
    assert recommendation.rationale == RATIONALE
    assert recommendation.recorded_by == facilitator


def test_recording_again_replaces_the_recommendation(case, as_user, facilitator):
    client = as_user(facilitator)
    recommend(client, case, "proceed")

    recommend(client, case, "other_provider", other_provider="Rival Logistics")

    recommendation = Recommendation.objects.get(case=case)
    assert recommendation.verdict == "other_provider"
    assert recommendation.other_provider == "Rival Logistics"


@pytest.mark.parametrize(
    "persona",
    [
        "client_contributor",
        "client_facilitator",
        "seller_contributor",
        "viewer",
        "partner",
    ],
)
def test_only_a_seller_facilitator_recommends(case, as_user, request, persona):
    user = request.getfixturevalue(persona)
    client = as_user(user)

    response = recommend(client, case, "proceed")

    assert response.status_code == 403
    assert not Recommendation.objects.exists()
    page = client.get(url("decision", case))
    assert url("decision_recommendation", case) not in page.content.decode()


def test_the_seller_facilitator_sees_the_recommendation_form(
    case, as_user, facilitator
):
    page = as_user(facilitator).get(url("decision", case))

    assert url("decision_recommendation", case) in page.content.decode()
    assert "No recommendation recorded yet." in page.content.decode()


@pytest.mark.parametrize(
    ("verdict", "field", "message"),
    [
        ("proceed_with_conditions", "conditions", "Say which conditions must hold."),
        ("defer", "defer_until", "Say until when to defer."),
        (
            "other_provider",
            "other_provider",
            "Name the provider that is better suited.",
        ),
    ],
)
def test_each_verdict_needs_its_extra(
    case, as_user, facilitator, verdict, field, message
):
    response = recommend(as_user(facilitator), case, verdict)

    assert response.status_code == 400
    form = response.context["recommendation_form"]
    assert form.errors == {field: [message]}
    assert message in response.content.decode()
    assert not Recommendation.objects.exists()


@pytest.mark.parametrize(
    ("verdict", "extra", "field"),
    [
        ("proceed", {"conditions": "A pilot first."}, "conditions"),
        ("do_not_proceed", {"defer_until": "2030-01-01"}, "defer_until"),
        (
            "defer",
            {"defer_until": "2030-01-01", "other_provider": "X"},
            "other_provider",
        ),
    ],
)
def test_an_extra_that_belongs_to_another_verdict_is_refused(
    case, as_user, facilitator, verdict, extra, field
):
    response = recommend(as_user(facilitator), case, verdict, **extra)

    assert response.status_code == 400
    assert list(response.context["recommendation_form"].errors) == [field]
    assert not Recommendation.objects.exists()


def test_a_refused_recommendation_keeps_the_one_on_record(case, as_user, facilitator):
    client = as_user(facilitator)
    recommend(client, case, "do_not_proceed")

    response = recommend(client, case, "defer")

    assert response.status_code == 400
    assert Recommendation.objects.get(case=case).verdict == "do_not_proceed"


def test_a_recommendation_needs_a_rationale(case, as_user, facilitator):
    response = recommend(as_user(facilitator), case, "proceed", rationale="")

    assert response.status_code == 400
    assert "rationale" in response.context["recommendation_form"].errors
    assert not Recommendation.objects.exists()


@pytest.mark.parametrize(
    ("verdict", "extra", "shown"),
    [
        ("proceed", {}, ["Proceed"]),
        (
            "proceed_with_conditions",
            {"conditions": "A pilot on three sites first."},
            ["Proceed with conditions", "A pilot on three sites first."],
        ),
        ("defer", {"defer_until": "2027-03-01"}, ["Defer", "1 March 2027"]),
        ("do_not_proceed", {}, ["Do not proceed"]),
        (
            "other_provider",
            {"other_provider": "Rival Logistics"},
            ["Another provider is better suited", "Rival Logistics"],
        ),
    ],
)
def test_the_recommendation_shows_whatever_it_says(
    case, as_user, facilitator, viewer, verdict, extra, shown
):
    assert recommend(as_user(facilitator), case, verdict, **extra).status_code == 302

    client = as_user(viewer)  # the client's executive reads it
    overview = client.get(url("overview", case)).content.decode()
    decision = client.get(url("decision", case)).content.decode()

    for html, block in (
        (overview, "overview-recommendation"),
        (decision, "recommendation"),
    ):
        match = re.search(
            rf'<section[^>]*id="{block}"[^>]*>(.*?)</section>', html, re.S
        )
        assert match, block
        text = " ".join(unescape(re.sub(r"<[^>]+>", " ", match.group(1))).split())
        for words in shown:
            assert words in text, (block, words)
        assert RATIONALE in text
    assert "The seller has not recorded a recommendation yet." not in overview


def test_the_deferral_date_is_stored(case, as_user, facilitator):
    recommend(as_user(facilitator), case, "defer", defer_until="2027-03-01")

    assert Recommendation.objects.get(case=case).defer_until == date(2027, 3, 1)


def _defer_on_record(case, facilitator, until: date) -> Recommendation:
    return Recommendation.objects.create(
        case=case,
        verdict="defer",
        defer_until=until,
        rationale=RATIONALE,
        recorded_by=facilitator,
    )


def test_the_form_shows_the_deferral_date_on_record(case, as_user, facilitator):
    _defer_on_record(case, facilitator, date(2028, 5, 16))

    html = as_user(facilitator).get(url("decision", case)).content.decode()

    assert re.search(r'<input type="date" name="defer_until" value="2028-05-16"', html)


def test_saving_the_rationale_alone_keeps_the_deferral_date(case, as_user, facilitator):
    _defer_on_record(case, facilitator, date(2028, 5, 16))
    browser = as_user(facilitator)
    action = url("decision_recommendation", case)
    html = browser.get(url("decision", case)).content.decode()

    response = browser.post(
        action, browser_post_data(html, action, rationale="Wait for the new depot.")
    )

    assert response.status_code == 302, response.content.decode()
    recommendation = Recommendation.objects.get(case=case)
    assert recommendation.rationale == "Wait for the new depot."
    assert recommendation.defer_until == date(2028, 5, 16)


def test_a_new_deferral_to_a_past_date_is_refused(case, as_user, facilitator):
    response = recommend(as_user(facilitator), case, "defer", defer_until="2020-01-01")

    assert response.status_code == 400
    html = unescape(response.content.decode())
    assert "Defer until a date still to come" in html
    assert not Recommendation.objects.exists()


def test_a_deferral_date_on_record_that_has_passed_may_stay(case, as_user, facilitator):
    passed = date.today() - timedelta(days=10)
    _defer_on_record(case, facilitator, passed)
    browser = as_user(facilitator)

    kept = recommend(
        browser, case, "defer", defer_until=passed.isoformat(), rationale="Still."
    )
    moved = recommend(
        browser,
        case,
        "defer",
        defer_until=(passed - timedelta(days=1)).isoformat(),
        rationale="Earlier.",
    )

    assert kept.status_code == 302
    assert moved.status_code == 400
    recommendation = Recommendation.objects.get(case=case)
    assert (recommendation.rationale, recommendation.defer_until) == ("Still.", passed)


def test_a_recommendation_whose_author_has_gone_still_shows(case, as_user, facilitator):
    Recommendation.objects.create(
        case=case, verdict="proceed", rationale=RATIONALE, recorded_by=None
    )

    response = as_user(facilitator).get(url("decision", case))

    assert response.status_code == 200
    assert "Recorded by someone no longer here" in response.content.decode()


# --- another case's member (every URL's access: tests/cases/test_access.py) ----------------


def test_a_member_of_another_case_cannot_rate_this_one(case, as_user):
    other = CaseFactory()
    stranger = MembershipFactory(
        case=other, side=Side.CLIENT, role=Role.FACILITATOR
    ).user

    response = as_user(stranger).post(
        url("decision_ratings", case), ratings_post(product=5)
    )

    assert response.status_code == 404
    assert not BuyingRating.objects.exists()
