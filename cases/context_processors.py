"""What every template may ask for, computed only by the templates that ask."""

from __future__ import annotations

from django.http import HttpRequest
from django.utils.functional import SimpleLazyObject


def demo_logins(request: HttpRequest) -> dict:
    """`demo_logins`: whether this installation holds the demo case, so the login
    page may point to the README's demo logins (never on a real installation).
    Lazy: one query, on the pages that show the hint."""
    from .demo import find_demo_case

    return {"demo_logins": SimpleLazyObject(lambda: find_demo_case() is not None)}
