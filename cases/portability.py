"""Case files: a whole case as one JSON document, out and back in.

The format is specified in docs/case-format.md. Export writes it; import reads it,
all or nothing, holding every value to the same model rules as the browser forms
(each item is built as a model instance and `full_clean()`-ed) and naming the path
of the first bad value: `stages.benefits[2].yearly[0].low: ...`.

The codec is driven by the stage registry: it walks `STAGES`, and `ITEM_SPECS`
below says which fields each stage's items carry in the file and how each field
is written. A stage added to the registry without a spec fails at start-up.
"""

from __future__ import annotations

import contextlib
import json
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from enum import Enum
from typing import Any, NoReturn, Protocol

from django.conf import settings
from django.core.exceptions import (
    NON_FIELD_ERRORS,
    ImproperlyConfigured,
    ValidationError,
)
from django.db import models, transaction
from django.utils.text import slugify

from ecosystem.models import Organisation, OrganisationKind

from . import services
from .models import BenefitYear, Case, InactionCost, Side, StageItem
from .stages import BY_KEY, STAGES, Stage

FORMAT = "nine-stage-business-case"
VERSION = 1
SUPPORTED_VERSIONS = frozenset({1})

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
TOP_KEYS = ("format", "version", "case", "organisations", "stages")


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


_check_specs()


# --- Export ---------------------------------------------------------------------


@dataclass
class _RefsByPk:
    """The refs export gives to database rows."""

    organisations: dict[int, str] = field(default_factory=dict)
    # stage key -> pk -> ref
    items: dict[str, dict[int, str]] = field(default_factory=dict)


def export_case(case: Case) -> dict[str, Any]:
    """The case as a version-1 case file (a dict ready for json.dumps).

    Deterministic: items in their stages' order, refs numbered in that order, so
    exporting an imported export gives the same document again.
    """
    items = {stage.key: list(stage.items(case)) for stage in STAGES}
    organisations = _exported_organisations(case, items)
    refs = _RefsByPk(
        organisations=_organisation_refs(case, organisations),
        items=_item_refs(items),
    )
    return {
        "format": FORMAT,
        "version": VERSION,
        "case": _dump_case(case),
        "organisations": [_dump_organisation(o, refs) for o in organisations],
        "stages": {
            stage.key: [
                _dump_item(ITEM_SPECS[stage.key], item, stage.key, refs)
                for item in items[stage.key]
            ]
            for stage in STAGES
        },
    }


def dump_json(document: Mapping[str, Any]) -> str:
    """The text of a case file, as the download and the command write it."""
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


def _exported_organisations(
    case: Case, items: Mapping[str, Sequence[StageItem]]
) -> list[Organisation]:
    """The client, the seller, then the organisations items name in the order they
    are first named, each business unit after its company (its `parent` ref must
    name an organisation in the file)."""
    ordered: dict[int, Organisation] = {}

    def add(organisation: Organisation) -> None:
        if organisation.pk in ordered:
            return
        if organisation.parent_id:
            add(organisation.parent)
        ordered[organisation.pk] = organisation

    add(case.client)
    add(case.seller)
    for stage in STAGES:
        names = [
            f.name for f in ITEM_SPECS[stage.key].fields if f.kind is Kind.ORGANISATION
        ]
        for item in items[stage.key]:
            for name in names:
                add(getattr(item, name))
    return list(ordered.values())


def _organisation_refs(
    case: Case, organisations: Iterable[Organisation]
) -> dict[int, str]:
    """ "client", "seller", and a slug of the name for the others ("-2", "-3" when
    two slugs collide), so a file reads well and links are easy to write by hand."""
    refs = {case.client_id: "client", case.seller_id: "seller"}
    used = set(refs.values())
    for organisation in organisations:
        if organisation.pk in refs:
            continue
        base = slugify(organisation.name) or "organisation"
        ref, n = base, 2
        while ref in used:
            ref, n = f"{base}-{n}", n + 1
        used.add(ref)
        refs[organisation.pk] = ref
    return refs


def _item_refs(items: Mapping[str, Sequence[StageItem]]) -> dict[str, dict[int, str]]:
    refs: dict[str, dict[int, str]] = {}
    for key, stage_items in items.items():
        prefix = ITEM_SPECS[key].ref_prefix
        if prefix:
            refs[key] = {
                item.pk: f"{prefix}{n}" for n, item in enumerate(stage_items, 1)
            }
    return refs


