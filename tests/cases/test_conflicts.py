"""No lost work: two people editing the same item (or the same stage notes) never
silently overwrite each other. The edit form carries the version it was opened
at; a save from a stale version is refused with both versions shown, and can be
re-applied on purpose. Deleting an item someone is editing is explained to them.
"""

from __future__ import annotations

import contextlib
import re
import threading
from html import unescape

import pytest
from django.core.exceptions import ValidationError
from django.db import OperationalError, close_old_connections, connection
from django.test import Client
from django.urls import reverse
from django.utils.html import escape

from cases import services
from cases.models import ChangeItem, Membership, Role, Side, StageRecord, display_name
from cases.stages import BY_SLUG

from ..factories import CaseFactory, ChangeItemFactory, UserFactory
from .test_stage_views import (
    HTMX,
    SLUGS,
    TEXT_FIELD,
    edit_data,
    item_url,
    make_item,
    stage_url,
    text_of,
)


def logged_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def first(facilitator):
    """The first person to save: the facilitator, on the seller side."""
    return logged_in(facilitator)


@pytest.fixture
def second(client_contributor):
    """The second person, editing the same thing on another laptop."""
    return logged_in(client_contributor)


def hidden_version(html: str, action: str) -> int:
    """The version the form posting to `action` carries in its hidden field."""
    form = html[html.index(f'action="{action}"') :]
    form = form[: form.index("</form>")]
    field = re.search(r'<input[^>]*name="version"[^>]*>', form)
    assert field, "the form has no hidden version field"
    assert 'type="hidden"' in field.group(0)
    return int(re.search(r'value="(\d+)"', field.group(0)).group(1))


def notes_url(case, slug: str = "changes") -> str:
    return reverse("cases:stage_notes", args=[case.pk, slug])


# --- The edit form carries the version -------------------------------------------


@pytest.mark.parametrize("htmx", [True, False], ids=["htmx", "plain"])
def test_the_edit_form_carries_the_items_version(htmx, case, first, facilitator):
    item = ChangeItemFactory(case=case)
    services.save_item(
        case=case, stage=BY_SLUG["changes"], item=item, user=facilitator
    )  # now at version 2
    url = item_url("item_edit", case, "changes", item)

    response = first.get(url, headers=HTMX if htmx else {})

    assert response.status_code == 200
    assert hidden_version(text_of(response), url) == 2


def test_the_notes_form_carries_the_records_version(case, first):
    StageRecord.objects.filter(case=case, stage="changes").update(version=4)
    page = text_of(first.get(stage_url(case, "changes")))
    assert hidden_version(page, notes_url(case)) == 4


# --- Two people edit the same item -------------------------------------------------


@pytest.mark.parametrize("slug", SLUGS)
def test_the_second_save_is_refused_with_both_versions_shown(
    slug, case, first, second, facilitator
):
    item = make_item(slug, case)
    url = item_url("item_edit", case, slug, item)
    # Both open the edit form of the same version.
    mine = edit_data(slug, case, item, "First wording")
    theirs = edit_data(slug, case, item, "Second wording")

    saved = first.post(url, mine, headers=HTMX)
    refused = second.post(url, theirs, headers=HTMX)

    assert saved.status_code == 200
    assert refused.status_code == 409
    html = text_of(refused)
    assert "<html" not in html
    assert f'id="item-{item.pk}"' in html
    # The other person's version (saved) next to mine (refused), and who saved.
    assert "First wording" in html
    assert "Second wording" in html
    assert escape(display_name(facilitator)) in html
    assert "saved this" in html and "while you were editing it" in html
    # Nothing was overwritten.
    item.refresh_from_db()
    assert getattr(item, TEXT_FIELD[slug]) == "First wording"
    assert item.version == 2
    # The form offered to re-apply carries the version now saved.
    assert hidden_version(html, url) == 2


