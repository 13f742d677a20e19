"""The registry of the nine stages: the one place that says what a stage is.

Navigation, URLs, progress, the stage pages, live updates, import/export and
the PDF all read `STAGES`; adding a stage field or a stage question is a change
here (and in the item's model and form), nowhere else.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from django.core.exceptions import ImproperlyConfigured
from django.db.models import (
    Aggregate,
    Count,
    Max,
    OuterRef,
    QuerySet,
    Subquery,
    Value,
)
from django.db.models.functions import Coalesce
from django.http import Http404

from . import charts, forms
from .models import (
    Benefit,
    BenefitYear,
    Case,
    ChangeItem,
    EcosystemParty,
    InactionCost,
    Investment,
    LaggingMetric,
    LeadingMetric,
    ModelChange,
    RiskOfActing,
    RiskOfNotActing,
    StageItem,
)


@dataclass(frozen=True)
class Stage:
    number: int
    slug: str  # in URLs: /cases/7/stages/leading-metrics/
    key: str  # in the case file: stages.leading_metrics
    title: str
    short_title: str
    icon: str  # a Bootstrap Icons name
    model: type[StageItem]
    form: type[forms.ItemForm]
    guide: str
    questions: tuple[str, ...]
    item_noun: str
    select_related: tuple[str, ...] = ()
    prefetch_related: tuple[str, ...] = ()
    ordering: tuple[str, ...] = ("position", "id")
    columns: tuple[str, ...] = field(default=())
    # The other stages (by key) whose items this stage's cards show: a benefit
    # names the lagging metric that proves it. A change there is a change here
    # for the pages that have this stage open (cases/live.py).
    shows_from: tuple[str, ...] = ()
    # The other stages (by key) whose items its add form offers as choices, not
    # already in `shows_from`: an investment's party comes from the ecosystem.
    # A change there refreshes the form on the pages that have this stage open.
    picks_from: tuple[str, ...] = ()
    # A picture of the stage's items, drawn by cases/charts.py from the case and
    # its items, that the stage page, the presenter view and the PDF show above
    # the items; `picture_alt` says what it shows, for screen readers.
    picture: Callable[[Case, Sequence[StageItem]], str] | None = None
    picture_alt: str = ""

    def __str__(self) -> str:
        return f"{self.number}. {self.title}"

    @property
    def a_noun(self) -> str:
        """The item noun with its article: "a risk", "an investment"."""
        article = "an" if self.item_noun[0] in "aeiou" else "a"
        return f"{article} {self.item_noun}"

    @property
    def plural(self) -> str:
        """What the stage's items are called, plural ("leading metrics")."""
        return str(self.model._meta.verbose_name_plural)

    def draw_picture(self, case: Case, items: Sequence[StageItem]) -> str | None:
        """The stage's picture of these items as SVG, or None when the stage
        has no picture or no items yet."""
        return self.picture(case, items) if self.picture and items else None

    @property
    def watched_stages(self) -> tuple[Stage, ...]:
        """The other stages whose changes are changes of this stage's page: those
        its cards show (`shows_from`) and those its add form picks from."""
        keys = dict.fromkeys((*self.shows_from, *self.picks_from))
        return tuple(BY_KEY[key] for key in keys)

    @property
    def template(self) -> str:
        """The template that shows one item of this stage."""
        return f"cases/items/{self.key}.html"

    @property
    def pdf_template(self) -> str:
        """The template of the stage's table in the executive PDF."""
        return f"cases/pdf/stages/{self.key}.html"

    def items(self, case: Case) -> QuerySet:
        """The stage's items for a case, with everything the page shows, in a
        fixed number of queries whatever the number of items."""
        return (
            self.model.objects.filter(case=case)
            .select_related("created_by", "updated_by", *self.select_related)
            .prefetch_related(*self.prefetch_related)
            .order_by(*self.ordering)
        )

    def count_subquery(self) -> Coalesce:
        return counted(self.model.objects.all())

    @property
    def count_name(self) -> str:
        return f"n_{self.key}"


def of_case(rows: QuerySet, aggregate: Aggregate) -> Subquery:
    """`aggregate` over the case's rows in `rows` (anything with a `case_id`:
    items, their history, comments...), as a scalar subquery of a case queryset:
    one value per case, NULL when the case has no such rows."""
    return Subquery(
        rows.filter(case_id=OuterRef("pk"))
        .order_by()
        .values("case_id")
        .annotate(value=aggregate)
        .values("value")
    )


def counted(rows: QuerySet) -> Coalesce:
    """How many of the case's rows `rows` holds, 0 for none (see `of_case`)."""
    return Coalesce(of_case(rows, Count("pk")), Value(0))


