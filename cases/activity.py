"""Who wrote what: the case's activity feed in plain words, and the co-creation
balance (the share of items and of edits by client, seller and partner).

The feed reads the django-simple-history rows of the nine stages' items and of
the stage records. One SQL query gives a page of it, whatever the size of the
case: a UNION of the ten history tables, newest first, each row carrying its
tracked fields and those of the same object's previous row as JSON (plus the
names its foreign keys point to). Python rebuilds the two historical rows and
words `row.diff_against(previous)`.
"""

from __future__ import annotations

import functools
import json
import operator
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.db import models
from django.db.models import (
    CharField,
    Count,
    F,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
)
from django.db.models.functions import Cast, Coalesce, JSONObject
from django.utils.formats import date_format

from . import health
from .models import Case, Membership, Side, StageRecord, StageStatus, display_name
from .services import UNLINKED
from .stages import BY_KEY, BY_SLUG, STAGES, Stage
from .templatetags.case_tags import number

PAGE_SIZE = 50
RECENT = 5

# Bookkeeping, not what people wrote: never worded as a change.
SKIP = {
    "id",
    "case",
    "position",
    "extra",
    "created_at",
    "updated_at",
    "created_by",
    "updated_by",
    "version",
}
# Some verbose names are written as form questions ("by when", "measured"); in a
# sentence ("changed the ... of 'X'") these read better.
WORDING = {
    "target_date": "target date",
    "frequency": "measurement frequency",
    "metric": "proving metric",
    "rationale": "reason for the change",
    "future": "intended future",
}
WORDING_BY_MODEL = {("investment", "organisation"): "investor"}
# Decimal fields shown with a unit: a metric's own unit, or the case's currency.
METRIC_UNIT_FIELDS = {"baseline", "target"}
MONEY_FIELDS = {"amount", "day_rate"}
LABEL_FIELDS = ("title", "name", "organisation", "model")
# An item's yearly figures or links, kept as JSON by services.save_item (see
# cases/models/items.py); worded year by year or link by link, not as a value.
SNAPSHOT = "snapshot"
SNAPSHOT_WORDING = {"benefit": "figures", "riskofnotacting": "cost of inaction"}
# The order of a year's figures (PostgreSQL's jsonb keeps no key order).
FIGURE_ORDER = ("low", "expected", "high", "amount")
RECORD_KEY = "_record"  # the stage records' branch of the union


# --- People -------------------------------------------------------------------


@dataclass(frozen=True)
class Person:
    user_id: int | None
    name: str
    side: str = ""  # "client", "seller", "partner"; "" when no longer a member

    def __str__(self) -> str:
        return f"{self.name} ({self.side_label})" if self.side else self.name

    @property
    def side_label(self) -> str:
        return Side(self.side).label.lower() if self.side else ""


def member_sides(case: Case) -> dict[int, str]:
    """user id -> side in this case; one query, kept on the case for the request."""
    sides = getattr(case, "_member_sides", None)
    if sides is None:
        sides = dict(
            Membership.objects.filter(case=case)
            .order_by()
            .values_list("user_id", "side")
        )
        case._member_sides = sides
    return sides


def who(user, case: Case) -> str:
    """'Maria Lopez (client)': a person's name with their side in this case."""
    if user is None:
        return display_name(None)
    return str(Person(user.pk, display_name(user), member_sides(case).get(user.pk, "")))


# --- Entries ------------------------------------------------------------------


@dataclass(frozen=True)
class Change:
    field: str  # the field's name
    label: str  # how a sentence names it
    before: str | None  # None: empty
    after: str | None
    text: bool = False  # long text: named, its values not quoted
    detail: str = ""  # yearly figures or links: what moved, already worded

    def phrase(self, item: str | None) -> str:
        if self.detail and self.label == "links":
            return f"changed what {item or 'it'} drives: {self.detail}"
        target = f"the {self.label} of {item}" if item else f"its {self.label}"
        if self.detail:
            return f"changed {target}: {self.detail}"
        if self.text or (self.before is not None and self.after is not None):
            if self.text:
                return f"changed {target}"
            return f"changed {target} from {self.before} to {self.after}"
        if self.after is not None:
            return f"set {target} to {self.after}"
        return f"cleared {target}"


