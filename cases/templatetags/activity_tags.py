"""Who wrote what, on the stage pages: "Maria Lopez (client)"."""

from django import template

from cases import activity

register = template.Library()


@register.simple_tag
def who(user, case) -> str:
    """A person's name and their side in the case (one query per page for all
    the items: the sides are kept on the case)."""
    return activity.who(user, case)
