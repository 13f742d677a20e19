"""The demo case: a believable nine-stage business case, built through the
services exactly as people would build it in the browser.

Direct-to-site delivery at a building-supplies distributor: Harbour Building
Supplies (the client) and Northwind Logistics Software (the seller), with eight
of Harbour's business units and seven external companies (the seller and six
partners). Anna (seller) and Maria (client) write it together; David (the
client's CFO) reads.

The content is plain data below; `load_demo()` walks it. Dates are relative to
today so the demo never goes stale; money is in EUR over a five-year horizon.
In the expected scenario the case pays back in year 2; in the low scenario it
only pays back in year 5 and its discounted value is about nil: worth doing, not
a sure thing.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import Any, TextIO

from django.contrib.auth import get_user_model
from django.db import transaction

from ecosystem.models import Organisation, OrganisationKind

from . import services
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
    Role,
    Side,
    StageItem,
)
from .stages import BY_KEY

DEMO_MARKER = "demo"  # Case.extra = {"demo": True} marks the demo case
PASSWORD = "demo-pass-2026"  # noqa: S105 - a published demo password, by design

CASE = {
    "title": "Direct-to-site delivery for regional distribution",
    "idea": (
        "Ship large trade orders from the central hub straight to building sites, "
        "in a booked time slot, instead of trunking them to one of twelve regional "
        "branches and re-delivering from there. Branches keep the trade counter and "
        "small local orders; one central planning team plans site deliveries for "
        "the whole region, with FastFreight taking the far regions and peaks."
    ),
    "client": "Harbour Building Supplies",
    "seller": "Northwind Logistics Software",
    "currency": "EUR",
    "horizon_years": 5,
    "discount_rate": Decimal("0.08"),
}

# key: (email, first name, last name, side, role, what they are)
USERS: dict[str, tuple[str, str, str, str, str, str]] = {
    "anna": (
        "anna.berg@northwind.example",
        "Anna",
        "Berg",
        Side.SELLER,
        Role.FACILITATOR,
        "Account lead, Northwind",
    ),
    "maria": (
        "maria.lopez@harbour.example",
        "Maria",
        "Lopez",
        Side.CLIENT,
        Role.CONTRIBUTOR,
        "Head of Logistics, Harbour",
    ),
    "david": (
        "david.chen@harbour.example",
        "David",
        "Chen",
        Side.CLIENT,
        Role.VIEWER,
        "CFO, Harbour",
    ),
}

# ref: (name, kind). Business units belong to the client; "client" and
# "seller" are the case's own client and seller.
ORGANISATIONS: dict[str, tuple[str, str]] = {
    "ops": ("Regional Operations", OrganisationKind.BUSINESS_UNIT),
    "hub": ("Central Hub Warehouse", OrganisationKind.BUSINESS_UNIT),
    "fleet": ("Transport & Fleet", OrganisationKind.BUSINESS_UNIT),
    "counter": ("Sales – Trade Counter", OrganisationKind.BUSINESS_UNIT),
    "keyacc": ("Key Accounts", OrganisationKind.BUSINESS_UNIT),
    "finance": ("Finance", OrganisationKind.BUSINESS_UNIT),
    "it": ("IT", OrganisationKind.BUSINESS_UNIT),
    "hr": ("HR & Training", OrganisationKind.BUSINESS_UNIT),
    "fastfreight": ("FastFreight Ltd", OrganisationKind.PARTNER),
    "trackline": ("TrackLine Telematics", OrganisationKind.PARTNER),
    "castlerock": ("Castlerock Cement & Aggregates", OrganisationKind.PARTNER),
    "liftmaster": ("Liftmaster Crane Hire", OrganisationKind.PARTNER),
    "brightbridge": ("BrightBridge Systems Integration", OrganisationKind.PARTNER),
    "federation": ("Builders' Merchants Federation", OrganisationKind.PARTNER),
}

# --- Stage 1: models to change -------------------------------------------------

MODELS: list[dict[str, Any]] = [
    {
        "by": "maria",
        "model": "operating",
        "today": (
            "Every order goes hub -> regional branch (overnight trunk) -> site (branch "
            "van or flatbed). Twelve branches each plan their own deliveries on a "
            "whiteboard and a spreadsheet; pallets are handled four times."
        ),
        "future": (
            "Orders above a pallet or EUR 1,500 within 120 km are picked at the hub and "
            "delivered straight to site from one central planning desk. Branches keep "
            "the trade counter, small orders and same-day top-ups."
        ),
        "rationale": (
            "Double handling costs us about EUR 6 an order and a day of lead time. "
            "Contractors now plan pours and lifts to the hour; a next-day-from-branch "
            "promise no longer fits how sites work."
        ),
    },
    {
        "by": "anna",
        "model": "customer_experience",
        "today": (
            "Customers get 'tomorrow, AM or PM' and phone the branch to chase. About "
            "one delivery in eight arrives at a site that is not ready (no access, no "
            "one to sign, no space to unload)."
        ),
        "future": (
            "The customer books a two-hour slot when ordering, gets a site-readiness "
            "check the day before, live arrival tracking and a photo proof of delivery."
        ),
        "rationale": (
            "Key accounts told us in the last review that reliability of the slot "
            "matters more than price of the delivery. Our largest competitor already "
            "offers slots in two of our regions."
        ),
    },
    {
        "by": "maria",
        "model": "economic",
        "today": (
            "Delivery is free above EUR 250 and costs are absorbed in branch margins, "
            "so nobody sees what an order costs to serve."
        ),
        "future": (
            "Cost to serve is measured per order and per customer. Standard delivery "
            "stays free above the threshold; booked slots, early-morning drops and "
            "crane offloads are priced."
        ),
        "rationale": (
            "Without a cost-to-serve view we cannot price slots honestly or tell which "
            "accounts we serve at a loss."
        ),
    },
    {
        "by": "maria",
        "model": "talent",
        "today": (
            "Drivers are attached to a branch and to 'their' customers; planning skill "
            "sits with twelve branch dispatchers, three of whom retire within two years."
        ),
        "future": (
            "A central team of five planners; drivers trained as site-delivery "
            "specialists (site safety, offloading, customer handover) with a skills "
            "allowance."
        ),
        "rationale": (
            "We cannot recruit twelve experienced dispatchers, and the new model asks "
            "drivers to do more on site than drop and go."
        ),
    },
]

# --- Stage 2: people, process, technology --------------------------------------

CHANGES: list[dict[str, Any]] = [
    {
        "by": "maria",
        "leg": "people",
        "title": "Drivers become site-delivery specialists",
        "description": (
            "Site safety passport, safe offloading, customer handover and photo proof "
            "of delivery. A skills allowance for drivers who complete it; senior "
            "drivers coach new ones on their first site runs."
        ),
        "owner": "Transport & Fleet Manager",
    },
    {
        "by": "maria",
        "leg": "people",
        "title": "One central planning team replaces twelve branch dispatchers",
        "description": (
            "Five planners at the hub plan all site deliveries for the region. "
            "Branch dispatchers are offered planner roles or move to branch sales; "
            "nobody is made redundant because of this change."
        ),
        "owner": "Head of Logistics",
    },
    {
        "by": "anna",
        "leg": "people",
        "title": "Sales sell a slot, not 'tomorrow morning'",
        "description": (
            "Trade counter and key-account reps book the slot with the customer at "
            "order entry and explain priced options. Coaching and a simple script; "
            "slot conversion becomes part of the monthly sales review."
        ),
        "owner": "Commercial Director",
    },
    {
        "by": "maria",
        "leg": "people",
        "title": "Branch managers measured on the region, not the branch",
        "description": (
            "Branch bonuses move to regional sales and service level, so orders "
            "shipped direct from the hub count for the branch that won them."
        ),
        "owner": "Head of Regional Operations",
    },
    {
        "by": "anna",
        "leg": "process",
        "title": "Order-to-site routing rules at order entry",
        "description": (
            "Orders above one pallet or EUR 1,500 within 120 km of the hub are flagged "
            "direct-to-site when they are keyed in; the rest follow today's route. "
            "Rules reviewed monthly for the first six months."
        ),
        "owner": "Head of Logistics",
    },
    {
        "by": "maria",
        "leg": "process",
        "title": "Site-readiness check the day before",
        "description": (
            "Planners call or message the site contact 24 hours ahead: access, "
            "unloading space, someone to sign. Unready sites are re-slotted before "
            "the truck leaves, not after it arrives."
        ),
        "owner": "Central planning team lead",
    },
    {
        "by": "anna",
        "leg": "process",
        "title": "Failed-delivery handling and same-day rebooking",
        "description": (
            "A failed drop is logged with a photo and reason code; the customer is "
            "offered a new slot the same day. Reason codes reviewed weekly with sales."
        ),
        "owner": "Transport & Fleet Manager",
    },
    {
        "by": "maria",
        "leg": "process",
        "title": "Weekly capacity plan with FastFreight",
        "description": (
            "Far-region and peak-season loads go to FastFreight under a weekly "
            "capacity plan agreed every Thursday, instead of ad-hoc calls on the day."
        ),
        "owner": "Head of Logistics",
    },
    {
        "by": "anna",
        "leg": "technology",
        "title": "Routing and slot-booking platform linked to ERP and WMS",
        "description": (
            "Northwind's routing engine plans hub-to-site runs; slots are offered at "
            "order entry from live capacity; picks are released to the WMS by route."
        ),
        "owner": "IT Manager",
    },
    {
        "by": "anna",
        "leg": "technology",
        "title": "Telematics and electronic proof of delivery in every truck",
        "description": (
            "38 trucks get a telematics unit and a rugged handheld with offline "
            "photo POD, so customers see arrival times and planners see reality."
        ),
        "owner": "Transport & Fleet Manager",
    },
]

# --- Stage 3: ecosystem ------------------------------------------------------------

ECOSYSTEM: list[dict[str, Any]] = [
    {
        "by": "maria",
        "organisation": "ops",
        "role": "Owner of the change",
        "responsibilities": (
            "Sponsors the programme, decides the routing rules and the branch "
            "roll-out order, runs the pilot region."
        ),
        "commitment": "committed",
    },
    {
        "by": "maria",
        "organisation": "hub",
        "role": "Picks and loads direct-to-site orders",
        "responsibilities": (
            "Picks by route, stages loads in the new cross-dock lanes, runs an evening "
            "loading shift in peak season."
        ),
        "commitment": "committed",
    },
    {
        "by": "maria",
        "organisation": "fleet",
        "role": "Runs the site deliveries",
        "responsibilities": (
            "Drivers, trucks, telematics roll-out, driver training with HR, "
            "failed-delivery handling."
        ),
        "commitment": "committed",
    },
    {
        "by": "anna",
        "organisation": "counter",
        "role": "Books slots with walk-in and phone customers",
        "responsibilities": (
            "Offers slots at order entry, explains priced options, keeps same-day "
            "top-ups from the branch."
        ),
        "commitment": "likely",
    },
    {
        "by": "anna",
        "organisation": "keyacc",
        "role": "Agrees site delivery plans with large contractors",
        "responsibilities": (
            "One site delivery plan per key account: sites, contacts, access rules, "
            "standing slots."
        ),
        "commitment": "committed",
    },
    {
        "by": "maria",
        "organisation": "finance",
        "role": "Owns the cost-to-serve model and the benefit tracking",
        "responsibilities": (
            "Builds the cost-to-serve baseline, signs off the benefit figures each "
            "quarter, prices slot options with Sales."
        ),
        "commitment": "committed",
    },
    {
        "by": "anna",
        "organisation": "it",
        "role": "Integration owner on the client side",
        "responsibilities": (
            "ERP and WMS interfaces, handheld devices, user accounts; works with "
            "BrightBridge on the integration."
        ),
        "commitment": "likely",
    },
    {
        "by": "maria",
        "organisation": "hr",
        "role": "Training, roles and pay",
        "responsibilities": (
            "Driver skills programme and allowance, planner role profiles, "
            "consultation with employee representatives."
        ),
        "commitment": "to_confirm",
    },
    {
        "by": "anna",
        "organisation": "seller",
        "role": "Routing and slot-booking platform provider",
        "responsibilities": (
            "Platform, configuration, planner training, co-funded pilot in one region; "
            "joins the monthly benefit review for the first year."
        ),
        "commitment": "committed",
    },
    {
        "by": "maria",
        "organisation": "fastfreight",
        "role": "Overflow and far-region carrier",
        "responsibilities": (
            "Takes far-region and peak loads under the weekly capacity plan, uses our "
            "slot times and photo POD, equips two Hiab trucks for crane offloads for the "
            "roll-out to all regions."
        ),
        "commitment": "likely",
    },
    {
        "by": "anna",
        "organisation": "trackline",
        "role": "Telematics and handheld supplier",
        "responsibilities": (
            "Supplies and supports the in-cab units and handhelds, with an offline "
            "mode for rural sites."
        ),
        "commitment": "to_confirm",
    },
    {
        "by": "maria",
        "organisation": "castlerock",
        "role": "Cement and aggregates supplier",
        "responsibilities": (
            "Sends advance shipping notices so the hub can cross-dock bagged cement "
            "straight onto site loads."
        ),
        "commitment": "to_confirm",
    },
    {
        "by": "maria",
        "organisation": "liftmaster",
        "role": "Crane-hire for heavy offloads",
        "responsibilities": (
            "Was asked for standby crane capacity at fixed rates; declined. "
            "FastFreight's Hiab trucks cover most of the need instead."
        ),
        "commitment": "declined",
    },
    {
        "by": "anna",
        "organisation": "brightbridge",
        "role": "Systems integrator",
        "responsibilities": (
            "Builds and tests the ERP/WMS connectors at a fixed scope; reuses its "
            "connector for the same ERP elsewhere, so co-invests part of the build."
        ),
        "commitment": "committed",
    },
    {
        "by": "anna",
        "organisation": "federation",
        "role": "Benchmark and code of practice",
        "responsibilities": (
            "Shares members' cost-to-serve benchmarks and its site delivery code of "
            "practice; reviews our customer promise."
        ),
        "commitment": "likely",
    },
]

# --- Stage 5 and 4: lagging metrics (first, so leading ones can drive them) ------

LAGGING_METRICS: list[dict[str, Any]] = [
    {
        "by": "maria",
        "ref": "G1",
        "name": "Cost to serve per delivered order",
        "unit": "EUR",
        "baseline": "41.50",
        "target": "38.00",
        "target_in_days": 1095,
        "owner": "Finance Director",
        "frequency": "quarterly",
        "source": "Finance cost-to-serve model (ERP orders + fleet and hub costs)",
    },
    {
        "by": "maria",
        "ref": "G2",
        "name": "On-time-in-full site deliveries",
        "unit": "%",
        "baseline": "87",
        "target": "95",
        "target_in_days": 730,
        "owner": "Head of Logistics",
        "frequency": "monthly",
        "source": "Electronic proof of delivery matched to ERP order lines",
    },
    {
        "by": "anna",
        "ref": "G3",
        "name": "Delivery revenue (charges and priced slots)",
        "unit": "EUR a year",
        "baseline": "2100000",
        "target": "2650000",
        "target_in_days": 1095,
        "owner": "Commercial Director",
        "frequency": "quarterly",
        "source": "ERP sales ledger, delivery charge lines",
    },
    {
        "by": "anna",
        "ref": "G4",
        "name": "Key-account churn",
        "unit": "% of accounts a year",
        "baseline": "9",
        "target": "6",
        "target_in_days": 1095,
        "owner": "Head of Key Accounts",
        "frequency": "yearly",
        "source": "CRM account status at year end",
    },
]

LEADING_METRICS: list[dict[str, Any]] = [
    {
        "by": "maria",
        "name": "Eligible orders shipped direct from the hub",
        "unit": "%",
        "baseline": "0",
        "target": "60",
        "target_in_days": 540,
        "owner": "Head of Regional Operations",
        "frequency": "monthly",
        "source": "WMS shipment report",
        "drives": ["G1", "G2"],
    },
    {
        "by": "anna",
        "name": "Site deliveries booked into a slot at order entry",
        "unit": "%",
        "baseline": "5",
        "target": "80",
        "target_in_days": 365,
        "owner": "Trade Counter Sales Manager",
        "frequency": "weekly",
        "source": "Slot-booking platform",
        "drives": ["G2", "G3"],
    },
    {
        "by": "anna",
        "name": "Truck fill on planned routes",
        "unit": "% of payload",
        "baseline": "58",
        "target": "78",
        "target_in_days": 450,
        "owner": "Transport & Fleet Manager",
        "frequency": "weekly",
        "source": "Routing platform and telematics",
        "drives": ["G1"],
    },
    {
        "by": "maria",
        "name": "Drivers and planners signed off on the new playbook",
        "unit": "%",
        "baseline": "0",
        "target": "100",
        "target_in_days": 270,
        "owner": "HR & Training Lead",
        "frequency": "monthly",
        "source": "Training records",
        "drives": ["G1", "G2"],
    },
    {
        "by": "anna",
        "name": "Key accounts with an agreed site delivery plan",
        "unit": "accounts",
        "baseline": "0",
        "target": "40",
        "target_in_days": 365,
        "owner": "Head of Key Accounts",
        "frequency": "monthly",
        "source": "CRM",
        "drives": ["G3", "G4"],
    },
]

# --- Stage 6: benefits (EUR a year: year, low, expected, high) ---------------------

BENEFITS: list[dict[str, Any]] = [
    {
        "by": "maria",
        "title": "Lower cost to serve per delivered order",
        "category": "cost",
        "metric": "G1",
        "owner": "Finance Director",
        "confidence": "medium",
        "description": (
            "About 180,000 delivered orders a year; EUR 3.50 less per order at "
            "target. Lower stock at branches would add to this but is left out until "
            "the pilot shows it."
        ),
        "yearly": [
            (1, 0, 120_000, 200_000),
            (2, 150_000, 380_000, 520_000),
            (3, 240_000, 560_000, 760_000),
            (4, 260_000, 600_000, 820_000),
            (5, 260_000, 600_000, 820_000),
        ],
    },
    {
        "by": "anna",
        "title": "Fewer failed and repeat deliveries",
        "category": "cost",
        "metric": "G2",
        "owner": "Head of Logistics",
        "confidence": "medium",
        "description": (
            "Failed or repeat drops fall from 4.2 % to about 2 % of deliveries, at "
            "roughly EUR 55 each (truck time, re-handling, credit notes)."
        ),
        "yearly": [
            (1, 0, 30_000, 60_000),
            (2, 20_000, 90_000, 150_000),
            (3, 40_000, 130_000, 200_000),
            (4, 40_000, 150_000, 220_000),
            (5, 40_000, 150_000, 220_000),
        ],
    },
    {
        "by": "anna",
        "title": "Margin from priced slots and crane offloads",
        "category": "revenue",
        "metric": "G3",
        "owner": "Commercial Director",
        "confidence": "low",
        "description": (
            "Contribution margin only, not the revenue itself. Low because trade "
            "customers may refuse to pay for slots while competitors give them away."
        ),
        "yearly": [
            (1, 0, 20_000, 50_000),
            (2, 0, 90_000, 160_000),
            (3, 30_000, 160_000, 260_000),
            (4, 40_000, 190_000, 300_000),
            (5, 40_000, 200_000, 320_000),
        ],
    },
    {
        "by": "maria",
        "title": "Key accounts kept",
        "category": "customer",
        "metric": "G4",
        "owner": "Head of Key Accounts",
        "confidence": "low",
        "description": (
            "Gross margin of the key accounts we would otherwise lose: churn from 9 % "
            "to 6 % a year. Other things move churn too, so Finance counts half of "
            "the change."
        ),
        "yearly": [
            (1, 0, 0, 40_000),
            (2, 0, 50_000, 120_000),
            (3, 20_000, 100_000, 200_000),
            (4, 30_000, 120_000, 240_000),
            (5, 30_000, 120_000, 240_000),
        ],
    },
    {
        "by": "anna",
        "title": "The merchant contractors plan their sites around",
        "category": "strategic",
        "metric": None,
        "owner": "Managing Director",
        "confidence": "medium",
        "description": (
            "Not counted in money: a booked, tracked site delivery makes us part of "
            "the contractor's site plan, which opens national framework tenders that "
            "ask for slot delivery and emissions reporting, and gives us the data to "
            "price delivery honestly."
        ),
        "yearly": [],
    },
]

# --- Stage 7: investments (amount in EUR, or person-days x day rate) -------------

INVESTMENTS: list[dict[str, Any]] = [
    {
        "by": "anna",
        "title": "Platform set-up and ERP/WMS integration",
        "kind": "capex",
        "organisation": "it",
        "year": 0,
        "amount": 160_000,
    },
    {
        "by": "maria",
        "title": "Telematics and handhelds for 38 trucks",
        "kind": "capex",
        "organisation": "fleet",
        "year": 0,
        "amount": 68_000,
    },
    {
        "by": "maria",
        "title": "Hub cross-dock lanes and staging area",
        "kind": "capex",
        "organisation": "hub",
        "year": 0,
        "amount": 120_000,
    },
    {
        "by": "anna",
        "title": "Routing and slot-booking subscription, years 1-2 (paid at signature)",
        "kind": "opex",
        "organisation": "client",
        "year": 0,
        "amount": 192_000,
    },
    {
        "by": "maria",
        "title": "Process redesign workshops and site-delivery playbook",
        "kind": "time",
        "organisation": "ops",
        "year": 0,
        "person_days": 60,
        "day_rate": 650,
    },
    {
        "by": "anna",
        "title": "Co-funded pilot and solution design",
        "kind": "time",
        "organisation": "seller",
        "year": 0,
        "person_days": 45,
        "day_rate": 1_100,
    },
    {
        "by": "anna",
        "title": "Reusable ERP connector (integrator's share)",
        "kind": "time",
        "organisation": "brightbridge",
        "year": 0,
        "person_days": 30,
        "day_rate": 900,
    },
    {
        "by": "maria",
        "title": "Driver and planner training",
        "kind": "time",
        "organisation": "hr",
        "year": 1,
        "person_days": 180,
        "day_rate": 380,
    },
    {
        "by": "maria",
        "title": "Two Hiab trucks for crane offloads in all regions",
        "kind": "other",
        "organisation": "fastfreight",
        "year": 2,
        "amount": 40_000,
    },
    {
        "by": "maria",
        "title": "Subscription renewal for years 3 to 5 (three-year term)",
        "kind": "opex",
        "organisation": "client",
        "year": 3,
        "amount": 270_000,
    },
]

# --- Stage 8: risks of acting --------------------------------------------------------

RISKS_OF_ACTING: list[dict[str, Any]] = [
    {
        "by": "maria",
        "title": "Drivers resist new routes and losing 'their' customers",
        "leg": "people",
        "likelihood": 3,
        "impact": 4,
        "mitigation": (
            "Senior drivers help design the pilot routes; the top 30 accounts keep a "
            "named driver; skills allowance paid from the first completed module."
        ),
        "owner": "Transport & Fleet Manager",
    },
    {
        "by": "anna",
        "title": "Branch managers see direct orders as lost volume",
        "leg": "people",
        "likelihood": 4,
        "impact": 3,
        "mitigation": (
            "Bonus on regional sales before the pilot starts; branch managers review "
            "the routing rules monthly and can flag orders to keep local."
        ),
        "owner": "Head of Regional Operations",
    },
    {
        "by": "maria",
        "title": "More failed drops while sites learn the slot process",
        "leg": "process",
        "likelihood": 3,
        "impact": 3,
        "mitigation": (
            "Pilot in one region with ten key accounts first; readiness check the day "
            "before; weekly reason-code review with Sales."
        ),
        "owner": "Head of Logistics",
    },
    {
        "by": "anna",
        "title": "Hub becomes the bottleneck in the spring peak",
        "leg": "process",
        "likelihood": 3,
        "impact": 4,
        "mitigation": (
            "Go live after the spring peak; evening loading shift; FastFreight "
            "overflow agreed in the weekly capacity plan."
        ),
        "owner": "Hub Manager",
    },
    {
        "by": "anna",
        "title": "ERP/WMS integration late or unreliable",
        "leg": "technology",
        "likelihood": 2,
        "impact": 4,
        "mitigation": (
            "Fixed-scope integration with BrightBridge; interfaces tested on a copy of "
            "live data before the pilot; manual slot file as a fallback."
        ),
        "owner": "IT Manager",
    },
    {
        "by": "maria",
        "title": "No mobile signal on rural sites breaks proof of delivery",
        "leg": "technology",
        "likelihood": 3,
        "impact": 2,
        "mitigation": (
            "Handhelds with offline mode, synchronised at the next signal; paper POD "
            "kept in the cab for the first three months."
        ),
        "owner": "Transport & Fleet Manager",
    },
]

# --- Stage 9: risks of not acting (yearly cost: year, amount in EUR) ----------------

RISKS_OF_NOT_ACTING: list[dict[str, Any]] = [
    {
        "by": "maria",
        "title": "Competitor offers slotted direct-to-site delivery in all our regions",
        "likelihood": 4,
        "impact": 5,
        "description": (
            "A national merchant already offers two-hour slots in two of our regions. "
            "Cost: gross margin of the key accounts we expect to lose to them."
        ),
        "yearly_cost": [
            (1, 100_000),
            (2, 250_000),
            (3, 400_000),
            (4, 450_000),
            (5, 500_000),
        ],
    },
    {
        "by": "anna",
        "title": "Double handling grows with wages and fuel",
        "likelihood": 5,
        "impact": 3,
        "description": (
            "Trunking and re-delivering from branches costs more every year; the "
            "gap to a direct model widens with each wage round."
        ),
        "yearly_cost": [
            (1, 80_000),
            (2, 160_000),
            (3, 240_000),
            (4, 320_000),
            (5, 400_000),
        ],
    },
    {
        "by": "maria",
        "title": "Dispatchers retire and good drivers leave for carriers",
        "likelihood": 3,
        "impact": 3,
        "description": (
            "Three of twelve dispatchers retire within two years; carriers recruit our "
            "drivers with modern tools and predictable routes. Cost: agency cover and "
            "recruitment."
        ),
        "yearly_cost": [
            (1, 30_000),
            (2, 45_000),
            (3, 60_000),
            (4, 60_000),
            (5, 60_000),
        ],
    },
    {
        "by": "anna",
        "title": "Low-emission zones and customers' emissions reporting",
        "likelihood": 3,
        "impact": 4,
        "description": (
            "Two cities plan low-emission zones, and large contractors start asking "
            "suppliers for delivery emissions per site. Half-empty branch vans fare "
            "badly on both; tenders are lost from year 3."
        ),
        "yearly_cost": [(3, 50_000), (4, 120_000), (5, 150_000)],
    },
]

# --- Stage notes and sign-offs -----------------------------------------------------

STAGE_NOTES: dict[str, tuple[str, str]] = {
    "ecosystem": (
        "maria",
        "Liftmaster declined fixed-rate standby cranes; FastFreight is quoting two Hiab "
        "trucks instead. HR & Training's commitment waits on next year's training "
        "budget. TrackLine to confirm the offline mode before we sign.",
    ),
    "benefits": (
        "anna",
        "Figures from the second joint workshop. David (CFO) asked to keep branch "
        "stock reduction out of the numbers until the pilot region shows it, and to "
        "count only half of the churn improvement.",
    ),
    "risks_of_not_acting": (
        "maria",
        "The competitor's slot offer is already live in the North and Coast regions; "
        "Key Accounts lost two contractors to it last quarter.",
    ),
}

# Signed off by both sides, so agreed: Maria for the client, Anna for the seller.
AGREED_STAGES: tuple[str, ...] = ("models", "changes")
AGREED_BY: tuple[str, ...] = ("maria", "anna")

# --- The decision view ----------------------------------------------------------------

# The five buying elements: the client's own view (Maria), and the seller's estimate
# of it (Anna), which is rosier on price and ease: the gaps the page exists to show.
BUYING_VIEW: dict[str, tuple[str, dict[str, tuple[int, str]]]] = {
    "client": (
        "maria",
        {
            "product": (
                4,
                "Routing and slot booking do what we need; offline POD still to prove.",
            ),
            "price": (3, "Licences fine; the integration estimate feels light."),
            "value": (4, "Cost to serve and failed drops are where our margin leaks."),
            "risk": (3, "Depends on TrackLine's offline mode and the ERP connector."),
            "ease": (3, "Good workshops; contract paperwork slow so far."),
        },
    ),
    "seller": (
        "anna",
        {
            "product": (4, "Fits; offline POD is on TrackLine's side."),
            "price": (4, "Below the two other quotes they mentioned."),
            "value": (4, "Numbers agreed in the second workshop."),
            "risk": (3, "Integration risk is real; pilot region first."),
            "ease": (5, "We answer the same day."),
        },
    ),
}

RECOMMENDATION = {
    "by": "anna",
    "verdict": "proceed_with_conditions",
    "conditions": (
        "Pilot in the North region first; go wider only when failed drops fall below "
        "3 % and TrackLine's offline proof of delivery has run for eight weeks."
    ),
    "rationale": (
        "The expected case pays back in year 2 and holds if a third of the expected "
        "benefits come true; the low case is marginal, and most of its risk sits in "
        "process and people, not software. A regional pilot buys that evidence cheaply."
    ),
}


# --- Building it -----------------------------------------------------------------------


def find_demo_case() -> Case | None:
    """The demo case: marked in its extra data, with the demo's title and client."""
    return (
        Case.objects.filter(
            extra__demo=True, title=CASE["title"], client__name=CASE["client"]
        )
        .order_by("pk")
        .first()
    )