@dataclass
class Entry:
    when: datetime
    person: Person
    stage: Stage
    action: str  # added, changed, deleted, updated; "record" for a stage record
    noun: str = ""
    label: str = ""
    changes: list[Change] = field(default_factory=list)
    reason: str = ""

    def __str__(self) -> str:
        return f"{self.person} {self.text}"

    @property
    def text(self) -> str:
        """What was done, in plain words, without who did it."""
        item = f"{self.noun} '{self.label}'"
        if self.action in ("added", "deleted", "updated"):
            return f"{self.action} {item}"
        if self.action == "changed":
            return _join(self._change_phrases()) or f"changed {item}"
        return _join(self._record_phrases())

    def _change_phrases(self) -> list[str]:
        phrases = []
        named = False
        for change in self.changes:
            if (
                change.field == _label_field(self.stage)
                and change.before
                and change.after
            ):
                before, after = change.before.strip("'"), change.after.strip("'")
                phrases.append(f"renamed {self.noun} '{before}' to '{after}'")
                named = True
                continue
            phrases.append(change.phrase(None if named else f"'{self.label}'"))
            named = True
        return phrases

    def _record_phrases(self) -> list[str]:
        n = self.stage.number
        phrases = []
        for change in self.changes:
            if change.field == "notes":
                phrases.append(f"changed the notes of stage {n}")
            elif change.after == StageStatus.AGREED.label:
                phrases.append(f"marked stage {n} agreed")
            else:
                phrases.append(f"reopened stage {n}")
        return phrases


def _join(phrases: list[str]) -> str:
    if len(phrases) < 2:
        return "".join(phrases)
    return ", ".join(phrases[:-1]) + " and " + phrases[-1]


# --- The query ----------------------------------------------------------------


@functools.cache
def _tracked_fields(stage: Stage) -> list[models.Field]:
    return [
        f
        for f in stage.model.history.model._meta.concrete_fields
        if f.name not in SKIP
        and not f.name.startswith("history_")
        and f.name in {g.name for g in stage.model._meta.concrete_fields}
    ]


def _json_of(fields: Iterable[models.Field], prefix: str = "") -> JSONObject:
    """A history row's tracked fields as JSON. Decimals travel as text, exact on
    SQLite and PostgreSQL alike; a foreign key also brings the name it points to."""
    parts: dict = {}
    for f in fields:
        if isinstance(f, models.ForeignKey):
            parts[f.name] = F(prefix + f.attname)
            parts[f"{f.name}__label"] = F(f"{prefix}{f.name}__name")
        elif isinstance(f, models.DecimalField | models.DateField):
            parts[f.name] = Cast(F(prefix + f.name), CharField())
        else:
            parts[f.name] = F(prefix + f.name)
    return JSONObject(**parts)


COLUMNS = (
    "a_key",
    "a_hid",
    "a_date",
    "a_type",
    "a_reason",
    "a_user",
    "a_first",
    "a_last",
    "a_email",
    "a_username",
    "a_data",
    "a_prev",
)


def _common(key: str) -> dict:
    return {
        "a_key": Value(key, output_field=CharField()),
        "a_hid": F("history_id"),
        "a_date": F("history_date"),
        "a_type": F("history_type"),
        "a_reason": F("history_change_reason"),
        "a_user": F("history_user_id"),
        "a_first": F("history_user__first_name"),
        "a_last": F("history_user__last_name"),
        "a_email": F("history_user__email"),
        "a_username": F("history_user__username"),
    }


def _written(rows: QuerySet) -> QuerySet:
    """History rows (of items or stage records) of what people did, without
    those recording a link lost because the item it pointed to was deleted
    (services.recording_unlinks, item rows only): the deletion is worded, not
    the links it took with it. They stay in the history, so the next save of the
    item is compared with what it was after them."""
    return rows.exclude(history_change_reason__startswith=UNLINKED)


def _item_branch(stage: Stage, case: Case, user_id: int | None) -> QuerySet:
    history = stage.model.history.model
    fields = _tracked_fields(stage)
    previous = (
        history.objects.filter(id=OuterRef("id"), history_id__lt=OuterRef("history_id"))
        .order_by("-history_id")
        .values(j=_json_of(fields))[:1]
    )
    rows = _written(history.objects.filter(case_id=case.pk))
    if user_id is not None:
        rows = rows.filter(history_user_id=user_id)
    return (
        rows.order_by()
        .annotate(
            **_common(stage.key), a_data=_json_of(fields), a_prev=Subquery(previous)
        )
        .values_list(*COLUMNS)
    )


