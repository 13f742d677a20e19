"""An archived case is read-only for everyone, until a facilitator restores it.

Every URL of a case is checked on an archived case in tests/cases/test_access.py
(writes refused with 403, reads, PDF exports and downloads allowed); here: the
way in and out through the status, what the pages show, the rules, and a PDF of
an archived case rendered to the end.
"""

from __future__ import annotations

import pytest
import rules
from django.core import mail
from django.core.exceptions import PermissionDenied
from django.urls import reverse
from django.utils.html import escape

from cases import exports, invitations, services
from cases.models import (
    Case,
    CaseStatus,
    CaseStatusChange,
    ChangeItem,
    ExportStatus,
    Invitation,
    Membership,
)
from cases.portability.exporter import export_case
from cases.portability.importer import import_case
from cases.rules import ARCHIVED_REFUSAL
from cases.stages import BY_SLUG

from ..factories import ChangeItemFactory
from .archive_helpers import archived_behind_its_back
from .test_case_status import agree_every_stage, set_status, status_url
from .test_invitations import invite
from .test_stage_views import HTMX, create_data

NOTICE = "This case is archived."


@pytest.fixture
def archived(case, facilitator, client_contributor, viewer):
    ChangeItemFactory(case=case, title="Plan routes per site")
    set_status(case, CaseStatus.ARCHIVED)
    return case


def url(name: str, case: Case, *args) -> str:
    return reverse(f"cases:{name}", args=[case.pk, *args])


# --- In and out, through the status -------------------------------------------------


def test_archiving_an_agreed_case_makes_it_read_only(case, facilitator, as_user):
    agree_every_stage(case)
    set_status(case, CaseStatus.AGREED)
    browser = as_user(facilitator)

    response = browser.post(status_url(case), {"to_status": CaseStatus.ARCHIVED})

    assert response.status_code == 302
    case.refresh_from_db()
    assert case.is_archived
    refused = browser.post(
        url("item_create", case, "changes"),
        create_data("changes", case, "Written after archiving"),
    )
    assert refused.status_code == 403
    assert "This case is archived" in refused.content.decode()
    assert not ChangeItem.objects.filter(title="Written after archiving").exists()


def test_a_facilitator_restores_it_to_draft_and_may_edit_again(
    archived, facilitator, as_user
):
    browser = as_user(facilitator)
    overview = browser.get(url("overview", archived)).content.decode()
    assert "Restore to draft" in overview
    assert status_url(archived) in overview

    response = browser.post(
        status_url(archived), {"to_status": CaseStatus.DRAFT, "note": "One more pass"}
    )

    assert response.status_code == 302
    archived.refresh_from_db()
    assert archived.status == CaseStatus.DRAFT
    change = CaseStatusChange.objects.get(case=archived)
    assert (change.from_status, change.to_status, change.changed_by) == (
        CaseStatus.ARCHIVED,
        CaseStatus.DRAFT,
        facilitator,
    )
    added = browser.post(
        url("item_create", archived, "changes"),
        create_data("changes", archived, "Written after restoring"),
    )
    assert added.status_code == 302
    assert ChangeItem.objects.filter(title="Written after restoring").exists()
    assert NOTICE not in browser.get(url("overview", archived)).content.decode()


@pytest.mark.parametrize("to_status", [CaseStatus.IN_REVIEW, CaseStatus.AGREED])
def test_an_archived_case_moves_only_back_to_draft(
    to_status, archived, facilitator, as_user
):
    response = as_user(facilitator).post(
        status_url(archived), {"to_status": to_status}, headers=HTMX
    )

    assert response.status_code == 400
    assert "from archived it can only move to draft" in response.content.decode()
    archived.refresh_from_db()
    assert archived.status == CaseStatus.ARCHIVED


def test_a_contributor_cannot_restore_it(archived, client_contributor, as_user):
    response = as_user(client_contributor).post(
        status_url(archived), {"to_status": CaseStatus.DRAFT}
    )

    assert response.status_code == 403
    archived.refresh_from_db()
    assert archived.status == CaseStatus.ARCHIVED


# --- What the pages show --------------------------------------------------------------


@pytest.mark.parametrize(
    "name", ["overview", "numbers", "decision", "exports", "activity", "members"]
)
def test_every_page_says_the_case_is_archived(
    name, archived, facilitator, viewer, as_user, client
):
    mine = as_user(facilitator).get(url(name, archived)).content.decode()
    assert NOTICE in mine
    assert "restore it to draft</a>" in mine
    client.logout()
    theirs = as_user(viewer).get(url(name, archived)).content.decode()
    assert NOTICE in theirs
    assert "A facilitator can restore it to draft." in theirs


def test_a_case_not_archived_has_no_notice(case, facilitator, as_user):
    assert NOTICE not in as_user(facilitator).get(url("overview", case)).text


def test_the_stage_page_offers_no_change(archived, facilitator, as_user):
    page = as_user(facilitator).get(url("stage", archived, "changes"))
    html = page.content.decode()

    assert page.status_code == 200
    assert NOTICE in html
    assert "Plan routes per site" in html
    assert url("item_create", archived, "changes") not in html
    assert "/edit/" not in html
    assert "/delete/" not in html
    assert "/sign-off/" not in html
    assert url("stage_notes", archived, "changes") not in html


