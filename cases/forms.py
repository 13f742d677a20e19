"""Forms only validate: the template owns the <form>, services do the writing.

Every rule about one item lives on the model (validators, clean()), and a
ModelForm runs it, so the browser and the file import refuse the same things.
"""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal

from crispy_forms.helper import FormHelper
from django import forms
from django.contrib.auth import get_user_model
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.core.validators import MaxValueValidator
from django.db import models
from django.db.backends.base.operations import BaseDatabaseOperations
from django.db.models import Q

from ecosystem.models import Organisation, OrganisationKind

from .currencies import currency_choices
from .models import (
    Benefit,
    BenefitYear,
    BuyingElement,
    Case,
    CaseStatus,
    CaseStatusChange,
    ChangeItem,
    Comment,
    EcosystemParty,
    InactionCost,
    Investment,
    LaggingMetric,
    LeadingMetric,
    Membership,
    ModelChange,
    PaperSize,
    Recommendation,
    RiskOfActing,
    RiskOfNotActing,
    Role,
    Side,
    Verdict,
)

SCORE_CHOICES_AGREE = [
    (1, "1 - not at all"),
    (2, "2 - hardly"),
    (3, "3 - partly"),
    (4, "4 - largely"),
    (5, "5 - fully"),
]

SCORE_CHOICES = [
    (1, "1 - very low"),
    (2, "2 - low"),
    (3, "3 - medium"),
    (4, "4 - high"),
    (5, "5 - very high"),
]


def _helper() -> FormHelper:
    helper = FormHelper()
    helper.form_tag = False
    helper.disable_csrf = True
    return helper


def _textarea(rows: int = 2) -> forms.Textarea:
    return forms.Textarea(attrs={"rows": rows})


def case_organisations(case: Case):
    """The organisations a case may name: its client and the client's business
    units, its seller, and the companies already in its ecosystem. Never other
    clients' organisations: names of a seller's other clients are confidential."""
    in_ecosystem = EcosystemParty.objects.filter(case=case).values("organisation_id")
    return (
        Organisation.objects.filter(
            Q(pk__in=[case.client_id, case.seller_id])
            | Q(kind=OrganisationKind.BUSINESS_UNIT, parent_id=case.client_id)
            | Q(pk__in=in_ecosystem)
        )
        .select_related("parent")
        .order_by("kind", "name")
    )


ISO_DATE = "%Y-%m-%d"


def date_input() -> forms.DateInput:
    """A browser date picker. Its value must be ISO (2028-05-16) whatever the
    language: a date rendered the en-GB way (16/05/2028) is dropped by the
    browser, and saving the form then clears the date. What comes back is ISO
    too, or the en-GB format typed where the browser has no date picker."""
    return forms.DateInput(format=ISO_DATE, attrs={"type": "date"})


def plain_number(value: Decimal) -> str:
    """A Decimal as people write it: 60, 0.5, 120000 (never 60.0000 or 1.2E+5)."""
    if value == 0:
        return "0"
    return format(value.normalize(), "f")


def _largest(whole_digits: int, decimal_places: int) -> str:
    largest = f"{int('9' * whole_digits):,}" if whole_digits else "0"
    return largest + ("." + "9" * decimal_places if decimal_places else "")


