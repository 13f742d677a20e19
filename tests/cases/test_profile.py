"""A person says who they are: the profile page (their own name, nothing else
of anyone's), the header link to it, the nudge for people with no name yet
(after joining by invitation, on the dashboard), and the new name showing at
once on every page of every case they are in, and in the PDF."""

from __future__ import annotations

import re
from html import unescape
from urllib.parse import urlencode

import pytest
from allauth.account.models import EmailAddress
from django.contrib.auth import get_user_model
from django.core import mail
from django.test import Client
from django.urls import reverse

from cases import invitations, pdf
from cases.models import Case, Role, Side

from ..factories import CaseFactory, ChangeItemFactory, MembershipFactory, UserFactory
from .test_stage_views import errors_at

User = get_user_model()
PROFILE = reverse("cases:profile")


def overview_url(case) -> str:
    return reverse("cases:overview", args=[case.pk])


def text(response) -> str:
    """What a person reads on the page: its text, without markup."""
    html = response.content.decode()
    html = re.sub(r"<(script|style)\b.*?</\1>", " ", html, flags=re.S)
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", html)).split())


def header_link(html: str) -> str:
    """The text of the header's link to the profile page."""
    nav = html[: html.index("</nav>")]
    links = re.findall(
        r'<a class="nav-link[^"]*"[^>]*href="' + PROFILE + r'"[^>]*>(.*?)</a>',
        nav,
        re.S,
    )
    assert len(links) == 1, nav
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", links[0])).split())


def links(response) -> dict[str, str]:
    """The page's links: their text and where they go."""
    return {
        " ".join(unescape(re.sub(r"<[^>]+>", " ", label)).split()): unescape(href)
        for href, label in re.findall(
            r'<a\b[^>]*href="([^"]*)"[^>]*>(.*?)</a>', response.content.decode(), re.S
        )
    }


def messages_shown(html: str) -> str:
    start = html.index('id="messages"')
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", html[start:])).split()[:80])


def save_name(browser, first="Maria", last="Lopez", **extra):
    return browser.post(PROFILE, {"first_name": first, "last_name": last, **extra})


def nameless(email: str):
    return UserFactory(email=email, first_name="", last_name="")


@pytest.fixture
def maria(case):
    """A client contributor known only by her email so far."""
    user = nameless("maria.lopez@harbour.example")
    MembershipFactory(case=case, user=user, side=Side.CLIENT, role=Role.CONTRIBUTOR)
    return user


@pytest.fixture
def second_case(maria):
    other = CaseFactory(title="Night deliveries")
    MembershipFactory(case=other, user=maria, side=Side.CLIENT, role=Role.VIEWER)
    return other


# --- Who may ---------------------------------------------------------------------


@pytest.mark.parametrize("method", ["get", "post"])
def test_anonymous_is_sent_to_login_and_nothing_changes(method, client, maria):
    data = {"first_name": "Eve", "last_name": "Intruder"} if method == "post" else {}
    response = getattr(client, method)(PROFILE, data)

    assert response.status_code == 302
    assert response["Location"] == f"{reverse('account_login')}?next={PROFILE}"
    assert not User.objects.filter(first_name="Eve").exists()


def test_the_page_shows_and_changes_only_my_own_account(
    case, maria, facilitator, as_user
):
    browser = as_user(maria)
    facilitator_name = facilitator.get_full_name()

    page = text(browser.get(PROFILE))
    response = save_name(
        browser,
        # Whatever else is posted, only my two names are taken.
        id=facilitator.pk,
        pk=facilitator.pk,
        username="admin",
        email="someone@else.example",
        is_staff="on",
        is_superuser="on",
    )

    assert "Your profile" in page
    assert "maria.lopez@harbour.example" in page
    assert facilitator_name not in page and facilitator.email not in page
    assert response.status_code == 302
    maria.refresh_from_db()
    facilitator.refresh_from_db()
    assert (maria.first_name, maria.last_name) == ("Maria", "Lopez")
    assert maria.email == "maria.lopez@harbour.example"
    assert maria.username != "admin" and not maria.is_staff
    assert not maria.is_superuser
    assert facilitator.get_full_name() == facilitator_name