def test_the_live_update_offers_no_change_either(archived, facilitator, as_user):
    response = as_user(facilitator).get(
        url("stage_changes", archived, "changes"), {"since": "stale"}
    )

    assert response.status_code == 200
    assert "Plan routes per site" in response.content.decode()
    assert "/edit/" not in response.content.decode()


def test_the_overview_and_people_pages_offer_no_change_but_status_and_access(
    archived, facilitator, client_contributor, as_user
):
    browser = as_user(facilitator)
    overview = browser.get(url("overview", archived)).content.decode()
    people = browser.get(url("members", archived)).content.decode()

    assert url("settings", archived) not in overview
    assert "Restore to draft" in overview
    contributor = archived.memberships.get(user=client_contributor)
    assert url("member_remove", archived, contributor.pk) in people
    assert f'action="{url("member_update", archived, contributor.pk)}"' not in people
    assert url("invite", archived) not in people
    assert f'action="{url("members", archived)}"' not in people
    assert "you can still take people's access away" in people
    assert "restore it to draft to add people or change roles" in people


def test_a_facilitator_takes_a_members_access_away_without_restoring_it(
    archived, facilitator, client_contributor, as_user
):
    contributor = archived.memberships.get(user=client_contributor)

    response = as_user(facilitator).post(url("member_remove", archived, contributor.pk))

    assert response.status_code == 302
    assert not archived.memberships.filter(user=client_contributor).exists()
    archived.refresh_from_db()
    assert archived.status == CaseStatus.ARCHIVED
    assert as_user(client_contributor).get(url("overview", archived)).status_code == 404


def test_only_a_facilitator_takes_access_away(
    archived, client_contributor, viewer, as_user
):
    them = archived.memberships.get(user=viewer)

    response = as_user(client_contributor).post(url("member_remove", archived, them.pk))

    assert response.status_code == 403
    assert "Only a facilitator" in response.content.decode()
    assert archived.memberships.filter(user=viewer).exists()


def test_the_last_facilitator_still_cannot_leave(archived, facilitator, as_user):
    mine = archived.memberships.get(user=facilitator)

    response = as_user(facilitator).post(
        url("member_remove", archived, mine.pk), follow=True
    )

    assert "A case needs at least one facilitator." in response.content.decode()
    assert archived.memberships.filter(user=facilitator).exists()


def test_a_waiting_invitation_is_withdrawn_but_not_resent(case, facilitator, as_user):
    invitation, _ = invite(case, facilitator, "late@example.com")
    set_status(case, CaseStatus.ARCHIVED)
    browser = as_user(facilitator)
    people = browser.get(url("members", case)).content.decode()

    assert url("invitation_withdraw", case, invitation.pk) in people
    assert url("invitation_resend", case, invitation.pk) not in people
    response = browser.post(url("invitation_withdraw", case, invitation.pk))
    assert response.status_code == 302
    invitation.refresh_from_db()
    assert invitation.withdrawn_at is not None


def test_the_decision_page_offers_no_rating(archived, client_contributor, as_user):
    html = as_user(client_contributor).get(url("decision", archived)).text

    assert url("decision_ratings", archived) not in html


def test_an_htmx_write_is_refused_too(archived, facilitator, as_user):
    response = as_user(facilitator).post(
        url("item_create", archived, "changes"),
        create_data("changes", archived, "Through htmx"),
        headers=HTMX,
    )

    assert response.status_code == 403
    assert not ChangeItem.objects.filter(title="Through htmx").exists()


# --- The rules and the services ----------------------------------------------------------


def test_membership_permissions_follow_the_status(archived, facilitator):
    membership = archived.memberships.get(user=facilitator)

    assert (membership.can_edit, membership.can_manage, membership.can_comment) == (
        False,
        False,
        False,
    )
    assert membership.can_change_status and membership.can_revoke

    set_status(archived, CaseStatus.DRAFT)
    membership = archived.memberships.get(user=facilitator)
    assert membership.can_edit and membership.can_manage and membership.can_comment


@pytest.mark.parametrize(
    ("permission", "while_archived"),
    [
        ("cases.read_case", True),
        ("cases.comment_case", False),
        ("cases.write_case", False),
        ("cases.facilitate_case", False),
        ("cases.change_case_status", True),
        ("cases.revoke_access", True),
    ],
)
def test_the_rules_of_an_archived_case(
    permission, while_archived, archived, facilitator
):
    assert rules.has_perm(permission, facilitator, archived) is while_archived
    set_status(archived, CaseStatus.DRAFT)
    assert rules.has_perm(permission, facilitator, archived) is True


def test_the_service_refuses_a_sign_off(archived, client_contributor):
    with pytest.raises(PermissionDenied) as refused:
        services.sign_off_stage(
            case=archived, stage=BY_SLUG["changes"], user=client_contributor
        )

    assert str(refused.value) == ARCHIVED_REFUSAL


