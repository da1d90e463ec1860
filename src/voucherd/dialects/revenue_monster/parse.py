"""RM's input, parsed before any work: bodies, query parameters, cursors, path ids.

Whatever can never succeed is refused here, with the shared input primitives
(``domain.inputs``): JSON beyond the one depth/size limit, digits that are not ASCII, integers
outside the database's 64-bit range. RM answers ``VALIDATION_ERROR`` (``INVALID_REQUEST`` for a
body it cannot read), or "not found" for an id no row can have.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from voucherd.dialects.revenue_monster.errors import RmError
from voucherd.domain import inputs
from voucherd.domain.errors import ValidationFailed

DEFAULT_LIMIT = 100
MAX_LIMIT = 500
# A request body is not a stored value: it may be larger than one (500 codes to redeem), but
# is nested no deeper (inputs.JSON_MAX_DEPTH).
MAX_BODY_BYTES = 1 << 20


def body(raw: bytes) -> Any:
    """The parsed request body (None when empty), within the shared JSON limits.

    Raises: RmError INVALID_REQUEST (not JSON, too large, nested too deeply).
    """
    if not raw.strip():
        return None
    try:
        return inputs.loads_json(raw, "body", max_bytes=MAX_BODY_BYTES)
    except ValidationFailed as exc:  # RM's code for a request it cannot read
        raise RmError("INVALID_REQUEST", f"The request body is refused: {exc.message}") from None


def body_object(raw: bytes) -> dict[str, Any]:
    """The request body as a JSON object (``{}`` when empty)."""
    value = body(raw)
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise RmError("INVALID_REQUEST", "The request body must be a JSON object")
    return value


def merchant_id(text: str) -> int:
    """The merchant (tenant) id in a QR image's path. Raises: NotFound (no tenant can have it:
    beyond 64 bits, not ASCII digits), which RM answers as VOUCHER_NOT_FOUND."""
    return inputs.id_from_text(text, "voucher")


def encode_cursor(last_id: int) -> str:
    return base64.urlsafe_b64encode(str(last_id).encode()).decode().rstrip("=")


def cursor(text: str | None) -> int | None:
    """The id after which a page starts. Raises: ValidationFailed (VALIDATION_ERROR)."""
    if not text:
        return None
    try:
        decoded = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)).decode()
    except (binascii.Error, ValueError, UnicodeDecodeError):
        decoded = ""
    return inputs.int_from_text(decoded, "cursor", low=0)


def limit(text: str | None) -> int:
    if text in (None, ""):
        return DEFAULT_LIMIT
    return inputs.int_from_text(text, "limit", low=1, high=MAX_LIMIT)


def batch_filter(text: str | None) -> dict[str, Any]:
    """``?filter=`` of the batch list: a JSON object (or nothing), within the one JSON limit."""
    if not text:
        return {}
    wanted = inputs.loads_json(text, "filter")
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
