"""Views of the case: thin. Each one starts with the access helper, validates with
a form, writes through a service, and answers an htmx request with a template
partial and a normal request with the whole page from the same template.
"""

from __future__ import annotations

import json

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.db.models import Prefetch
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.text import slugify
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from .. import activity, figures, health, pagecache, portability, services
from ..access import get_case_for_user, load_parties
from ..forms import (
    CaseSettingsForm,
    ImportCaseForm,
    MemberForm,
    MembershipForm,
    NewCaseForm,
)
from ..models import Case, Membership, Recommendation, StageStatus
from ..stages import STAGES, with_item_counts
from .common import _progress, _stage_nav
from .exports import export_state, latest_export

# --- Dashboard and new cases ----------------------------------------------------


@require_GET
def healthz(request: HttpRequest) -> HttpResponse:
    """A trivial view: the yardstick bench/pages.py compares pages against."""
    return HttpResponse("ok", content_type="text/plain")


@login_required
@require_GET
def dashboard(request: HttpRequest) -> HttpResponse:
    memberships = {m.case_id: m for m in Membership.objects.filter(user=request.user)}
    cases = with_item_counts(
        Case.objects.visible_to(request.user).select_related("client", "seller")
    ).prefetch_related(Prefetch("stage_records", to_attr="records"))
    rows = []
    for case in cases:
        statuses = {r.stage: r.status for r in case.records}
        nav = [
            {
                "count": getattr(case, stage.count_name),
                "status": statuses.get(stage.slug, StageStatus.EMPTY),
            }
            for stage in STAGES
        ]
        rows.append(
            {
                "case": case,
                "membership": memberships[case.pk],
                "progress": _progress(nav),
            }
        )
    return render(request, "cases/dashboard.html", {"rows": rows})


@login_required
@require_http_methods(["GET", "POST"])
def case_new(request: HttpRequest) -> HttpResponse:
    form = NewCaseForm(request.POST or None, user=request.user)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        case = services.create_case(
            user=request.user,
            title=data["title"],
            idea=data["idea"],
            client=data["client"] or data["new_client"],
            seller=data["seller"] or data["new_seller"],
            currency=data["currency"],
            horizon_years=data["horizon_years"],
            discount_rate=data["discount_rate"],
            side=data["side"],
        )
        messages.success(
            request,
            "Case opened. Start with the models it changes, on the first stage below.",
        )
        return redirect(case)
    return render(request, "cases/case_new.html", {"form": form})


@login_required
@require_http_methods(["GET", "POST"])
def case_import(request: HttpRequest) -> HttpResponse:
    form = ImportCaseForm(request.POST or None, request.FILES or None)
    error = None
    if request.method == "POST" and form.is_valid():
        try:
            case = portability.import_case_file(
                form.cleaned_data["file"], user=request.user
            )
        except portability.CaseFormatError as exc:
            error = exc
        else:
            messages.success(
                request, f"Imported “{case.title}”. You are its facilitator."
            )
            return redirect(case)
    return render(request, "cases/case_import.html", {"form": form, "error": error})


# --- One case -------------------------------------------------------------------


@login_required
@require_GET
def overview(request: HttpRequest, case_id: int) -> HttpResponse:
    case = get_case_for_user(request.user, case_id, with_parties=False)
    export = latest_export(case)  # not part of the case's revision: named apart
    return pagecache.render_page(
        request,
        "cases/overview.html",
        pagecache.CachedPart("overview", case, export_state(export)),
        {"case": case, "latest_export": export},
        lambda: _overview_context(case),
    )


def _overview_context(case: Case) -> dict:
    load_parties(case)
    nav = _stage_nav(case)
    # Annotated with each person's items and edits: the balance costs no query.
    members = list(
        activity.with_contributions(
            case.memberships.select_related("user").order_by(
                "side", "role", "user__email"
            )
        )
    )
    return {
        "nav": nav,
        "progress": _progress(nav),
        "members": members,
        "recommendation": Recommendation.objects.filter(case=case)
        .select_related("recorded_by")
        .first(),
        "health": health.check(case, figures.compute(case)),
        "balance": activity.balance(members),
    }


