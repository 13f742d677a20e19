"""The case's status moves draft -> in review -> agreed -> archived (and back,
where the table allows) through one service, each move recorded; only
facilitators move it, and a refused move says why."""

from __future__ import annotations

import itertools
import re

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from cases import revision, services
from cases.models import Case, CaseStatus, CaseStatusChange, StageRecord, StageStatus
from cases.stages import STAGES

from .test_access import db_state, login_redirect
from .test_stage_views import HTMX, text_of

S = CaseStatus
ALLOWED = {
    (S.DRAFT, S.IN_REVIEW),
    (S.DRAFT, S.ARCHIVED),  # a case that will not go ahead
    (S.IN_REVIEW, S.AGREED),
    (S.IN_REVIEW, S.DRAFT),
    (S.IN_REVIEW, S.ARCHIVED),
    (S.AGREED, S.ARCHIVED),
    (S.AGREED, S.IN_REVIEW),
    (S.ARCHIVED, S.DRAFT),
}
EVERY_MOVE = list(itertools.product(S.values, S.values))


def status_url(case: Case) -> str:
    return reverse("cases:case_status", args=[case.pk])


def overview_url(case: Case) -> str:
    return reverse("cases:overview", args=[case.pk])


def set_status(case: Case, status: str) -> None:
    Case.objects.filter(pk=case.pk).update(status=status)
    case.refresh_from_db()


def agree_every_stage(case: Case, but: int = 0) -> None:
    slugs = [s.slug for s in STAGES][but:]
    StageRecord.objects.filter(case=case, stage__in=slugs).update(
        status=StageStatus.AGREED
    )
    revision.bump(case.pk)  # a bulk update sends no signal: pages must not be kept


def test_the_table_is_the_one_in_the_service():
    table = {
        (here, there)
        for here, targets in services.CASE_TRANSITIONS.items()
        for there in targets
    }
    assert table == ALLOWED


@pytest.mark.parametrize(
    "here, there", EVERY_MOVE, ids=[f"{a}->{b}" for a, b in EVERY_MOVE]
)
def test_every_move(here, there, case, facilitator, as_user):
    agree_every_stage(case)
    set_status(case, here)

    response = as_user(facilitator).post(
        status_url(case),
        {"to_status": there, "note": "After the workshop"},
        follow=True,
    )

    case.refresh_from_db()
    page = text_of(response)
    if (here, there) in ALLOWED:
        assert case.status == there
        change = CaseStatusChange.objects.get(case=case)
        assert (change.from_status, change.to_status) == (here, there)
        assert change.changed_by == facilitator
        assert change.note == "After the workshop"
        assert change.changed_at is not None
        assert f"The case is now {S(there).label}." in page
    else:
        assert case.status == here
        assert not CaseStatusChange.objects.exists()
        if here == there:
            assert f"The case is already {S(here).label.lower()}." in page
        else:
            assert (
                f"A case cannot move from {S(here).label.lower()} to "
                f"{S(there).label.lower()}" in page
            )


def test_agreeing_needs_all_nine_stages_agreed(case, facilitator, as_user):
    agree_every_stage(case, but=1)
    set_status(case, S.IN_REVIEW)
    response = as_user(facilitator).post(
        status_url(case), {"to_status": S.AGREED}, follow=True
    )
    case.refresh_from_db()
    assert case.status == S.IN_REVIEW
    assert (
        "The case can be agreed only when all 9 stages are agreed; 8 of 9 are."
        in text_of(response)
    )
    assert not CaseStatusChange.objects.exists()


def test_the_whole_path_and_back_is_recorded(case, facilitator, as_user):
    agree_every_stage(case)
    browser = as_user(facilitator)
    path = [S.IN_REVIEW, S.AGREED, S.ARCHIVED, S.DRAFT]
    for status in path:
        browser.post(status_url(case), {"to_status": status})
    moves = list(
        CaseStatusChange.objects.filter(case=case).values_list(
            "from_status", "to_status"
        )
    )
    assert moves == list(zip([S.DRAFT, *path[:-1]], path, strict=True))
    history = case.history.order_by("history_id")
    assert [h.status for h in history][-4:] == path
    assert history.last().history_change_reason == "Status: Archived -> Draft"


def test_overview_shows_the_control_and_the_history(case, facilitator, as_user):
    browser = as_user(facilitator)
    page = text_of(browser.get(overview_url(case)))
    assert status_url(case) in page
    assert 'value="in_review"' in page  # "Send for review"
    assert 'value="agreed"' not in page  # not a move from draft

    browser.post(status_url(case), {"to_status": S.IN_REVIEW, "note": "Ready"})
    page = text_of(browser.get(overview_url(case)))
    history = page.split('id="status-history"')[1]
    assert "Draft" in history and "In review" in history
    assert "Ready" in history
    assert 'value="agreed"' in page and 'value="draft"' in page


