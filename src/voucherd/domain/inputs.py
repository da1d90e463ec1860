"""Input that can never succeed, refused the same way on every face (``docs/decisions.md``).

Small pure checks each face calls at its edge, before any work; the database boundary
(``db/types.py``, ``db/engine.py``) applies the same limits again, so a face that forgets one
still answers a 4xx and nothing it stores can break another face's read.

- Integers in text (paths, query strings, headers, forms): :func:`parse_ascii_int` accepts only
  ``[0-9]+`` (and one leading ``-`` where allowed). Python's ``int()`` also takes full-width
  and Arabic-Indic digits (``"\\uff11\\uff10"`` is 10), ``"1_0"``, ``" 10 "`` and ``"+10"``;
  ``str.isdigit()`` is true for ``"²"``, which ``int()`` then refuses. None of those is a
  number on the wire.
- 64-bit range: :func:`check_id` (an id no row can have is *not found*) and :func:`check_int`
  (a value out of range is a *validation* error).
- Amounts and other integers in JSON: :func:`strict_int`: a JSON integer, never a boolean,
  float or string.
- JSON values (metadata, JTL ``data``, filters): :func:`check_json` and :func:`loads_json`:
  at most :data:`JSON_MAX_DEPTH` levels and :data:`JSON_MAX_BYTES` bytes, text without NUL
  or lone surrogates, integers in 64 bits, finite numbers.

Only the standard library is used here (domain rule).
"""

from __future__ import annotations

import json
import math
import re
from typing import Any, Final

from voucherd.domain.errors import NotFound, ValidationFailed

INT64_MIN: Final = -(2**63)
INT64_MAX: Final = 2**63 - 1

JSON_MAX_DEPTH: Final = 32
"""Nesting levels of one JSON value: ``{}``/``[]`` is 1, ``{"a": {}}`` is 2, a scalar is 0."""
JSON_MAX_BYTES: Final = 16 * 1024
"""Bytes of one JSON value, serialized compactly as UTF-8 (or as sent, for JSON in a string)."""

_ASCII_INT: Final = re.compile(r"-?[0-9]+")
# More digits than this is out of 64-bit range whatever they are (leading zeros aside), and
# keeps int() far from its 4,300-digit limit.
_MAX_DIGITS: Final = 64


def parse_ascii_int(text: str, *, allow_negative: bool = False) -> int:
    """The integer ``text`` spells in ASCII digits, or ``ValueError``.

    Accepts exactly ``^[0-9]+$`` (``^-?[0-9]+$`` with ``allow_negative``): no sign ``+``, no
    white space, no ``_``, no non-ASCII digits. No range check: see :func:`check_id` and
    :func:`check_int`; a spelling too long for any 64-bit integer gives a value out of range.
    """
    if not isinstance(text, str) or _ASCII_INT.fullmatch(text) is None:
        raise ValueError("not an integer in ASCII digits")
    if text.startswith("-") and not allow_negative:
        raise ValueError("a negative number is not allowed here")
    digits = text.lstrip("-").lstrip("0") or "0"
    if len(digits) > _MAX_DIGITS:
        return INT64_MIN - 1 if text.startswith("-") else INT64_MAX + 1
    return int(text)


def check_id(value: int, kind: str, *, low: int = 1, high: int = INT64_MAX) -> int:
    """``value`` if a row could have it as id, else ``NotFound(kind)``.

    Ids are 64-bit (``BIGINT``) and start at 1; an id outside that range names nothing, so it
    is "not found", exactly like an id in range that does not exist.
    """
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise NotFound(kind, None)
    return value


def id_from_text(text: str, kind: str) -> int:
    """An id sent as text (path, query, header): ASCII digits in 1..2^63-1, else not found."""
    try:
        value = parse_ascii_int(text, allow_negative=True)
    except ValueError:
        raise NotFound(kind, None) from None
    return check_id(value, kind)


def check_int(
    value: int, field: str, *, low: int = INT64_MIN, high: int = INT64_MAX, rule: str = "range"
) -> int:
    """``value`` if ``low <= value <= high`` (default: a 64-bit ``BIGINT``), else
    ``ValidationFailed`` naming ``field``."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValidationFailed(f"{field} must be an integer", field=field, rule="integer")
    if not low <= value <= high:
        raise ValidationFailed(f"{field} must be between {low} and {high}", field=field, rule=rule)
    return value


def int_from_text(
    text: str,
    field: str,
    *,
    low: int = INT64_MIN,
    high: int = INT64_MAX,
) -> int:
    """An integer value sent as text: ASCII digits (``-`` only if ``low < 0``) in range,
    else ``ValidationFailed`` naming ``field``."""
    try:
        value = parse_ascii_int(text, allow_negative=low < 0)
    except ValueError:
        raise ValidationFailed(
            f"{field} must be an integer in ASCII digits", field=field, rule="integer"
        ) from None
    return check_int(value, field, low=low, high=high)


def strict_int(value: object, field: str, *, low: int = INT64_MIN, high: int = INT64_MAX) -> int:
    """A JSON integer (a Python ``int`` that is not a ``bool``) in range, else
    ``ValidationFailed``. ``true``, ``1.0`` and ``"1"`` are refused: an amount is a number."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValidationFailed(f"{field} must be a JSON integer", field=field, rule="integer")
    return check_int(value, field, low=low, high=high)