def ensure_users() -> dict[str, Any]:
    """The demo's people, created when missing; existing accounts are left alone."""
    from allauth.account.models import EmailAddress

    user_model = get_user_model()
    users = {}
    for key, (email, first, last, *_rest) in USERS.items():
        user = (
            user_model.objects.filter(username=email).first()
            or user_model.objects.filter(email__iexact=email).first()
        )
        if user is None:
            user = user_model(
                username=email, email=email, first_name=first, last_name=last
            )
            user.set_password(PASSWORD)
            user.full_clean()
            user.save()
        if not EmailAddress.objects.filter(email__iexact=email).exists():
            EmailAddress.objects.create(
                user=user, email=email, verified=True, primary=True
            )
        users[key] = user
    return users


def _organisations(case: Case) -> dict[str, Organisation]:
    orgs = {"client": case.client, "seller": case.seller}
    for ref, (name, kind) in ORGANISATIONS.items():
        parent = case.client if kind == OrganisationKind.BUSINESS_UNIT else None
        orgs[ref] = services.get_or_create_organisation(
            name=name, kind=kind, parent=parent
        )
    return orgs


def _add(case: Case, stage_key: str, item: StageItem, user, **links) -> StageItem:
    """Validate the item as its form would, then save it through the service."""
    item.case = case
    item.full_clean()
    return services.save_item(
        case=case, stage=BY_KEY[stage_key], item=item, user=user, **links
    )