def _dump_case(case: Case) -> dict[str, Any]:
    document = {f.name: _dump_value(f, case, _RefsByPk()) for f in CASE_FIELDS}
    if case.extra:
        document["extra"] = case.extra
    return document


def _dump_organisation(organisation: Organisation, refs: _RefsByPk) -> dict[str, Any]:
    document = {
        "ref": refs.organisations[organisation.pk],
        "name": organisation.name,
        "kind": organisation.kind,
    }
    if organisation.parent_id:
        document["parent"] = refs.organisations[organisation.parent_id]
    return document


def _dump_item(
    spec: ItemSpec, item: StageItem, key: str, refs: _RefsByPk
) -> dict[str, Any]:
    document: dict[str, Any] = {}
    if spec.ref_prefix:
        document["ref"] = refs.items[key][item.pk]
    for file_field in spec.fields:
        document[file_field.name] = _dump_value(file_field, item, refs)
    if spec.rows:
        document[spec.rows.key] = [
            {f.name: _dump_value(f, row, refs) for f in spec.rows.fields}
            for row in getattr(item, spec.rows.key).all()
        ]
    if item.extra:
        document["extra"] = item.extra
    return document


def _dump_value(file_field: FileField, obj: models.Model, refs: _RefsByPk) -> Any:
    name = file_field.name
    match file_field.kind:
        case Kind.ORGANISATION:
            return refs.organisations[getattr(obj, f"{name}_id")]
        case Kind.REF:
            pk = getattr(obj, f"{name}_id")
            return None if pk is None else refs.items[file_field.target][pk]
        case Kind.REFS:
            return [
                refs.items[file_field.target][o.pk] for o in getattr(obj, name).all()
            ]
    value = getattr(obj, name)
    if value is None:
        return "" if file_field.kind is Kind.TEXT else None
    match file_field.kind:
        case Kind.DECIMAL:
            return _plain_decimal(value)
        case Kind.MONEY:
            return format(value.quantize(Decimal("0.01")), "f")
        case Kind.DATE:
            return value.isoformat()
    return value


def _plain_decimal(value: Decimal) -> str:
    """The shortest exact form, without exponent: 41.5000 -> "41.5", 60.0000 -> "60"."""
    if value == 0:
        return "0"  # not "-0", nor "0E-4"
    return format(value.normalize(), "f")


# --- Reading a file ---------------------------------------------------------------


class Readable(Protocol):
    def read(self, size: int = -1, /) -> bytes | str: ...


def read_case_file(file: Readable) -> Any:
    """The parsed JSON of an uploaded file, within the size limit. Fractions are
    parsed as Decimals, never floats, so money keeps its exact value."""
    limit = settings.CASE_FILE_MAX_BYTES
    data = file.read(limit + 1)
    size = len(data.encode() if isinstance(data, str) else data)
    if size > limit:
        raise CaseFormatError(
            FILE_PATH, f"is larger than the limit of {_human_size(limit)}"
        )
    return _parse_json(_decode(data))


def _human_size(n: int) -> str:
    for unit, factor in (("MB", 1024 * 1024), ("KB", 1024)):
        if n >= factor:
            return f"{n / factor:.3g} {unit}"
    return f"{n} bytes"


def _decode(data: bytes | str) -> str:
    if isinstance(data, str):
        return data
    try:
        # A byte-order mark is what some Windows editors put first; JSON allows
        # a reader to skip it.
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise CaseFormatError(
            FILE_PATH,
            f"is not UTF-8 text (byte {data[error.start]:#04x} at offset {error.start})",
        ) from None


def _parse_json(text: str) -> Any:
    try:
        return json.loads(
            text,
            parse_float=Decimal,
            parse_constant=_refuse_constant,
            object_pairs_hook=_object_without_duplicates,
        )
    except CaseFormatError:
        raise
    except json.JSONDecodeError as error:
        raise CaseFormatError(
            FILE_PATH,
            f"is not valid JSON: {error.msg} at line {error.lineno}, column {error.colno}",
        ) from None
    except (ValueError, RecursionError) as error:
        # Integers of thousands of digits, or nesting deeper than Python's stack.
        raise CaseFormatError(FILE_PATH, f"is not valid JSON: {error}") from None