class NumberField(forms.DecimalField):
    """A number as this English-language app writes it, and nothing else.

    Accepted: plain digits with an optional minus and a point before the
    decimals (12000, 12000.5, -5, .5), and commas between thousands in groups
    of three (12,000 and 1,250,000.50). Refused with a message at the field,
    never guessed at: letters and units (12k, EUR 5), exponents (1e6), spaces
    (1 000), the decimal comma (12,5 and 2.500,50), and a number that reads
    both ways: "2.500" is 2,500 to a European and 2.5 here, so a single point
    followed by exactly three digits after 1 to 3 leading digits (not 0) is
    refused, saying how to write either (2,500 or 2.5; 12.3450 for three
    decimals). Zeros closing the decimals are dropped: 0.500 is 0.5, also in
    an amount of at most 2 decimals.

    The input is a text field (inputmode="decimal" for the number pad): a
    browser's number input rewrites what was typed by its own locale rules
    (it keeps "12" of "12k", reads "2.500,50" as 2.50050) before the server
    sees it. The value is shown back plainly, 60 and 0.5, never 60.0000.
    """

    PLAIN = re.compile(r"-?(?:\d+|\d{1,3}(?:,\d{3})+)?(?:\.\d*)?", re.ASCII)
    BOTH_WAYS = re.compile(r"-?[1-9]\d{0,2}\.\d{3}", re.ASCII)
    INVALID = (
        "Enter a number such as 12000, 12,000 or 12000.50: "
        "digits, commas between thousands, a point before decimals."
    )

    default_error_messages = {
        "invalid": INVALID,
        "required": "Enter a number.",
        "max_decimal_places": "Use at most %(max)s decimals.",
    }

    def __init__(self, *, max_digits=None, decimal_places=None, **kwargs):
        kwargs.setdefault("widget", forms.TextInput(attrs={"inputmode": "decimal"}))
        super().__init__(max_digits=max_digits, decimal_places=decimal_places, **kwargs)
        if max_digits is not None:
            places = decimal_places or 0
            too_large = f"Too large: at most {_largest(max_digits - places, places)}."
            self.error_messages.setdefault("max_digits", too_large)
            self.error_messages.setdefault("max_whole_digits", too_large)

    def to_python(self, value):
        if value in self.empty_values:
            return None
        if isinstance(value, Decimal):
            return value
        text = str(value).strip()
        if text in self.empty_values:
            return None
        if self.BOTH_WAYS.fullmatch(text):
            whole, decimals = text.split(".")
            decimal = plain_number(Decimal(text))
            # 12.345 cannot be written shorter: three decimals take a fourth, 0.
            unmistakable = decimal + "0" if decimal == text else decimal
            raise ValidationError(
                f"Is it {whole},{decimals} or {decimal}? "
                f"Write it as {whole},{decimals} or as {unmistakable}.",
                code="invalid",
            )
        if not self.PLAIN.fullmatch(text) or not any(c.isdigit() for c in text):
            raise ValidationError(self.error_messages["invalid"], code="invalid")
        whole, _point, decimals = text.replace(",", "").partition(".")
        decimals = decimals.rstrip("0")  # 0.500 is 0.5, also where cents are kept
        if whole in ("", "-"):  # .5
            whole += "0"
        number = Decimal(f"{whole}.{decimals}" if decimals else whole)
        return number if number else Decimal(0)  # not -0

    def prepare_value(self, value):
        if isinstance(value, Decimal):
            return plain_number(value)
        return value


class WholeNumberField(forms.IntegerField):
    """A whole number (a year, a horizon) in the app's words. The model's own
    validators say what is allowed ("The horizon is at least 1 year."), so the
    form adds no bound of its own in other words (and no min_value/max_value
    message: a ModelForm puts the form field's message over the model's)."""

    default_error_messages = {
        "invalid": "Enter a whole number, such as 3.",
        "required": "Enter a whole number.",
    }


def app_formfield(db_field, **kwargs):
    """Every ModelForm's form fields (Meta(AppMeta)): numbers, whole numbers and
    dates as described above, so no form falls back to Django's own."""
    if isinstance(db_field, models.DecimalField):
        return db_field.formfield(form_class=NumberField, **kwargs)
    if isinstance(db_field, models.IntegerField) and not db_field.choices:
        # min_value=None: a positive integer's form bound of 0 would speak
        # before the model's validator, in Django's words. Without an upper
        # bound of its own (a year), the column's range is said here: the
        # standard SQL range, on every database alike (SQLite enforces none,
        # PostgreSQL would refuse past it in Django's words).
        if not any(isinstance(v, MaxValueValidator) for v in db_field._validators):
            _low, high = BaseDatabaseOperations.integer_field_ranges.get(
                db_field.get_internal_type(), (None, None)
            )
            if high is not None:
                kwargs.setdefault("max_value", high)
                kwargs.setdefault(
                    "error_messages", {"max_value": f"Too large: at most {high:,}."}
                )
        return db_field.formfield(form_class=WholeNumberField, min_value=None, **kwargs)
    if isinstance(db_field, models.DateField) and not isinstance(
        db_field, models.DateTimeField
    ):
        kwargs.setdefault("widget", date_input())
        return db_field.formfield(**kwargs)
    return db_field.formfield(**kwargs)


class AppMeta:
    """Base of every ModelForm's Meta here."""

    formfield_callback = staticmethod(app_formfield)


