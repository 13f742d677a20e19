"""Case health: the weak spots a CFO would find, each with a code, a label in plain
words (`LABELS`), a plain message and the stage to fix it in. Shown on the
overview, in summary.json and in the PDF's appendix (which names each check by
its label). A fixed number of queries whatever the size of the case."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from django.urls import reverse

from .figures import ROI_PLAUSIBLE_MAX, Figures
from .models import (
    Benefit,
    Case,
    ChangeItem,
    Commitment,
    Confidence,
    EcosystemParty,
    LaggingMetric,
    LeadingMetric,
    Leg,
    Membership,
    RiskOfActing,
    Side,
)
from .stages import BY_KEY, STAGES, Stage, counted, stage_counts

CLIENT_SHARE_MIN = Decimal("0.2")
TECHNOLOGY_SHARE_MAX = Decimal("0.6")


# What each check is called where a reader sees a list of findings (the PDF's
# appendix): the code is for programs (summary.json, the page's data-code).
LABELS = {
    "empty_stage": "Empty stage",
    "change_on_one_leg": "Change on one leg",
    "technology_heavy": "Mostly technology",
    "no_external_company": "No external company",
    f"party_{Commitment.TO_CONFIRM}": "Party to confirm",
    f"party_{Commitment.DECLINED}": "Party declined",
    "metric_incomplete": "Incomplete metric",
    "lagging_without_leading": "Outcome without an early signal",
    "benefit_without_metric": "Benefit without a metric",
    "wide_range_high_confidence": "Wide range, high confidence",
    "no_quantified_benefits": "No benefit in money",
    "no_time_invested": "No time counted",
    "risk_without_mitigation_or_owner": "Risk without mitigation or owner",
    "no_risk_of_not_acting": "No risk of not acting",
    "no_payback_expected": "No payback",
    "return_too_good": "Return too good to believe",
    "not_co_created": "Not co-created",
}


@dataclass(frozen=True)
class HealthIssue:
    code: str
    message: str
    stage: Stage | None = None

    @property
    def label(self) -> str:
        """The check's name in plain words, never its code (every check has
        one: tests/cases/test_health.py sees to it)."""
        return LABELS.get(self.code, "Weak spot")

    def url(self, case: Case) -> str | None:
        if self.stage is None:
            return None
        return reverse("cases:stage", args=[case.pk, self.stage.slug])

    def as_dict(self, case: Case) -> dict:
        return {
            "code": self.code,
            "message": self.message,
            "stage": self.stage.slug if self.stage else None,
            "url": self.url(case),
        }


def _names(items, limit: int = 3) -> str:
    names = [f"“{item}”" for item in items]
    if len(names) > limit:
        return ", ".join(names[:limit]) + f" and {len(names) - limit} more"
    return ", ".join(names)


def check(case: Case, figures: Figures) -> list[HealthIssue]:
    counts = stage_counts(case)
    issues: list[HealthIssue] = []
    issues += _empty_stages(counts)
    issues += _lopsided_change(case)
    issues += _ecosystem(case, counts)
    issues += _metrics(case)
    issues += _benefits(case, figures)
    issues += _investments(counts, figures)
    issues += _risks(case, counts)
    if figures.has_investment and figures.payback_year["expected"] is None:
        issues.append(
            HealthIssue(
                "no_payback_expected",
                f"The expected scenario does not pay back within the "
                f"{case.horizon_years}-year horizon.",
                BY_KEY["benefits"],
            )
        )
    expected_roi = figures.roi.get("expected")
    if expected_roi is not None and expected_roi > ROI_PLAUSIBLE_MAX:
        issues.append(
            HealthIssue(
                "return_too_good",
                f"The expected benefits are over {ROI_PLAUSIBLE_MAX + 1:.0f} times "
                "the investment (ROI over 1,000 %): a sceptical reader will ask "
                "what is not counted, such as people's time, running costs or "
                "the client's own spend.",
                BY_KEY["investments"],
            )
        )
    issues += _co_creation(case)
    return issues


def _empty_stages(counts: dict[str, int]) -> list[HealthIssue]:
    # Stage 9 has its own, more telling rule (no risk of not acting).
    return [
        HealthIssue("empty_stage", f"Stage {s.number}, {s.title}, is empty.", s)
        for s in STAGES
        if not counts[s.key] and s.key != "risks_of_not_acting"
    ]


def _lopsided_change(case: Case) -> list[HealthIssue]:
    legs = list(ChangeItem.objects.filter(case=case).values_list("leg", flat=True))
    if not legs:
        return []
    stage = BY_KEY["changes"]
    if len(set(legs)) == 1:
        leg = Leg(legs[0]).label.lower()
        return [
            HealthIssue(
                "change_on_one_leg",
                f"Every change is about {leg}: a change stands on people, process "
                "and technology.",
                stage,
            )
        ]
    technology = Decimal(legs.count(Leg.TECHNOLOGY)) / len(legs)
    if technology > TECHNOLOGY_SHARE_MAX:
        return [
            HealthIssue(
                "technology_heavy",
                f"{technology:.0%} of the changes are technology: technology is a "
                "lever, not the change.",
                stage,
            )
        ]
    return []


def _ecosystem(case: Case, counts: dict[str, int]) -> list[HealthIssue]:
    if not counts["ecosystem"]:
        return []
    stage = BY_KEY["ecosystem"]
    parties = list(
        EcosystemParty.objects.filter(case=case).select_related("organisation")
    )
    issues = []
    if all(p.organisation.is_business_unit for p in parties):
        issues.append(
            HealthIssue(
                "no_external_company",
                "No external company takes part: not even the seller is in the ecosystem.",
                stage,
            )
        )
    for commitment, wording in (
        (Commitment.TO_CONFIRM, "still to confirm their commitment"),
        (Commitment.DECLINED, "declined to take part"),
    ):
        named = [p.organisation.name for p in parties if p.commitment == commitment]
        if named:
            issues.append(
                HealthIssue(
                    f"party_{commitment}",
                    f"{len(named)} part{'y has' if len(named) == 1 else 'ies have'} "
                    f"{wording}: {_names(named)}.",
                    stage,
                )
            )
    return issues


def _metrics(case: Case) -> list[HealthIssue]:
    issues = []
    for model, key in (
        (LeadingMetric, "leading_metrics"),
        (LaggingMetric, "lagging_metrics"),
    ):
        for metric in model.objects.filter(case=case).only(
            "name", "baseline", "target", "owner"
        ):
            missing = [
                label
                for label, value in (
                    ("baseline", metric.baseline),
                    ("target", metric.target),
                    ("owner", metric.owner),
                )
                if value is None or (isinstance(value, str) and not value.strip())
            ]
            if missing:
                issues.append(
                    HealthIssue(
                        "metric_incomplete",
                        f"The metric “{metric.name}” has no {', no '.join(missing)}.",
                        BY_KEY[key],
                    )
                )
    undriven = LaggingMetric.objects.filter(case=case, driven_by__isnull=True).order_by(
        "position", "id"
    )
    for metric in undriven:
        issues.append(
            HealthIssue(
                "lagging_without_leading",
                f"No leading metric drives “{metric.name}”: nothing would show early "
                "whether it will move.",
                BY_KEY["leading_metrics"],
            )
        )
    return issues


def _benefits(case: Case, figures: Figures) -> list[HealthIssue]:
    stage = BY_KEY["benefits"]
    benefits = list(Benefit.objects.filter(case=case).prefetch_related("yearly"))
    issues = [
        HealthIssue(
            "benefit_without_metric",
            f"The benefit “{b.title}” is tied to no lagging metric: nothing would prove it.",
            stage,
        )
        for b in benefits
        if b.metric_id is None
    ]
    for b in benefits:
        totals = b.totals
        if (
            b.confidence == Confidence.HIGH
            and totals
            and totals["high"] > 2 * totals["low"]
        ):
            issues.append(
                HealthIssue(
                    "wide_range_high_confidence",
                    f"“{b.title}” is marked high confidence, yet its high is more than "
                    "twice its low.",
                    stage,
                )
            )
    if benefits and not figures.has_benefits:
        issues.append(
            HealthIssue(
                "no_quantified_benefits",
                "No benefit is counted in money: there is no break-even or ROI to show.",
                stage,
            )
        )
    return issues


def _investments(counts: dict[str, int], figures: Figures) -> list[HealthIssue]:
    if not counts["investments"]:
        return []
    if figures.time_by_party:  # some time is counted, by someone
        return []
    return [
        HealthIssue(
            "no_time_invested",
            "The investments count no one's time: people's time is part of the cost.",
            BY_KEY["investments"],
        )
    ]


def _risks(case: Case, counts: dict[str, int]) -> list[HealthIssue]:
    issues = []
    loose = [
        r.title
        for r in RiskOfActing.objects.filter(case=case).only(
            "title", "mitigation", "owner"
        )
        if not r.mitigation.strip() or not r.owner.strip()
    ]
    if loose:
        issues.append(
            HealthIssue(
                "risk_without_mitigation_or_owner",
                f"{len(loose)} risk{'' if len(loose) == 1 else 's'} of acting "
                f"{'has' if len(loose) == 1 else 'have'} no mitigation or no owner: "
                f"{_names(loose)}.",
                BY_KEY["risks_of_acting"],
            )
        )
    if not counts["risks_of_not_acting"]:
        issues.append(
            HealthIssue(
                "no_risk_of_not_acting",
                "No risk of not acting is recorded: what does doing nothing cost?",
                BY_KEY["risks_of_not_acting"],
            )
        )
    return issues


def client_share(case: Case) -> Decimal | None:
    """The share of the case's items written by client-side members, or None
    while no item records its author. One query for all nine stages."""
    client_members = Membership.objects.filter(case=case, side=Side.CLIENT).values(
        "user_id"
    )
    annotations = {}
    for stage in STAGES:
        items = stage.model.objects.filter(created_by__isnull=False)
        annotations[f"a_{stage.key}"] = counted(items)
        annotations[f"c_{stage.key}"] = counted(
            items.filter(created_by__in=client_members)
        )
    row = (
        Case.objects.filter(pk=case.pk)
        .annotate(**annotations)
        .values(*annotations)
        .get()
    )
    authored = sum(row[f"a_{s.key}"] for s in STAGES)
    if not authored:
        return None
    return Decimal(sum(row[f"c_{s.key}"] for s in STAGES)) / authored


def _co_creation(case: Case) -> list[HealthIssue]:
    share = client_share(case)
    if share is None or share >= CLIENT_SHARE_MIN:
        return []
    return [
        HealthIssue(
            "not_co_created",
            f"The client side wrote {share:.0%} of the items: under a fifth, this case "
            "is not yet co-created.",
            None,
        )
    ]