def _refuse_constant(name: str) -> NoReturn:
    raise CaseFormatError(FILE_PATH, f"{name} is not a number JSON allows")


def _object_without_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """json.loads keeps the last of two equal keys; a file with both would lose the
    first value silently, so refuse it."""
    obj: dict[str, Any] = {}
    for key, value in pairs:
        if key in obj:
            raise CaseFormatError(
                FILE_PATH, f'the key "{key}" appears twice in one object'
            )
        obj[key] = value
    return obj


# --- Import -----------------------------------------------------------------------


def import_case_file(file: Readable, *, user, side: str = Side.SELLER) -> Case:
    """Create a new case from an uploaded case file; see import_case()."""
    return import_case(read_case_file(file), user=user, side=side)


@dataclass
class _ObjectsByRef:
    """What the file's refs name, as import saves it."""

    organisations: dict[str, Organisation] = field(default_factory=dict)
    # stage key -> ref -> saved item
    items: dict[str, dict[str, StageItem]] = field(default_factory=dict)


@dataclass(frozen=True)
class _OrganisationEntry:
    path: str
    ref: str
    name: str
    kind: str
    parent: str | None


def import_case(document: Any, *, user, side: str = Side.SELLER) -> Case:
    """Create a new case from a parsed case file. `user` (or None) becomes its
    facilitator on `side`. Nothing is saved unless the whole document is valid;
    otherwise CaseFormatError names the path of the first bad value."""
    stages = _check_document(document)
    entries = _read_organisations(document["organisations"])
    client = _the_one(entries, OrganisationKind.CLIENT)
    seller = _the_one(entries, OrganisationKind.SELLER)
    with transaction.atomic():
        objects = _ObjectsByRef(organisations=_import_organisations(entries))
        case = _import_case_fields(
            document["case"],
            client=objects.organisations[client.ref],
            seller=objects.organisations[seller.ref],
            user=user,
            side=side,
        )
        for stage in _import_order():
            objects.items[stage.key] = {}
            for index, raw in enumerate(stages.get(stage.key, [])):
                path = f"stages.{stage.key}[{index}]"
                _import_item(stage, raw, path, case=case, user=user, objects=objects)
    return case


def _import_order() -> list[Stage]:
    """The registry's order, except that stages other stages link to come first,
    so every link names an item that is already saved."""
    targets = {
        f.target for spec in ITEM_SPECS.values() for f in spec.fields if f.target
    }
    return sorted(STAGES, key=lambda stage: stage.key not in targets)


def _check_document(document: Any) -> dict[str, list[Any]]:
    """The top level: what the file is, and the shape of its sections. Returns the
    stages' item lists by stage key."""
    if not isinstance(document, dict):
        raise CaseFormatError(
            FILE_PATH, f"must be a JSON object, not {_describe(document)}"
        )
    _check_format(document)
    _check_keys(document, TOP_KEYS, "")
    for key in ("case", "organisations"):
        if key not in document:
            raise CaseFormatError(key, "is required")
    _expect_list(document["organisations"], "organisations")
    stages = _expect_object(document.get("stages", {}), "stages")
    for key, items in stages.items():
        if key not in BY_KEY:
            known = ", ".join(s.key for s in STAGES)
            raise CaseFormatError(
                f"stages.{key}", f"is not a stage (the stages are {known})"
            )
        _expect_list(items, f"stages.{key}")
    return stages


def _check_format(document: Mapping[str, Any]) -> None:
    # Checked before unknown keys: another kind of JSON file would otherwise be
    # reported as a list of strange keys rather than as the wrong file.
    fmt = document.get("format")
    if fmt != FORMAT:
        found = "it is missing" if "format" not in document else f"not {_describe(fmt)}"
        raise CaseFormatError(
            "format", f'must be "{FORMAT}" ({found}): is this a case file?'
        )
    if "version" not in document:
        raise CaseFormatError("version", "is required")
    version = _as_integer(document["version"], "version")
    if version not in SUPPORTED_VERSIONS:
        supported = ", ".join(str(v) for v in sorted(SUPPORTED_VERSIONS))
        raise CaseFormatError(
            "version",
            f"version {version} is not supported (this product reads {supported})",
        )


