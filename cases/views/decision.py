"""The numbers and the decision: the case's figures (page and JSON), the client's
view of its buying decision beside the seller's estimate, and the seller's
recommendation."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from .. import charts, health, services, summary
from .. import figures as figures_module
from ..access import get_case_for_user
from ..forms import BuyingRatingsForm, RecommendationForm
from ..models import (
    BuyingElement,
    BuyingRating,
    Case,
    Membership,
    Recommendation,
    RiskOfActing,
    RiskOfNotActing,
    Role,
    Side,
)


@login_required
@require_GET
def numbers(request: HttpRequest, case_id: int) -> HttpResponse:
    case = get_case_for_user(request.user, case_id)
    figures = figures_module.compute(case)
    acting = list(RiskOfActing.objects.filter(case=case).order_by("position", "id"))
    not_acting = list(
        RiskOfNotActing.objects.filter(case=case).order_by("position", "id")
    )
    context = {
        "case": case,
        "f": figures,
        "health": health.check(case, figures),
        "chart_money": charts.investment_vs_benefit(figures),
        "chart_acting": charts.risk_map(acting, title="Risks of acting"),
        "chart_not_acting": charts.risk_map(not_acting, title="Risks of not acting"),
        "risks_acting": acting,
        "risks_not_acting": not_acting,
    }
    return render(request, "cases/numbers.html", context)


@login_required
@require_GET
def summary_json(request: HttpRequest, case_id: int) -> JsonResponse:
    case = get_case_for_user(request.user, case_id)
    return JsonResponse(summary.build(case), json_dumps_params={"indent": 2})


def _ratings(case: Case) -> dict[str, dict[str, BuyingRating]]:
    by_side: dict[str, dict[str, BuyingRating]] = {Side.CLIENT: {}, Side.SELLER: {}}
    for rating in BuyingRating.objects.filter(case=case):
        by_side[rating.side][rating.element] = rating
    return by_side


def _can_rate(membership: Membership) -> bool:
    return membership.can_edit and membership.side in BuyingRating.RATING_SIDES


def _can_recommend(membership: Membership) -> bool:
    """The seller's facilitator, while the case can still change."""
    return (
        membership.side == Side.SELLER
        and membership.role == Role.FACILITATOR
        and membership.can_edit
    )


def _decision_context(case: Case, **extra) -> dict:
    ratings = _ratings(case)
    membership = case.membership
    rows = []
    for element, label in BuyingElement.choices:
        client = ratings[Side.CLIENT].get(element)
        seller = ratings[Side.SELLER].get(element)
        gap = seller.score - client.score if client and seller else None
        rows.append(
            {
                "element": element,
                "label": label,
                "client": client,
                "seller": seller,
                "gap": gap,
            }
        )
    recommendation = (
        Recommendation.objects.filter(case=case).select_related("recorded_by").first()
    )
    context = {
        "case": case,
        "rows": rows,
        "recommendation": recommendation,
        "can_rate": _can_rate(membership),
        "can_recommend": _can_recommend(membership),
    }
    if context["can_rate"] and "ratings_form" not in extra:
        context["ratings_form"] = BuyingRatingsForm(ratings=ratings[membership.side])
    if context["can_recommend"] and "recommendation_form" not in extra:
        context["recommendation_form"] = RecommendationForm(instance=recommendation)
    context.update(extra)
    return context


@login_required
@require_GET
def decision(request: HttpRequest, case_id: int) -> HttpResponse:
    case = get_case_for_user(request.user, case_id)
    return render(request, "cases/decision.html", _decision_context(case))


@login_required
@require_POST
def decision_ratings(request: HttpRequest, case_id: int) -> HttpResponse:
    """The client side rates its buying decision; the seller side records its
    estimate. Partners and viewers do neither."""
    case = get_case_for_user(request.user, case_id, write=True)
    membership = case.membership
    if not _can_rate(membership):
        raise PermissionDenied(
            "Only the client and the seller rate the buying decision."
        )
    form = BuyingRatingsForm(request.POST, ratings=_ratings(case)[membership.side])
    if form.is_valid():
        services.save_buying_ratings(
            case=case, side=membership.side, user=request.user, ratings=form.ratings()
        )
        messages.success(
            request,
            f"The {membership.get_side_display().lower()} side's ratings are saved.",
        )
        return redirect("cases:decision", case.pk)
    context = _decision_context(case, ratings_form=form)
    return render(request, "cases/decision.html", context, status=400)


@login_required
@require_http_methods(["POST"])
def decision_recommendation(request: HttpRequest, case_id: int) -> HttpResponse:
    case = get_case_for_user(request.user, case_id, write=True)
    if not _can_recommend(case.membership):
        raise PermissionDenied(
            "Only a facilitator on the seller side records the recommendation."
        )
    instance = Recommendation.objects.filter(case=case).first()
    form = RecommendationForm(
        request.POST, instance=instance or Recommendation(case=case)
    )
    if form.is_valid():
        services.record_recommendation(
            case=case,
            user=request.user,
            **{name: form.cleaned_data[name] for name in form.Meta.fields},
        )
        messages.success(request, "The recommendation is recorded.")
        return redirect("cases:decision", case.pk)
    context = _decision_context(case, recommendation_form=form)
    return render(request, "cases/decision.html", context, status=400)
