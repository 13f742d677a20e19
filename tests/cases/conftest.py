"""Fixtures shared by the tests of the cases app (the personas and their case
are in tests/conftest.py)."""

import pytest

from ..factories import UserFactory


@pytest.fixture
def user(db):
    """Someone with an account and no case yet: who imports a case file."""
    return UserFactory(email="importer@seller.example")