# --- Organisations ---


def _read_organisations(raw: list[Any]) -> list[_OrganisationEntry]:
    """Check the list's shape and refs before anything is saved."""
    entries: list[_OrganisationEntry] = []
    seen: dict[str, str] = {}
    for index, item in enumerate(raw):
        path = f"organisations[{index}]"
        obj = _expect_object(item, path)
        _check_keys(obj, ORGANISATION_KEYS, path)
        for key in ("ref", "name", "kind"):
            if key not in obj:
                raise CaseFormatError(f"{path}.{key}", "is required")
        ref = _as_ref(obj["ref"], f"{path}.ref")
        if ref in seen:
            raise CaseFormatError(
                f"{path}.ref", f'duplicate ref "{ref}" (also {seen[ref]})'
            )
        seen[ref] = path
        parent = obj.get("parent")
        entries.append(
            _OrganisationEntry(
                path=path,
                ref=ref,
                name=_as_text(obj["name"], f"{path}.name"),
                kind=_as_text(obj["kind"], f"{path}.kind"),
                parent=None if parent is None else _as_ref(parent, f"{path}.parent"),
            )
        )
    return entries


def _the_one(entries: Sequence[_OrganisationEntry], kind: str) -> _OrganisationEntry:
    """A case has exactly one client and one seller."""
    matching = [e for e in entries if e.kind == kind]
    if not matching:
        raise CaseFormatError(
            "organisations", f'needs one organisation of kind "{kind}"'
        )
    if len(matching) > 1:
        raise CaseFormatError(
            f"{matching[1].path}.kind",
            f"a case has one {kind}, and {matching[0].path} is the {kind} already",
        )
    return matching[0]


def _import_organisations(
    entries: Sequence[_OrganisationEntry],
) -> dict[str, Organisation]:
    """Find or create each organisation (organisations are shared across cases:
    the same name and kind, ignoring case, is the same organisation)."""
    by_entry_ref = {entry.ref: entry for entry in entries}
    saved: dict[str, Organisation] = {}
    # Companies first: a business unit's parent must be saved before the unit.
    for entry in sorted(
        entries, key=lambda e: e.kind == OrganisationKind.BUSINESS_UNIT
    ):
        parent = _parent(entry, by_entry_ref, saved)
        try:
            saved[entry.ref] = services.get_or_create_organisation(
                name=entry.name, kind=entry.kind, parent=parent
            )
        except ValidationError as error:
            _raise_at(error, entry.path, ORGANISATION_KEYS)
    _check_distinct(entries, saved)
    return saved


def _parent(
    entry: _OrganisationEntry,
    entries: Mapping[str, _OrganisationEntry],
    saved: Mapping[str, Organisation],
) -> Organisation | None:
    path = f"{entry.path}.parent"
    if entry.kind != OrganisationKind.BUSINESS_UNIT:
        if entry.parent is not None:
            raise CaseFormatError(path, "only a business unit has a parent")
        return None
    if entry.parent is None:
        raise CaseFormatError(
            path,
            "is required for a business unit: the ref of the company it belongs to",
        )
    target = entries.get(entry.parent)
    if target is None:
        raise CaseFormatError(path, f'no organisation with ref "{entry.parent}"')
    if target.kind == OrganisationKind.BUSINESS_UNIT:
        raise CaseFormatError(path, "must name a company, not another business unit")
    return saved[entry.parent]


def _check_distinct(
    entries: Sequence[_OrganisationEntry], saved: Mapping[str, Organisation]
) -> None:
    """Two entries that are one organisation (names differing only in case) would
    make the case's links ambiguous."""
    first: dict[int, str] = {}
    for entry in entries:
        pk = saved[entry.ref].pk
        if pk in first:
            raise CaseFormatError(
                f"{entry.path}.name",
                f"is the same organisation as {first[pk]} (names are compared ignoring case)",
            )
        first[pk] = entry.path


# --- The case ---