STAGES: tuple[Stage, ...] = (
    Stage(
        number=1,
        slug="models",
        key="models",
        title="Models to change",
        short_title="Models",
        icon="diagram-3",
        model=ModelChange,
        form=forms.ModelChangeForm,
        item_noun="model",
        guide=(
            "Which of your six models does this idea change: business, talent, "
            "customer experience, economic, risk, operating? For each one, describe "
            "how it works today, how it should work, and why it has to change."
        ),
        questions=(
            "If we did this, what would our customers notice first?",
            "Which of our ways of making money, hiring or managing risk would no "
            "longer fit?",
            "What would we have to stop doing, not just start doing?",
            "Which model are we tempted to leave alone, and what would that cost us?",
        ),
    ),
    Stage(
        number=2,
        slug="changes",
        key="changes",
        title="People, process, technology",
        short_title="People, process, tech",
        icon="people",
        model=ChangeItem,
        form=forms.ChangeItemForm,
        item_noun="change",
        guide=(
            "The three legs of the stool: what changes in people's behaviour and "
            "skills, in the way work flows, and in the platforms. Each change stands "
            "on one leg. Technology is a lever, not the change: a list of technology "
            "items alone is a lopsided case."
        ),
        questions=(
            "Whose daily work changes, and what will they need to learn or unlearn?",
            "Which hand-offs, approvals or routines disappear, and which are new?",
            "What would still have to change if the technology were free and ready "
            "tomorrow?",
            "Who owns each change on our side?",
        ),
    ),
    Stage(
        number=3,
        slug="ecosystem",
        key="ecosystem",
        title="Ecosystem",
        short_title="Ecosystem",
        icon="diagram-2",
        model=EcosystemParty,
        form=forms.EcosystemPartyForm,
        item_noun="party",
        select_related=("organisation", "organisation__parent"),
        picture=lambda case, parties: charts.ecosystem_picture(
            case.client.name, parties
        ),
        picture_alt="The ecosystem: the client in the middle, its business units on "
        "the inner ring, the external companies outside, coloured by commitment",
        guide=(
            "Everyone who must take part: your own business units and the external "
            "companies (existing partners and suppliers, the seller, other vendors). "
            "For each, its role, what it is responsible for, and how firmly it is "
            "committed."
        ),
        questions=(
            "Which of our units would have to change how they work for this to "
            "succeed?",
            "Which suppliers or partners would notice the change, and would they "
            "gain or lose?",
            "Who could block this if they were left out?",
            "Whose commitment do we assume but have not yet asked for?",
        ),
    ),
    Stage(
        number=4,
        slug="leading-metrics",
        key="leading_metrics",
        title="Leading metrics",
        short_title="Leading metrics",
        icon="speedometer2",
        model=LeadingMetric,
        form=forms.LeadingMetricForm,
        item_noun="leading metric",
        prefetch_related=("drives",),
        shows_from=("lagging_metrics",),  # the lagging metrics each one drives
        guide=(
            "Early signals that the change is working (adoption, activity, cycle "
            "time), long before the results show: a baseline, a target, by when, an "
            "owner, and how often and from where it is measured."
        ),
        questions=(
            "What would we see in the first 90 days if this were working?",
            "Which behaviour has to change first, and how would we know it did?",
            "Can we measure it today? If not, what must we set up?",
            "Which lagging result does each signal move?",
        ),
    ),
    Stage(
        number=5,
        slug="lagging-metrics",
        key="lagging_metrics",
        title="Lagging metrics",
        short_title="Lagging metrics",
        icon="graph-up-arrow",
        model=LaggingMetric,
        form=forms.LaggingMetricForm,
        item_noun="lagging metric",
        prefetch_related=("driven_by",),
        shows_from=("leading_metrics",),  # the leading metrics driving each one
        guide=(
            "The outcomes that prove the change afterwards: revenue, cost, churn, "
            "satisfaction. A baseline, a target, by when, an owner and the source of "
            "the figure. Leading metrics drive these."
        ),
        questions=(
            "Which result would convince our board this was worth it?",
            "What is the figure today, and who keeps it?",
            "How long after the change can the result honestly show?",
            "What else could move this figure, so we do not claim credit we did not "
            "earn?",
        ),
    ),
    Stage(
        number=6,
        slug="benefits",
        key="benefits",
        title="Benefits and outcomes",
        short_title="Benefits",
        icon="piggy-bank",
        model=Benefit,
        form=forms.BenefitForm,
        item_noun="benefit",
        select_related=("metric",),
        prefetch_related=("yearly",),
        shows_from=("lagging_metrics",),  # the lagging metric proving each one
        guide=(
            "What you expect to gain, as an honest range (low, expected, high) per "
            "year where it can be counted, in words where it cannot. Each benefit is "
            "tied to the lagging metric that will prove it, with an owner and a "
            "confidence."
        ),
        questions=(
            "What is the least we would gain if things went badly, and do we still "
            "want it?",
            "Which benefit do we believe least, and why?",
            "Who in our organisation would sign for each figure?",
            "Which benefits matter even though we cannot put a number on them?",
        ),
    ),
    Stage(
        number=7,
        slug="investments",
        key="investments",
        title="Investments",
        short_title="Investments",
        icon="cash-stack",
        model=Investment,
        form=forms.InvestmentForm,
        item_noun="investment",
        select_related=("organisation", "organisation__parent"),
        ordering=("year", "position", "id"),
        picks_from=("ecosystem",),  # who invests: the case's parties
        guide=(
            "Not only cash: capital and operating spend, people's time in "
            "person-days, and other resources. Who invests (you, the seller, a "
            "partner) and when."
        ),
        questions=(
            "Whose time will this take, and what will they stop doing to make room?",
            "What do we spend after go-live, year after year?",
            "What do partners and suppliers have to invest, and will they?",
            "What have we left out because it felt awkward to count?",
        ),
    ),
    Stage(
        number=8,
        slug="risks-of-acting",
        key="risks_of_acting",
        title="Risk of acting",
        short_title="Risk of acting",
        icon="exclamation-triangle",
        model=RiskOfActing,
        form=forms.RiskOfActingForm,
        item_noun="risk",
        guide=(
            "What could go wrong in doing it, on each leg of the stool (people, "
            "process, technology): likelihood and impact from 1 to 5, how to reduce "
            "it, and who owns it."
        ),
        questions=(
            "What went wrong the last time we tried a change like this?",
            "Which leg of the stool are we least ready on?",
            "What would make our people resist, and what would win them over?",
            "What is the earliest sign that a risk is coming true?",
        ),
    ),
    Stage(
        number=9,
        slug="risks-of-not-acting",
        key="risks_of_not_acting",
        title="Risk of not acting",
        short_title="Risk of not acting",
        icon="hourglass-split",
        model=RiskOfNotActing,
        form=forms.RiskOfNotActingForm,
        item_noun="risk",
        prefetch_related=("yearly_cost",),
        guide=(
            "What happens if you do nothing: competition, cost, regulation, talent, "
            "customers. Likelihood and impact from 1 to 5, and the cost of inaction "
            "per year where it can be estimated."
        ),
        questions=(
            "Where will we be in three years if we change nothing?",
            "What are competitors or new entrants already doing about this?",
            "Which customers or people could we lose by waiting?",
            "Is there a deadline (a regulation, a contract, a market shift) that "
            "makes waiting expensive?",
        ),
    ),
)

