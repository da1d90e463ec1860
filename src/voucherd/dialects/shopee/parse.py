"""Reading Shopee requests: the JSON body, typed fields, query integers, ids.

Every malformed value is Shopee's ``error_param`` "Wrong parameters, detail: ..." (HTTP 200, a
call error) before any work; an id no row can have (outside 1..2^63-1) is
``common.error_not_found``. Digits are ASCII digits only (a superscript two or full-width
digits are not numbers on the wire).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, Final

import orjson

from voucherd.dialects.shopee.errors import ShopeeError, param
from voucherd.domain import inputs

UINT32_MAX: Final = 4294967295
MAX_BODY_DEPTH: Final = 8  # Shopee bodies are flat: an object of scalars and lists of integers


def ascii_uint(text: str) -> int | None:
    """The unsigned integer ``text`` spells in ASCII digits (``inputs.parse_ascii_int``), else
    None. A spelling too long for 64 bits gives a number above every range callers check."""
    try:
        return inputs.parse_ascii_int(text)
    except ValueError:
        return None


def body(raw: bytes) -> dict[str, Any]:
    """The JSON object of a request body (empty body: ``{}``)."""
    if not raw.strip():
        return {}
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError:  # also a nesting deeper than the parser allows
        raise ShopeeError("error_data", "parse data failed") from None
    if not isinstance(data, dict):
        raise param("the body must be a JSON object")
    problem = inputs.json_problem(data, max_depth=MAX_BODY_DEPTH)
    if problem is not None:
        rule, message = problem
        if rule == "depth":
            raise ShopeeError("error_data", "parse data failed")
        raise param(message)
    return data


# --- typed fields of a JSON body -------------------------------------------------------------


def integer(
    data: Mapping[str, Any],
    name: str,
    *,
    required: bool = False,
    low: int = 0,
    high: int = inputs.INT64_MAX,
) -> int | None:
    """A JSON integer (a float with no fraction is accepted, a boolean never) in low..high."""
    value = data.get(name)
    if value is None:
        if required:
            raise param(f"{name} is required")
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise param(f"{name} must be an integer")
    if not low <= value <= high:
        raise param(f"{name} must be between {low} and {high}")
    return value


def number(data: Mapping[str, Any], name: str, *, required: bool = False) -> Decimal | None:
    """A money amount: a JSON number (Shopee sends floats), never a boolean or a string."""
    value = data.get(name)
    if value is None:
        if required:
            raise param(f"{name} is required")
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise param(f"{name} must be a number")
    amount = Decimal(str(value))
    if not amount.is_finite() or amount < 0:
        raise param(f"{name} must not be negative")
    return amount


def text(data: Mapping[str, Any], name: str, *, required: bool = False) -> str | None:
    value = data.get(name)
    if value is None:
        if required:
            raise param(f"{name} is required")
        return None
    if not isinstance(value, str):
        raise param(f"{name} must be a string")
    return value


def int_list(data: Mapping[str, Any], name: str) -> list[int] | None:
    value = data.get(name)
    if value is None:
        return None
    if not isinstance(value, list) or any(
        isinstance(item, bool) or not isinstance(item, int) for item in value
    ):
        raise param(f"{name} must be a list of integers")
    return list(value)


def moment(seconds: int | None) -> datetime | None:
    return None if seconds is None else datetime.fromtimestamp(seconds, UTC)


def voucher_id(data: Mapping[str, Any]) -> int:
    """``voucher_id`` of a body: a JSON integer; one no voucher can have is not found."""
    value = data.get("voucher_id")
    if value is None:
        raise param("voucher_id is required")
    if isinstance(value, bool) or not isinstance(value, int):
        raise param("voucher_id must be an integer")
    return inputs.check_id(value, "voucher")  # one no voucher can have: not found


def body_uint(data: Mapping[str, Any], name: str, *, required: bool) -> int | None:
    """A partner or shop id in a token call's body: an integer 0..4294967295 (or its digits)."""
    value = data.get(name)
    if value is None:
        if required:
            raise param(f"{name} is required")
        return None
    if isinstance(value, str):
        value = ascii_uint(value)
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= UINT32_MAX:
        raise param(f"{name} must be an integer between 0 and {UINT32_MAX}")
    return value