def test_the_conflict_names_the_fields_that_differ(case, first, second):
    item = ChangeItemFactory(case=case, title="Plan routes", owner="Ops")
    url = item_url("item_edit", case, "changes", item)
    mine = edit_data("changes", case, item, "Plan routes", owner="Logistics")
    theirs = edit_data("changes", case, item, "Plan routes per site", owner="Ops")
    first.post(url, mine, headers=HTMX)

    refused = second.post(url, theirs, headers=HTMX)

    assert refused.status_code == 409
    differ = re.search(r"they differ in: ([^)]*)\)", unescape(text_of(refused)))
    assert differ and set(differ.group(1).split(", ")) == {"Title", "Owner"}


def test_re_applying_with_the_new_version_saves_it(case, first, second):
    item = ChangeItemFactory(case=case)
    url = item_url("item_edit", case, "changes", item)
    mine = edit_data("changes", case, item, "First wording")
    theirs = edit_data("changes", case, item, "Second wording")
    first.post(url, mine, headers=HTMX)
    refused = second.post(url, theirs, headers=HTMX)

    # "Save my version instead": the conflict form posts the new version.
    reapplied = second.post(
        url,
        {**theirs, "version": hidden_version(text_of(refused), url)},
        headers=HTMX,
    )

    assert reapplied.status_code == 200
    assert "Second wording" in text_of(reapplied)
    item.refresh_from_db()
    assert item.title == "Second wording"
    assert item.version == 3
    # Both saves are in the history, neither lost.
    titles = {h.title for h in item.history.all()}
    assert {"First wording", "Second wording"} <= titles


def test_a_stale_re_apply_is_refused_again(case, first, second):
    item = ChangeItemFactory(case=case)
    url = item_url("item_edit", case, "changes", item)
    theirs = edit_data("changes", case, item, "Second wording")
    first.post(url, edit_data("changes", case, item, "First wording"))
    refused = second.post(url, theirs, headers=HTMX)
    item.refresh_from_db()
    # The first person saves again before the second re-applies.
    first.post(url, edit_data("changes", case, item, "Third wording"))

    again = second.post(
        url,
        {**theirs, "version": hidden_version(text_of(refused), url)},
        headers=HTMX,
    )

    assert again.status_code == 409
    assert "Third wording" in text_of(again)
    item.refresh_from_db()
    assert item.title == "Third wording"


def test_conflict_without_htmx_shows_the_whole_page(case, first, second):
    item = ChangeItemFactory(case=case)
    url = item_url("item_edit", case, "changes", item)
    mine = edit_data("changes", case, item, "First wording")
    theirs = edit_data("changes", case, item, "Second wording")

    first.post(url, mine)
    refused = second.post(url, theirs)

    html = text_of(refused)
    assert refused.status_code == 409
    assert "<html" in html
    assert "First wording" in html and "Second wording" in html
    assert hidden_version(html, url) == 2
    item.refresh_from_db()
    assert item.title == "First wording"


def test_the_same_person_in_two_windows_is_told_so(case, first):
    item = ChangeItemFactory(case=case)
    url = item_url("item_edit", case, "changes", item)
    window_a = edit_data("changes", case, item, "From window A")
    window_b = edit_data("changes", case, item, "From window B")
    first.post(url, window_a, headers=HTMX)

    refused = first.post(url, window_b, headers=HTMX)

    assert refused.status_code == 409
    assert "You (in another window) saved this" in text_of(refused)


def test_htmx_swaps_a_409_response(client):
    """base.html tells htmx to swap the conflict partial in, like a 400."""
    from django.template.loader import render_to_string

    html = render_to_string("base.html")
    assert '{"code": "409", "swap": true}' in html


# --- Stage notes ---------------------------------------------------------------------


