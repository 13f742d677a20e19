"""Personas: one case, and one person for every way of standing towards it."""

import pytest

from cases.models import Role, Side

from .factories import CaseFactory, MembershipFactory, UserFactory


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
