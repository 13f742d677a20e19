"""Stage pages served from the cache: fast, and never stale, never someone else's.

A stage page is rendered once per case revision and kind of viewer, then served
again (cases/pagecache.py). These tests change the case in every way a page can
show and check that the next visit shows the change; that the cached page's
forms carry a token valid for the person asking; that a viewer never gets an
editor's page; and that a page served from the cache costs only its few
header queries.
"""

import re

import pytest
from django.contrib.auth import get_user_model
from django.middleware.csrf import _does_token_match, _unmask_cipher_token, get_token
from django.template import RequestContext, Template
from django.test import Client
from django.urls import reverse

from cases import pagecache, services
from cases.models import Case, ExportStatus, PdfExport, Role, Side
from cases.stages import BY_KEY

from ..factories import (
    BenefitFactory,
    ChangeItemFactory,
    EcosystemPartyFactory,
    LaggingMetricFactory,
    MembershipFactory,
    OrganisationFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db


def stage_url(case, slug="changes"):
    return reverse("cases:stage", args=[case.pk, slug])


def seen_twice(client, url):
    """Visit twice, so the second visit is served from the cache."""
    first = client.get(url)
    second = client.get(url)
    assert first.status_code == second.status_code == 200
    return second.text


def csrf_from(html: str) -> str:
    return re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html).group(1)


def test_the_second_visit_is_served_from_the_cache_in_three_queries(
    as_user, case, facilitator, django_assert_max_num_queries
):
    for n in range(30):
        ChangeItemFactory(case=case, title=f"Change {n}")
    client = as_user(facilitator)
    client.get(stage_url(case))
    # The session, the user, and the case with the membership: nothing that
    # grows with the case.
    with django_assert_max_num_queries(3):
        page = client.get(stage_url(case))
    assert page.status_code == 200
    assert "Change 29" in page.text


def _retitled(item, title):
    item.title = title
    return item


CHANGES = {  # what changes: the stage page that must show it
    "an item saved through the services": "changes",
    "an item saved directly (as the admin does)": "changes",
    "an item deleted": "changes",
    "the stage notes": "changes",
    "a comment": "changes",
    "a sign-off": "changes",
    "a linked lagging metric renamed on its own stage": "benefits",
    "an ecosystem organisation renamed": "ecosystem",
    "the case's title": "changes",
}


@pytest.mark.parametrize("change", CHANGES)
def test_every_kind_of_change_shows_on_the_next_visit(
    change, as_user, case, facilitator, client_contributor
):
    slug = CHANGES[change]
    stage = BY_KEY[slug.replace("-", "_")]
    item = ChangeItemFactory(case=case, title="First change")
    metric = LaggingMetricFactory(case=case, name="Cost per delivery")
    benefit = BenefitFactory(case=case, title="Cheaper deliveries", metric=metric)
    party = EcosystemPartyFactory(
        case=case,
        organisation=OrganisationFactory(name="Swift Haulage", kind="partner"),
    )
    client = as_user(facilitator)
    before = seen_twice(client, stage_url(case, slug))

    if change == "an item saved through the services":
        services.save_item(
            case=case, stage=stage, item=_retitled(item, "Changed"), user=facilitator
        )
        expect, gone = "Changed", "First change"
    elif change == "an item saved directly (as the admin does)":
        _retitled(item, "Changed").save()
        expect, gone = "Changed", "First change"
    elif change == "an item deleted":
        item.delete()
        expect, gone = "Nothing here yet", "First change"
    elif change == "the stage notes":
        services.update_stage_notes(
            case=case, stage=stage, notes="Agreed scope", user=facilitator
        )
        expect, gone = "Agreed scope", None
    elif change == "a comment":
        services.add_comment(
            case=case, stage=stage, user=client_contributor, text="Check with HR"
        )
        expect, gone = "Check with HR", None
    elif change == "a sign-off":
        services.sign_off_stage(case=case, stage=stage, user=client_contributor)
        expect, gone = "signed off by", None
    elif change == "a linked lagging metric renamed on its own stage":
        metric.name = "Cost per drop"
        metric.save()
        expect, gone = "Cost per drop", "Cost per delivery"
        assert benefit.metric_id == metric.pk
    elif change == "an ecosystem organisation renamed":
        organisation = party.organisation
        organisation.name = "Swift Freight"
        organisation.save()
        expect, gone = "Swift Freight", "Swift Haulage"
    elif change == "the case's title":
        case.title = "Site delivery, second draft"
        case.save()
        expect, gone = "Site delivery, second draft", None

    assert expect not in before
    after = client.get(stage_url(case, slug)).text
    assert expect in after
    if gone:
        assert gone not in after