class OneMessagePerField:
    """A field the form already refused ("Too large") is missing when the model's
    clean() runs, which would add a second, contradictory message ("Give the
    amount."): keep the form's message only."""

    def _update_errors(self, errors):
        if hasattr(errors, "error_dict"):
            errors.error_dict = {
                field: messages
                for field, messages in errors.error_dict.items()
                if field == NON_FIELD_ERRORS or field not in self._errors
            }
        super()._update_errors(errors)


class PercentField(NumberField):
    """Shows a fraction (0.08) as a percentage (8) and takes a percentage back
    (8, 7.5, or 8 % with the sign)."""

    default_error_messages = {
        "invalid": "Enter a percentage such as 8 or 7.5, with a point before decimals."
    }

    def prepare_value(self, value):
        if isinstance(value, Decimal):
            return plain_number(value * 100)
        return value

    def to_python(self, value):
        if isinstance(value, str):
            value = value.strip().removesuffix("%").rstrip()
        return super().to_python(value)

    def clean(self, value):
        percent = super().clean(value)
        return None if percent is None else percent / Decimal(100)


# --- The case ---------------------------------------------------------------


class CaseSettingsForm(OneMessagePerField, forms.ModelForm):
    """The case's own fields, as a facilitator edits them."""

    currency = forms.ChoiceField(choices=currency_choices)
    discount_rate = PercentField(
        label="Discount rate (% a year)",
        min_value=0,
        max_value=100,
        max_digits=6,
        decimal_places=2,
        help_text="The client's cost of capital, for example 8.",
        error_messages={
            "min_value": "The discount rate cannot be negative.",
            "max_value": "The discount rate is at most 100 %%.",
            "required": "Give the discount rate, for example 8.",
        },
    )

    class Meta(AppMeta):
        model = Case
        fields = ["title", "idea", "currency", "horizon_years", "discount_rate"]
        widgets = {"idea": _textarea(4)}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.helper = _helper()
        self.fields["horizon_years"].widget.attrs.update(min=1, max=10)

    def clean_horizon_years(self) -> int:
        horizon = self.cleaned_data["horizon_years"]
        if self.instance.pk:
            from .stages import latest_year_in_use

            used = latest_year_in_use(self.instance)
            if used is not None and horizon < used:
                raise ValidationError(
                    f"Items of this case use year {used}; "
                    f"shorten them first or keep a horizon of at least {used} years."
                )
        return horizon


class NewCaseForm(CaseSettingsForm):
    """A new case: its fields plus who the client and seller are and my side."""

    client = forms.ModelChoiceField(
        queryset=Organisation.objects.none(),
        required=False,
        empty_label="- a new client -",
        help_text="A client from one of your cases, or leave empty and name a new one.",
    )
    new_client = forms.CharField(
        label="New client's name", max_length=200, required=False
    )
    seller = forms.ModelChoiceField(
        queryset=Organisation.objects.none(),
        required=False,
        empty_label="- a new seller -",
    )
    new_seller = forms.CharField(
        label="New seller's name", max_length=200, required=False
    )
    side = forms.ChoiceField(
        label="I speak for",
        choices=[(Side.SELLER, "The seller"), (Side.CLIENT, "The client")],
        initial=Side.SELLER,
    )

    field_order = [
        "title",
        "idea",
        "client",
        "new_client",
        "seller",
        "new_seller",
        "side",
        "currency",
        "horizon_years",
        "discount_rate",
    ]

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        mine = Case.objects.visible_to(user)
        self.fields["client"].queryset = Organisation.objects.filter(
            kind=OrganisationKind.CLIENT, cases_as_client__in=mine
        ).distinct()
        self.fields["seller"].queryset = Organisation.objects.filter(
            kind=OrganisationKind.SELLER, cases_as_seller__in=mine
        ).distinct()

    def _pick(self, existing: str, new: str, label: str) -> None:
        picked, name = self.cleaned_data.get(existing), self.cleaned_data.get(new, "")
        name = name.strip()
        if picked and name:
            self.add_error(
                new, f"Pick an existing {label} or name a new one, not both."
            )
        elif not picked and not name and existing not in self.errors:
            self.add_error(new, f"Name the {label}, or pick one from the list.")
        self.cleaned_data[new] = name

    def clean(self):
        cleaned = super().clean()
        self._pick("client", "new_client", "client")
        self._pick("seller", "new_seller", "seller")
        return cleaned