def _rows(model: type, parent_field: str, parent: StageItem, rows: list[dict]) -> list:
    """Yearly rows, validated the way the yearly grid of the form validates them."""
    built = []
    for values in rows:
        row = model(**{parent_field: parent}, **values)
        row.full_clean(exclude=[parent_field], validate_constraints=False)
        built.append(row)
    return built


def _fields(data: dict[str, Any], *skip: str) -> dict[str, Any]:
    """An item's own fields: the data without the keys the loader handles."""
    fields = {k: v for k, v in data.items() if k not in {"by", *skip}}
    if "target_in_days" in fields:
        fields["target_date"] = date.today() + timedelta(
            days=fields.pop("target_in_days")
        )
    return fields


def _build(case: Case, users: dict[str, Any]) -> None:
    orgs = _organisations(case)

    for data in MODELS:
        _add(case, "models", ModelChange(**_fields(data)), users[data["by"]])
    for data in CHANGES:
        _add(case, "changes", ChangeItem(**_fields(data)), users[data["by"]])
    for data in ECOSYSTEM:
        party = EcosystemParty(
            **_fields(data, "organisation"), organisation=orgs[data["organisation"]]
        )
        _add(case, "ecosystem", party, users[data["by"]])

    lagging: dict[str, LaggingMetric] = {}
    for data in LAGGING_METRICS:
        metric = LaggingMetric(**_fields(data, "ref"))
        lagging[data["ref"]] = _add(case, "lagging_metrics", metric, users[data["by"]])
    for data in LEADING_METRICS:
        metric = LeadingMetric(**_fields(data, "drives"))
        drives = [lagging[ref] for ref in data["drives"]]
        _add(case, "leading_metrics", metric, users[data["by"]], drives=drives)

    for data in BENEFITS:
        benefit = Benefit(
            **_fields(data, "metric", "yearly"),
            metric=lagging[data["metric"]] if data["metric"] else None,
        )
        yearly = [
            {"year": y, "low": low, "expected": expected, "high": high}
            for y, low, expected, high in data["yearly"]
        ]
        benefit.case = case
        rows = _rows(BenefitYear, "benefit", benefit, yearly)
        _add(case, "benefits", benefit, users[data["by"]], yearly=rows)

    for data in INVESTMENTS:
        investment = Investment(
            **_fields(data, "organisation"), organisation=orgs[data["organisation"]]
        )
        _add(case, "investments", investment, users[data["by"]])

    for data in RISKS_OF_ACTING:
        _add(case, "risks_of_acting", RiskOfActing(**_fields(data)), users[data["by"]])
    for data in RISKS_OF_NOT_ACTING:
        risk = RiskOfNotActing(**_fields(data, "yearly_cost"))
        risk.case = case
        costs = [{"year": y, "amount": amount} for y, amount in data["yearly_cost"]]
        rows = _rows(InactionCost, "risk", risk, costs)
        _add(case, "risks_of_not_acting", risk, users[data["by"]], yearly_cost=rows)

    for stage_key, (by, notes) in STAGE_NOTES.items():
        services.update_stage_notes(
            case=case, stage=BY_KEY[stage_key], notes=notes, user=users[by]
        )
    for stage_key in AGREED_STAGES:
        for signer in AGREED_BY:
            services.sign_off_stage(
                case=case, stage=BY_KEY[stage_key], user=users[signer]
            )

    for side, (by, ratings) in BUYING_VIEW.items():
        services.save_buying_ratings(
            case=case, side=side, user=users[by], ratings=ratings
        )
    services.record_recommendation(
        case=case, user=users[RECOMMENDATION["by"]], **_fields(RECOMMENDATION)
    )