# --- What the page shows ------------------------------------------------------------


def test_my_name_email_and_password_link_are_shown(viewer, as_user):
    response = as_user(viewer).get(PROFILE)
    html = response.content.decode()
    page = text(response)

    assert response.status_code == 200
    assert f'value="{viewer.first_name}"' in html
    assert f'value="{viewer.last_name}"' in html
    assert f"Your cases show you as {viewer.get_full_name()} ." in page
    assert f"Email {viewer.email}" in page
    assert 'name="email"' not in html  # shown, not editable here
    shown = links(response)
    assert shown["Change your password"] == reverse("account_change_password")
    assert "Set a password" not in shown
    assert shown["Manage your email addresses"] == reverse("account_email")


def test_someone_without_a_password_is_offered_to_set_one(maria, as_user):
    maria.set_unusable_password()
    maria.save()

    response = as_user(maria).get(PROFILE)
    page = text(response)

    assert links(response)["Set a password"] == reverse("account_set_password")
    assert "Change your password" not in page
    assert "log in with a code sent to maria.lopez@harbour.example" in page
    assert "your cases show you as maria.lopez" in page


def test_the_header_links_to_the_profile_with_my_name(viewer, maria, as_user, case):
    html = as_user(viewer).get(reverse("cases:dashboard")).content.decode()
    assert header_link(html) == viewer.get_full_name()

    html = as_user(maria).get(overview_url(case)).content.decode()
    assert header_link(html) == "maria.lopez"  # no name yet: as her cases show her


# --- Saving ---------------------------------------------------------------------------


def test_saving_says_so_and_shows_the_new_name(maria, as_user):
    browser = as_user(maria)

    response = save_name(browser, "  Maria ", " Lopez Ortega  ")

    assert response.status_code == 302
    assert response["Location"] == PROFILE  # post/redirect/get
    page = browser.get(PROFILE).content.decode()
    assert "Saved. Your cases show you as Maria Lopez Ortega." in messages_shown(page)
    assert header_link(page) == "Maria Lopez Ortega"
    maria.refresh_from_db()
    assert (maria.first_name, maria.last_name) == ("Maria", "Lopez Ortega")


@pytest.mark.parametrize(
    ("first", "last"),
    [
        ("José", "Núñez"),
        ("李", "小龙"),
        ("Zoë", "O'Brien-Smith"),
        ("مهر\u200cناز", "کریمی"),  # a zero-width non-joiner belongs in Persian
        ("M" * 150, "L" * 150),
    ],
)
def test_names_of_every_kind_are_saved_as_typed(first, last, maria, as_user):
    response = save_name(as_user(maria), first, last)

    assert response.status_code == 302
    maria.refresh_from_db()
    assert (maria.first_name, maria.last_name) == (first, last)


def test_a_new_name_shows_at_once_on_every_page_of_every_case(
    case, second_case, maria, facilitator, as_user
):
    """The overview and the stage pages are kept in the cache per revision of
    the case: renaming moves the revision of every case the person is in."""
    ChangeItemFactory(case=case, created_by=maria, title="Book site deliveries online")
    untouched = CaseFactory(title="Not Maria's")
    MembershipFactory(case=untouched, user=facilitator, role=Role.FACILITATOR)
    stage = reverse("cases:stage", args=[case.pk, "changes"])
    pages = [
        overview_url(case),
        overview_url(second_case),
        stage,
        reverse("cases:members", args=[case.pk]),
        reverse("cases:activity", args=[case.pk]),
    ]
    team = as_user(facilitator)
    for url in pages[:1] + pages[2:]:  # seen by the facilitator: now cached
        assert "maria.lopez" in text(team.get(url)), url
    revisions = dict(Case.objects.values_list("pk", "revision"))
    browser = Client()
    browser.force_login(maria)
    for url in pages:
        browser.get(url)

    assert save_name(browser, "Maria", "Lopez").status_code == 302

    for who in (team, browser):
        for url in pages if who is browser else pages[:1] + pages[2:]:
            page = text(who.get(url))
            assert "Maria Lopez" in page, url
            assert "maria.lopez " not in page, url
    assert "Added by Maria Lopez" in text(team.get(stage))
    now = dict(Case.objects.values_list("pk", "revision"))
    assert now[case.pk] > revisions[case.pk]
    assert now[second_case.pk] > revisions[second_case.pk]
    assert now[untouched.pk] == revisions[untouched.pk]