class ImportCaseForm(forms.Form):
    file = forms.FileField(
        label="Case file (.json)",
        help_text="A file exported from this product, in the case file format.",
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.helper = _helper()


# --- Stage items --------------------------------------------------------------


class ItemForm(OneMessagePerField, forms.ModelForm):
    """Base of every stage item's form: knows its case, validates against it."""

    # The item's version when the edit form was opened, posted back so the save
    # is refused if someone else saved in between (compare-and-swap in
    # services.save_item). Not required: a new item has none.
    version = forms.IntegerField(widget=forms.HiddenInput, required=False, min_value=1)

    def __init__(self, *args, case: Case, **kwargs):
        self.case = case
        super().__init__(*args, **kwargs)
        if self.instance.case_id is None:
            self.instance.case = case
        elif self.instance.pk:
            self.initial["version"] = self.instance.version
        self.helper = _helper()
        for field in self.fields.values():
            if isinstance(field.widget, forms.Textarea):
                field.widget.attrs["rows"] = 3

    def related_changes(self) -> dict:
        """What the service writes besides the item's own row (links, years)."""
        return {}

    @property
    def expected_version(self) -> int | None:
        """The version this edit started from (None for a new item)."""
        return self.cleaned_data.get("version") if self.instance.pk else None

    def _get_validation_exclusions(self):
        # The case is not a form field, but the item's unique constraints name it
        # ("one entry per client model"): check them here, not at the database.
        exclude = super()._get_validation_exclusions()
        exclude.discard("case")
        return exclude


class YearlyGridMixin:
    """Adds one row of money fields per year of the case's horizon (y2_low, ...),
    validated by building the child rows and running the child model's rules."""

    grid_model: type
    grid_parent: str
    grid_columns: tuple[str, ...]
    grid_related: str

    def add_grid_fields(self) -> None:
        existing = {}
        self.grid_field_names: set[str] = set()
        if self.instance.pk:
            for row in getattr(self.instance, self.grid_related).all():
                existing[row.year] = row
        for year in self.case.years:
            for column in self.grid_columns:
                name = f"y{year}_{column}"
                self.grid_field_names.add(name)
                # Bounds and their words come from the row's model (money_field).
                self.fields[name] = NumberField(
                    label=f"Year {year} {column}",
                    required=False,
                    max_digits=14,
                    decimal_places=2,
                    widget=forms.TextInput(
                        attrs={
                            "inputmode": "decimal",
                            "class": "form-control form-control-sm",
                        }
                    ),
                )
                if year in existing:
                    self.initial[name] = getattr(existing[year], column)

    def grid(self) -> list[dict]:
        """The grid as rows for the template: year and its bound fields."""
        return [
            {"year": year, "fields": [self[f"y{year}_{c}"] for c in self.grid_columns]}
            for year in self.case.years
        ]

    def clean_grid(self) -> list:
        rows = []
        for year in self.case.years:
            names = [f"y{year}_{c}" for c in self.grid_columns]
            if any(n in self.errors for n in names):
                continue
            values = [self.cleaned_data.get(n) for n in names]
            if all(v is None for v in values):
                continue
            if any(v is None for v in values):
                for name, value in zip(names, values, strict=True):
                    if value is None:
                        self.add_error(
                            name,
                            f"Fill in all of year {year}'s "
                            f"{', '.join(self.grid_columns)}, or none of them.",
                        )
                continue
            row = self.grid_model(
                year=year, **dict(zip(self.grid_columns, values, strict=True))
            )
            setattr(row, self.grid_parent, self.instance)
            try:
                row.full_clean(exclude=[self.grid_parent], validate_constraints=False)
            except ValidationError as error:
                for column, messages in error.message_dict.items():
                    target = (
                        f"y{year}_{column}" if column in self.grid_columns else None
                    )
                    for message in messages:
                        self.add_error(target, message)
                continue
            rows.append(row)
        return rows


class ModelChangeForm(ItemForm):
    class Meta(AppMeta):
        model = ModelChange
        fields = ["model", "today", "future", "rationale"]


class ChangeItemForm(ItemForm):
    class Meta(AppMeta):
        model = ChangeItem
        fields = ["leg", "title", "description", "owner"]


class EcosystemPartyForm(ItemForm):
    organisation = forms.ModelChoiceField(
        queryset=Organisation.objects.none(),
        required=False,
        label="Organisation",
        empty_label="- a new organisation (name it below) -",
    )
    new_organisation = forms.CharField(
        label="Or a new organisation", max_length=200, required=False
    )
    new_kind = forms.ChoiceField(
        label="It is",
        choices=[
            (OrganisationKind.BUSINESS_UNIT, "A business unit of the client"),
            (OrganisationKind.PARTNER, "An external company"),
        ],
        required=False,
        initial=OrganisationKind.BUSINESS_UNIT,
    )

    class Meta(AppMeta):
        model = EcosystemParty
        fields = ["organisation", "role", "responsibilities", "commitment"]

    field_order = ["organisation", "new_organisation", "new_kind"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["organisation"].queryset = case_organisations(self.case)

    def clean(self):
        cleaned = super().clean()
        picked = cleaned.get("organisation")
        name = (cleaned.get("new_organisation") or "").strip()
        cleaned["new_organisation"] = name
        if picked and name:
            self.add_error(
                "new_organisation", "Pick an organisation or name a new one, not both."
            )
        elif not picked and not name and "organisation" not in self.errors:
            self.add_error(
                "organisation", "Pick an organisation, or name a new one below."
            )
        if name and not cleaned.get("new_kind"):
            self.add_error(
                "new_kind", "Say whether it is a business unit or a company."
            )
        if name and not self.errors:
            kind = cleaned["new_kind"]
            parent = (
                self.case.client if kind == OrganisationKind.BUSINESS_UNIT else None
            )
            existing = Organisation.objects.filter(
                name__iexact=name, kind=kind, parent=parent
            ).first()
            if existing and self.case_has_party(existing):
                self.add_error(
                    "new_organisation", "This organisation is already in the ecosystem."
                )
        return cleaned

    def case_has_party(self, organisation: Organisation) -> bool:
        others = EcosystemParty.objects.filter(
            case=self.case, organisation=organisation
        )
        if self.instance.pk:
            others = others.exclude(pk=self.instance.pk)
        return others.exists()

    def related_changes(self) -> dict:
        name = self.cleaned_data.get("new_organisation")
        if not name:
            return {}
        return {"new_organisation": (name, self.cleaned_data["new_kind"])}


def not_moved_into_past(form: forms.ModelForm, name: str, message: str):
    """The cleaned date field `name`, refused with `message` when it is set to a
    past day. A date already on record may stay as it is once it has passed (a
    metric's target date that came and went, a deferral that ran out): saving
    the row for another change must not fail on it. Moving it, to another past
    day included, must pick a day still to come."""
    value = form.cleaned_data.get(name)
    recorded = getattr(form.instance, name) if form.instance.pk else None
    if value and value < date.today() and value != recorded:
        raise ValidationError(message)
    return value


class MetricForm(ItemForm):
    class Meta(AppMeta):
        fields = [
            "name",
            "unit",
            "baseline",
            "target",
            "target_date",
            "owner",
            "frequency",
            "source",
        ]

    def clean_target_date(self):
        return not_moved_into_past(
            self,
            "target_date",
            "A target date cannot be in the past: pick a day still to come.",
        )


class LaggingMetricForm(MetricForm):
    class Meta(MetricForm.Meta):
        model = LaggingMetric


class LeadingMetricForm(MetricForm):
    drives = forms.ModelMultipleChoiceField(
        queryset=LaggingMetric.objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        label="Drives these lagging metrics",
        help_text="The outcomes this early signal moves.",
    )

    class Meta(MetricForm.Meta):
        model = LeadingMetric
        fields = [*MetricForm.Meta.fields, "drives"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["drives"].queryset = LaggingMetric.objects.filter(case=self.case)

    def related_changes(self) -> dict:
        return {"drives": list(self.cleaned_data.get("drives") or [])}


class BenefitForm(YearlyGridMixin, ItemForm):
    grid_model = BenefitYear
    grid_parent = "benefit"
    grid_columns = ("low", "expected", "high")
    grid_related = "yearly"

    class Meta(AppMeta):
        model = Benefit
        fields = ["title", "category", "metric", "owner", "confidence", "description"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["metric"].queryset = LaggingMetric.objects.filter(case=self.case)
        self.fields["metric"].empty_label = "- not yet tied to a metric -"
        self.add_grid_fields()

    def clean(self):
        cleaned = super().clean()
        self.yearly_rows = self.clean_grid()
        return cleaned

    def related_changes(self) -> dict:
        return {"yearly": self.yearly_rows}


class InvestmentForm(ItemForm):
    class Meta(AppMeta):
        model = Investment
        fields = [
            "title",
            "kind",
            "organisation",
            "year",
            "amount",
            "person_days",
            "day_rate",
        ]
        help_texts = {
            "amount": "For cash and other resources.",
            "person_days": "For people's time only.",
            "day_rate": "For people's time only: what one person-day costs.",
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["organisation"].queryset = case_organisations(self.case)
        self.fields["year"].widget.attrs.update(min=0, max=self.case.horizon_years)


class RiskForm(ItemForm):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name in ("likelihood", "impact"):
            self.fields[name].widget = forms.Select(
                choices=[("", "---"), *SCORE_CHOICES]
            )
            self.fields[name].error_messages["required"] = (
                f"The {name} is required: pick 1 (lowest) to 5 (highest)."
            )


class RiskOfActingForm(RiskForm):
    class Meta(AppMeta):
        model = RiskOfActing
        fields = ["title", "leg", "likelihood", "impact", "mitigation", "owner"]


class RiskOfNotActingForm(YearlyGridMixin, RiskForm):
    grid_model = InactionCost
    grid_parent = "risk"
    grid_columns = ("amount",)
    grid_related = "yearly_cost"

    class Meta(AppMeta):
        model = RiskOfNotActing
        fields = ["title", "likelihood", "impact", "description"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.add_grid_fields()

    def clean(self):
        cleaned = super().clean()
        self.yearly_rows = self.clean_grid()
        return cleaned

    def related_changes(self) -> dict:
        return {"yearly_cost": self.yearly_rows}


class MemberForm(forms.Form):
    """Add a person who already has an account to the case."""

    email = forms.EmailField(label="Email")
    side = forms.ChoiceField(choices=Side.choices, initial=Side.CLIENT)
    role = forms.ChoiceField(choices=Role.choices, initial=Role.CONTRIBUTOR)

    def __init__(self, *args, case: Case, **kwargs):
        self.case = case
        super().__init__(*args, **kwargs)
        self.helper = _helper()

    def clean(self):
        cleaned = super().clean()
        email = cleaned.get("email")
        if email:
            user = get_user_model().objects.filter(email__iexact=email).first()
            if user is None:
                self.add_error(
                    "email",
                    "No one has an account with this email yet: ask them to sign up, "
                    "then add them here.",
                )
            elif self.case.memberships.filter(user=user).exists():
                self.add_error("email", "This person is already a member of the case.")
            cleaned["user"] = user
        return cleaned


class InviteForm(forms.Form):
    """Invite someone by email, with or without an account (cases/invitations.py)."""

    email = forms.EmailField(label="Email")
    side = forms.ChoiceField(choices=Side.choices)
    role = forms.ChoiceField(choices=Role.choices)


class MembershipForm(forms.ModelForm):
    class Meta(AppMeta):
        model = Membership
        fields = ["side", "role"]


class ExportForm(forms.Form):
    paper_size = forms.ChoiceField(
        label="Paper", choices=PaperSize.choices, initial=PaperSize.A4
    )


class BuyingRatingsForm(forms.Form):
    """One side's ratings of the five elements of the client's buying decision."""

    def __init__(self, *args, ratings: dict, **kwargs):
        super().__init__(*args, **kwargs)
        self.helper = _helper()
        for element, label in BuyingElement.choices:
            current = ratings.get(element)
            self.fields[f"{element}_score"] = forms.TypedChoiceField(
                label=label,
                choices=[("", "- not rated -"), *SCORE_CHOICES_AGREE],
                coerce=int,
                empty_value=None,
                required=False,
                initial=current.score if current else None,
            )
            self.fields[f"{element}_comment"] = forms.CharField(
                label="Why",
                required=False,
                max_length=2000,
                widget=forms.Textarea(attrs={"rows": 2}),
                initial=current.comment if current else "",
            )

    def clean(self):
        cleaned = super().clean()
        for element, _label in BuyingElement.choices:
            if (
                cleaned.get(f"{element}_comment")
                and cleaned.get(f"{element}_score") is None
            ):
                self.add_error(f"{element}_score", "Give a rating for this comment.")
        return cleaned

    def rows(self) -> list[dict]:
        return [
            {
                "element": e,
                "label": label,
                "score": self[f"{e}_score"],
                "comment": self[f"{e}_comment"],
            }
            for e, label in BuyingElement.choices
        ]

    def ratings(self) -> dict[str, tuple[int | None, str]]:
        return {
            e: (
                self.cleaned_data.get(f"{e}_score"),
                self.cleaned_data.get(f"{e}_comment", ""),
            )
            for e, _label in BuyingElement.choices
        }


class RecommendationForm(OneMessagePerField, forms.ModelForm):
    class Meta(AppMeta):
        model = Recommendation
        fields = ["verdict", "conditions", "defer_until", "other_provider", "rationale"]
        widgets = {
            "verdict": forms.RadioSelect,
            "conditions": forms.Textarea(attrs={"rows": 2}),
            "rationale": forms.Textarea(attrs={"rows": 4}),
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.helper = _helper()
        self.fields["verdict"].choices = Verdict.choices  # no blank radio button

    def clean_defer_until(self):
        return not_moved_into_past(
            self, "defer_until", "Defer until a date still to come, not a past one."
        )


class StageNotesForm(forms.Form):
    # The stage record's version when the notes were opened (see ItemForm).
    version = forms.IntegerField(widget=forms.HiddenInput, required=False, min_value=1)
    notes = forms.CharField(
        required=False,
        max_length=4000,
        widget=forms.Textarea(
            attrs={
                "rows": 3,
                "placeholder": "Decisions, open questions, who follows up...",
            }
        ),
        label="",
    )


# --- Agreement: comments and the case's status -------------------------------------


class CommentForm(forms.ModelForm):
    class Meta(AppMeta):
        model = Comment
        fields = ["text"]
        labels = {"text": "Add a comment"}
        widgets = {"text": forms.Textarea(attrs={"rows": 2})}
        error_messages = {"text": {"required": "Write something to comment."}}


class CaseStatusForm(forms.Form):
    to_status = forms.ChoiceField(choices=CaseStatus.choices)
    note = forms.CharField(
        required=False,
        max_length=CaseStatusChange._meta.get_field("note").max_length,
        label="Note (optional)",
    )


# --- The person ------------------------------------------------------------------

# Never part of a name: control characters (tab, line break, NUL...), the line and
# paragraph separators, and the bidirectional embeddings, overrides and isolates,
# which would turn around the text beside the name on a page and in the PDF.
NAME_FORBIDDEN = re.compile(
    r"[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069\ud800-\udfff]"
)
# Characters that show nothing (spaces, zero-width and filler characters): a
# name made of these alone is no name. A zero-width joiner inside a name is
# kept: some scripts need it.
NAME_INVISIBLE = re.compile(
    r"[\s\u00ad\u034f\u115f\u1160\u17b4\u17b5\u180b-\u180f\u200b-\u200f"
    r"\u2060-\u2064\u3164\ufe00-\ufe0f\ufeff\uffa0]"
)


class ProfileForm(OneMessagePerField, forms.ModelForm):
    """A person's own name, as every case they are in shows it (display_name):
    the people page, the activity, items, sign-offs, comments, the presenter
    view and the executive PDF. Both parts required, stripped, at most the
    User model's 150 characters, no control characters."""

    class Meta(AppMeta):
        model = get_user_model()
        fields = ["first_name", "last_name"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.helper = _helper()
        for name, autocomplete in (
            ("first_name", "given-name"),
            ("last_name", "family-name"),
        ):
            field = self.fields[name]
            label = field.label.lower()
            field.required = True
            field.error_messages.update(
                required=f"Give your {label}.",
                max_length=(
                    f"Shorten your {label} to at most %(limit_value)d characters "
                    "(it has %(show_value)d)."
                ),
                null_characters_not_allowed=self._control_message(label),
            )
            field.widget.attrs.update(autocomplete=autocomplete, spellcheck="false")

    @staticmethod
    def _control_message(label: str) -> str:
        return (
            f"Type your {label} without tabs, line breaks or other control characters."
        )

    def _clean_name(self, name: str) -> str:
        value = self.cleaned_data[name]
        label = self.fields[name].label.lower()
        if NAME_FORBIDDEN.search(value):
            raise ValidationError(self._control_message(label), code="control")
        if not NAME_INVISIBLE.sub("", value):
            raise ValidationError(f"Give your {label}.", code="required")
        return value

    def clean_first_name(self) -> str:
        return self._clean_name("first_name")

    def clean_last_name(self) -> str:
        return self._clean_name("last_name")