def test_a_name_change_alone_shows_on_the_next_visit(
    as_user, case, facilitator, client_contributor
):
    ChangeItemFactory(case=case, created_by=client_contributor)
    client = as_user(facilitator)
    assert "Maria Lopez" not in seen_twice(client, stage_url(case))
    client_contributor.first_name, client_contributor.last_name = "Maria", "Lopez"
    client_contributor.save()
    assert "Maria Lopez" in client.get(stage_url(case)).text


def test_a_login_does_not_empty_the_cache(case, facilitator):
    revision = Case.objects.get(pk=case.pk).revision
    Client().force_login(facilitator)  # writes last_login
    assert Case.objects.get(pk=case.pk).revision == revision


def test_a_viewer_never_gets_the_page_kept_for_an_editor(
    as_user, case, facilitator, viewer
):
    ChangeItemFactory(case=case, title="Coach the dispatchers")
    editors = seen_twice(as_user(facilitator), stage_url(case))
    assert 'id="add-item"' in editors
    readers = seen_twice(as_user(viewer), stage_url(case))
    assert "Coach the dispatchers" in readers
    assert 'id="add-item"' not in readers
    assert "bi-pencil" not in readers


def test_a_role_change_shows_at_once(as_user, case, facilitator, viewer):
    client = as_user(viewer)
    assert 'id="add-item"' not in seen_twice(client, stage_url(case))
    membership = viewer.memberships.get(case=case)
    services.change_member(
        membership=membership, side=Side.CLIENT, role=Role.CONTRIBUTOR
    )
    assert 'id="add-item"' in client.get(stage_url(case)).text


def test_each_person_gets_their_own_valid_csrf_token_from_a_cached_page(case):
    """Two contributors of the same side share the kept page; each must get a
    token that works with their own cookie, and no slot may be left over."""
    people = [
        MembershipFactory(
            case=case, side=Side.CLIENT, role=Role.CONTRIBUTOR, user=UserFactory()
        ).user
        for _ in range(2)
    ]
    clients = []
    for person in people:
        browser = Client(enforce_csrf_checks=True)
        browser.force_login(person)
        clients.append(browser)
    pages = [browser.get(stage_url(case)).text for browser in clients]
    for page in pages:
        assert pagecache.CSRF_SLOT not in page
    # The second person's page came from the cache, kept from the first's.
    assert csrf_from(pages[0]) != csrf_from(pages[1])

    second = clients[1]
    added = second.post(
        reverse("cases:item_create", args=[case.pk, "changes"]),
        {
            "leg": "process",
            "title": "Book deliveries online",
            "description": "",
            "csrfmiddlewaretoken": csrf_from(pages[1]),
        },
    )
    assert added.status_code == 302, "the token from a cached page is accepted"
    assert "Book deliveries online" in second.get(stage_url(case)).text


