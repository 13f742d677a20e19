"""The agreement, comments and status panels of the full pages, as tags, so the
stage page and the overview need nothing from their views to show them; the
htmx views render the same partials with the same contexts."""

from django import template
from django.utils.html import format_html

from cases.views.agreement import (
    agreement_context,
    case_status_context,
    comments_context,
    reopen_warning_text,
)

register = template.Library()


def _with_request(context, values: dict) -> dict:
    # An inclusion tag's template gets a fresh context: pass on what the forms
    # in it need ({% csrf_token %}) and the request.
    values["csrf_token"] = context.get("csrf_token")
    values["request"] = context.get("request")
    return values


@register.inclusion_tag("cases/_agreement.html", takes_context=True)
def stage_agreement(context):
    count = context.get("item_count")
    return _with_request(
        context,
        agreement_context(
            context["case"],
            context["stage"],
            record=context.get("record"),
            has_items=bool(count) if count is not None else None,
        ),
    )


@register.inclusion_tag("cases/_comments.html", takes_context=True)
def stage_comments(context):
    return _with_request(
        context,
        comments_context(
            context["case"], context["stage"], form=context.get("comment_form")
        ),
    )


@register.inclusion_tag("cases/_case_status.html", takes_context=True)
def case_status_panel(context):
    progress = context.get("progress")  # the overview counted them already
    agreed = progress["agreed"] if progress else None
    return _with_request(
        context, case_status_context(context["case"], agreed_stages=agreed)
    )


@register.simple_tag(takes_context=True)
def reopen_warning(context, editing: bool = False, oob: bool = False):
    """The warning to editors that a change clears the sign-offs (and reopens an
    agreed stage), naming whose. Outside an edit form it always renders its
    container, so the agreement partial can swap it out of band."""
    case, stage = context["case"], context["stage"]
    membership = getattr(case, "membership", None)
    text = ""
    if membership is not None and membership.can_edit:
        text = reopen_warning_text(case, stage, editing=editing)
    alert = (
        format_html(
            '<div class="alert alert-warning py-2 small" role="note">'
            '<i class="bi bi-patch-check"></i> {}</div>',
            text,
        )
        if text
        else ""
    )
    if editing:
        return alert
    if oob:
        return format_html(
            '<div id="reopen-warning" hx-swap-oob="true">{}</div>', alert
        )
    return format_html('<div id="reopen-warning">{}</div>', alert)