def _import_case_fields(
    raw: Any, *, client: Organisation, seller: Organisation, user, side: str
) -> Case:
    obj = _expect_object(raw, "case")
    _check_keys(obj, CASE_KEYS, "case")
    values = _load_fields(obj, CASE_FIELDS, "case", Case, _ObjectsByRef())
    extra = _load_extra(obj, "case")
    try:
        case = services.create_case(
            user=user, side=side, client=client, seller=seller, **values
        )
    except ValidationError as error:
        _raise_at(
            error,
            "case",
            CASE_KEYS,
            elsewhere={"client": "organisations", "seller": "organisations"},
        )
    if extra:
        case.extra = extra
        case.save(update_fields=["extra"])
    return case


# --- Items ---


def _import_item(
    stage: Stage, raw: Any, path: str, *, case: Case, user, objects: _ObjectsByRef
) -> None:
    spec = ITEM_SPECS[stage.key]
    obj = _expect_object(raw, path)
    _check_keys(obj, spec.keys, path)
    ref = _load_item_ref(obj, spec, path, objects.items[stage.key])
    values = _load_fields(obj, spec.fields, path, stage.model, objects)
    # Many-to-many links are not model attributes: save_item() sets them.
    links = {
        f.name: values.pop(f.name)
        for f in spec.fields
        if f.kind is Kind.REFS and f.name in values
    }
    item = stage.model(case=case, extra=_load_extra(obj, path), **values)
    _full_clean(item, path, spec.keys)
    rows = (
        {spec.rows.key: _load_rows(spec.rows, obj, path, item, objects)}
        if spec.rows
        else {}
    )
    try:
        services.save_item(
            case=case, stage=stage, item=item, user=user, **links, **rows
        )
    except ValidationError as error:
        _raise_at(error, path, spec.keys)
    if ref is not None:
        objects.items[stage.key][ref] = item


def _load_item_ref(
    obj: Mapping[str, Any], spec: ItemSpec, path: str, taken: Mapping[str, StageItem]
) -> str | None:
    """An item's own ref: optional (only items that are linked to need one), unique
    within its stage."""
    if not spec.ref_prefix or obj.get("ref") is None:
        return None
    ref = _as_ref(obj["ref"], f"{path}.ref")
    if ref in taken:
        raise CaseFormatError(f"{path}.ref", f'duplicate ref "{ref}" in this list')
    return ref


def _load_rows(
    spec: RowSpec,
    obj: Mapping[str, Any],
    path: str,
    item: StageItem,
    objects: _ObjectsByRef,
) -> list[models.Model]:
    rows_path = f"{path}.{spec.key}"
    keys = tuple(f.name for f in spec.fields)
    rows: list[models.Model] = []
    seen: dict[Any, str] = {}
    for index, raw in enumerate(_expect_list(obj.get(spec.key, []), rows_path)):
        row_path = f"{rows_path}[{index}]"
        row_obj = _expect_object(raw, row_path)
        _check_keys(row_obj, keys, row_path)
        values = _load_fields(row_obj, spec.fields, row_path, spec.model, objects)
        row = spec.model(**{spec.parent: item}, **values)
        # The item is not saved yet, so its foreign key cannot be checked (nor the
        # one-row-per-year constraint, checked just below instead).
        _full_clean(row, row_path, keys, exclude=[spec.parent])
        unique = values.get(spec.unique)
        if unique in seen:
            raise CaseFormatError(
                f"{row_path}.{spec.unique}",
                f"{spec.unique} {unique} is given twice (also {seen[unique]})",
            )
        seen[unique] = row_path
        rows.append(row)
    return rows


# --- Fields and values ---


def _load_fields(
    obj: Mapping[str, Any],
    fields: Sequence[FileField],
    path: str,
    model: type[models.Model],
    objects: _ObjectsByRef,
) -> dict[str, Any]:
    """The Python values of the fields present in `obj`. A missing optional field
    is left to the model's default; a missing required one is an error."""
    values: dict[str, Any] = {}
    for file_field in fields:
        field_path = f"{path}.{file_field.name}"
        required = _is_required(model, file_field.name)
        if file_field.name not in obj:
            if required:
                raise CaseFormatError(field_path, "is required")
            continue
        raw = obj[file_field.name]
        if raw is None and not required:
            values[file_field.name] = _empty(file_field.kind)
        else:
            values[file_field.name] = _load_value(file_field, raw, field_path, objects)
    return values