def _write(stdout: TextIO | None, text: str = "") -> None:
    if stdout is not None:
        stdout.write(text + "\n")


def write_logins(stdout: TextIO | None) -> None:
    _write(stdout, f"Log in with any of these (password: {PASSWORD}):")
    for email, first, last, side, role, what in USERS.values():
        _write(stdout, f"  {email:<30} {first} {last} ({what}) - {side}, {role}")


@transaction.atomic
def load_demo(*, reset: bool = False, stdout: TextIO | None = None) -> Case:
    """Build the demo case, or return it when it is already there. With `reset`,
    delete the demo case (and nothing else) first and build it anew."""
    users = ensure_users()
    existing = find_demo_case()
    if existing is not None and not reset:
        _write(stdout, f"Demo case already loaded (id {existing.pk}).")
        write_logins(stdout)
        return existing
    if existing is not None:
        old_id = existing.pk
        services.delete_case(case=existing)
        _write(stdout, f"Deleted the old demo case (id {old_id}).")

    case = services.create_case(user=users["anna"], side=Side.SELLER, **CASE)
    services.update_case_settings(
        case=case, user=users["anna"], extra={DEMO_MARKER: True}
    )
    for key, (*_names, side, role, _what) in USERS.items():
        if key != "anna":  # the creator is already the facilitator
            services.add_member(case=case, user=users[key], side=side, role=role)
    _build(case, users)

    _write(stdout, f"Demo case loaded (id {case.pk}): {case.title}")
    write_logins(stdout)
    return case
