"""Every choice the case format knows, as TextChoices (the format's values are the
database values, so import and export need no translation tables)."""

from django.db import models


class CaseStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    IN_REVIEW = "in_review", "In review"
    AGREED = "agreed", "Agreed"
    ARCHIVED = "archived", "Archived"


class Side(models.TextChoices):
    SELLER = "seller", "Seller"
    CLIENT = "client", "Client"
    PARTNER = "partner", "Partner"


class Role(models.TextChoices):
    FACILITATOR = "facilitator", "Facilitator"
    CONTRIBUTOR = "contributor", "Contributor"
    VIEWER = "viewer", "Viewer"


class StageStatus(models.TextChoices):
    EMPTY = "empty", "Empty"
    IN_PROGRESS = "in_progress", "In progress"
    AGREED = "agreed", "Agreed"


class ClientModel(models.TextChoices):
    BUSINESS = "business", "Business model"
    TALENT = "talent", "Talent model"
    CUSTOMER_EXPERIENCE = "customer_experience", "Customer-experience model"
    ECONOMIC = "economic", "Economic model"
    RISK = "risk", "Risk model"
    OPERATING = "operating", "Operating model"


class Leg(models.TextChoices):
    PEOPLE = "people", "People"
    PROCESS = "process", "Process"
    TECHNOLOGY = "technology", "Technology"


class Commitment(models.TextChoices):
    COMMITTED = "committed", "Committed"
    LIKELY = "likely", "Likely"
    TO_CONFIRM = "to_confirm", "To confirm"
    DECLINED = "declined", "Declined"


class Frequency(models.TextChoices):
    WEEKLY = "weekly", "Weekly"
    MONTHLY = "monthly", "Monthly"
    QUARTERLY = "quarterly", "Quarterly"
    YEARLY = "yearly", "Yearly"


class BenefitCategory(models.TextChoices):
    REVENUE = "revenue", "Revenue"
    COST = "cost", "Cost"
    RISK = "risk", "Risk"
    CUSTOMER = "customer", "Customer"
    PEOPLE = "people", "People"
    STRATEGIC = "strategic", "Strategic"


class Confidence(models.TextChoices):
    LOW = "low", "Low"
    MEDIUM = "medium", "Medium"
    HIGH = "high", "High"


class InvestmentKind(models.TextChoices):
    CAPEX = "capex", "Capital spend"
    OPEX = "opex", "Operating spend"
    TIME = "time", "People's time"
    OTHER = "other", "Other resources"