def test_a_kept_part_sent_on_its_own_gets_the_askers_token(rf, case, facilitator):
    """The item list is also sent without its page (an htmx add, a live
    update): a form in it must carry the token of whoever asks, from the
    render that keeps it and from the cache alike."""
    template = Template(
        "{% load case_tags %}{% cached_part part %}"
        "<form method='post'>{% csrf_token %}</form>{% endcached_part %}"
    )
    case.membership = case.memberships.get(user=facilitator)
    sent = []
    for _ in range(2):  # kept by the first render, served from the cache by the second
        request = rf.get("/")
        request.user = facilitator
        part = pagecache.CachedPart("test", case, only_edit_rights=True)
        sent.append((request, template.render(RequestContext(request, {"part": part}))))

    assert part.hit
    for request, html in sent:
        assert pagecache.CSRF_SLOT not in html
        assert _does_token_match(
            csrf_from(html), _unmask_cipher_token(get_token(request))
        )


def test_a_form_with_errors_is_not_kept(as_user, case, facilitator):
    client = as_user(facilitator)
    seen_twice(client, stage_url(case))
    refused = client.post(
        reverse("cases:item_create", args=[case.pk, "changes"]),
        {"leg": "people", "title": "", "description": ""},
    )
    assert refused.status_code == 400
    assert "is-invalid" in refused.text
    assert "is-invalid" not in client.get(stage_url(case)).text


def test_a_message_shows_once_even_on_a_kept_page(as_user, case, facilitator):
    client = as_user(facilitator)
    seen_twice(client, stage_url(case))
    client.post(
        reverse("cases:item_create", args=[case.pk, "changes"]),
        {"leg": "people", "title": "Train the drivers", "description": ""},
    )
    with_message = client.get(stage_url(case)).text
    assert "Added change “Train the drivers”" in with_message
    assert "Added change" not in client.get(stage_url(case)).text


def test_the_cache_can_be_turned_off(settings, as_user, case, facilitator):
    settings.PAGE_CACHE_SECONDS = 0
    client = as_user(facilitator)
    item = ChangeItemFactory(case=case, title="Before")
    seen_twice(client, stage_url(case))
    # A write the revision cannot see (a queryset update sends no signal) shows
    # at once only because nothing is kept.
    type(item).objects.filter(pk=item.pk).update(title="After")
    assert "After" in client.get(stage_url(case)).text


def test_other_users_are_untouched_by_a_users_change(case, facilitator):
    other_case = Case.objects.create(
        title="Elsewhere", idea="-", client=case.client, seller=case.seller
    )
    before = Case.objects.get(pk=other_case.pk).revision
    facilitator.first_name = "Anna"
    facilitator.save()
    assert Case.objects.get(pk=other_case.pk).revision == before
    assert get_user_model().objects.get(pk=facilitator.pk).first_name == "Anna"


# --- The overview ----------------------------------------------------------------


def overview_url(case):
    return reverse("cases:overview", args=[case.pk])


def test_the_overview_counts_a_new_item_at_once(as_user, case, facilitator):
    client = as_user(facilitator)
    before = seen_twice(client, overview_url(case))
    assert 'data-count="changes">0<' in before
    ChangeItemFactory(case=case)
    assert 'data-count="changes">1<' in client.get(overview_url(case)).text


def test_the_overview_follows_an_export_the_worker_moves_on(
    as_user, case, facilitator, django_assert_max_num_queries
):
    """Exports do not move the case's revision; the overview still shows each
    step of one, as the worker writes it."""
    export = PdfExport.objects.create(case=case, requested_by=facilitator)
    client = as_user(facilitator)
    assert "Waiting for a worker" in seen_twice(client, overview_url(case))
    with django_assert_max_num_queries(6):  # the header, and the latest export
        client.get(overview_url(case))

    PdfExport.objects.filter(pk=export.pk).update(
        status=ExportStatus.RUNNING, progress=40, step="Drawing the charts"
    )
    assert "Drawing the charts" in client.get(overview_url(case)).text

    PdfExport.objects.filter(pk=export.pk).update(
        status=ExportStatus.DONE, progress=100, pages=12, size_bytes=1000
    )
    assert "Download the PDF" in client.get(overview_url(case)).text
