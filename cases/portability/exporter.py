"""Export: a case as a case file of the current version (`spec.VERSION`).
`export_case()` builds the document (a dict ready for JSON), `dump_json()` writes
its text, and the `_dump_*` helpers turn each organisation, item, row, rating and
value into what the format in `spec` says, giving organisations and linked items
the refs that other entries name them by.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.db import models
from django.utils.text import slugify

from ecosystem.models import Organisation

from ..models import Case, Recommendation, StageItem
from ..stages import STAGES
from .spec import (
    CASE_FIELDS,
    ELEMENTS,
    FORMAT,
    ITEM_SPECS,
    RATING_FIELDS,
    RATING_SIDES,
    RECOMMENDATION_FIELDS,
    VERSION,
    FileField,
    ItemSpec,
    Kind,
)

# --- Export ---------------------------------------------------------------------


@dataclass
class _RefsByPk:
    """The refs export gives to database rows."""

    organisations: dict[int, str] = field(default_factory=dict)
    # stage key -> pk -> ref
    items: dict[str, dict[int, str]] = field(default_factory=dict)


def export_case(case: Case) -> dict[str, Any]:
    """The case as a case file (a dict ready for json.dumps).

    Deterministic: items in their stages' order, refs numbered in that order,
    ratings in the buying elements' order, so exporting an imported export gives
    the same document again.
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
        "decision": _dump_decision(case),
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


def _dump_decision(case: Case) -> dict[str, Any]:
    """Always written, also when there is nothing to say: every side's list (empty
    when it has not rated), and the recommendation or null."""
    buying_view: dict[str, list[dict[str, Any]]] = {side: [] for side in RATING_SIDES}
    order = {element: n for n, element in enumerate(ELEMENTS)}
    ratings = sorted(
        case.buying_ratings.all(),
        key=lambda r: (order.get(r.element, len(order)), r.element),
    )
    no_refs = _RefsByPk()
    for rating in ratings:
        # Only the rating sides are in the format (the model refuses any other).
        if rating.side in buying_view:
            buying_view[rating.side].append(
                {f.name: _dump_value(f, rating, no_refs) for f in RATING_FIELDS}
            )
    recommendation = Recommendation.objects.filter(case=case).first()
    return {
        "buying_view": buying_view,
        "recommendation": None
        if recommendation is None
        else {
            f.name: _dump_value(f, recommendation, no_refs)
            for f in RECOMMENDATION_FIELDS
        },
    }


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
