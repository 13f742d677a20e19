"""Live workshops: the cheap "changed since?" answer and the presenter view."""

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from cases import live
from cases.models import LaggingMetric
from cases.stages import BY_KEY, BY_MODEL, STAGES
from ecosystem.models import Organisation

from ..factories import (
    BenefitFactory,
    ChangeItemFactory,
    EcosystemPartyFactory,
    LaggingMetricFactory,
    RiskOfNotActingFactory,
)
from .test_stage_views import create_data, edit_data, item_url

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


@pytest.mark.parametrize("view", ["stage", "presenter"])
def test_poll_is_cheap_whatever_the_size(
    as_user, case, viewer, view, django_assert_max_num_queries
):
    for n in range(200):
        ChangeItemFactory(case=case, title=f"Change {n}")
        metric = LaggingMetricFactory(case=case)
        BenefitFactory(case=case, metric=metric)
    client = as_user(viewer)
    for slug in ("changes", "benefits"):
        params = {"view": "presenter"} if view == "presenter" else {}
        token = client.get(changes_url(case, slug, **params))["X-Changes-Token"]
        # Session, user, case and membership included; nothing is rendered.
        with django_assert_max_num_queries(8):
            unchanged = client.get(changes_url(case, slug, since=token, **params))
        assert unchanged.status_code == 204
        assert not unchanged.content


def test_renaming_a_lagging_metric_updates_open_benefits_pages(
    as_user, case, viewer, facilitator
):
    metric = LaggingMetricFactory(case=case, name="Cost per delivery")
    BenefitFactory(case=case, title="Fewer trucks on the road", metric=metric)
    client = as_user(viewer)
    token = client.get(changes_url(case, "benefits"))["X-Changes-Token"]
    assert client.get(changes_url(case, "benefits", since=token)).status_code == 204

    # Someone renames the metric on the lagging metrics stage...
    renamed = as_user(facilitator).post(
        item_url("item_edit", case, "lagging-metrics", metric),
        edit_data("lagging-metrics", case, metric, "Cost per delivered order"),
    )
    assert renamed.status_code == 302

    # ...and the benefit card that names it shows the new name at the next poll.
    client.force_login(viewer)
    after = client.get(
        changes_url(case, "benefits", since=token), HTTP_HX_REQUEST="true"
    )
    assert after.status_code == 200
    assert after["X-Changes-Token"] != token
    assert "Cost per delivered order" in after.text
    assert "Cost per delivery<" not in after.text


def test_a_comment_on_a_stage_benefits_does_not_show_leaves_benefits_alone(
    as_user, case, viewer, facilitator
):
    client = as_user(viewer)
    benefits = client.get(changes_url(case, "benefits"))["X-Changes-Token"]
    models = client.get(changes_url(case, "models"))["X-Changes-Token"]

    as_user(facilitator).post(
        reverse("cases:stage_comments", args=[case.pk, "models"]),
        {"text": "Start with the operating model."},
    )

    client.force_login(viewer)
    assert client.get(changes_url(case, "models", since=models)).status_code == 200
    assert client.get(changes_url(case, "benefits", since=benefits)).status_code == 204


def test_an_item_added_on_another_stage_refreshes_the_stepper_alone(
    as_user, case, viewer, facilitator
):
    client = as_user(viewer)
    token = client.get(changes_url(case, "benefits"))["X-Changes-Token"]

    as_user(facilitator).post(
        reverse("cases:item_create", args=[case.pk, "changes"]),
        {"leg": "people", "title": "Coach the dispatchers", "description": ""},
    )

    client.force_login(viewer)
    after = client.get(changes_url(case, "benefits", since=token))
    assert after.status_code == 200
    assert after["X-Changes-Only"] == "stepper"
    assert 'id="stepper"' in after.text
    assert 'id="item-list"' not in after.text
    count = re.search(r'data-stage-count="changes">(\d+)<', after.text)
    assert count and int(count.group(1)) == 1
    # Taken in, the new token is quiet again.
    again = client.get(changes_url(case, "benefits", since=after["X-Changes-Token"]))
    assert again.status_code == 204


def test_a_change_of_the_pages_own_stage_still_brings_the_whole_list(
    as_user, case, viewer, facilitator
):
    client = as_user(viewer)
    token = client.get(changes_url(case, "changes"))["X-Changes-Token"]
    ChangeItemFactory(case=case, title="Coach the dispatchers")

    after = client.get(changes_url(case, "changes", since=token))
    assert after.status_code == 200
    assert "X-Changes-Only" not in after
    assert "Coach the dispatchers" in after.text


