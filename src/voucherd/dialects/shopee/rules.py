"""Shopee's documented input rules for add_voucher / update_voucher (docs/compat/shopee.md).

These are the vendor's checks on what a seller tool may send (codes, channels, items, quality
thresholds, which fields an ongoing voucher may change); they decide Shopee's ``voucher.*``
error names. Lifecycle rules (what a voucher's state allows) are the engine's, reached through
``services``; its refusals are named by the face's error table (``errors.TABLE``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import timedelta
from decimal import Decimal
from typing import Any, Final

from voucherd.dialects.shopee.errors import ShopeeError, param
from voucherd.dialects.shopee.parse import AddVoucher, Terms, UpdateVoucher
from voucherd.domain.money import from_decimal, normalize_currency
from voucherd.domain.vouchers import ValueKind

REWARD_KINDS: Final = {
    1: ValueKind.FIXED_DISCOUNT,
    2: ValueKind.PERCENT_DISCOUNT,
    3: ValueKind.CASHBACK,
}
KIND_REWARDS: Final = {kind: reward for reward, kind in REWARD_KINDS.items()}
SHOPEE_KINDS: Final = tuple(k.value for k in REWARD_KINDS.values())
CODE_RE: Final = re.compile(r"[0-9A-Za-z]{1,5}")
MIN_LENGTH: Final = timedelta(hours=1)
MAX_MONTHS: Final = 3
START_GRACE: Final = timedelta(seconds=60)
MAX_ACTIVE: Final = 1000
MAX_ITEMS: Final = 100
MAX_NAME: Final = 100
MAX_USAGE: Final = 10**9
ADD_CHANNELS: Final = frozenset({1, 3, 4})
UPDATE_CHANNELS: Final = frozenset({1, 2, 3, 4})
DEFAULT_CURRENCY: Final = "SGD"

# Shop settings (tenant settings) this dialect reads.
SETTING_CURRENCY: Final = "shopee_currency"
SETTING_COIN: Final = "shopee_coin_cashback"  # false: coin cashback vouchers are refused
SETTING_MIN_PERCENT: Final = "shopee_min_discount_percent"  # quality threshold, default 1

# Fields an ongoing voucher keeps (docs: only name, quantity, end, channels, items may change).
ONGOING_FIXED: Final = (
    "start_time",
    "min_basket_price",
    "discount_amount",
    "percentage",
    "max_price",
    "display_start_time",
)


def currency_of(settings: Mapping[str, Any]) -> str:
    return normalize_currency(str(settings.get(SETTING_CURRENCY) or DEFAULT_CURRENCY))


def check_name(name: str | None) -> None:
    if name is not None and (not name.strip() or len(name) > MAX_NAME):
        raise param(f"voucher_name must be 1 to {MAX_NAME} characters")


def check_add(request: AddVoucher, settings: Mapping[str, Any]) -> None:
    """add_voucher's rules before the engine's window check (docs table, in this order)."""
    check_name(request.name)
    if request.voucher_type not in (1, 2):
        raise param("voucher_type must be 1 (shop) or 2 (product)")
    if request.reward_type not in REWARD_KINDS:
        raise param("reward_type must be 1, 2 or 3")
    if not 1 <= request.usage_quantity <= MAX_USAGE:
        raise param("usage_quantity must be at least 1")
    if not CODE_RE.fullmatch(request.code):
        raise ShopeeError("voucher.voucher_code_error")
    if request.reward_type == 3 and settings.get(SETTING_COIN) is False:
        raise ShopeeError("voucher.voucher_coin_error")


def check_add_terms(request: AddVoucher, settings: Mapping[str, Any]) -> None:
    """add_voucher's rules after the window check: terms, channels, items."""
    check_terms(settings, request.reward_type, request.terms)
    display = request.display
    check_channels(display.channels, display.display_start, ADD_CHANNELS)
    check_items(request.voucher_type, display.items)


def check_channels(
    channels: list[int] | None, display_start: int | None, allowed: frozenset[int]
) -> None:
    if channels is not None and (
        any(c not in allowed for c in channels) or len(set(channels)) != len(channels)
    ):
        raise ShopeeError("voucher.voucher_display_channel_error")
    if display_start is not None and display_start != 0 and not channels:
        # "must be left empty if the display_channel_list is empty (when voucher is hidden)"
        raise ShopeeError("voucher.voucher_display_channel_error")


