"""Parsing Spaaza request parameters: query string, urlencoded or multipart form, JSON.

Input that can never succeed is refused here, before any work, as error 907 / 916: integers
are ASCII digits within 64 bits (``int()`` would take full-width digits), amounts are ASCII
decimals (``Decimal()`` would take full-width digits, ``1_0`` and ``1e3``) or JSON numbers,
never booleans, and a JSON body is at most ``inputs.JSON_MAX_DEPTH`` levels deep (the
shared limits of ``domain/inputs.py``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, datetime, time, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

import orjson
from starlette.requests import Request

from voucherd.dialects.spaaza import errors as E
from voucherd.dialects.spaaza.errors import SpaazaError
from voucherd.domain import inputs
from voucherd.domain.money import from_decimal
from voucherd.services.changes import VoucherRef

VOUCHER_KEY = re.compile(r"[0-9a-fA-F]{64}")
TRUE = frozenset({"1", "true", "yes", "on"})
ASCII_DECIMAL = re.compile(r"[0-9]{1,20}(?:\.[0-9]{1,20})?")
MAX_BODY_BYTES = 64 * 1024


async def read(request: Request) -> dict[str, str]:
    """Query parameters overlaid with the form body; blank values count as absent.

    The body is read first, so the runtime sees the same bytes (``Request.body`` caches it).
    """
    params = {k: v for k, v in request.query_params.items() if v.strip()}
    content_type = request.headers.get("content-type", "")
    if "application/x-www-form-urlencoded" in content_type or "multipart/form-data" in content_type:
        try:
            await request.body()
            form = await request.form()
        except Exception as exc:  # malformed multipart / encoding
            raise SpaazaError(E.INVALID_REQUEST_BODY) from exc
        for key, value in form.multi_items():
            if isinstance(value, str) and value.strip():
                params[key] = value  # not stripped: a password may end in a space
    return params


async def read_json(request: Request) -> dict[str, Any]:
    raw = await request.body()
    if len(raw) > MAX_BODY_BYTES:
        raise SpaazaError(E.INVALID_REQUEST_BODY, "The request body is too large")
    try:
        body = orjson.loads(raw)  # orjson refuses more than 1024 levels without recursing
    except orjson.JSONDecodeError:
        raise SpaazaError(E.INVALID_REQUEST_BODY, "The request body is not valid JSON") from None
    if not isinstance(body, dict):
        raise SpaazaError(E.INVALID_REQUEST_BODY, "The request body must be a JSON object")
    problem = inputs.json_problem(body)  # the one depth limit (inputs.JSON_MAX_DEPTH)
    if problem is not None:
        rule, message = problem
        raise SpaazaError(
            E.INVALID_REQUEST_BODY if rule == "depth" else E.INVALID_PARAMETER, message
        )
    return body


def ascii_int(raw: Any) -> int | None:
    """The integer ``raw`` spells in ASCII digits (or a JSON integer), within 64 bits.

    None for anything else: booleans, floats, ``+1``, ``1_0``, full-width or other digits
    (``inputs.parse_ascii_int``).
    """
    if isinstance(raw, bool):
        return None
    if isinstance(raw, int):
        value = raw
    else:
        try:
            value = inputs.parse_ascii_int(str(raw).strip(), allow_negative=True)
        except ValueError:
            return None
    return value if inputs.INT64_MIN <= value <= inputs.INT64_MAX else None


def integer(params: Mapping[str, Any], name: str) -> int | None:
    raw = params.get(name)
    if raw is None or raw == "":
        return None
    value = ascii_int(raw)
    if value is None:
        raise SpaazaError(E.INVALID_PARAMETER, f"{name} must be a 64-bit integer in ASCII digits")
    return value


def flag(params: Mapping[str, Any], name: str) -> bool:
    return str(params.get(name, "")).strip().lower() in TRUE


def voucher_ref(params: Mapping[str, Any]) -> tuple[VoucherRef, int | None]:
    """The voucher named by ``voucher_key`` (preferred) or ``voucher_id``, and the id if both.

    Raises: SpaazaError voucher_identifier_required, voucher_not_found, invalid_parameter.
    """
    key = params.get("voucher_key")
    voucher_id = integer(params, "voucher_id")
    if not key and voucher_id is None:
        raise SpaazaError(E.VOUCHER_IDENTIFIER_REQUIRED)
    if key:
        if not isinstance(key, str) or not VOUCHER_KEY.fullmatch(key.strip()):
            raise SpaazaError(E.VOUCHER_NOT_FOUND)
        return VoucherRef(public_id=key.strip().lower(), bearer=True), voucher_id
    return VoucherRef(id=voucher_id), None


def decimal(value: Any, name: str) -> Decimal:
    """A decimal number as Spaaza sends it: ``"50.00"`` / ``"5"`` in ASCII, or a JSON number.

    Raises: SpaazaError invalid_parameter for anything else: booleans, full-width digits
    (``"\\uff11\\uff10"``), ``1e3``, NaN.
    """
    if isinstance(value, bool):
        raise SpaazaError(E.INVALID_PARAMETER, f"{name} must be a number")
    if isinstance(value, int | float):
        text = str(value)
    elif isinstance(value, str) and ASCII_DECIMAL.fullmatch(value.strip()):
        text = value.strip()
    else:
        raise SpaazaError(E.INVALID_PARAMETER, f"{name} must be a number in ASCII digits")
    try:
        parsed = Decimal(text)
    except InvalidOperation:
        raise SpaazaError(E.INVALID_PARAMETER, f"{name} must be a number") from None
    if not parsed.is_finite():
        raise SpaazaError(E.INVALID_PARAMETER, f"{name} must be a finite number")
    return parsed


def amount(value: Any, currency: str, name: str) -> int:
    """A positive decimal amount ("50.00", 5.5) in minor units."""
    parsed = decimal(value, name)
    if parsed <= 0:
        raise SpaazaError(E.INVALID_PARAMETER, f"{name} must be greater than zero")
    return from_decimal(parsed, currency)


def ratio_bps(value: Any) -> int:
    parsed = decimal(value, "voucher_discount_ratio")
    if not 0 < parsed <= 1:
        raise SpaazaError(
            E.INVALID_PARAMETER, "voucher_discount_ratio must be greater than 0 and at most 1"
        )
    bps = parsed * 10000
    if bps != bps.to_integral_value():
        raise SpaazaError(E.INVALID_PARAMETER, "voucher_discount_ratio has too many decimals")
    return int(bps)


def when(value: str | None, name: str, *, end_of_day: bool = False) -> datetime | None:
    """A date ("2092-07-28") or date-time ("2092-07-28 10:00:00", ISO 8601), as aware UTC."""
    if value is None:
        return None
    text = value.strip()
    if not text.isascii():  # strptime and fromisoformat take other scripts' digits
        raise SpaazaError(E.INVALID_PARAMETER, f"{name} is not a valid date")
    try:
        if len(text) == 10:
            day = datetime.strptime(text, "%Y-%m-%d").date()  # noqa: DTZ007 - made aware below
            return datetime.combine(day, time(23, 59, 59) if end_of_day else time(0), UTC)
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise SpaazaError(E.INVALID_PARAMETER, f"{name} is not a valid date") from None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def until(value: str | None, name: str) -> datetime | None:
    """An inclusive upper bound as the exclusive one just past it (filter with ``<``).

    A date includes its whole day (``< next day 00:00``), a date-time given to the second its
    whole second (``< 10:00:01``), so a row stamped 23:59:59.5 is not lost between bounds.
    """
    bound = when(value, name)
    if bound is None or value is None:
        return None
    if len(value.strip()) == 10:
        return bound + timedelta(days=1)
    return bound + (timedelta(seconds=1) if bound.microsecond == 0 else timedelta(microseconds=1))