@pytest.mark.parametrize("persona", ["viewer", "client_contributor", "partner"])
def test_others_see_the_history_but_no_control(persona, case, as_user, request):
    browser = as_user(request.getfixturevalue(persona))
    page = text_of(browser.get(overview_url(case)))
    assert "Status" in page
    assert status_url(case) not in page


def test_htmx_gets_the_partial(case, facilitator, as_user):
    browser = as_user(facilitator)
    ok = browser.post(status_url(case), {"to_status": S.IN_REVIEW}, headers=HTMX)
    refused = browser.post(status_url(case), {"to_status": S.IN_REVIEW}, headers=HTMX)
    assert ok.status_code == 200
    assert text_of(ok).lstrip().startswith('<section id="case-status"')
    assert refused.status_code == 400
    assert "The case is already in review." in text_of(refused)


def button(page: str, status: str) -> str:
    """The status form's button that moves the case to `status`."""
    found = re.search(rf'<button[^>]*value="{status}"[^>]*>', page)
    assert found, status
    return found.group(0)


def test_agreeing_is_shown_but_not_offered_until_every_stage_is_agreed(
    case, facilitator, as_user
):
    agree_every_stage(case, but=2)
    set_status(case, S.IN_REVIEW)
    browser = as_user(facilitator)
    page = text_of(browser.get(overview_url(case)))
    assert "disabled" in button(page, S.AGREED)
    assert "Mark the case agreed: Once all 9 stages are agreed (7 now)." in page
    assert "disabled" not in button(page, S.DRAFT)

    agree_every_stage(case)
    page = text_of(browser.get(overview_url(case)))
    assert "disabled" not in button(page, S.AGREED)
    assert "Once all 9 stages are agreed" not in page


def test_a_draft_that_will_not_go_ahead_is_archived_and_restored(
    case, facilitator, as_user
):
    browser = as_user(facilitator)
    page = text_of(browser.get(overview_url(case)))
    assert "Archive a case that will not go ahead" in page
    response = browser.post(
        status_url(case),
        {"to_status": S.ARCHIVED, "note": "Client chose to defer a year"},
        follow=True,
    )
    case.refresh_from_db()
    assert case.status == S.ARCHIVED
    assert "The case is now Archived." in text_of(response)
    assert "disabled" not in button(text_of(response), S.DRAFT)  # restore

    browser.post(status_url(case), {"to_status": S.DRAFT})
    case.refresh_from_db()
    assert case.status == S.DRAFT


@pytest.mark.parametrize("value", ["", "bogus"])
def test_an_unknown_status_is_refused(value, case, facilitator, as_user):
    response = as_user(facilitator).post(
        status_url(case), {"to_status": value}, follow=True
    )
    case.refresh_from_db()
    assert case.status == S.DRAFT
    assert response.status_code == 200
    assert "alert-danger" in text_of(response)


def test_the_service_refuses_an_unknown_status(case, facilitator):
    with pytest.raises(ValidationError, match="not a status"):
        services.change_case_status(case=case, to_status="lost", user=facilitator)


def test_an_over_long_note_is_refused(case, facilitator, as_user):
    as_user(facilitator).post(
        status_url(case), {"to_status": S.IN_REVIEW, "note": "n" * 1001}
    )
    case.refresh_from_db()
    assert case.status == S.DRAFT


# --- Access ---------------------------------------------------------------------------


@pytest.mark.parametrize("persona", ["viewer", "client_contributor", "partner"])
def test_only_facilitators_move_the_case(persona, case, as_user, request):
    browser = as_user(request.getfixturevalue(persona))
    before = db_state()
    response = browser.post(status_url(case), {"to_status": S.IN_REVIEW})
    assert response.status_code == 403
    assert db_state() == before


def test_outsider_gets_not_found(case, outsider, as_user):
    browser = as_user(outsider)
    before = db_state()
    response = browser.post(status_url(case), {"to_status": S.IN_REVIEW})
    assert response.status_code == 404
    assert db_state() == before


def test_anonymous_is_sent_to_login(case, client):
    before = db_state()
    response = client.post(status_url(case), {"to_status": S.IN_REVIEW})
    assert response.status_code == 302
    assert response["Location"] == login_redirect(status_url(case))
    assert db_state() == before


def test_get_is_not_allowed(case, facilitator, as_user):
    assert as_user(facilitator).get(status_url(case)).status_code == 405
