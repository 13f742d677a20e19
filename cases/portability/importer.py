"""Import: a new case from a case file, all or nothing. `import_case()` checks the
document's top level, finds or creates its organisations, creates the case and then
each stage's items (stages that others link to first), resolving refs to what is
already saved, and last the decision view (version 2). Every item, rating and
recommendation is built as a model instance and `full_clean()`-ed, so values meet
the same rules as the browser forms, and a model's ValidationError is turned into
a CaseFormatError at the path of the first bad field.
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, NoReturn

from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.db import models, transaction

from ecosystem.models import Organisation, OrganisationKind

from .. import services
from ..models import BuyingRating, Case, CaseStatus, Recommendation, Side, StageItem
from ..stages import BY_KEY, STAGES, Stage
from .reading import (
    Readable,
    _as_date,
    _as_decimal,
    _as_integer,
    _as_ref,
    _as_text,
    _check_keys,
    _describe,
    _expect_list,
    _expect_object,
    _load_extra,
    read_case_file,
)
from .spec import (
    CASE_FIELDS,
    CASE_KEYS,
    DECISION_KEYS,
    DECISION_VERSION,
    FILE_PATH,
    FORMAT,
    ITEM_SPECS,
    ORGANISATION_KEYS,
    RATING_FIELDS,
    RATING_KEYS,
    RATING_SIDES,
    RECOMMENDATION_FIELDS,
    RECOMMENDATION_KEYS,
    SUPPORTED_VERSIONS,
    TOP_KEYS,
    CaseFormatError,
    FileField,
    ItemSpec,
    Kind,
    RowSpec,
)

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
        case, archived = _import_case_fields(
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
        if "decision" in document:
            _import_decision(document["decision"], case=case, user=user)
        if archived:
            case.status = CaseStatus.ARCHIVED
            case.save(update_fields=["status"])
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
    version = _check_format(document)
    if version < DECISION_VERSION and "decision" in document:
        raise CaseFormatError(
            "decision",
            f"is not part of a version-{version} file (the decision view came with "
            f'version {DECISION_VERSION}): write "version": {DECISION_VERSION} '
            'or leave "decision" out',
        )
    _check_keys(document, _top_keys(version), "")
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


def _top_keys(version: int) -> tuple[str, ...]:
    if version < DECISION_VERSION:
        return tuple(key for key in TOP_KEYS if key != "decision")
    return TOP_KEYS


def _check_format(document: Mapping[str, Any]) -> int:
    """The file's version, if it is a case file of a version this product reads."""
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
    return version


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
) -> tuple[Case, bool]:
    """The case, and whether the file has it archived: an archived case takes
    no writes, so it is archived once its items are in."""
    obj = _expect_object(raw, "case")
    _check_keys(obj, CASE_KEYS, "case")
    values = _load_fields(obj, CASE_FIELDS, "case", Case, _ObjectsByRef())
    archived = values.get("status") == CaseStatus.ARCHIVED
    if archived:
        values["status"] = CaseStatus.DRAFT
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
    return case, archived


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


# --- The decision view ---


def _import_decision(raw: Any, *, case: Case, user) -> None:
    """Both sides' ratings of the buying elements, then the recommendation; each
    part is optional, and an empty or null one saves nothing."""
    obj = _expect_object(raw, "decision")
    _check_keys(obj, DECISION_KEYS, "decision")
    buying_view = _expect_object(obj.get("buying_view", {}), "decision.buying_view")
    for side, ratings in buying_view.items():
        path = f"decision.buying_view.{side}"
        if side not in RATING_SIDES:
            raise CaseFormatError(
                path,
                "is not a side that rates the decision "
                f"(the sides are {', '.join(RATING_SIDES)})",
            )
        _import_ratings(_expect_list(ratings, path), path, side, case=case, user=user)
    if obj.get("recommendation") is not None:
        _import_recommendation(
            obj["recommendation"], "decision.recommendation", case=case, user=user
        )


def _import_ratings(raw: list[Any], path: str, side: str, *, case: Case, user) -> None:
    ratings: dict[str, tuple[int, str]] = {}
    seen: dict[str, str] = {}
    for index, item in enumerate(raw):
        rating_path = f"{path}[{index}]"
        obj = _expect_object(item, rating_path)
        _check_keys(obj, RATING_KEYS, rating_path)
        values = _load_fields(
            obj, RATING_FIELDS, rating_path, BuyingRating, _ObjectsByRef()
        )
        rating = BuyingRating(case=case, side=side, updated_by=user, **values)
        _full_clean(rating, rating_path, RATING_KEYS)
        if rating.element in seen:
            raise CaseFormatError(
                f"{rating_path}.element",
                f'"{rating.element}" is rated twice by this side '
                f"(also {seen[rating.element]})",
            )
        seen[rating.element] = rating_path
        ratings[rating.element] = (rating.score, rating.comment)
    if not ratings:
        return
    try:
        services.save_buying_ratings(case=case, side=side, user=user, ratings=ratings)
    except ValidationError as error:
        _raise_at(error, path, RATING_KEYS)


def _import_recommendation(raw: Any, path: str, *, case: Case, user) -> None:
    obj = _expect_object(raw, path)
    _check_keys(obj, RECOMMENDATION_KEYS, path)
    values = _load_fields(
        obj, RECOMMENDATION_FIELDS, path, Recommendation, _ObjectsByRef()
    )
    _full_clean(
        Recommendation(case=case, recorded_by=user, **values), path, RECOMMENDATION_KEYS
    )
    try:
        services.record_recommendation(case=case, user=user, **values)
    except ValidationError as error:
        _raise_at(error, path, RECOMMENDATION_KEYS)


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


# --- Model validation errors ---


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