def _is_required(model: type[models.Model], name: str) -> bool:
    """The model decides: a field that may not be blank and has no default."""
    model_field = model._meta.get_field(name)
    return not model_field.blank and not model_field.has_default()


def _empty(kind: Kind) -> Any:
    return {Kind.TEXT: "", Kind.REFS: []}.get(kind)


def _load_value(
    file_field: FileField, raw: Any, path: str, objects: _ObjectsByRef
) -> Any:
    match file_field.kind:
        case Kind.TEXT:
            return _as_text(raw, path)
        case Kind.INTEGER:
            return _as_integer(raw, path)
        case Kind.DECIMAL | Kind.MONEY:
            return _as_decimal(raw, path)
        case Kind.DATE:
            return _as_date(raw, path)
        case Kind.ORGANISATION:
            return _resolve(
                objects.organisations, _as_ref(raw, path), path, "organisation"
            )
        case Kind.REF:
            return _resolve_item(file_field.target, _as_ref(raw, path), path, objects)
        case Kind.REFS:
            return _resolve_items(file_field.target, raw, path, objects)
    raise AssertionError(file_field.kind)  # pragma: no cover


def _resolve(known: Mapping[str, Any], ref: str, path: str, noun: str) -> Any:
    if ref not in known:
        raise CaseFormatError(path, f'no {noun} with ref "{ref}"')
    return known[ref]


def _resolve_item(
    target: str, ref: str, path: str, objects: _ObjectsByRef
) -> StageItem:
    return _resolve(objects.items[target], ref, path, BY_KEY[target].item_noun)


def _resolve_items(
    target: str, raw: Any, path: str, objects: _ObjectsByRef
) -> list[StageItem]:
    resolved: list[StageItem] = []
    for index, raw_ref in enumerate(_expect_list(raw, path)):
        ref_path = f"{path}[{index}]"
        item = _resolve_item(target, _as_ref(raw_ref, ref_path), ref_path, objects)
        if item in resolved:
            raise CaseFormatError(ref_path, f'"{raw_ref}" is listed twice')
        resolved.append(item)
    return resolved


def _as_text(raw: Any, path: str) -> str:
    if not isinstance(raw, str):
        raise CaseFormatError(path, f"must be a string, not {_describe(raw)}")
    _check_storable(raw, path)
    return raw


def _check_storable(text: str, path: str) -> None:
    """PostgreSQL refuses NUL characters and no database stores a lone surrogate
    (which a JSON "\\ud800" escape can produce): refuse them here, with a path,
    rather than fail half-way through saving."""
    if "\x00" in text:
        raise CaseFormatError(path, "must not contain NUL characters (\\u0000)")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise CaseFormatError(
            path, "contains an invalid \\u escape (a lone surrogate)"
        ) from None


def _as_ref(raw: Any, path: str) -> str:
    text = _as_text(raw, path)
    if not text.strip():
        raise CaseFormatError(path, "must be a ref, not an empty string")
    return text


def _as_integer(raw: Any, path: str) -> int:
    # bool is an int in Python, but `true` is not a number in JSON.
    if isinstance(raw, bool) or not isinstance(raw, int):
        raise CaseFormatError(path, f"must be a whole number, not {_describe(raw)}")
    return raw


_DECIMAL_STRING = re.compile(r"-?[0-9]+(\.[0-9]+)?")


def _as_decimal(raw: Any, path: str) -> Decimal:
    """A JSON number or a decimal string ("1250000.50"). The model's own
    validators then check the digits, decimal places and range."""
    if isinstance(raw, bool):
        pass
    elif isinstance(raw, int):
        return Decimal(raw)
    elif isinstance(raw, Decimal) and raw.is_finite():
        return raw
    elif isinstance(raw, float) and math.isfinite(raw):
        # Floats only come from callers of import_case() with a dict; their
        # shortest repr is the number the caller meant.
        return Decimal(repr(raw))
    elif isinstance(raw, str) and _DECIMAL_STRING.fullmatch(raw):
        return Decimal(raw)
    raise CaseFormatError(
        path,
        f'must be a number or a decimal string such as "1250.50", not {_describe(raw)}',
    )