def test_the_pdf_names_the_person_by_their_new_name(case, maria, as_user):
    before = pdf.render_html(pdf.document_context(case))
    assert "maria.lopez" in before

    save_name(as_user(maria), "Maria", "Lopez")

    members = pdf.document_context(case)["members_by_side"]
    client_side = next(g for g in members if g["side"] == Side.CLIENT.label)
    assert "Maria Lopez" in [m.display_name for m in client_side["members"]]
    html = pdf.render_html(pdf.document_context(case))
    assert "Maria Lopez" in html
    assert "maria.lopez<" not in html and "maria.lopez " not in html


def test_saving_the_same_name_again_moves_no_case(case, viewer, as_user):
    revision = Case.objects.get(pk=case.pk).revision

    response = save_name(as_user(viewer), viewer.first_name, viewer.last_name)

    assert response.status_code == 302
    assert Case.objects.get(pk=case.pk).revision == revision


# --- Refused ---------------------------------------------------------------------------


TOO_LONG = "Shorten your {} to at most 150 characters (it has 151)."
CONTROL = "Type your {} without tabs, line breaks or other control characters."
BLANK = "Give your {}."


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("first_name", "", BLANK),
        ("last_name", "", BLANK),
        ("first_name", "   ", BLANK),
        ("last_name", "\u200b\u00a0", BLANK),  # shows nothing
        ("first_name", "M" * 151, TOO_LONG),
        ("last_name", "L" * 151, TOO_LONG),
        ("first_name", "Ma\tria", CONTROL),
        ("last_name", "Lopez\nOrtega", CONTROL),
        ("first_name", "Maria\x00", CONTROL),
        ("last_name", "Lo\x1bpez", CONTROL),
        ("first_name", "Maria\u202e", CONTROL),  # turns the text around it
        ("last_name", "Lopez\u2028Ortega", CONTROL),
    ],
)
def test_a_refused_name_is_told_at_its_field_and_nothing_is_saved(
    field, value, message, case, viewer, as_user
):
    browser = as_user(viewer)
    before = (viewer.first_name, viewer.last_name)
    revision = Case.objects.get(pk=case.pk).revision
    data = {"first_name": "Valid", "last_name": "Name", field: value}
    label = field.replace("_", " ")
    other = "last_name" if field == "first_name" else "first_name"

    response = browser.post(PROFILE, data)

    assert response.status_code == 200
    html = response.content.decode()
    assert errors_at(html, field, PROFILE) == [message.format(label)]
    assert errors_at(html, other, PROFILE) == []
    assert "Nothing was saved" in html
    # The valid half is not saved either, nor shown as if it were.
    viewer.refresh_from_db()
    assert (viewer.first_name, viewer.last_name) == before
    assert header_link(html) == " ".join(before)
    assert Case.objects.get(pk=case.pk).revision == revision


def test_both_names_missing_are_both_told(maria, as_user):
    html = as_user(maria).post(PROFILE, {}).content.decode()

    assert errors_at(html, "first_name", PROFILE) == ["Give your first name."]
    assert errors_at(html, "last_name", PROFILE) == ["Give your last name."]
    maria.refresh_from_db()
    assert maria.get_full_name() == ""


# --- Where to go next ----------------------------------------------------------------


def test_a_next_page_of_this_site_is_where_saving_leads(case, maria, as_user):
    browser = as_user(maria)
    url = f"{PROFILE}?{urlencode({'next': overview_url(case)})}"

    page = browser.get(url).content.decode()
    response = save_name(browser, next=overview_url(case))

    assert f'name="next" value="{overview_url(case)}"' in page
    assert f'href="{overview_url(case)}"' in page  # "Not now"
    assert "Not now" in page
    assert response.status_code == 302
    assert response["Location"] == overview_url(case)


