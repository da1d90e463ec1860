"""Parsing Spaaza request parameters: query string, urlencoded or multipart form, JSON."""

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
from voucherd.domain.money import from_decimal
from voucherd.services.changes import VoucherRef

VOUCHER_KEY = re.compile(r"[0-9a-fA-F]{64}")
TRUE = frozenset({"1", "true", "yes", "on"})


async def read(request: Request) -> dict[str, str]:
    """Query parameters overlaid with the form body; blank values count as absent."""
    params = {k: v for k, v in request.query_params.items() if v.strip()}
    content_type = request.headers.get("content-type", "")
    if "application/x-www-form-urlencoded" in content_type or "multipart/form-data" in content_type:
        try:
            form = await request.form()
        except Exception as exc:  # malformed multipart / encoding
            raise SpaazaError(E.INVALID_REQUEST_BODY) from exc
        for key, value in form.multi_items():
            if isinstance(value, str) and value.strip():
                params[key] = value  # not stripped: a password may end in a space
    return params


async def read_json(request: Request) -> dict[str, Any]:
    try:
        body = orjson.loads(await request.body())
    except orjson.JSONDecodeError:
        raise SpaazaError(E.INVALID_REQUEST_BODY, "The request body is not valid JSON") from None
    if not isinstance(body, dict):
        raise SpaazaError(E.INVALID_REQUEST_BODY, "The request body must be a JSON object")
    return body


def integer(params: Mapping[str, Any], name: str) -> int | None:
    raw = params.get(name)
    if raw is None or raw == "":
        return None
    if isinstance(raw, bool):
        raise SpaazaError(E.INVALID_PARAMETER, f"{name} must be an integer")
    try:
        return int(str(raw).strip())
    except ValueError:
        raise SpaazaError(E.INVALID_PARAMETER, f"{name} must be an integer") from None


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
        return VoucherRef(public_id=key.strip().lower()), voucher_id
    return VoucherRef(id=voucher_id), None


def amount(value: Any, currency: str, name: str) -> int:
    """A positive decimal amount ("50.00", 5.5) in minor units."""
    try:
        parsed = Decimal(str(value).strip())
    except InvalidOperation:
        raise SpaazaError(E.INVALID_PARAMETER, f"{name} must be a number") from None
    if not parsed.is_finite() or parsed <= 0:
        raise SpaazaError(E.INVALID_PARAMETER, f"{name} must be greater than zero")
    return from_decimal(parsed, currency)


def ratio_bps(value: Any) -> int:
    try:
        parsed = Decimal(str(value).strip())
    except InvalidOperation:
        raise SpaazaError(E.INVALID_PARAMETER, "voucher_discount_ratio must be a number") from None
    if not parsed.is_finite() or not 0 < parsed <= 1:
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
