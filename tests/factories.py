"""factory-boy factories for the case and its items."""

from datetime import date, timedelta
from decimal import Decimal

import factory
from django.contrib.auth import get_user_model

from cases.models import (
    Benefit,
    BenefitYear,
    Case,
    ChangeItem,
    EcosystemParty,
    InactionCost,
    Investment,
    LaggingMetric,
    LeadingMetric,
    Membership,
    ModelChange,
    RiskOfActing,
    RiskOfNotActing,
    StageRecord,
)
from cases.stages import STAGES
from ecosystem.models import Organisation, OrganisationKind

PASSWORD = "correct-horse-battery-staple"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.com")
    first_name = factory.Faker("first_name")
    last_name = factory.Faker("last_name")
    password = factory.PostGenerationMethodCall("set_password", PASSWORD)

    @factory.post_generation
    def _save(obj, create, extracted, **kwargs):
        if create:
            obj.save()


class OrganisationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Organisation

    name = factory.Sequence(lambda n: f"Company {n}")
    kind = OrganisationKind.PARTNER


class ClientFactory(OrganisationFactory):
    name = factory.Sequence(lambda n: f"Client {n}")
    kind = OrganisationKind.CLIENT


class SellerFactory(OrganisationFactory):
    name = factory.Sequence(lambda n: f"Seller {n}")
    kind = OrganisationKind.SELLER


class BusinessUnitFactory(OrganisationFactory):
    name = factory.Sequence(lambda n: f"Unit {n}")
    kind = OrganisationKind.BUSINESS_UNIT
    parent = factory.SubFactory(ClientFactory)


class CaseFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Case
        skip_postgeneration_save = True

    title = factory.Sequence(lambda n: f"Case {n}")
    idea = "Ship from the hub straight to building sites."
    client = factory.SubFactory(ClientFactory)
    seller = factory.SubFactory(SellerFactory)
    currency = "EUR"
    horizon_years = 5
    discount_rate = Decimal("0.08")

    @factory.post_generation
    def stage_records(obj, create, extracted, **kwargs):
        if create:
            StageRecord.objects.bulk_create(
                StageRecord(case=obj, stage=s.slug) for s in STAGES
            )


class MembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Membership

    case = factory.SubFactory(CaseFactory)
    user = factory.SubFactory(UserFactory)
    side = "seller"
    role = "facilitator"


class ItemFactory(factory.django.DjangoModelFactory):
    case = factory.SubFactory(CaseFactory)
    position = factory.Sequence(lambda n: n)


class ModelChangeFactory(ItemFactory):
    class Meta:
        model = ModelChange

    model = "operating"
    today = "Regional warehouses deliver in two steps."
    future = "The hub delivers straight to site."
    rationale = "Two steps cost a day and a truck."


class ChangeItemFactory(ItemFactory):
    class Meta:
        model = ChangeItem

    leg = "process"
    title = factory.Sequence(lambda n: f"Change {n}")
    description = "Plan routes per site, not per branch."
    owner = "Head of Logistics"


class EcosystemPartyFactory(ItemFactory):
    class Meta:
        model = EcosystemParty

    organisation = factory.SubFactory(OrganisationFactory)
    role = "Carrier"
    responsibilities = "Last-mile delivery"
    commitment = "committed"


class LaggingMetricFactory(ItemFactory):
    class Meta:
        model = LaggingMetric

    name = factory.Sequence(lambda n: f"Lagging {n}")
    unit = "EUR"
    baseline = Decimal("41.50")
    target = Decimal("33.00")
    target_date = factory.LazyFunction(lambda: date.today() + timedelta(days=700))
    owner = "CFO"
    frequency = "quarterly"
    source = "Finance"


class LeadingMetricFactory(LaggingMetricFactory):
    class Meta:
        model = LeadingMetric

    name = factory.Sequence(lambda n: f"Leading {n}")
    unit = "%"
    baseline = Decimal("0")
    target = Decimal("60")


class BenefitFactory(ItemFactory):
    class Meta:
        model = Benefit

    title = factory.Sequence(lambda n: f"Benefit {n}")
    category = "cost"
    confidence = "medium"
    owner = "CFO"


class BenefitYearFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = BenefitYear

    benefit = factory.SubFactory(BenefitFactory)
    year = 1
    low = Decimal("100000")
    expected = Decimal("150000")
    high = Decimal("200000")


class InvestmentFactory(ItemFactory):
    class Meta:
        model = Investment

    title = factory.Sequence(lambda n: f"Investment {n}")
    kind = "opex"
    organisation = factory.LazyAttribute(lambda o: o.case.client)
    year = 1
    amount = Decimal("90000")


class RiskOfActingFactory(ItemFactory):
    class Meta:
        model = RiskOfActing

    title = factory.Sequence(lambda n: f"Risk {n}")
    leg = "people"
    likelihood = 3
    impact = 4
    mitigation = "Train early."
    owner = "HR"


class RiskOfNotActingFactory(ItemFactory):
    class Meta:
        model = RiskOfNotActing

    title = factory.Sequence(lambda n: f"Inaction {n}")
    likelihood = 4
    impact = 5
    description = "A competitor gets there first."


class InactionCostFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = InactionCost

    risk = factory.SubFactory(RiskOfNotActingFactory)
    year = 2
    amount = Decimal("300000")