def _record_branch(case: Case, stage: Stage | None, user_id: int | None) -> QuerySet:
    """Stage records: only notes written and stages agreed or reopened. Moves
    between empty and in progress follow the items and would only be noise."""
    history = StageRecord.history.model
    previous = history.objects.filter(
        id=OuterRef("id"), history_id__lt=OuterRef("history_id")
    ).order_by("-history_id")
    rows = history.objects.filter(case_id=case.pk)
    if stage is not None:
        rows = rows.filter(stage=stage.slug)
    if user_id is not None:
        rows = rows.filter(history_user_id=user_id)
    agreed = StageStatus.AGREED
    rows = rows.annotate(
        p_notes=Subquery(previous.values("notes")[:1]),
        p_status=Subquery(previous.values("status")[:1]),
    ).filter(
        Q(p_status__isnull=True, notes__gt="")
        | Q(p_notes__isnull=False) & ~Q(notes=F("p_notes"))
        | Q(status=agreed) & (Q(p_status__isnull=True) | ~Q(p_status=agreed))
        | Q(p_status=agreed) & ~Q(status=agreed),
        history_type__in=["+", "~"],
    )
    return (
        rows.order_by()
        .annotate(
            **_common(RECORD_KEY),
            a_data=JSONObject(stage=F("stage"), status=F("status"), notes=F("notes")),
            a_prev=JSONObject(
                stage=F("stage"), status=F("p_status"), notes=F("p_notes")
            ),
        )
        .values_list(*COLUMNS)
    )


def _rows(
    case: Case, *, stage: Stage | None, user_id: int | None, offset: int, limit: int
) -> list[tuple]:
    stages = [stage] if stage is not None else list(STAGES)
    branches = [_item_branch(s, case, user_id) for s in stages]
    branches.append(_record_branch(case, stage, user_id))
    union = branches[0].union(*branches[1:], all=True)
    return list(union.order_by("-a_date", "-a_hid")[offset : offset + limit])


# --- From rows to entries -----------------------------------------------------


def _rebuild(stage: Stage, data: dict | None):
    """An unsaved historical row holding `data`, for diff_against."""
    if data is None:
        return None
    history = stage.model.history.model
    values = {}
    for f in _tracked_fields(stage):
        raw = data.get(f.name)
        if isinstance(f, models.ForeignKey):
            values[f.attname] = raw
        else:
            values[f.name] = None if raw is None else f.to_python(raw)
    return history(**values)


def _format(
    f: models.Field, value, data: dict, case: Case, unit: str = ""
) -> str | None:
    """A field's value as a sentence shows it; None when empty."""
    if value is None or value == "":
        return None
    if f.choices:
        return str(dict(f.flatchoices).get(value, value))
    if isinstance(f, models.ForeignKey):
        return f"'{data.get(f'{f.name}__label') or 'a removed ' + str(f.verbose_name)}'"
    if isinstance(f, models.DecimalField):
        text = number(Decimal(value))
        if f.name in METRIC_UNIT_FIELDS and unit:
            return f"{text} {unit}"
        if f.name in MONEY_FIELDS:
            return f"{text} {case.currency}"
        return text
    if isinstance(f, models.DateField):
        if isinstance(value, str):
            value = date.fromisoformat(value[:10])
        return date_format(value, "j M Y")
    if isinstance(f, models.IntegerField):
        return str(value)
    return f"'{value}'"


@functools.cache
def _label_field(stage: Stage) -> str:
    """The field that names a stage's item ("title", "name", ...)."""
    names = {f.name for f in stage.model._meta.concrete_fields}
    return next(name for name in LABEL_FIELDS if name in names)


def _label(stage: Stage, data: dict, case: Case) -> str:
    name = _label_field(stage)
    shown = _format(stage.model._meta.get_field(name), data.get(name), data, case)
    return (shown or "?").strip("'")


def _wording(stage: Stage, f: models.Field) -> str:
    return WORDING_BY_MODEL.get(
        (stage.model._meta.model_name, f.name), WORDING.get(f.name)
    ) or str(f.verbose_name)


def _item_entry(stage: Stage, row: dict, case: Case, person: Person) -> Entry:
    data, prev = row["a_data"], row["a_prev"]
    entry = Entry(
        when=row["a_date"],
        person=person,
        stage=stage,
        action={"+": "added", "-": "deleted"}.get(row["a_type"], "changed"),
        noun=stage.item_noun,
        label=_label(stage, data, case),
        reason=row["a_reason"] or "",
    )
    if entry.action != "changed" or prev is None:
        return entry
    meta = stage.model._meta
    # The name first: "renamed risk 'A' to 'B' and changed its impact ...".
    names = [f.name for f in _tracked_fields(stage) if f.name != SNAPSHOT]
    delta = _rebuild(stage, data).diff_against(
        _rebuild(stage, prev), included_fields=names
    )
    order = sorted(
        delta.changes,
        key=lambda c: (c.field != _label_field(stage), names.index(c.field)),
    )
    for change in order:
        f = meta.get_field(change.field)
        before = _format(f, prev.get(f.name), prev, case, prev.get("unit") or "")
        after = _format(f, data.get(f.name), data, case, data.get("unit") or "")
        if before == after:
            continue
        entry.changes.append(
            Change(
                field=f.name,
                label=_wording(stage, f),
                before=before,
                after=after,
                text=isinstance(f, models.TextField),
            )
        )
    if SNAPSHOT in data:
        snapshot = _snapshot_change(stage, prev.get(SNAPSHOT), data[SNAPSHOT], case)
        if snapshot is not None:
            entry.changes.append(snapshot)
    if not entry.changes:
        # Saved with nothing changed that people wrote.
        entry.action = "updated"
    return entry


