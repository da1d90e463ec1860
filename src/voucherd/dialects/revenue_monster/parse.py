"""RM's input, parsed before any work: bodies, query parameters, cursors, path ids.

Whatever can never succeed is refused here with RM's ``VALIDATION_ERROR`` / ``INVALID_REQUEST``
(or "not found" for an id no row can have): JSON nested deeper than ``MAX_JSON_DEPTH`` or larger
than ``MAX_BODY_BYTES``, digits that are not ASCII, integers outside the database's 64-bit range.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from voucherd.dialects.revenue_monster.errors import RmError

DEFAULT_LIMIT = 100
MAX_LIMIT = 500
# TODO(input): switch to the shared JSON limits of voucherd.domain once they land in main.
MAX_JSON_DEPTH = 32
MAX_BODY_BYTES = 1 << 20
MAX_ID = (1 << 63) - 1


def depth_exceeds(text: bytes | str, limit: int = MAX_JSON_DEPTH) -> bool:
    """Whether JSON ``text`` nests arrays/objects deeper than ``limit`` (a linear scan, so a
    100,000-deep document is refused without recursing into it)."""
    data = text.encode() if isinstance(text, str) else text
    depth, in_string, escaped = 0, False, False
    for byte in data:
        if in_string:
            if escaped:
                escaped = False
            elif byte == 0x5C:  # backslash
                escaped = True
            elif byte == 0x22:  # quote
                in_string = False
        elif byte == 0x22:
            in_string = True
        elif byte in (0x5B, 0x7B):  # [ {
            depth += 1
            if depth > limit:
                return True
        elif byte in (0x5D, 0x7D):
            depth -= 1
    return False


def json_value(text: bytes | str, what: str = "The request body") -> Any:
    """A JSON value within the size and depth limits.

    Raises: RmError INVALID_REQUEST.
    """
    if len(text) > MAX_BODY_BYTES:
        raise RmError("INVALID_REQUEST", f"{what} is too large")
    if depth_exceeds(text):
        raise RmError("INVALID_REQUEST", f"{what} is nested too deeply")
    try:
        return json.loads(text)
    except (ValueError, RecursionError):
        raise RmError("INVALID_REQUEST", f"{what} is not valid JSON") from None


def body(raw: bytes) -> Any:
    """The parsed request body; None when it is empty."""
    if not raw.strip():
        return None
    return json_value(raw)


def body_object(raw: bytes) -> dict[str, Any]:
    """The request body as a JSON object (``{}`` when empty)."""
    value = body(raw)
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise RmError("INVALID_REQUEST", "The request body must be a JSON object")
    return value


def ascii_int(text: str) -> int | None:
    """``text`` as a non-negative integer of ASCII digits within 64 bits, else None."""
    if not text or len(text) > 19 or not (text.isascii() and text.isdigit()):
        return None
    value = int(text)
    return value if value <= MAX_ID else None


def path_id(text: str) -> int | None:
    """A numeric id from the path; None when no row can have it (the caller answers 404)."""
    return ascii_int(text)


def encode_cursor(last_id: int) -> str:
    return base64.urlsafe_b64encode(str(last_id).encode()).decode().rstrip("=")


def cursor(text: str | None) -> int | None:
    if not text:
        return None
    try:
        decoded = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)).decode()
    except (binascii.Error, ValueError, UnicodeDecodeError):
        decoded = ""
    after = ascii_int(decoded)
    if after is None:
        raise RmError("VALIDATION_ERROR", "cursor is invalid")
    return after


def limit(text: str | None) -> int:
    if text in (None, ""):
        return DEFAULT_LIMIT
    value = ascii_int(text)
    if value is None:
        raise RmError("VALIDATION_ERROR", "limit must be an integer")
    if not 1 <= value <= MAX_LIMIT:
        raise RmError("VALIDATION_ERROR", f"limit must be between 1 and {MAX_LIMIT}")
    return value


def batch_filter(text: str | None) -> dict[str, Any]:
    """``?filter=`` of the batch list: a JSON object (or nothing)."""
    if not text:
        return {}
    try:
        wanted = json_value(text, "filter")
    except RmError as exc:
        raise RmError("VALIDATION_ERROR", exc.message) from None
    if not isinstance(wanted, dict):
        raise RmError("VALIDATION_ERROR", "filter must be a JSON object")
    return wanted


def used_at(fields: Mapping[str, Any]) -> None:
    """``usedAt`` of a void: validated (RFC 3339), not used (the server's clock is recorded)."""
    value = fields.get("usedAt")
    if value is None:
        return
    if not isinstance(value, str) or not value.isascii():
        raise RmError("VALIDATION_ERROR", "usedAt must be an RFC 3339 date-time")
    try:
        datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise RmError("VALIDATION_ERROR", "usedAt must be an RFC 3339 date-time") from None


def reinstate(fields: Mapping[str, Any]) -> tuple[str, str | None]:
    """``{"pin", "reason"?}`` of a reinstate."""
    pin, reason = fields.get("pin"), fields.get("reason")
    if not isinstance(pin, str) or not pin:
        raise RmError("VALIDATION_ERROR", "pin is required")
    if reason is not None and not isinstance(reason, str):
        raise RmError("VALIDATION_ERROR", "reason must be a string")
    return pin, reason


def codes(fields: Mapping[str, Any]) -> list[str]:
    """``{"codes": [...]}`` of a bulk redeem."""
    value = fields.get("codes")
    if not isinstance(value, list) or not value or not all(isinstance(c, str) for c in value):
        raise RmError("VALIDATION_ERROR", "codes must be a non-empty list of voucher codes")
    if len(value) > MAX_LIMIT:
        raise RmError("VALIDATION_ERROR", f"at most {MAX_LIMIT} codes at once")
    return value
