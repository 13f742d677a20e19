"""Personas: one case, and one person for every way of standing towards it."""

from pathlib import Path

import pytest

from cases.models import Role, Side

from .factories import CaseFactory, MembershipFactory, UserFactory


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    """Real hashing costs ~0.3 s a user by design; tests make hundreds of users."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _empty_cache():
    """Each test starts with an empty cache: ids are reused after a rolled-back
    test, and a page kept for another test's case must not be served."""
    from django.core.cache import cache

    cache.clear()


@pytest.fixture(scope="session", autouse=True)
def celery_queue():
    """Tests publish to a queue of their own, never to a developer's running
    worker; what no test worker consumed is removed at the end."""
    from django.conf import settings

    from businesscase.celery import app

    from .workers import new_queue_name

    original = app.conf.task_default_queue
    app.conf.task_default_queue = new_queue_name()
    yield app.conf.task_default_queue
    if settings.CELERY_BROKER_URL.startswith("filesystem://"):
        for leftover in Path(settings.BROKER_DIR, "queue").glob(
            f"*{app.conf.task_default_queue}*"
        ):
            leftover.unlink(missing_ok=True)
    app.conf.task_default_queue = original


@pytest.fixture
def case(db):
    return CaseFactory(title="Direct-to-site delivery")


def _member(case, side, role, email):
    return MembershipFactory(
        case=case, side=side, role=role, user=UserFactory(email=email)
    ).user


@pytest.fixture
def facilitator(case):
    """The account team member who opened the case (seller side)."""
    return _member(case, Side.SELLER, Role.FACILITATOR, "facilitator@seller.example")


@pytest.fixture
def client_contributor(case):
    return _member(case, Side.CLIENT, Role.CONTRIBUTOR, "contributor@client.example")


@pytest.fixture
def partner(case):
    return _member(case, Side.PARTNER, Role.CONTRIBUTOR, "partner@partner.example")


@pytest.fixture
def viewer(case):
    """An executive who reads and never edits."""
    return _member(case, Side.CLIENT, Role.VIEWER, "viewer@client.example")


@pytest.fixture
def outsider(db):
    """Logged in, but not a member of the case."""
    return UserFactory(email="outsider@elsewhere.example")


@pytest.fixture
def as_user(client):
    """Log the test client in as a user: `as_user(viewer).get(...)`."""

    def login(user):
        client.force_login(user)
        return client

    return login
