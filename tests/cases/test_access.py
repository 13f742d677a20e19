"""Who may do what, for every URL of a case.

One table lists the case's URLs with the right each needs (read, write,
manage); every persona is checked against every row, so adding a URL is one
line in ENDPOINTS:

- anonymous: sent to the login page, with the way back;
- outsider (logged in, not a member): 404, the same as for a case id that does
  not exist, so a guessed id reveals nothing;
- viewer: reads and comments; 403 on every write, with nothing changed;
- contributor (client or partner side): reads and edits items and notes; 403 on
  the settings, the members and the case's status;
- sign-off and rating the buying decision: editors of the client or the seller
  side; a partner gets 403;
- the recommendation: a facilitator of the seller side;
- facilitator: everything.

An archived case is read-only for everyone: reading, PDF exports and downloads
stay; the one change left is a facilitator moving the case's status (restoring
it). Every other write answers 403 and says the case is archived.

A refused request changes no row and sends no email.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import urlencode

import pytest
from django.apps import apps
from django.core import mail
from django.urls import reverse

from cases import invitations, services
from cases.models import (
    Case,
    CaseStatus,
    Invitation,
    Membership,
    PdfExport,
    Role,
    Side,
    StageSignOff,
)
from cases.stages import STAGES

from ..factories import CaseFactory, ClientFactory, MembershipFactory, UserFactory
from .test_decision import ratings_post
from .test_exports import done_export
from .test_stage_views import HTMX, create_data, edit_data, make_item

READ, WRITE, MANAGE = "read", "write", "manage"
SIGN = "sign"  # an editor of the client or the seller side
RECOMMEND = "recommend"  # a facilitator of the seller side


@dataclass
class World:
    """The case under test with one item in each stage, and a second case (of
    another client) that the facilitator also runs."""

    case: Case
    other: Case
    items: dict
    other_items: dict
    bystander: Membership  # whose role the membership URLs change
    other_membership: Membership
    newcomer: object  # a user with an account, not yet in the case
    invitation: Invitation  # pending: to resend or withdraw
    export: PdfExport  # a finished PDF, with its file
    signers: dict  # side -> a member who signs for it


@pytest.fixture
def world(
    case,
    facilitator,
    client_contributor,
    partner,
    viewer,
    outsider,
    settings,
    tmp_path,
) -> World:
    settings.MEDIA_ROOT = tmp_path / "media"
    other = CaseFactory(title="Other client's case", client=ClientFactory(name="Rival"))
    MembershipFactory(case=other, user=facilitator, role=Role.FACILITATOR)
    bystander = MembershipFactory(case=case, side=Side.CLIENT, role=Role.CONTRIBUTOR)
    invitation, _ = invitations.invite(
        case=case,
        invited_by=facilitator,
        email="invited@client.example",
        side=Side.CLIENT,
        role=Role.VIEWER,
    )
    export = done_export(case, facilitator)
    mail.outbox.clear()
    return World(
        case=case,
        other=other,
        items={stage.slug: make_item(stage.slug, case) for stage in STAGES},
        other_items={stage.slug: make_item(stage.slug, other) for stage in STAGES},
        bystander=bystander,
        other_membership=MembershipFactory(case=other, role=Role.CONTRIBUTOR),
        newcomer=UserFactory(email="newcomer@client.example"),
        invitation=invitation,
        export=export,
        signers={Side.CLIENT: client_contributor, Side.SELLER: facilitator},
    )


# --- The table of URLs --------------------------------------------------------------


@dataclass(frozen=True)
class Endpoint:
    name: str  # the URL's name in cases/urls.py
    method: str
    level: str  # READ, WRITE or MANAGE
    args: Callable[[World, str | None], list]
    data: Callable[[World, str | None], dict] = lambda world, slug: {}
    slug: str | None = None
    headers: dict = field(default_factory=dict)
    ok: int = 200  # what a member who may do it gets
    # What the world needs first (run before every check of this row).
    prepare: Callable[[World, str | None], None] = lambda world, slug: None
    # Still allowed on an archived case; by default, the pages that only read.
    archived_ok: bool | None = None

    @property
    def allowed_while_archived(self) -> bool:
        if self.archived_ok is not None:
            return self.archived_ok
        return self.level == READ and self.method == "get"

    @property
    def id(self) -> str:
        label = f"{self.name}-{self.method}"
        return f"{label}[{self.slug}]" if self.slug else label

    def url(self, world: World, case_id: int | None = None) -> str:
        args = self.args(world, self.slug)
        if case_id is not None:
            args[0] = case_id
        return reverse(f"cases:{self.name}", args=args)

    def send(self, client, world: World, case_id: int | None = None):
        url = self.url(world, case_id)
        if self.method == "get":
            return client.get(url, headers=self.headers)
        return client.post(url, self.data(world, self.slug), headers=self.headers)


def _case(world, slug):
    return [world.case.pk]


def _stage(world, slug):
    return [world.case.pk, slug]


def _item(world, slug):
    return [world.case.pk, slug, world.items[slug].pk]


def _bystander(world, slug):
    return [world.case.pk, world.bystander.pk]


def _invitation(world, slug):
    return [world.case.pk, world.invitation.pk]


def _export(world, slug):
    return [world.case.pk, world.export.pk]


def _both_sides_signed(world, slug):
    for side, user in world.signers.items():
        StageSignOff.objects.create(case=world.case, stage=slug, side=side, user=user)


def _settings(world, slug):
    return {
        "title": "Renamed",
        "idea": world.case.idea,
        "currency": "USD",
        "horizon_years": "5",
        "discount_rate": "8",
    }


def _new_member(world, slug):
    return {"email": world.newcomer.email, "side": Side.CLIENT, "role": Role.VIEWER}


def _role_change(world, slug):
    prefix = f"m{world.bystander.pk}"
    return {f"{prefix}-side": Side.PARTNER, f"{prefix}-role": Role.VIEWER}


def _invitee(world, slug):
    return {"email": "invitee@partner.example", "side": Side.PARTNER, "role": "viewer"}


def _next_status(world, slug):
    """The case's first move from where it is (draft: to review; archived: back
    to draft), so the same row checks restoring an archived case."""
    return {"to_status": services.allowed_case_transitions(world.case)[0]}


def _recommendation(world, slug):
    return {"verdict": "proceed", "rationale": "The cost to serve falls."}


def _new_item(world, slug):
    return create_data(slug, world.case, "Added in the workshop")


def _changed_item(world, slug):
    return edit_data(slug, world.case, world.items[slug], "Changed in the workshop")


def per_stage(name, method, level, args, **options) -> list[Endpoint]:
    return [Endpoint(name, method, level, args, slug=s.slug, **options) for s in STAGES]


ENDPOINTS = [
    Endpoint("overview", "get", READ, _case),
    Endpoint("settings", "get", MANAGE, _case),
    Endpoint("settings", "post", MANAGE, _case, data=_settings, ok=302),
    Endpoint("export", "get", READ, _case),
    Endpoint("members", "get", READ, _case),
    Endpoint("members", "post", MANAGE, _case, data=_new_member, ok=302),
    Endpoint("member_update", "post", MANAGE, _bystander, data=_role_change, ok=302),
    Endpoint(
        "member_remove",
        "post",
        MANAGE,
        _bystander,
        ok=302,
        archived_ok=True,  # taking access away: someone who leaves loses it all
    ),
    Endpoint("invite", "post", MANAGE, _case, data=_invitee, ok=302),
    Endpoint("invitation_resend", "post", MANAGE, _invitation, ok=302),
    Endpoint(
        "invitation_withdraw", "post", MANAGE, _invitation, ok=302, archived_ok=True
    ),
    Endpoint("activity", "get", READ, _case),
    Endpoint("numbers", "get", READ, _case),
    Endpoint("summary_json", "get", READ, _case),
    Endpoint("decision", "get", READ, _case),
    Endpoint(
        "decision_ratings",
        "post",
        SIGN,
        _case,
        data=lambda w, s: ratings_post(product=4, price=(2, "Too dear")),
        ok=302,
    ),
    Endpoint(
        "decision_recommendation",
        "post",
        RECOMMEND,
        _case,
        data=_recommendation,
        ok=302,
    ),
    Endpoint("exports", "get", READ, _case),
    Endpoint(
        "exports",
        "post",
        READ,
        _case,
        data=lambda w, s: {"paper_size": "A4"},
        ok=302,
        archived_ok=True,  # a PDF of an archived case: reading, not changing
    ),
    Endpoint("export_status", "get", READ, _export, headers=HTMX),
    Endpoint("export_download", "get", READ, _export),
    *per_stage("stage", "get", READ, _stage),
    *per_stage("stage_changes", "get", READ, _stage),
    *per_stage("presenter", "get", READ, _stage),
    *per_stage("item_create", "post", WRITE, _stage, data=_new_item, ok=302),
    *per_stage("item_detail", "get", READ, _item, headers=HTMX),
    *per_stage("item_edit", "get", WRITE, _item),
    *per_stage("item_edit", "post", WRITE, _item, data=_changed_item, ok=302),
    *per_stage("item_delete", "get", WRITE, _item),
    *per_stage("item_delete", "post", WRITE, _item, ok=302),
    *per_stage(
        "stage_notes",
        "post",
        WRITE,
        _stage,
        data=lambda w, s: {"notes": "Next: pilot"},
        ok=302,
    ),
    *per_stage("stage_sign_off", "post", SIGN, _stage, ok=302),
    *per_stage(
        "stage_sign_off_withdraw",
        "post",
        SIGN,
        _stage,
        prepare=_both_sides_signed,
        ok=302,
    ),
    *per_stage("stage_comments", "get", READ, _stage, headers=HTMX),
    *per_stage(
        "stage_comments",
        "post",
        READ,
        _stage,
        data=lambda w, s: {"text": "Looks right to us"},
        ok=302,
    ),
    Endpoint(
        "case_status",
        "post",
        MANAGE,
        _case,
        data=_next_status,
        ok=302,
        archived_ok=True,  # restoring an archived case
    ),
]
ITEM_ENDPOINTS = [e for e in ENDPOINTS if e.args is _item]

every_endpoint = pytest.mark.parametrize("endpoint", ENDPOINTS, ids=lambda e: e.id)


def db_state() -> dict[str, list]:
    """Every row of the cases and ecosystem apps: to show nothing changed."""
    return {
        model._meta.label: list(model._default_manager.order_by("pk").values())
        for app in ("cases", "ecosystem")
        for model in apps.get_app_config(app).get_models()
    }


def changed_tables(before: dict[str, list]) -> list[str]:
    """The models whose rows differ from `before` (names only: a diff of every
    row would drown the failure)."""
    after = db_state()
    return [label for label in after if after[label] != before.get(label)]


def login_redirect(url: str) -> str:
    return f"{reverse('account_login')}?{urlencode({'next': url}, safe='/')}"


# --- Anonymous and outsiders ------------------------------------------------------


@every_endpoint
def test_anonymous_is_sent_to_login(endpoint, world, client):
    endpoint.prepare(world, endpoint.slug)
    before = db_state()
    response = endpoint.send(client, world)
    assert response.status_code == 302
    assert response["Location"] == login_redirect(endpoint.url(world))
    assert changed_tables(before) == []
    assert mail.outbox == []


@every_endpoint
def test_outsider_gets_not_found(endpoint, world, outsider, as_user):
    endpoint.prepare(world, endpoint.slug)
    before = db_state()
    response = endpoint.send(as_user(outsider), world)
    assert response.status_code == 404
    assert changed_tables(before) == []
    assert mail.outbox == []


@every_endpoint
def test_guessed_case_id_looks_the_same_as_a_case_not_shared(
    endpoint, world, outsider, as_user
):
    """A case that exists but is not mine and a case that does not exist answer
    alike, so guessing ids reveals nothing."""
    browser = as_user(outsider)
    missing = Case.objects.order_by("-pk").first().pk + 1000
    not_shared = endpoint.send(browser, world)
    not_existing = endpoint.send(browser, world, case_id=missing)
    assert not_existing.status_code == not_shared.status_code == 404
    assert _without_csrf(not_existing) == _without_csrf(not_shared)


def _without_csrf(response) -> str:
    """The page without its CSRF tokens, which differ on every request."""
    return re.sub(r"[A-Za-z0-9]{64}", "", response.content.decode())


# --- Members, by role ---------------------------------------------------------------

ALLOWED = {
    "viewer": {READ},
    "client_contributor": {READ, WRITE, SIGN},
    "partner": {READ, WRITE},
    "facilitator": {READ, WRITE, MANAGE, SIGN, RECOMMEND},  # seller side
}


@pytest.mark.parametrize("persona", list(ALLOWED))
@every_endpoint
def test_member_may_do_what_their_role_allows(
    persona, endpoint, world, as_user, request
):
    browser = as_user(request.getfixturevalue(persona))
    endpoint.prepare(world, endpoint.slug)
    before = db_state()

    response = endpoint.send(browser, world)

    if endpoint.level in ALLOWED[persona]:
        assert response.status_code == endpoint.ok
        if endpoint.method == "post":
            assert changed_tables(before), "an allowed change changed nothing"
    else:
        assert response.status_code == 403
        assert changed_tables(before) == []
        assert mail.outbox == []


# --- An archived case ---------------------------------------------------------------


def archive(case: Case) -> None:
    Case.objects.filter(pk=case.pk).update(status=CaseStatus.ARCHIVED)
    case.status = CaseStatus.ARCHIVED


@pytest.mark.parametrize("persona", ["facilitator", "viewer"])
@every_endpoint
def test_an_archived_case_is_read_only(persona, endpoint, world, as_user, request):
    """Even a facilitator changes nothing in an archived case but its status
    and who has access to it; everyone still reads it, exports its PDF and
    downloads it."""
    browser = as_user(request.getfixturevalue(persona))
    endpoint.prepare(world, endpoint.slug)
    archive(world.case)
    before = db_state()

    response = endpoint.send(browser, world)

    if endpoint.level in ALLOWED[persona] and endpoint.allowed_while_archived:
        assert response.status_code == endpoint.ok
        if endpoint.method == "post":
            assert changed_tables(before), "an allowed change changed nothing"
    else:
        assert response.status_code == 403
        if endpoint.level in ALLOWED[persona]:
            assert "This case is archived" in response.content.decode()
        assert changed_tables(before) == []
        assert mail.outbox == []


def test_viewer_sees_no_edit_controls(world, viewer, as_user):
    browser = as_user(viewer)
    for stage in STAGES:
        page = browser.get(reverse("cases:stage", args=[world.case.pk, stage.slug]))
        html = page.content.decode()
        assert page.status_code == 200
        assert (
            reverse("cases:item_create", args=[world.case.pk, stage.slug]) not in html
        )
        assert "/edit/" not in html
        assert "/delete/" not in html
        assert "/sign-off/" not in html
        assert reverse("cases:stage_comments", args=[world.case.pk, stage.slug]) in html


def test_viewer_sees_the_people_but_no_forms_to_change_them(world, viewer, as_user):
    html = as_user(viewer).get(reverse("cases:members", args=[world.case.pk]))
    html = html.content.decode()
    assert world.bystander.user.email in html
    assert "/remove/" not in html
    assert f'action="{reverse("cases:members", args=[world.case.pk])}"' not in html


def test_contributor_sees_no_management_controls(world, client_contributor, as_user):
    browser = as_user(client_contributor)
    overview = browser.get(reverse("cases:overview", args=[world.case.pk])).content
    stage = browser.get(reverse("cases:stage", args=[world.case.pk, "changes"])).content
    assert reverse("cases:settings", args=[world.case.pk]).encode() not in overview
    assert reverse("cases:case_status", args=[world.case.pk]).encode() not in overview
    assert (
        reverse("cases:stage_sign_off", args=[world.case.pk, "changes"]).encode()
        in stage
    )
    assert (
        reverse("cases:item_create", args=[world.case.pk, "changes"]).encode() in stage
    )


# --- Items and memberships of another case, through this case's URLs ---------------


@pytest.mark.parametrize("endpoint", ITEM_ENDPOINTS, ids=lambda e: e.id)
def test_item_of_another_case_is_not_found(endpoint, world, facilitator, as_user):
    """/cases/A/stages/changes/items/<an item of case B>/edit/ is 404, even for
    someone who runs both cases."""
    foreign = world.other_items[endpoint.slug]
    url = reverse(
        f"cases:{endpoint.name}", args=[world.case.pk, endpoint.slug, foreign.pk]
    )
    data = {}
    if endpoint.name == "item_edit" and endpoint.method == "post":
        data = edit_data(endpoint.slug, world.other, foreign, "Hijacked")
    before = db_state()

    browser = as_user(facilitator)
    if endpoint.method == "get":
        response = browser.get(url, headers=endpoint.headers)
    else:
        response = browser.post(url, data)

    assert response.status_code == 404
    assert changed_tables(before) == []


@pytest.mark.parametrize("name", ["member_update", "member_remove"])
def test_membership_of_another_case_is_not_found(name, world, facilitator, as_user):
    theirs = world.other_membership
    before = db_state()
    response = as_user(facilitator).post(
        reverse(f"cases:{name}", args=[world.case.pk, theirs.pk]),
        {f"m{theirs.pk}-side": Side.SELLER, f"m{theirs.pk}-role": Role.FACILITATOR},
    )
    assert response.status_code == 404
    assert changed_tables(before) == []


@pytest.mark.parametrize(
    "name",
    [
        "stage",
        "item_create",
        "stage_notes",
        "stage_sign_off",
        "stage_sign_off_withdraw",
        "stage_comments",
        "stage_changes",
        "presenter",
    ],
)
def test_unknown_stage_is_not_found(name, world, facilitator, as_user):
    url = reverse(f"cases:{name}", args=[world.case.pk, "no-such-stage"])
    browser = as_user(facilitator)
    reads = name in ("stage", "stage_changes", "presenter")
    response = browser.get(url) if reads else browser.post(url, {})
    assert response.status_code == 404


# --- Pages outside any case ---------------------------------------------------------


@pytest.mark.parametrize("name", ["dashboard", "new", "import", "profile"])
@pytest.mark.parametrize("method", ["get", "post"])
def test_pages_outside_a_case_need_login(name, method, client, db):
    url = reverse(f"cases:{name}")
    before = db_state()
    response = getattr(client, method)(url, {})
    assert response.status_code == 302
    assert response["Location"] == login_redirect(url)
    assert changed_tables(before) == []


def test_dashboard_lists_only_my_cases(as_user, db):
    me = UserFactory()
    mine = {
        role: MembershipFactory(
            user=me, role=role, case=CaseFactory(title=f"Mine as {role}")
        )
        for role in Role.values
    }
    CaseFactory(title="Not mine at all")
    MembershipFactory(case=CaseFactory(title="Someone else's"), role=Role.FACILITATOR)

    html = as_user(me).get(reverse("cases:dashboard")).content.decode()

    for membership in mine.values():
        assert membership.case.title in html
        assert reverse("cases:overview", args=[membership.case.pk]) in html
    assert "Not mine at all" not in html
    assert "Someone else's" not in html
    assert html.count('class="case-row"') == len(mine)


def test_dashboard_of_someone_in_no_case_is_empty(as_user, outsider, case):
    html = as_user(outsider).get(reverse("cases:dashboard")).content.decode()
    assert case.title not in html
    assert "You are not in any case yet" in html


def test_new_case_offers_only_clients_of_my_cases(world, facilitator, viewer, as_user):
    """The client list of the new-case form names only clients of my own cases:
    a seller's other clients are confidential."""
    lonely = ClientFactory(name="Client of nobody I know")
    MembershipFactory(case=CaseFactory(client=lonely), role=Role.FACILITATOR)

    mine = as_user(facilitator).get(reverse("cases:new")).content.decode()
    viewers = as_user(viewer).get(reverse("cases:new")).content.decode()

    assert world.case.client.name in mine
    assert "Rival" in mine  # the facilitator also runs the other case
    assert "Client of nobody I know" not in mine
    assert "Rival" not in viewers