# --- the query string ------------------------------------------------------------------------


def query_params(query: Any) -> dict[str, str]:
    """Query parameters with lower-cased names (the first occurrence wins)."""
    params: dict[str, str] = {}
    for name, value in query.multi_items():
        params.setdefault(name.lower(), value)
    return params


def query_int(
    params: Mapping[str, str], name: str, *, default: int | None = None, low: int, high: int
) -> int:
    raw = params.get(name)
    if raw is None or raw == "":
        if default is None:
            raise param(f"{name} is required")
        return default
    value = ascii_uint(raw)
    if value is None:
        raise param(f"{name} must be an integer")
    if not low <= value <= high:
        raise param(f"{name} must be between {low} and {high}")
    return value


def query_voucher_id(params: Mapping[str, str]) -> int:
    raw = params.get("voucher_id")
    if raw is None or raw == "":
        raise param("voucher_id is required")
    try:
        value = inputs.parse_ascii_int(raw, allow_negative=True)
    except ValueError:
        raise param("voucher_id must be an integer") from None
    return inputs.check_id(value, "voucher")


# --- the voucher calls' bodies --------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Terms:
    """The reward fields of add/update as sent (None: not sent)."""

    min_basket: Decimal | None
    discount_amount: Decimal | None
    percentage: int | None
    max_price: Decimal | None

    @classmethod
    def of(cls, data: Mapping[str, Any], *, required: bool) -> Terms:
        return cls(
            number(data, "min_basket_price", required=required),
            number(data, "discount_amount"),
            integer(data, "percentage", high=UINT32_MAX),
            number(data, "max_price"),
        )

    def any_sent(self) -> bool:
        return any(
            v is not None
            for v in (self.min_basket, self.discount_amount, self.percentage, self.max_price)
        )


@dataclass(frozen=True, slots=True)
class Display:
    channels: list[int] | None
    items: list[int] | None
    display_start: int | None

    @classmethod
    def of(cls, data: Mapping[str, Any]) -> Display:
        return cls(
            int_list(data, "display_channel_list"),
            int_list(data, "item_id_list"),
            integer(data, "display_start_time", high=UINT32_MAX),
        )


@dataclass(frozen=True, slots=True)
class AddVoucher:
    name: str
    code: str
    start_time: int
    end_time: int
    voucher_type: int
    reward_type: int
    usage_quantity: int
    terms: Terms
    display: Display

    @property
    def starts_at(self) -> datetime:
        return datetime.fromtimestamp(self.start_time, UTC)

    @property
    def ends_at(self) -> datetime:
        return datetime.fromtimestamp(self.end_time, UTC)


def add_voucher(data: Mapping[str, Any]) -> AddVoucher:
    name = text(data, "voucher_name", required=True)
    code = text(data, "voucher_code", required=True)
    start_time = integer(data, "start_time", required=True, high=UINT32_MAX)
    end_time = integer(data, "end_time", required=True, high=UINT32_MAX)
    voucher_type = integer(data, "voucher_type", required=True)
    reward_type = integer(data, "reward_type", required=True)
    usage_quantity = integer(data, "usage_quantity", required=True)
    terms = Terms.of(data, required=True)
    display = Display.of(data)
    assert name is not None and code is not None and start_time is not None
    assert end_time is not None and voucher_type is not None and reward_type is not None
    assert usage_quantity is not None
    return AddVoucher(
        name, code, start_time, end_time, voucher_type, reward_type, usage_quantity, terms, display
    )


@dataclass(frozen=True, slots=True)
class UpdateVoucher:
    voucher_id: int
    name: str | None
    start_time: int | None
    end_time: int | None
    usage_quantity: int | None
    terms: Terms
    display: Display


def update_voucher(data: Mapping[str, Any]) -> UpdateVoucher:
    return UpdateVoucher(
        voucher_id(data),
        text(data, "voucher_name"),
        integer(data, "start_time", high=UINT32_MAX),
        integer(data, "end_time", high=UINT32_MAX),
        integer(data, "usage_quantity"),
        Terms.of(data, required=False),
        Display.of(data),
    )