_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def _as_date(raw: Any, path: str) -> date:
    if isinstance(raw, str) and _ISO_DATE.fullmatch(raw):
        try:
            return date.fromisoformat(raw)
        except ValueError:
            raise CaseFormatError(
                path, f'"{raw}" is not a date in the calendar'
            ) from None
    raise CaseFormatError(
        path, f'must be a date such as "2027-06-30", not {_describe(raw)}'
    )


def _load_extra(obj: Mapping[str, Any], path: str) -> dict[str, Any]:
    """An "extra" object is kept as it is: it carries what other tools (a CRM,
    a later version) put in the file and this product does not read."""
    if "extra" not in obj:
        return {}
    extra_path = f"{path}.extra"
    return _storable_json(_expect_object(obj["extra"], extra_path), extra_path)


def _storable_json(value: Any, path: str) -> Any:
    """The value as a JSONField can store it: the parser reads fractions as
    Decimals, which JSON columns cannot hold, so they become JSON numbers again."""
    match value:
        case dict():
            for key in value:
                _as_text(key, path)
            return {k: _storable_json(v, f"{path}.{k}") for k, v in value.items()}
        case list():
            return [_storable_json(v, f"{path}[{i}]") for i, v in enumerate(value)]
        case str():
            _check_storable(value, path)
            return value
        case bool() | int() | None:
            return value
        case Decimal() | float():
            number = float(value)
            if not math.isfinite(number):
                raise CaseFormatError(path, "is a number too large to store")
            return number
    raise CaseFormatError(path, f"cannot be stored: {_describe(value)}")


# --- Shapes and messages ---


def _expect_object(raw: Any, path: str) -> dict[str, Any]:
    if not isinstance(raw, dict):
        raise CaseFormatError(path, f"must be an object, not {_describe(raw)}")
    return raw


def _expect_list(raw: Any, path: str) -> list[Any]:
    if not isinstance(raw, list):
        raise CaseFormatError(path, f"must be a list, not {_describe(raw)}")
    return raw


def _check_keys(obj: Mapping[str, Any], allowed: Sequence[str], path: str) -> None:
    """Refuse unknown keys: a misspelt key must not silently drop its value."""
    for key in obj:
        if key not in allowed:
            raise CaseFormatError(
                f"{path}.{key}" if path else key,
                f"unknown key (the keys here are {', '.join(allowed)})",
            )


def _describe(raw: Any) -> str:
    """A JSON value as an error message names it."""
    match raw:
        case None:
            return "null"
        case bool():
            return "true" if raw else "false"
        case int() | float() | Decimal():
            return f"the number {raw}"
        case str():
            shown = raw if len(raw) <= 40 else f"{raw[:37]}..."
            return f'the string "{shown}"'
        case list():
            return "a list"
        case dict():
            return "an object"
    return type(raw).__name__


def _full_clean(
    instance: models.Model, path: str, order: Sequence[str], exclude: Sequence[str] = ()
) -> None:
    try:
        instance.full_clean(exclude=exclude)
    except ValidationError as error:
        _raise_at(error, path, order)


def _raise_at(
    error: ValidationError,
    path: str,
    order: Sequence[str],
    elsewhere: Mapping[str, str] | None = None,
) -> NoReturn:
    """Turn a model's ValidationError into a CaseFormatError at the path of the
    first bad field, in the file's key order so the report is predictable.
    `elsewhere` maps model fields that come from another part of the file."""
    messages = _messages(error)
    names = [n for n in order if n in messages] + [
        n for n in messages if n not in order
    ]
    name = names[0]
    if elsewhere and name in elsewhere:
        where = elsewhere[name]
    elif name == NON_FIELD_ERRORS:
        where = path
    else:
        where = f"{path}.{name}"
    raise CaseFormatError(where, messages[name][0]) from error


def _messages(error: ValidationError) -> dict[str, list[str]]:
    """error.message_dict, except that a message that cannot take its params (a
    literal "%" in a validator's message) is shown as written instead of crashing
    the import."""
    if hasattr(error, "error_dict"):
        groups = error.error_dict
    else:
        groups = {NON_FIELD_ERRORS: error.error_list}
    return {
        name: [_message(single) for e in errors for single in e.error_list]
        for name, errors in groups.items()
    }


def _message(error: ValidationError) -> str:
    message = error.message
    if error.params:
        with contextlib.suppress(TypeError, ValueError, KeyError):
            message %= error.params
    return str(message)