def _snapshot_change(stage: Stage, before, after, case: Case) -> Change | None:
    """An item's yearly figures or links, compared; None when nothing moved or
    when either side was never recorded (written before snapshots existed)."""
    before, after = _loads(before), _loads(after)
    if before is None or after is None:
        return None
    if stage.model._meta.model_name in SNAPSHOT_WORDING:
        label = SNAPSHOT_WORDING[stage.model._meta.model_name]
        detail = "; ".join(_figures_moved(before, after, case))
    else:
        label = "links"
        detail = ", ".join(_links_moved(before, after))
    return Change(SNAPSHOT, label, None, None, detail=detail) if detail else None


def _loads(value):
    # SQLite's JSON_OBJECT nests a JSON column as its text; PostgreSQL as JSON.
    return json.loads(value) if isinstance(value, str) else value


def _money(value: str | None, case: Case) -> str:
    return "-" if value is None else f"{number(Decimal(value))} {case.currency}"


def _figures_moved(before: list[dict], after: list[dict], case: Case) -> list[str]:
    """'year 2 expected from 380,000 EUR to 420,000 EUR', 'year 5 added (...)'."""
    old = {row["year"]: row for row in before}
    new = {row["year"]: row for row in after}

    def values(row: dict) -> str:
        columns = _figure_columns(row)
        if len(columns) == 1:
            return _money(row[columns[0]], case)
        return ", ".join(f"{k} {_money(row[k], case)}" for k in columns)

    parts = []
    for year in sorted(old.keys() | new.keys()):
        if year not in old:
            parts.append(f"year {year} added ({values(new[year])})")
        elif year not in new:
            parts.append(f"year {year} removed (was {values(old[year])})")
        else:
            moved = [
                (k, old[year].get(k), new[year][k])
                for k in _figure_columns(new[year])
                if _decimal(old[year].get(k)) != _decimal(new[year][k])
            ]
            single = len(new[year]) == 2  # year and one amount: no column names
            parts.extend(
                f"year {year} {'' if single else k + ' '}from "
                f"{_money(was, case)} to {_money(now, case)}"
                for k, was, now in moved
            )
    return parts


def _figure_columns(row: dict) -> list[str]:
    rank = {name: i for i, name in enumerate(FIGURE_ORDER)}
    return sorted((k for k in row if k != "year"), key=lambda k: (rank.get(k, 99), k))


def _decimal(value: str | None) -> Decimal | None:
    return None if value is None else Decimal(value)


def _links_moved(before: list[dict], after: list[dict]) -> list[str]:
    """ "added 'Cost per order'", "removed 'Churn'": links by the names they had."""
    old = {link["id"]: link["name"] for link in before}
    new = {link["id"]: link["name"] for link in after}
    added = [f"'{new[i]}'" for i in new if i not in old]
    removed = [f"'{old[i]}'" for i in old if i not in new]
    return [
        *([f"added {_join(added)}"] if added else []),
        *([f"removed {_join(removed)}"] if removed else []),
    ]


def _record_entry(row: dict, person: Person) -> Entry | None:
    data, prev = row["a_data"], row["a_prev"]
    stage = BY_SLUG.get(data["stage"])
    if stage is None:
        return None
    entry = Entry(
        when=row["a_date"],
        person=person,
        stage=stage,
        action="record",
        reason=row["a_reason"] or "",
    )
    if (data["notes"] or "") != (prev["notes"] or ""):
        entry.changes.append(
            Change("notes", "notes", prev["notes"], data["notes"], text=True)
        )
    agreed = StageStatus.AGREED
    if (data["status"] == agreed) != (prev["status"] == agreed):
        entry.changes.append(
            Change(
                "status",
                "status",
                StageStatus(prev["status"]).label if prev["status"] else None,
                StageStatus(data["status"]).label,
            )
        )
    return entry if entry.changes else None