def check_items(voucher_type: int, items: list[int] | None) -> None:
    if voucher_type == 1:
        if items:
            raise param("item_id_list is only for a product voucher (voucher_type 2)")
        return
    if not items:
        raise param("item_id_list is required for a product voucher")
    if len(set(items)) != len(items):
        raise ShopeeError("voucher.voucher_item_duplication_error")
    if len(items) > MAX_ITEMS:
        raise ShopeeError("voucher.voucher_item_count_limit_error")
    if any(not 0 < item < 2**63 for item in items):
        raise ShopeeError("voucher.voucher_item_not_exist")


def _fmt(amount: Decimal) -> str:
    return format(amount.normalize(), "f")


def check_terms(settings: Mapping[str, Any], reward_type: int, terms: Terms) -> None:
    """The reward-type fields and Shopee's minimum-quality rules (all of ``terms`` given)."""
    limit = int(settings.get(SETTING_MIN_PERCENT, 1))
    min_basket = terms.min_basket or Decimal(0)
    amount, percentage, max_price = terms.discount_amount, terms.percentage, terms.max_price
    if reward_type == 1:
        if amount is None or amount <= 0:
            raise param("discount_amount is required and must be positive for a fix amount voucher")
        if min_basket != 0 and min_basket <= amount:
            raise ShopeeError("voucher.voucher_min_price_error")
        if min_basket != 0 and amount * 100 < min_basket * limit:
            raise ShopeeError("voucher.fix_amount_low_qualtiy_errorr", limit=limit)
        return
    if percentage is None or not 1 <= percentage <= 100:
        raise param("percentage is required and must be between 1 and 100")
    if percentage < limit:
        raise ShopeeError("voucher.percentage_low_quality_error", limit=limit)
    if max_price and min_basket and max_price <= percentage * min_basket / 100:
        raise ShopeeError(
            "voucher.voucher_max_discount_low_quality",
            minimum=_fmt(percentage * min_basket / 100),
            maximum=_fmt(max_price * 100 / percentage),
        )


def engine_terms(reward_type: int, currency: str, terms: Terms) -> dict[str, int | None]:
    """Engine value terms in minor units / basis points (amounts checked by ``from_decimal``)."""

    def minor(value: Decimal | None) -> int | None:
        return None if value is None else from_decimal(value, currency)

    out: dict[str, int | None] = {"min_spend": minor(terms.min_basket or Decimal(0))}
    if reward_type == 1:
        out["discount_amount"] = minor(terms.discount_amount)
    else:
        bps = (terms.percentage or 0) * 100
        out["discount_bps" if reward_type == 2 else "cashback_bps"] = bps
        out["discount_cap"] = minor(terms.max_price) or None  # 0 = no cap
    return out


def ensure_operable(info: Mapping[str, Any], campaign_id: int | None) -> None:
    """Vouchers of a campaign (or of a Shopee-run purpose) cannot be changed by a seller tool."""
    if campaign_id is not None or int(info.get("voucher_purpose", 0)) != 0:
        raise ShopeeError("voucher.operate_voucher_permission_error")


def check_ongoing(request: UpdateVoucher, current: Mapping[str, Any]) -> None:
    """An ongoing voucher: any fixed field sent with a *different* value is refused."""
    sent = {
        "start_time": request.start_time,
        "min_basket_price": request.terms.min_basket,
        "discount_amount": request.terms.discount_amount,
        "percentage": request.terms.percentage,
        "max_price": request.terms.max_price,
        "display_start_time": request.display.display_start,
    }
    for field in ONGOING_FIXED:
        value = sent[field]
        if value is not None and (
            field not in current or Decimal(str(current[field])) != Decimal(str(value))
        ):
            raise ShopeeError("voucher.voucher_ongoing_param_error")


def merged_terms(request: Terms, current: Mapping[str, Any], reward: int) -> Terms:
    """The terms after an update: what was sent, else what the voucher has."""

    def now(name: str) -> Decimal:
        return Decimal(str(current.get(name, 0)))

    return Terms(
        request.min_basket if request.min_basket is not None else now("min_basket_price"),
        request.discount_amount
        if request.discount_amount is not None
        else (now("discount_amount") if reward == 1 else None),
        request.percentage if request.percentage is not None else current.get("percentage"),
        request.max_price
        if request.max_price is not None
        else (now("max_price") if reward != 1 else None),
    )
