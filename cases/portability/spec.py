"""The case file format itself: what a file holds and how each field is written.
`ITEM_SPECS` says which fields each stage's items carry in the file and of which
`Kind` each is; export and import are both driven by it (and by the stage
registry), and `RATING_FIELDS` / `RECOMMENDATION_FIELDS` do the same for the
decision view that version 2 added. `CaseFormatError` is how a file that breaks
the format is reported. `_check_specs()` runs at import time, so a stage added to
the registry without a spec, or a model field renamed without the format, fails
at start-up.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from django.core.exceptions import ImproperlyConfigured
from django.db import models

from ..models import (
    BenefitYear,
    BuyingElement,
    BuyingRating,
    InactionCost,
    Recommendation,
)
from ..stages import BY_KEY, STAGES

FORMAT = "nine-stage-business-case"
# The version export writes. Version 2 added the top-level "decision" object;
# version-1 files (which have none) are still read.
VERSION = 2
SUPPORTED_VERSIONS = frozenset({1, 2})
# The version that introduced the "decision" object.
DECISION_VERSION = 2

# The path of errors about the file as a whole (size, encoding, JSON syntax).
FILE_PATH = "file"


class CaseFormatError(ValueError):
    """A case file that cannot be imported, with the path of the bad value."""

    def __init__(self, path: str, message: str) -> None:
        self.path = path
        self.message = message
        super().__init__(f"{path}: {message}")


# --- What the file holds --------------------------------------------------------


class Kind(Enum):
    """How a field is written in the file."""

    TEXT = "text"  # a string; "" when empty
    INTEGER = "integer"  # a whole number
    DECIMAL = "decimal"  # a decimal string, normalised ("41.5", "60")
    MONEY = "money"  # a decimal string with 2 decimals ("90000.00")
    DATE = "date"  # "2027-06-30"
    ORGANISATION = "organisation"  # an organisation's ref
    REF = "ref"  # an item's ref in another stage, or null
    REFS = "refs"  # a list of items' refs in another stage


@dataclass(frozen=True)
class FileField:
    name: str  # the key in the file, and the model field of the same name
    kind: Kind = Kind.TEXT
    target: str = ""  # REF and REFS: the key of the stage whose refs they name


@dataclass(frozen=True)
class RowSpec:
    """Rows that belong to an item (a benefit's yearly ranges, ...)."""

    key: str  # the key in the file, the related name and save_item()'s keyword
    model: type[models.Model]
    parent: str  # the row's foreign key to its item
    fields: tuple[FileField, ...]
    unique: str = "year"  # one row per value of this field


@dataclass(frozen=True)
class ItemSpec:
    fields: tuple[FileField, ...]
    ref_prefix: str = ""  # items with refs (other items link to them): "L" -> L1, L2
    rows: RowSpec | None = None

    @property
    def keys(self) -> tuple[str, ...]:
        """Every key an item of this stage may have, in the order export writes them."""
        ref = ("ref",) if self.ref_prefix else ()
        rows = (self.rows.key,) if self.rows else ()
        return (*ref, *(f.name for f in self.fields), *rows, "extra")


def _text(name: str) -> FileField:
    return FileField(name)


METRIC_FIELDS = (
    _text("name"),
    _text("unit"),
    FileField("baseline", Kind.DECIMAL),
    FileField("target", Kind.DECIMAL),
    FileField("target_date", Kind.DATE),
    _text("owner"),
    _text("frequency"),
    _text("source"),
)

ITEM_SPECS: dict[str, ItemSpec] = {
    "models": ItemSpec(
        (_text("model"), _text("today"), _text("future"), _text("rationale"))
    ),
    "changes": ItemSpec(
        (_text("leg"), _text("title"), _text("description"), _text("owner"))
    ),
    "ecosystem": ItemSpec(
        (
            FileField("organisation", Kind.ORGANISATION),
            _text("role"),
            _text("responsibilities"),
            _text("commitment"),
        )
    ),
    "leading_metrics": ItemSpec(
        (*METRIC_FIELDS, FileField("drives", Kind.REFS, target="lagging_metrics")),
        ref_prefix="L",
    ),
    "lagging_metrics": ItemSpec(METRIC_FIELDS, ref_prefix="G"),
    "benefits": ItemSpec(
        (
            _text("title"),
            _text("category"),
            FileField("metric", Kind.REF, target="lagging_metrics"),
            _text("owner"),
            _text("confidence"),
            _text("description"),
        ),
        rows=RowSpec(
            key="yearly",
            model=BenefitYear,
            parent="benefit",
            fields=(
                FileField("year", Kind.INTEGER),
                FileField("low", Kind.MONEY),
                FileField("expected", Kind.MONEY),
                FileField("high", Kind.MONEY),
            ),
        ),
    ),
    "investments": ItemSpec(
        (
            _text("title"),
            _text("kind"),
            FileField("organisation", Kind.ORGANISATION),
            FileField("year", Kind.INTEGER),
            FileField("amount", Kind.MONEY),
            FileField("person_days", Kind.DECIMAL),
            FileField("day_rate", Kind.MONEY),
        )
    ),
    "risks_of_acting": ItemSpec(
        (
            _text("title"),
            _text("leg"),
            FileField("likelihood", Kind.INTEGER),
            FileField("impact", Kind.INTEGER),
            _text("mitigation"),
            _text("owner"),
        )
    ),
    "risks_of_not_acting": ItemSpec(
        (
            _text("title"),
            FileField("likelihood", Kind.INTEGER),
            FileField("impact", Kind.INTEGER),
            _text("description"),
        ),
        rows=RowSpec(
            key="yearly_cost",
            model=InactionCost,
            parent="risk",
            fields=(FileField("year", Kind.INTEGER), FileField("amount", Kind.MONEY)),
        ),
    ),
}

CASE_FIELDS = (
    _text("title"),
    _text("idea"),
    _text("currency"),
    FileField("horizon_years", Kind.INTEGER),
    FileField("discount_rate", Kind.DECIMAL),
    _text("status"),
)
CASE_KEYS = (*(f.name for f in CASE_FIELDS), "extra")
ORGANISATION_KEYS = ("ref", "name", "kind", "parent")
TOP_KEYS = ("format", "version", "case", "organisations", "stages", "decision")

# --- The decision view (version 2) ---

DECISION_KEYS = ("buying_view", "recommendation")
# The keys of "buying_view", in the order export writes them.
RATING_SIDES: tuple[str, ...] = tuple(str(side) for side in BuyingRating.RATING_SIDES)
# The order export writes each side's ratings in.
ELEMENTS: tuple[str, ...] = tuple(BuyingElement.values)
RATING_FIELDS = (
    _text("element"),
    FileField("score", Kind.INTEGER),
    _text("comment"),
)
RATING_KEYS = tuple(f.name for f in RATING_FIELDS)
RECOMMENDATION_FIELDS = (
    _text("verdict"),
    _text("conditions"),
    FileField("defer_until", Kind.DATE),
    _text("other_provider"),
    _text("rationale"),
)
RECOMMENDATION_KEYS = tuple(f.name for f in RECOMMENDATION_FIELDS)


def _check_specs() -> None:
    """Fail at start-up, not in a customer's export, when the registry or a model
    changes without the format: a stage without a spec would be silently left
    out of every file, a renamed field would crash every export."""
    for stage in STAGES:
        spec = ITEM_SPECS.get(stage.key)
        if spec is None:
            raise ImproperlyConfigured(
                f"cases.portability has no ITEM_SPECS[{stage.key!r}]."
            )
        for file_field in spec.fields:
            stage.model._meta.get_field(file_field.name)
            if file_field.target and file_field.target not in BY_KEY:
                raise ImproperlyConfigured(
                    f"Unknown link target {file_field.target!r}."
                )
        if spec.rows:
            for file_field in spec.rows.fields:
                spec.rows.model._meta.get_field(file_field.name)
    for model, fields in (
        (BuyingRating, RATING_FIELDS),
        (Recommendation, RECOMMENDATION_FIELDS),
    ):
        for file_field in fields:
            model._meta.get_field(file_field.name)


_check_specs()