BY_SLUG: dict[str, Stage] = {stage.slug: stage for stage in STAGES}
BY_KEY: dict[str, Stage] = {stage.key: stage for stage in STAGES}
BY_MODEL: dict[type[StageItem], Stage] = {stage.model: stage for stage in STAGES}

for _stage in STAGES:
    for _name in ("shows_from", "picks_from"):
        if not set(getattr(_stage, _name)) <= BY_KEY.keys() - {_stage.key}:
            raise ImproperlyConfigured(
                f"Stage {_stage.key!r}: {_name} names {getattr(_stage, _name)}; "
                "give the keys of other stages."
            )


def get_stage(slug: str) -> Stage:
    try:
        return BY_SLUG[slug]
    except KeyError:
        raise Http404("No such stage.") from None


def with_item_counts(queryset: QuerySet[Case]) -> QuerySet[Case]:
    """Annotate each case with its item count per stage (n_models, n_changes, ...)
    in the same query, so a dashboard of many cases costs one query."""
    return queryset.annotate(
        **{stage.count_name: stage.count_subquery() for stage in STAGES}
    )


def stage_counts(case: Case) -> dict[str, int]:
    """Item count per stage key, read from the annotation when it is there."""
    names = [stage.count_name for stage in STAGES]
    if not hasattr(case, names[0]):
        # Counted once per request: kept on the case for the next caller.
        row = with_item_counts(Case.objects.filter(pk=case.pk)).values(*names).get()
        for name, count in row.items():
            setattr(case, name, count)
    return {stage.key: getattr(case, stage.count_name) for stage in STAGES}


def latest_year_in_use(case: Case) -> int | None:
    """The latest year any item of the case uses, or None when none does."""
    years = [
        Investment.objects.filter(case=case).aggregate(m=Max("year"))["m"],
        BenefitYear.objects.filter(benefit__case=case).aggregate(m=Max("year"))["m"],
        InactionCost.objects.filter(risk__case=case).aggregate(m=Max("year"))["m"],
    ]
    years = [y for y in years if y is not None]
    return max(years) if years else None