@pytest.mark.parametrize(
    "target",
    [
        "https://evil.example/phish",
        "//evil.example/phish",
        "http://testserver.evil.example/",
        "javascript:alert(1)",
        "/\\evil.example",
    ],
)
def test_a_next_off_this_site_is_ignored(target, maria, as_user):
    browser = as_user(maria)

    page = browser.get(f"{PROFILE}?{urlencode({'next': target})}").content.decode()
    response = save_name(browser, next=target)

    assert "evil" not in page and "javascript:" not in page
    assert "Not now" not in page
    assert response.status_code == 302
    assert response["Location"] == PROFILE


# --- The nudge for people with no name yet -----------------------------------------


def test_an_invited_newcomer_is_asked_for_their_name_then_reaches_the_case(
    case, facilitator
):
    _, token = invitations.invite(
        case=case,
        invited_by=facilitator,
        email="david.chen@harbour.example",
        side=Side.CLIENT,
        role=Role.VIEWER,
        base_url="http://testserver/",
    )
    mail.outbox.clear()
    david = Client()

    joined = david.post(reverse("cases:invitation", args=[token]))

    profile = f"{PROFILE}?{urlencode({'next': overview_url(case)})}"
    assert joined.status_code == 302
    assert joined["Location"] == profile
    response = david.get(profile)
    page = text(response)
    assert (
        f"Welcome to “{case.title}”: you joined as viewer on the client side. "
        "Tell the others who you are: your name shows on the case and its PDF."
    ) in page
    assert "your cases show you as david.chen" in page
    assert links(response)["Set a password"] == reverse("account_set_password")

    saved = save_name(david, "David", "Chen", next=overview_url(case))

    assert saved["Location"] == overview_url(case)
    overview = text(david.get(saved["Location"]))
    assert case.title in overview
    assert "Saved. Your cases show you as David Chen." in overview
    assert "David Chen" in overview.split("Who is in the case")[1]


def test_an_invited_person_with_a_name_goes_straight_to_the_case(case, facilitator):
    UserFactory(email="maria.lopez@harbour.example", first_name="Maria")
    _, token = invitations.invite(
        case=case,
        invited_by=facilitator,
        email="maria.lopez@harbour.example",
        side=Side.CLIENT,
        role=Role.CONTRIBUTOR,
    )

    joined = Client().post(reverse("cases:invitation", args=[token]))

    assert joined["Location"] == overview_url(case)


def test_the_dashboard_asks_for_a_name_only_of_those_without_one(
    maria, viewer, as_user
):
    page = as_user(maria).get(reverse("cases:dashboard")).content.decode()
    assert "Tell the others who you are" in page
    assert f'href="{PROFILE}" class="btn btn-sm btn-primary">Add your name' in page

    page = as_user(viewer).get(reverse("cases:dashboard")).content.decode()
    assert "Add your name" not in page


def test_a_member_without_a_name_who_opens_a_new_link_is_asked_too(
    case, maria, facilitator
):
    _, token = invitations.invite(
        case=case,
        invited_by=facilitator,
        email="someone.else@harbour.example",
        side=Side.CLIENT,
        role=Role.VIEWER,
    )
    # The invited address turns out to be Maria's second one: she is the
    # addressee, and already in the case.
    EmailAddress.objects.create(user=maria, email="someone.else@harbour.example")
    browser = Client()

    joined = browser.post(reverse("cases:invitation", args=[token]))

    assert joined["Location"] == f"{PROFILE}?{urlencode({'next': overview_url(case)})}"
    page = text(browser.get(joined["Location"]))
    assert f"You were already in “{case.title}”" in page
    assert "Tell the others who you are" in page


def test_a_name_that_looks_like_markup_is_shown_as_text(case, maria, as_user):
    browser = as_user(maria)
    save_name(browser, '<b onmouseover="x()">Maria</b>', "& Co")

    for url in (PROFILE, overview_url(case), reverse("cases:members", args=[case.pk])):
        html = browser.get(url).content.decode()
        assert "<b onmouseover" not in html, url
        assert "&lt;b onmouseover" in html, url
    assert header_link(html) == '<b onmouseover="x()">Maria</b> & Co'