def bad_text(text: str) -> str | None:
    """Why ``text`` cannot be stored (NUL, lone UTF-16 surrogate), or None if it can."""
    if "\x00" in text:
        return "text may not contain NUL characters"
    if not text.isascii():
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            return "text must be valid Unicode (no lone surrogates)"
    return None


def json_problem(value: Any, *, max_depth: int = JSON_MAX_DEPTH) -> tuple[str, str] | None:
    """``(rule, message)`` for the first reason ``value`` is not a storable JSON value, or None.

    Walks the value without recursion, so a value nested 100,000 deep is reported, not a
    ``RecursionError``. Checks depth, text, integer range and finite numbers; not size (see
    :func:`check_json`). Types that are not JSON at all (a ``datetime``, a ``set``) are a
    programming error and raise ``TypeError``.
    """
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, str):
            reason = bad_text(item)
            if reason is not None:
                return "text", reason
        elif item is None or isinstance(item, bool):
            continue
        elif isinstance(item, int):
            if not INT64_MIN <= item <= INT64_MAX:
                return "range", "integers in JSON values must fit in 64 bits"
        elif isinstance(item, float):
            if not math.isfinite(item):
                return "number", "numbers in JSON values must be finite"
        elif isinstance(item, (dict, list, tuple)):
            if depth + 1 > max_depth:
                return "depth", f"JSON values may be nested at most {max_depth} levels deep"
            if isinstance(item, dict):
                for key, child in item.items():
                    if not isinstance(key, str):
                        raise TypeError(f"JSON object keys must be text, not {type(key)}")
                    reason = bad_text(key)
                    if reason is not None:
                        return "text", reason
                    stack.append((child, depth + 1))
            else:
                stack.extend((child, depth + 1) for child in item)
        else:
            raise TypeError(f"not a JSON value: {type(item).__name__}")
    return None


def json_size(value: Any) -> int:
    """Bytes of ``value`` as compact UTF-8 JSON (call only on a value within the depth limit)."""
    return len(json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode())


def check_json(
    value: Any,
    field: str | None = None,
    *,
    max_depth: int = JSON_MAX_DEPTH,
    max_bytes: int = JSON_MAX_BYTES,
) -> Any:
    """``value`` if it is a JSON value the product may accept and store, else
    ``ValidationFailed`` (rule ``depth``, ``size``, ``text``, ``range`` or ``number``).

    The one limit for every JSON value any face accepts (metadata, JTL ``data``, filters):
    at most ``max_depth`` levels (:data:`JSON_MAX_DEPTH`) and ``max_bytes`` bytes
    (:data:`JSON_MAX_BYTES`), text without NUL or lone surrogates, 64-bit integers, finite
    numbers. Never recurses, so it cannot crash on hostile input.
    """
    problem = json_problem(value, max_depth=max_depth)
    if problem is not None:
        rule, message = problem
        raise ValidationFailed(message, field=field, rule=rule)
    if json_size(value) > max_bytes:
        raise ValidationFailed(
            f"JSON values may be at most {max_bytes} bytes", field=field, rule="size"
        )
    return value


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def loads_json(
    text: str | bytes,
    field: str | None = None,
    *,
    max_depth: int = JSON_MAX_DEPTH,
    max_bytes: int = JSON_MAX_BYTES,
) -> Any:
    """Parse JSON text a client sent as a value (JTL's ``data``, a ``?filter=``), checked by
    :func:`check_json`. Invalid JSON (``NaN`` included), text longer than ``max_bytes`` and
    nesting too deep for the parser are all ``ValidationFailed``, never a ``RecursionError``.
    """
    size = len(text.encode() if isinstance(text, str) else text)
    if size > max_bytes:
        raise ValidationFailed(
            f"JSON values may be at most {max_bytes} bytes", field=field, rule="size"
        )
    try:
        value = json.loads(text, parse_constant=_refuse_constant)
    except RecursionError:
        raise ValidationFailed(
            f"JSON values may be nested at most {max_depth} levels deep", field=field, rule="depth"
        ) from None
    except (ValueError, UnicodeDecodeError):
        raise ValidationFailed("not valid JSON", field=field, rule="json") from None
    return check_json(value, field, max_depth=max_depth, max_bytes=max_bytes)