@pytest.mark.parametrize("htmx", [True, False], ids=["htmx", "plain"])
def test_notes_second_save_is_refused_then_re_applied(
    htmx, case, first, second, facilitator
):
    headers = HTMX if htmx else {}
    page = text_of(first.get(stage_url(case, "changes")))
    version = hidden_version(page, notes_url(case))
    assert version == StageRecord.objects.get(case=case, stage="changes").version

    saved = first.post(
        notes_url(case), {"notes": "Ask the site managers.", "version": version}
    )
    refused = second.post(
        notes_url(case),
        {"notes": "Call the carrier first.", "version": version},
        headers=headers,
    )

    assert saved.status_code == 302
    assert refused.status_code == 409
    html = text_of(refused)
    assert ("<html" in html) is not htmx
    assert "Ask the site managers." in html
    assert "Call the carrier first." in html
    assert escape(display_name(facilitator)) in html
    assert "saved these notes while you were editing them" in html
    record = StageRecord.objects.get(case=case, stage="changes")
    assert record.notes == "Ask the site managers."

    new_version = hidden_version(html, notes_url(case))
    assert new_version == record.version == version + 1
    reapplied = second.post(
        notes_url(case),
        {"notes": "Call the carrier first.", "version": new_version},
        headers=headers,
    )

    assert reapplied.status_code == (200 if htmx else 302)
    record.refresh_from_db()
    assert record.notes == "Call the carrier first."
    assert record.version == version + 2


def test_notes_status_is_not_overwritten_by_a_notes_save(case, facilitator):
    """The notes save writes the notes only: a status set meanwhile stays."""
    stage = BY_SLUG["changes"]
    ChangeItemFactory(case=case)
    record = StageRecord.objects.get(case=case, stage="changes")
    StageRecord.objects.filter(pk=record.pk).update(status="in_progress")
    services.update_stage_notes(
        case=case,
        stage=stage,
        notes="n",
        user=facilitator,
        expected_version=record.version,
    )
    assert StageRecord.objects.get(pk=record.pk).status == "in_progress"


# --- Deleted while being edited -------------------------------------------------------


@pytest.mark.parametrize("slug", ["changes", "benefits", "risks-of-not-acting"])
def test_saving_an_item_deleted_meanwhile_says_who_and_offers_to_add_it_again(
    slug, case, first, second, facilitator
):
    item = make_item(slug, case)
    url = item_url("item_edit", case, slug, item)
    theirs = edit_data(slug, case, item, "My careful wording")
    first.post(item_url("item_delete", case, slug, item), headers=HTMX)

    response = second.post(url, theirs, headers=HTMX)

    html = unescape(text_of(response))
    assert response.status_code == 409
    assert (
        f"This item was deleted by {display_name(facilitator)} "
        "while you were editing it." in html
    )
    assert f'id="item-{item.pk}"' in html
    # Their text, in a form that adds it as a new item.
    add = reverse("cases:item_create", args=[case.pk, slug])
    assert f'hx-post="{add}"' in html
    form = html[html.index(f'action="{add}"') :]
    assert "My careful wording" in form[: form.index("</form>")]
    assert not BY_SLUG[slug].model.objects.filter(pk=item.pk).exists()

    # "Add it again": posting that form creates a new item with their text.
    again = second.post(add, theirs, headers=HTMX)
    assert again.status_code == 200
    model = BY_SLUG[slug].model
    assert model.objects.filter(case=case, **{TEXT_FIELD[slug]: "My careful wording"})


def test_deleted_meanwhile_without_htmx_prefills_the_add_form(
    case, first, second, facilitator
):
    item = ChangeItemFactory(case=case)
    theirs = edit_data("changes", case, item, "My careful wording")
    first.post(item_url("item_delete", case, "changes", item))

    response = second.post(item_url("item_edit", case, "changes", item), theirs)

    html = unescape(text_of(response))
    assert response.status_code == 409
    assert "<html" in html
    assert f"deleted by {display_name(facilitator)} while you were editing it" in html
    add = reverse("cases:item_create", args=[case.pk, "changes"])
    form = html[html.index(f'action="{add}"') :]
    assert 'value="My careful wording"' in form[: form.index("</form>")]


def test_deleted_by_someone_history_does_not_know_gives_a_plain_message(case, second):
    item = ChangeItemFactory(case=case)
    theirs = edit_data("changes", case, item, "My careful wording")
    url = item_url("item_edit", case, "changes", item)
    item.delete()  # outside any request: the history has no user

    response = second.post(url, theirs, headers=HTMX)

    html = unescape(text_of(response))
    assert response.status_code == 409
    assert "This item was deleted while you were editing it." in html
    assert "deleted by" not in html


