"""Comments beside each stage: any member may comment (viewers too), with who,
which side and when; the form refuses empty and over-long comments."""

from __future__ import annotations

import pytest
from django.template.defaultfilters import date as date_filter
from django.urls import reverse
from django.utils import timezone

from cases.models import Case, Comment, Side, display_name

from .test_access import db_state, login_redirect
from .test_stage_views import HTMX, stage_url, text_of

SLUG = "benefits"


def comments_url(case: Case, slug: str = SLUG) -> str:
    return reverse("cases:stage_comments", args=[case.pk, slug])


@pytest.mark.parametrize(
    "persona", ["viewer", "partner", "client_contributor", "facilitator"]
)
def test_any_member_may_comment(persona, case, as_user, request):
    user = request.getfixturevalue(persona)
    browser = as_user(user)

    response = browser.post(comments_url(case), {"text": "Is churn counted twice?"})

    assert response.status_code == 302
    assert response["Location"] == stage_url(case, SLUG) + "#comments"
    comment = Comment.objects.get(case=case)
    assert (comment.stage, comment.author, comment.text) == (
        SLUG,
        user,
        "Is churn counted twice?",
    )
    membership = case.memberships.get(user=user)
    assert comment.side == membership.side


def test_comment_shows_who_which_side_and_when(case, viewer, facilitator, as_user):
    as_user(viewer).post(comments_url(case), {"text": "Keep stock out of it."})
    comment = Comment.objects.get()

    page = text_of(as_user(facilitator).get(stage_url(case, SLUG)))

    section = page.split('id="comments"')[1]
    assert display_name(viewer) in section
    assert "Client" in section
    assert date_filter(timezone.localtime(comment.created_at), "j M Y, H:i") in section
    assert "Keep stock out of it." in section


def test_comments_belong_to_their_stage(case, viewer, as_user):
    browser = as_user(viewer)
    browser.post(comments_url(case), {"text": "About benefits"})
    assert "About benefits" in text_of(browser.get(stage_url(case, SLUG)))
    assert "About benefits" not in text_of(browser.get(stage_url(case, "changes")))


def test_htmx_post_returns_the_comments_partial(case, viewer, as_user):
    response = as_user(viewer).post(
        comments_url(case), {"text": "Agreed in the room"}, headers=HTMX
    )
    html = text_of(response)
    assert response.status_code == 200
    assert html.lstrip().startswith('<section id="comments"')
    assert "Agreed in the room" in html
    assert "Posted" in html
    assert "<html" not in html


def test_htmx_get_returns_the_partial_and_a_plain_get_the_page(case, viewer, as_user):
    browser = as_user(viewer)
    partial = browser.get(comments_url(case), headers=HTMX)
    plain = browser.get(comments_url(case))
    assert partial.status_code == 200
    assert text_of(partial).lstrip().startswith('<section id="comments"')
    assert plain.status_code == 302
    assert plain["Location"] == stage_url(case, SLUG) + "#comments"


@pytest.mark.parametrize(
    "text, message",
    [
        ("", "Write something to comment."),
        ("   \n ", "Write something to comment."),
        ("x" * 2001, "at most 2000 characters"),
    ],
    ids=["empty", "blank", "too-long"],
)
@pytest.mark.parametrize("htmx", [True, False], ids=["htmx", "plain"])
def test_form_refuses_empty_and_over_long(text, message, htmx, case, viewer, as_user):
    response = as_user(viewer).post(
        comments_url(case), {"text": text}, headers=HTMX if htmx else {}
    )
    assert response.status_code == 400
    assert message in text_of(response)
    assert not Comment.objects.exists()
    if not htmx:  # the whole stage page, with the error beside the form
        assert "<html" in text_of(response)


def test_the_longest_comment_is_accepted(case, viewer, as_user):
    as_user(viewer).post(comments_url(case), {"text": "y" * 2000})
    assert len(Comment.objects.get().text) == 2000


def test_comment_text_is_escaped(case, viewer, as_user):
    browser = as_user(viewer)
    browser.post(comments_url(case), {"text": "<script>alert(1)</script>"})
    page = text_of(browser.get(stage_url(case, SLUG)))
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_side_is_kept_as_it_was_when_written(case, viewer, as_user):
    as_user(viewer).post(comments_url(case), {"text": "Before the move"})
    case.memberships.filter(user=viewer).update(side=Side.PARTNER)
    assert Comment.objects.get().side == Side.CLIENT


# --- Access ---------------------------------------------------------------------------


@pytest.mark.parametrize("method", ["get", "post"])
def test_outsider_gets_not_found(method, case, outsider, as_user):
    browser = as_user(outsider)
    before = db_state()
    response = getattr(browser, method)(comments_url(case), {"text": "Hi"})
    assert response.status_code == 404
    assert db_state() == before


@pytest.mark.parametrize("method", ["get", "post"])
def test_anonymous_is_sent_to_login(method, case, client):
    before = db_state()
    data = {"text": "Hi"} if method == "post" else {}
    response = getattr(client, method)(comments_url(case), data)
    assert response.status_code == 302
    assert response["Location"] == login_redirect(comments_url(case))
    assert db_state() == before


def test_unknown_stage_is_not_found(case, viewer, as_user):
    response = as_user(viewer).post(comments_url(case, "nope"), {"text": "Hi"})
    assert response.status_code == 404
