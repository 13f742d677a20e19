"""Reading a case file, without touching the database: the size limit, decoding
and strict JSON parsing of an upload (`read_case_file()`), then the checks import
applies to each raw value: its shape (`_expect_object`, `_expect_list`,
`_check_keys`), its coercion to a typed Python value (`_as_text`, `_as_decimal`,
...), what "extra" may hold, and how error messages describe a JSON value.
Every problem is a CaseFormatError naming the path of the bad value.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping, Sequence
from datetime import date
from decimal import Decimal
from typing import Any, NoReturn, Protocol

from django.conf import settings

from .spec import FILE_PATH, CaseFormatError

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


# --- Values ---


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