@pytest.mark.parametrize(
    "write",
    [
        pytest.param(
            lambda case, user: services.save_item(
                case=case,
                stage=BY_SLUG["changes"],
                item=ChangeItem(case=case, leg="people", title="On its way"),
                user=user,
            ),
            id="add an item",
        ),
        pytest.param(
            lambda case, user: services.update_stage_notes(
                case=case, stage=BY_SLUG["changes"], notes="On its way", user=user
            ),
            id="notes",
        ),
        pytest.param(
            lambda case, user: services.add_comment(
                case=case, stage=BY_SLUG["changes"], user=user, text="On its way"
            ),
            id="comment",
        ),
        pytest.param(
            lambda case, user: services.update_case_settings(
                case=case, user=user, title="On its way"
            ),
            id="settings",
        ),
        pytest.param(
            lambda case, user: invitations.invite(
                case=case,
                invited_by=user,
                email="on.its.way@client.example",
                side="client",
                role="viewer",
            ),
            id="invitation",
        ),
    ],
)
def test_a_write_on_its_way_when_the_case_is_archived_changes_nothing(
    write, case, facilitator
):
    """The services read the status under the case's lock, not from the copy
    the view (or a script) loaded: a write that was on its way is refused, and
    the case stays archived (a settings save from the old copy must not restore
    it); nobody is invited, and no link is mailed."""
    stale = archived_behind_its_back(case)
    before = Case.objects.get(pk=case.pk).revision

    with pytest.raises(PermissionDenied) as refused:
        write(stale, facilitator)

    assert str(refused.value) == ARCHIVED_REFUSAL
    now = Case.objects.get(pk=case.pk)
    assert (now.status, now.revision, now.title) == (
        CaseStatus.ARCHIVED,
        before,
        case.title,
    )
    assert not ChangeItem.objects.filter(title="On its way").exists()
    assert not Invitation.objects.filter(case=case).exists()
    assert mail.outbox == []


def test_a_facilitator_still_removes_someone_through_the_service(archived, viewer):
    services.remove_member(membership=archived.memberships.get(user=viewer))

    assert not archived.memberships.filter(user=viewer).exists()


def test_a_case_file_of_an_archived_case_imports_archived_with_its_items(
    archived, facilitator
):
    document = export_case(archived)

    copy = import_case(document, user=facilitator)

    assert copy.status == CaseStatus.ARCHIVED
    assert list(
        ChangeItem.objects.filter(case=copy).values_list("title", flat=True)
    ) == ["Plan routes per site"]


def test_saving_an_old_copy_of_a_case_never_takes_its_revision_back(case):
    """Pages are kept per revision: a revision written back from an old copy
    would let pages kept before the change be served after it."""
    old_copy = Case.objects.get(pk=case.pk)
    ChangeItemFactory(case=case)  # moves the revision
    moved = Case.objects.get(pk=case.pk).revision

    old_copy.title = "Renamed from an old copy"
    old_copy.save()

    assert Case.objects.get(pk=case.pk).revision > moved


# --- The PDF of an archived case ---------------------------------------------------------


def test_the_pdf_of_an_archived_case_renders_and_downloads(
    archived, viewer, as_user, settings, tmp_path
):
    settings.MEDIA_ROOT = tmp_path / "media"
    browser = as_user(viewer)

    asked = browser.post(url("exports", archived), {"paper_size": "A4"})
    assert asked.status_code == 302
    export = archived.exports.get()
    assert exports.run_export(export.pk).status == ExportStatus.DONE

    download = browser.get(url("export_download", archived, export.pk))
    assert download.status_code == 200
    assert b"".join(download.streaming_content).startswith(b"%PDF")


def test_comments_are_closed_on_an_archived_case(archived, viewer, as_user):
    html = as_user(viewer).get(url("stage", archived, "changes")).text

    assert "comments are closed" in html
    assert f'action="{url("stage_comments", archived, "changes")}"' not in html


def test_the_decision_page_offers_no_recommendation(archived, facilitator, as_user):
    html = as_user(facilitator).get(url("decision", archived)).text

    assert url("decision_recommendation", archived) not in html


def test_an_invitation_sent_before_archiving_no_longer_lets_anyone_join(
    case, facilitator, client
):
    _invitation, path = invite(case, facilitator, email="late@client.example")
    set_status(case, CaseStatus.ARCHIVED)

    for response in (client.get(path), client.post(path)):
        assert response.status_code == 410
        assert "The case of this invitation is archived." in response.text
        assert "restore it to draft" in response.text
    assert not Membership.objects.filter(
        case=case, user__email="late@client.example"
    ).exists()


def test_a_refusal_names_its_reason_where_the_page_script_finds_it(
    archived, facilitator, as_user
):
    """htmx shows the reason of a 403 in the page's message area: the script reads
    the element marked data-refusal, which must hold the archived wording."""
    response = as_user(facilitator).post(
        url("item_create", archived, "changes"),
        create_data("changes", archived, "Through htmx"),
        headers=HTMX,
    )

    assert response.status_code == 403
    assert f"<p data-refusal>{escape(ARCHIVED_REFUSAL)}</p>" in response.text
