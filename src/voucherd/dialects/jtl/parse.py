"""Requests -> validated values, refused as JTL's Laravel-style 422 before any work.

Bodies and query strings are parsed here, inside the operation (after the caller is
authenticated, so a request without a token gets 401 whatever its body). Pydantic's error items
become Laravel rules (``required``, ``string``, ``max`` ...) with Laravel's messages. The models
are documented in the OpenAPI document by ``body_doc`` / ``query_doc`` (``docs.py``).
"""

from __future__ import annotations

import email.message
import json
import re
from collections.abc import Mapping, Sequence
from typing import Any, Final, TypeVar

from pydantic import BaseModel, ValidationError

from voucherd.dialects.jtl.errors import Item, Unprocessable
from voucherd.domain import inputs
from voucherd.faces.runtime import Inbound

M = TypeVar("M", bound=BaseModel)

# How deep a body may nest: the one JSON limit of every face (``data`` is checked by it too).
MAX_DEPTH: Final = inputs.JSON_MAX_DEPTH
BAD_JSON: Final[Item] = ("body", "json", "The request body must be valid JSON.")
NOT_OBJECT: Final[Item] = ("body", "object", "The request body must be a JSON object.")
# No JTL body comes near this (``data``, the largest field, is at most 65,535 characters).
MAX_BODY: Final = 1 << 20
TOO_LARGE: Final[Item] = (
    "body",
    "max",
    f"The request body may not be greater than {MAX_BODY} bytes.",
)
TOO_DEEP: Final[Item] = (
    "body",
    "json",
    f"The request body may not be nested more than {MAX_DEPTH} levels deep.",
)


_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"', re.DOTALL)
_NOT_BRACKET = bytes(b for b in range(256) if b not in b"[]{}")


def too_deep(text: str | bytes) -> bool:
    """Whether a JSON text nests arrays/objects more than MAX_DEPTH levels (brackets inside
    strings don't count). No recursion, and it stops at the first level too deep."""
    data = text.encode("utf-8", "surrogatepass") if isinstance(text, str) else text
    if data.count(b"[") + data.count(b"{") <= MAX_DEPTH:
        return False
    level = 0
    for byte in _STRING.sub(b"", data).translate(None, _NOT_BRACKET):
        level += 1 if byte in b"[{" else -1
        if level > MAX_DEPTH:
            return True
    return False


def _is_json(content_type: str | None) -> bool:
    """Like FastAPI: no content type, or ``application/json`` / ``application/*+json``."""
    if not content_type:
        return True
    message = email.message.Message()
    message["content-type"] = content_type
    subtype = message.get_content_subtype()
    return message.get_content_maintype() == "application" and (
        subtype == "json" or subtype.endswith("+json")
    )


def body(model: type[M], inbound: Inbound) -> M:
    """The request's JSON body as ``model``. Raises: Unprocessable."""
    raw = inbound.body
    if len(raw) > MAX_BODY:
        raise Unprocessable(TOO_LARGE)
    if not _is_json(inbound.headers.get("content-type")):
        raise Unprocessable(NOT_OBJECT)
    value: Any = None
    if raw.strip():
        if too_deep(raw):
            raise Unprocessable(TOO_DEEP)
        try:
            value = json.loads(raw)
        except (ValueError, RecursionError):  # also bytes not in UTF-8 / UTF-16 / UTF-32
            raise Unprocessable(BAD_JSON) from None
    if value is None:  # no body (or JSON null): every required property is missing
        missing = [_required(name) for name, f in model.model_fields.items() if f.is_required()]
        if missing:
            raise Unprocessable(*missing)
        value = {}
    try:
        return model.model_validate(value)
    except ValidationError as exc:
        raise Unprocessable(*items(exc.errors())) from None


def query(model: type[M], inbound: Inbound) -> M:
    """The query string as ``model`` (fields named by their aliases). Raises: Unprocessable."""
    try:
        return model.model_validate(dict(inbound.query))
    except ValidationError as exc:
        raise Unprocessable(*items(exc.errors())) from None


def numeric_id(text: str, kind: str) -> int:
    """Path ids of reservations and charges are the engine's integer ids, as strings: ASCII
    digits in 1..2^63-1, else not found."""
    return inputs.id_from_text(text, kind)


# --- pydantic error items -> Laravel rules --------------------------------------------------


def _property(loc: Sequence[Any]) -> str:
    return ".".join(str(p) for p in loc) or "body"


def _name(prop: str) -> str:
    """How a message names a property: ``order_number`` -> "order number" (like Laravel)."""
    return prop if "[" in prop else prop.replace("_", " ")


def _required(prop: str) -> Item:
    return prop, "required", f"The {_name(prop)} field is required."


def _rule(item: Mapping[str, Any], prop: str) -> tuple[str, str]:
    kind = str(item.get("type", "invalid"))
    ctx = item.get("ctx") or {}
    name = _name(prop)
    if kind == "missing":
        return _required(prop)[1:]
    if kind == "string_type":
        return "string", f"The {name} must be a string."
    if kind == "string_unicode":
        return "utf8", "The value must be UTF-8 text without NUL characters."
    if kind == "string_too_long":
        return "max", f"The {name} may not be greater than {ctx.get('max_length')} characters."
    if kind == "string_too_short":
        return "min", f"The {name} must be at least {ctx.get('min_length')} characters."
    if kind == "string_pattern_mismatch":
        return "regex", f"The {name} format is invalid."
    if kind in ("literal_error", "enum"):
        return "in", f"The selected {name} is invalid."
    if kind in ("bool_type", "bool_parsing"):
        return "boolean", f"The {name} field must be true or false."
    if kind in ("int_type", "int_parsing", "int_from_float"):
        return "integer", f"The {name} must be an integer."
    if kind in ("greater_than_equal", "greater_than"):
        return "min", f"The {name} must be at least {ctx.get('ge', ctx.get('gt'))}."
    if kind in ("less_than_equal", "less_than"):
        return "max", f"The {name} may not be greater than {ctx.get('le', ctx.get('lt'))}."
    if kind in ("datetime_type", "datetime_parsing", "datetime_from_date_parsing"):
        return "date", f"The {name} is not a valid RFC 3339 date."
    if kind in ("model_type", "model_attributes_type", "dict_type"):
        return NOT_OBJECT[1:]
    return kind, str(item.get("msg", "invalid"))


def items(errors: Sequence[Mapping[str, Any]]) -> list[Item]:
    """One item per property, the first rule that failed (like Laravel)."""
    found: list[Item] = []
    seen: set[str] = set()
    for error in errors:
        prop = _property(tuple(error.get("loc", ())))
        if prop not in seen:
            seen.add(prop)
            found.append((prop, *_rule(error, prop)))
    return found