def test_the_page_starts_with_the_token_its_poll_answers(as_user, case, viewer):
    """The token written in the page is the one the poll gives: an unchanged
    page gets 204 from its very first poll."""
    client = as_user(viewer)
    page = client.get(reverse("cases:stage", args=[case.pk, "benefits"])).text
    token = re.search(r'data-poll-token="([^"]+)"', page).group(1)
    assert client.get(changes_url(case, "benefits", since=token)).status_code == 204


def test_every_stage_a_card_reads_is_declared_in_shows_from():
    """The stages whose items a stage's list loads (its select_related and
    prefetch_related) are the stages its cards show: forgetting one in
    `shows_from` would leave open pages stale."""
    for stage in STAGES:
        loaded = set()
        for path in (*stage.select_related, *stage.prefetch_related):
            model = stage.model
            for name in path.split("__"):
                model = model._meta.get_field(name).related_model
                if model in BY_MODEL and model is not stage.model:
                    loaded.add(BY_MODEL[model].key)
        assert loaded <= set(stage.shows_from), stage.key


def test_every_stage_an_add_form_picks_from_is_watched(case):
    """A choice of an add form that lists another stage's items (or the
    organisations of the case's ecosystem) names a stage the page's token
    watches: forgetting one in `picks_from` would leave open forms stale."""
    for stage in STAGES:
        form = stage.form(case=case)
        picked = set()
        for field in form.fields.values():
            queryset = getattr(field, "queryset", None)
            if queryset is None:
                continue
            if queryset.model in BY_MODEL:
                picked.add(BY_MODEL[queryset.model].key)
            elif "ecosystemparty" in str(queryset.query).lower():
                picked.add("ecosystem")
        picked.discard(stage.key)
        assert picked <= {s.key for s in stage.watched_stages}, stage.key


@pytest.mark.parametrize("stage", STAGES, ids=lambda stage: stage.key)
def test_the_token_is_one_query_whatever_the_stage_shows(
    case, stage, django_assert_num_queries
):
    with django_assert_num_queries(1):
        live.change_token(case, stage)


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


# --- An open add form's choices follow the case --------------------------------


def add_form_choices(html: str) -> str | None:
    """The fresh add-form choices a live answer carries, or None."""
    found = re.search(
        r'<template id="add-item-choices">(.*?)</template>', html, flags=re.S
    )
    return found.group(1) if found else None


def test_a_lagging_metric_added_reaches_an_open_benefit_forms_choices(
    as_user, case, facilitator, client_contributor
):
    """Maria has Benefits open, her add form half filled; Anna adds a lagging
    metric: Maria's next poll brings it among the form's "proved by" choices."""
    LaggingMetricFactory(case=case, name="On-time deliveries")
    maria = as_user(client_contributor)
    token = maria.get(changes_url(case, "benefits"))["X-Changes-Token"]

    added = as_user(facilitator).post(
        reverse("cases:item_create", args=[case.pk, "lagging-metrics"]),
        create_data("lagging-metrics", case, "Cost per order"),
    )
    assert added.status_code == 302
    new = LaggingMetric.objects.get(case=case, name="Cost per order")

    maria.force_login(client_contributor)
    after = maria.get(
        changes_url(case, "benefits", since=token), HTTP_HX_REQUEST="true"
    )
    assert after.status_code == 200
    choices = add_form_choices(after.text)
    assert choices is not None, "the answer carries the add form's choices"
    select = re.search(r'<select name="metric"[^>]*>(.*?)</select>', choices, re.S)
    assert select, choices
    options = re.findall(
        r'<option value="(\d*)"[^>]*>([^<]*)</option>', select.group(1)
    )
    assert (str(new.pk), "Cost per order") in options
    assert "On-time deliveries" in dict(options).values()
    # The fields alone, as the form renders them: no form, no CSRF token, and
    # none of the form's other fields (what Maria typed is hers).
    assert 'id="id_metric"' in choices
    assert "<form" not in choices
    assert "csrf" not in choices.lower()
    assert 'name="title"' not in choices
    assert 'name="category"' not in choices, "a fixed choice stays as it is"
    # Taken in, the page is quiet again.
    quiet = maria.get(changes_url(case, "benefits", since=after["X-Changes-Token"]))
    assert quiet.status_code == 204


