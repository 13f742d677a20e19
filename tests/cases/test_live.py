"""Live workshops: the cheap "changed since?" answer and the presenter view."""

import pytest
from django.urls import reverse

from cases import live
from cases.stages import BY_KEY

from ..factories import ChangeItemFactory, RiskOfNotActingFactory

pytestmark = pytest.mark.django_db


def changes_url(case, slug="changes", **params):
    url = reverse("cases:stage_changes", args=[case.pk, slug])
    return url + (
        "?" + "&".join(f"{k}={v}" for k, v in params.items()) if params else ""
    )


def test_unchanged_stage_answers_204_and_a_change_answers_with_the_items(
    as_user, case, viewer, facilitator
):
    client = as_user(viewer)
    first = client.get(changes_url(case), HTTP_HX_REQUEST="true")
    assert first.status_code == 200
    token = first["X-Changes-Token"]

    again = client.get(changes_url(case, since=token))
    assert again.status_code == 204
    assert again["X-Changes-Token"] == token

    # Another person adds an item through the web: the next poll brings it.
    as_user(facilitator).post(
        reverse("cases:item_create", args=[case.pk, "changes"]),
        {"leg": "people", "title": "Coach the dispatchers", "description": ""},
    )
    client.force_login(viewer)
    after = client.get(changes_url(case, since=token), HTTP_HX_REQUEST="true")
    assert after.status_code == 200
    assert after["X-Changes-Token"] != token
    assert "Coach the dispatchers" in after.text
    assert 'id="item-list"' in after.text
    assert 'id="stepper" hx-swap-oob="true"' in after.text, (
        "the stepper's count follows"
    )


def test_edits_and_deletes_move_the_token_too(case, facilitator):
    stage = BY_KEY["changes"]
    item = ChangeItemFactory(case=case)
    before = live.change_token(case, stage)
    item.title = "Renamed"
    item.save()
    edited = live.change_token(case, stage)
    assert edited != before
    item.delete()
    assert live.change_token(case, stage) != edited


def test_another_stages_change_does_not_wake_this_stage(case):
    before = live.change_token(case, BY_KEY["changes"])
    RiskOfNotActingFactory(case=case)
    assert live.change_token(case, BY_KEY["changes"]) == before


def test_poll_is_cheap_whatever_the_size(
    as_user, case, viewer, django_assert_max_num_queries
):
    for n in range(200):
        ChangeItemFactory(case=case, title=f"Change {n}")
    client = as_user(viewer)
    token = client.get(changes_url(case))["X-Changes-Token"]
    with django_assert_max_num_queries(8):
        assert client.get(changes_url(case, since=token)).status_code == 204


def test_presenter_shows_the_stage_questions_items_and_the_room(
    as_user, case, facilitator, client_contributor
):
    ChangeItemFactory(case=case, title="Plan routes per site")
    as_user(client_contributor).get(reverse("cases:stage", args=[case.pk, "changes"]))
    page = as_user(facilitator).get(
        reverse("cases:presenter", args=[case.pk, "changes"])
    )
    assert page.status_code == 200
    text = page.text
    assert "Plan routes per site" in text
    assert BY_KEY["changes"].questions[0] in text
    assert "In the room" in text
    assert client_contributor.get_full_name() in text
    assert reverse("cases:presenter", args=[case.pk, "ecosystem"]) in text, "next stage"


def test_unknown_stage_is_404(as_user, case, viewer):
    assert (
        as_user(viewer)
        .get(reverse("cases:presenter", args=[case.pk, "nope"]))
        .status_code
        == 404
    )


def test_the_stage_page_links_to_its_presenter_view(as_user, case, viewer):
    page = as_user(viewer).get(reverse("cases:stage", args=[case.pk, "ecosystem"])).text
    assert reverse("cases:presenter", args=[case.pk, "ecosystem"]) in page