def _person(row: dict, sides: dict[int, str]) -> Person:
    if row["a_user"] is None:
        return Person(None, display_name(None))
    user = get_user_model()(
        pk=row["a_user"],
        first_name=row["a_first"] or "",
        last_name=row["a_last"] or "",
        email=row["a_email"] or "",
        username=row["a_username"] or "",
    )
    return Person(user.pk, display_name(user), sides.get(user.pk, ""))


@dataclass
class Feed:
    entries: list[Entry]
    page: int
    has_older: bool

    @property
    def has_newer(self) -> bool:
        return self.page > 1


def feed(
    case: Case,
    *,
    stage: Stage | None = None,
    user_id: int | None = None,
    page: int = 1,
    per_page: int = PAGE_SIZE,
    sides: dict[int, str] | None = None,
) -> Feed:
    """A page of the case's activity, newest first, in one query (plus one for
    the members' sides unless given). A page can show fewer than `per_page`
    entries when a history row words nothing."""
    page = max(page, 1)
    rows = _rows(
        case,
        stage=stage,
        user_id=user_id,
        offset=(page - 1) * per_page,
        limit=per_page + 1,
    )
    sides = member_sides(case) if sides is None else sides
    entries = []
    for values in rows[:per_page]:
        row = dict(zip(COLUMNS, values, strict=True))
        person = _person(row, sides)
        if row["a_key"] == RECORD_KEY:
            entry = _record_entry(row, person)
        else:
            entry = _item_entry(BY_KEY[row["a_key"]], row, case, person)
        if entry is not None:
            entries.append(entry)
    return Feed(entries, page, has_older=len(rows) > per_page)


# --- The co-creation balance --------------------------------------------------


def _count(rows: QuerySet, key: str) -> Coalesce:
    counted = rows.order_by().values(key).annotate(n=Count("pk")).values("n")
    return Coalesce(Subquery(counted, output_field=IntegerField()), Value(0))


def with_contributions(memberships: QuerySet[Membership]) -> QuerySet[Membership]:
    """Annotate each membership with the items its person created in the case
    (`n_items`) and their history rows (`n_edits`: every add, change and delete
    of an item, and every save of a stage record, but not the rows recording
    that a deletion took an item's link with it, `_written`). Part of the
    members query, so the balance costs the overview no query of its own."""
    items = [
        _count(
            s.model.objects.filter(
                case=OuterRef("case_id"), created_by=OuterRef("user_id")
            ),
            "case",
        )
        for s in STAGES
    ]
    edits = [
        _count(
            _written(
                m.history.model.objects.filter(
                    case_id=OuterRef("case_id"), history_user_id=OuterRef("user_id")
                )
            ),
            "case",
        )
        for m in [s.model for s in STAGES] + [StageRecord]
    ]
    return memberships.annotate(
        n_items=functools.reduce(operator.add, items),
        n_edits=functools.reduce(operator.add, edits),
    )


@dataclass(frozen=True)
class Share:
    side: str
    label: str
    count: int
    share: Decimal | None  # None while nothing is counted

    @property
    def percent(self) -> int:
        return round(self.share * 100) if self.share is not None else 0


@dataclass(frozen=True)
class Balance:
    items: list[Share]
    edits: list[Share]

    @property
    def client_share(self) -> Decimal | None:
        return next(s.share for s in self.items if s.side == Side.CLIENT)

    @property
    def not_co_created(self) -> bool:
        """health.py's rule and threshold: the client side wrote under a fifth."""
        share = self.client_share
        return share is not None and share < health.CLIENT_SHARE_MIN

    @property
    def rows(self) -> list[tuple[str, list[Share]]]:
        return [("Items written", self.items), ("Edits made", self.edits)]

    @property
    def threshold_percent(self) -> int:
        return round(health.CLIENT_SHARE_MIN * 100)


def _shares(counts: dict[str, int]) -> list[Share]:
    total = sum(counts.values())
    return [
        Share(
            side.value,
            side.label,
            counts.get(side.value, 0),
            Decimal(counts.get(side.value, 0)) / total if total else None,
        )
        for side in (Side.CLIENT, Side.SELLER, Side.PARTNER)
    ]


def balance(memberships: Iterable[Membership]) -> Balance:
    """The balance from memberships annotated by `with_contributions`. Items and
    edits of people no longer in the case are not counted: they have no side."""
    items: dict[str, int] = {}
    edits: dict[str, int] = {}
    for m in memberships:
        items[m.side] = items.get(m.side, 0) + m.n_items
        edits[m.side] = edits.get(m.side, 0) + m.n_edits
    return Balance(_shares(items), _shares(edits))