def test_a_renamed_lagging_metric_is_renamed_in_leading_metrics_drives_choices(
    as_user, case, facilitator, client_contributor
):
    metric = LaggingMetricFactory(case=case, name="Cost per delivery")
    maria = as_user(client_contributor)
    token = maria.get(changes_url(case, "leading-metrics"))["X-Changes-Token"]

    as_user(facilitator).post(
        item_url("item_edit", case, "lagging-metrics", metric),
        edit_data("lagging-metrics", case, metric, "Cost per delivered order"),
    )

    maria.force_login(client_contributor)
    after = maria.get(changes_url(case, "leading-metrics", since=token))
    choices = add_form_choices(after.text)
    assert choices is not None
    assert f'name="drives" value="{metric.pk}"' in choices
    assert "Cost per delivered order" in choices
    assert "Cost per delivery\n" not in choices


def test_a_party_added_reaches_an_open_ecosystem_forms_organisations(
    as_user, case, facilitator, client_contributor
):
    maria = as_user(client_contributor)
    token = maria.get(changes_url(case, "ecosystem"))["X-Changes-Token"]

    as_user(facilitator).post(
        reverse("cases:item_create", args=[case.pk, "ecosystem"]),
        create_data("ecosystem", case, "Harbour Freight"),
    )
    freight = Organisation.objects.get(name="Harbour Freight")

    maria.force_login(client_contributor)
    choices = add_form_choices(
        maria.get(changes_url(case, "ecosystem", since=token)).text
    )
    assert choices is not None
    assert f'<option value="{freight.pk}">Harbour Freight' in choices


def test_a_party_added_reaches_an_open_investment_forms_organisations(
    as_user, case, facilitator, client_contributor
):
    """Who invests is picked from the case's parties: a company added on the
    Ecosystem page is offered by an Investments form already open."""
    maria = as_user(client_contributor)
    token = maria.get(changes_url(case, "investments"))["X-Changes-Token"]

    as_user(facilitator).post(
        reverse("cases:item_create", args=[case.pk, "ecosystem"]),
        create_data("ecosystem", case, "Harbour Freight"),
    )
    freight = Organisation.objects.get(name="Harbour Freight")

    maria.force_login(client_contributor)
    after = maria.get(changes_url(case, "investments", since=token))
    assert after.status_code == 200, "the investments page's token moved"
    choices = add_form_choices(after.text)
    assert choices is not None
    assert f'<option value="{freight.pk}">Harbour Freight' in choices


def test_a_viewers_poll_answer_has_no_form_parts(as_user, case, viewer, facilitator):
    client = as_user(viewer)
    token = client.get(changes_url(case, "benefits"))["X-Changes-Token"]
    LaggingMetricFactory(case=case, name="Cost per order")

    after = client.get(changes_url(case, "benefits", since=token))
    assert after.status_code == 200
    assert "Cost per order" not in after.text, "no benefit names it yet"
    assert add_form_choices(after.text) is None
    assert 'name="metric"' not in after.text


def test_a_form_with_fixed_choices_only_gets_no_form_parts(as_user, case, facilitator):
    client = as_user(facilitator)
    token = client.get(changes_url(case, "changes"))["X-Changes-Token"]
    ChangeItemFactory(case=case, title="Coach the dispatchers")
    after = client.get(changes_url(case, "changes", since=token))
    assert "Coach the dispatchers" in after.text
    assert add_form_choices(after.text) is None


@pytest.mark.parametrize("slug", ["benefits", "leading-metrics", "ecosystem"])
def test_an_editors_poll_stays_cheap_with_the_forms_choices(
    as_user, case, facilitator, slug, django_assert_num_queries
):
    """Unchanged: 204 for the session, user, case (with membership) and the
    token's three queries, as before the form's choices came along. Changed:
    the same number of queries whatever the size of the case (the list, and
    each choice field once), and no more than unchanged once the rendered
    parts are kept (another editor's poll at the same revision)."""

    def grow(n):
        for _ in range(n):
            metric = LaggingMetricFactory(case=case)
            BenefitFactory(case=case, metric=metric)
            EcosystemPartyFactory(case=case)

    client = as_user(facilitator)
    counts = []
    for size in (2, 100):
        grow(size)
        token = client.get(changes_url(case, slug))["X-Changes-Token"]
        with django_assert_num_queries(6):
            unchanged = client.get(changes_url(case, slug, since=token))
        assert unchanged.status_code == 204
        grow(1)
        with CaptureQueriesContext(connection) as changed:
            answer = client.get(changes_url(case, slug, since=token))
        assert "X-Changes-Only" not in answer
        assert add_form_choices(answer.text) is not None
        counts.append(len(changed))
        with django_assert_num_queries(6):
            kept = client.get(changes_url(case, slug, since=token))
        assert add_form_choices(kept.text) == add_form_choices(answer.text)
    assert counts[0] == counts[1], "the same queries whatever the size"