@login_required
@require_http_methods(["GET", "POST"])
def case_settings(request: HttpRequest, case_id: int) -> HttpResponse:
    case = get_case_for_user(request.user, case_id, manage=True)
    currency = case.currency  # validating the form writes the new one onto `case`
    form = CaseSettingsForm(request.POST or None, instance=case)
    if request.method == "POST" and form.is_valid():
        services.update_case_settings(
            case=case,
            user=request.user,
            **{name: form.cleaned_data[name] for name in form.Meta.fields},
        )
        messages.success(request, "Case settings saved.")
        if form.cleaned_data["currency"] != currency:
            messages.warning(
                request,
                f"Every amount is now shown in {form.cleaned_data['currency']} "
                f"instead of {currency}, with the same figures: nothing was "
                "converted. Check the investments, benefits and costs of inaction.",
            )
        return redirect(case)
    return render(request, "cases/case_settings.html", {"case": case, "form": form})


@login_required
@require_GET
def case_export(request: HttpRequest, case_id: int) -> HttpResponse:
    case = get_case_for_user(request.user, case_id)
    document = portability.export_case(case)
    response = HttpResponse(
        json.dumps(document, indent=2, ensure_ascii=False) + "\n",
        content_type="application/json; charset=utf-8",
    )
    filename = f"{slugify(case.title)[:60] or 'case'}-{case.pk}.json"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


# --- Members --------------------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def members(request: HttpRequest, case_id: int) -> HttpResponse:
    case = get_case_for_user(request.user, case_id, manage=request.method == "POST")
    form = MemberForm(request.POST or None, case=case)
    if request.method == "POST" and form.is_valid():
        try:
            services.add_member(
                case=case,
                user=form.cleaned_data["user"],
                side=form.cleaned_data["side"],
                role=form.cleaned_data["role"],
            )
        except ValidationError as exc:
            form.add_error("email", exc)
        else:
            messages.success(request, f"{form.cleaned_data['email']} joined the case.")
            return redirect("cases:members", case.pk)
    rows = [
        {"membership": m, "form": MembershipForm(instance=m, prefix=f"m{m.pk}")}
        for m in case.memberships.select_related("user").order_by(
            "side", "role", "user__email"
        )
    ]
    return render(
        request, "cases/members.html", {"case": case, "form": form, "rows": rows}
    )


@login_required
@require_POST
def member_update(
    request: HttpRequest, case_id: int, membership_id: int
) -> HttpResponse:
    case = get_case_for_user(request.user, case_id, manage=True)
    membership = get_object_or_404(Membership, pk=membership_id, case=case)
    form = MembershipForm(request.POST, instance=membership, prefix=f"m{membership.pk}")
    if form.is_valid():
        try:
            services.change_member(
                membership=Membership.objects.get(pk=membership.pk),
                side=form.cleaned_data["side"],
                role=form.cleaned_data["role"],
            )
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        else:
            messages.success(request, f"{membership.user.email}'s role was changed.")
    else:
        messages.error(request, "Pick a side and a role from the lists.")
    return redirect("cases:members", case.pk)


@login_required
@require_POST
def member_remove(
    request: HttpRequest, case_id: int, membership_id: int
) -> HttpResponse:
    case = get_case_for_user(request.user, case_id, revoke=True)
    membership = get_object_or_404(Membership, pk=membership_id, case=case)
    try:
        services.remove_member(membership=membership)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, f"{membership.user.email} was removed from the case.")
    if (
        membership.user_id == request.user.pk
        and not Membership.objects.filter(pk=membership.pk).exists()
    ):
        return redirect("cases:dashboard")
    return redirect("cases:members", case.pk)