def test_an_item_that_never_was_in_this_case_is_still_404(case, second, db):
    elsewhere = ChangeItemFactory(case=CaseFactory())
    data = {"leg": "people", "title": "x", "description": "", "owner": ""}
    url = item_url("item_edit", case, "changes", elsewhere)
    assert second.post(url, data, headers=HTMX).status_code == 404
    # Deleted from another case: its history must not show through this one.
    elsewhere.delete()
    assert second.post(url, data, headers=HTMX).status_code == 404


# --- The services ---------------------------------------------------------------------


def test_save_item_refuses_a_stale_version_and_writes_nothing(case, facilitator):
    stage = BY_SLUG["ecosystem"]
    item = make_item("ecosystem", case)
    stale = stage.model.objects.get(pk=item.pk)
    services.save_item(
        case=case, stage=stage, item=item, user=facilitator, expected_version=1
    )

    stale.role = "Overwritten?"
    with pytest.raises(services.EditConflict) as refused:
        services.save_item(
            case=case,
            stage=stage,
            item=stale,
            user=facilitator,
            expected_version=1,
            new_organisation=("Brand-new carrier", "partner"),
        )

    assert refused.value.current.pk == item.pk
    assert refused.value.current.version == 2
    assert not refused.value.deleted
    item.refresh_from_db()
    assert item.role != "Overwritten?"
    from ecosystem.models import Organisation

    assert not Organisation.objects.filter(name="Brand-new carrier").exists()


def test_save_item_of_a_deleted_item_raises_deleted(case, facilitator):
    stage = BY_SLUG["changes"]
    item = ChangeItemFactory(case=case)
    ChangeItem.objects.filter(pk=item.pk).delete()
    with pytest.raises(services.EditConflict) as refused:
        services.save_item(
            case=case, stage=stage, item=item, user=facilitator, expected_version=1
        )
    assert refused.value.deleted
    assert not ChangeItem.objects.filter(pk=item.pk).exists()  # not re-created


def test_each_save_adds_one_version_and_one_history_row(case, facilitator):
    stage = BY_SLUG["changes"]
    item = services.save_item(
        case=case,
        stage=stage,
        item=ChangeItem(case=case, leg="people", title="New"),
        user=facilitator,
    )
    assert item.version == 1
    for n in range(3):
        item.title = f"Edit {n}"
        item = services.save_item(
            case=case,
            stage=stage,
            item=item,
            user=facilitator,
            expected_version=item.version,
        )
    item.refresh_from_db()
    assert item.version == 4
    assert item.history.count() == 4
    assert {h.history_user_id for h in item.history.all()} == {facilitator.pk}


def test_update_stage_notes_refuses_a_stale_version(case, facilitator):
    stage = BY_SLUG["changes"]
    services.update_stage_notes(
        case=case, stage=stage, notes="First", user=facilitator, expected_version=1
    )
    with pytest.raises(services.EditConflict) as refused:
        services.update_stage_notes(
            case=case, stage=stage, notes="Second", user=facilitator, expected_version=1
        )
    assert refused.value.current.notes == "First"
    assert StageRecord.objects.get(case=case, stage="changes").notes == "First"


# --- Twenty people at once ------------------------------------------------------------

THREADS = 20


@pytest.mark.django_db(transaction=True)
def test_twenty_concurrent_editors_lose_no_edit():
    """Twenty threads each save one edit to ONE item through the service, each
    retrying on a conflict as a person would (read the current version, apply
    their change, save). Every edit lands, in the history, with no "database is
    locked" error: on SQLite (WAL, BEGIN IMMEDIATE, busy timeout) and PostgreSQL."""
    case = CaseFactory()
    stage = BY_SLUG["changes"]
    item = ChangeItemFactory(case=case, title="Start")
    users = [UserFactory() for _ in range(THREADS)]
    start = threading.Barrier(THREADS)
    saved: list[int] = []
    conflicts: list[int] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def editor(n: int) -> None:
        try:
            start.wait()
            for _attempt in range(500):
                current = ChangeItem.objects.get(pk=item.pk)
                current.title = f"Edit by thread {n}"
                try:
                    services.save_item(
                        case=case,
                        stage=stage,
                        item=current,
                        user=users[n],
                        expected_version=current.version,
                    )
                except services.EditConflict:
                    with lock:
                        conflicts.append(n)
                    continue
                with lock:
                    saved.append(n)
                return
            raise AssertionError(f"thread {n} never got its edit in")
        except BaseException as error:
            with lock:
                errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=editor, args=(n,)) for n in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    close_old_connections()
    print(f"{len(saved)} edits saved, {len(conflicts)} conflicts retried")

    assert not any(t.is_alive() for t in threads), "a thread is stuck"
    assert not [e for e in errors if isinstance(e, OperationalError)], errors
    assert not errors, errors
    assert sorted(saved) == list(range(THREADS))
    item.refresh_from_db()
    assert item.version == 1 + len(saved)
    edits = item.history.filter(history_type="~")
    assert edits.count() == THREADS
    assert {h.title for h in edits} == {f"Edit by thread {n}" for n in range(THREADS)}
    assert {h.history_user_id for h in edits} == {u.pk for u in users}
    # Each save moved the version by exactly one: no two saves from one version.
    assert sorted(h.version for h in edits) == list(range(2, THREADS + 2))


@pytest.mark.django_db(transaction=True)
def test_edits_notes_and_sign_offs_at_once_never_deadlock():
    """Every write to a case also updates the case's row (its revision, which
    the page cache keys on). Item saves, notes and sign-offs of one stage, all at
    once, must queue rather than deadlock: on PostgreSQL a lock-order cycle would
    abort one of them with an error the person would see."""
    case = CaseFactory()
    stage = BY_SLUG["changes"]
    items = [ChangeItemFactory(case=case, title=f"Item {n}") for n in range(4)]
    seller = UserFactory()
    client_side = UserFactory()
    Membership.objects.create(
        case=case, user=seller, side=Side.SELLER, role=Role.FACILITATOR
    )
    Membership.objects.create(
        case=case, user=client_side, side=Side.CLIENT, role=Role.CONTRIBUTOR
    )
    revision = type(case).objects.get(pk=case.pk).revision
    start = threading.Barrier(8)
    errors: list[BaseException] = []
    writes: list[str] = []
    lock = threading.Lock()

    def edit_items(n: int) -> None:
        for round_ in range(10):
            item = ChangeItem.objects.get(pk=items[n % 4].pk)
            item.title = f"Round {round_} by {n}"
            try:
                services.save_item(case=case, stage=stage, item=item, user=seller)
            except services.EditConflict:
                continue
            with lock:
                writes.append("item")

    def write_notes(n: int) -> None:
        for round_ in range(10):
            services.update_stage_notes(
                case=case, stage=stage, notes=f"Notes {round_}", user=seller
            )
            with lock:
                writes.append("notes")

    def sign_off(n: int) -> None:
        user = seller if n % 2 else client_side
        for _round in range(10):
            services.sign_off_stage(case=case, stage=stage, user=user)
            with lock:
                writes.append("sign-off")
            # Refused when an item edit cleared the sign-off first: as it should.
            with contextlib.suppress(ValidationError):
                services.withdraw_sign_off(case=case, stage=stage, user=user)

    def run(work, n: int) -> None:
        try:
            start.wait()
            work(n)
        except BaseException as error:
            with lock:
                errors.append(error)
        finally:
            connection.close()

    workers = [edit_items] * 4 + [write_notes] * 2 + [sign_off] * 2
    threads = [
        threading.Thread(target=run, args=(work, n)) for n, work in enumerate(workers)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    close_old_connections()

    assert not any(t.is_alive() for t in threads), "a writer is stuck"
    assert not errors, errors
    assert type(case).objects.get(pk=case.pk).revision >= revision + len(writes)
