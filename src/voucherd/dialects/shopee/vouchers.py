"""Shopee vouchers onto engine vouchers: request parsing, the documented rules, rendering.

One Shopee voucher is one engine voucher: ``voucher_id`` is the engine's internal id, the
shared ``voucher_code`` its code, ``usage_quantity`` its ``max_uses`` and ``current_usage`` its
``uses`` (redemptions through any face count). reward_type 1/2/3 are the kinds fixed_discount,
percent_discount and cashback. Shopee-only descriptive fields live in ``metadata["shopee"]``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any, Final

from sqlalchemy import func, select

from voucherd.db import repositories as repo
from voucherd.db.projections import shopee_status, shopee_status_sql
from voucherd.db.tables import vouchers as vouchers_table
from voucherd.dialects.shopee.errors import ShopeeError, param
from voucherd.domain import errors, schedule
from voucherd.domain.money import from_decimal, normalize_currency, to_decimal
from voucherd.domain.policies import SHOPEE
from voucherd.domain.vouchers import ValueKind
from voucherd.services import tenants, windows
from voucherd.services import vouchers as voucher_service
from voucherd.services.changes import VoucherRef
from voucherd.services.changes import find as find_voucher
from voucherd.services.unit_of_work import Actor, UnitOfWork

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
ADD_CHANNELS: Final = frozenset({1, 3, 4})
UPDATE_CHANNELS: Final = frozenset({1, 2, 3, 4})
DEFAULT_CURRENCY: Final = "SGD"

# Shop settings (tenant settings) this dialect reads.
SETTING_CURRENCY: Final = "shopee_currency"
SETTING_COIN: Final = "shopee_coin_cashback"  # false: coin cashback vouchers are refused
SETTING_MIN_PERCENT: Final = "shopee_min_discount_percent"  # quality threshold, default 1


# --- typed field readers ------------------------------------------------------------------


def _int(body: Mapping[str, Any], name: str, *, required: bool = False) -> int | None:
    value = body.get(name)
    if value is None:
        if required:
            raise param(f"{name} is required")
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        if isinstance(value, float) and value.is_integer():
            return int(value)
        raise param(f"{name} must be an integer")
    return value


def _number(body: Mapping[str, Any], name: str, *, required: bool = False) -> Decimal | None:
    value = body.get(name)
    if value is None:
        if required:
            raise param(f"{name} is required")
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise param(f"{name} must be a number")
    number = Decimal(str(value))
    if not number.is_finite() or number < 0:
        raise param(f"{name} must not be negative")
    return number


def _str(body: Mapping[str, Any], name: str, *, required: bool = False) -> str | None:
    value = body.get(name)
    if value is None:
        if required:
            raise param(f"{name} is required")
        return None
    if not isinstance(value, str):
        raise param(f"{name} must be a string")
    return value


def _int_list(body: Mapping[str, Any], name: str) -> list[int] | None:
    value = body.get(name)
    if value is None:
        return None
    if not isinstance(value, list) or any(
        isinstance(item, bool) or not isinstance(item, int) for item in value
    ):
        raise param(f"{name} must be a list of integers")
    return list(value)


def _time(seconds: int, name: str) -> datetime:
    if not 0 <= seconds <= 4294967295:
        raise param(f"{name} must be a unix timestamp")
    return datetime.fromtimestamp(seconds, UTC)


def _unix(moment: datetime | None) -> int:
    return int(moment.timestamp()) if moment is not None else 0


# --- shop settings ----------------------------------------------------------------------------


def shop_settings(uow: UnitOfWork, shop_id: int) -> Mapping[str, Any]:
    return dict(tenants.get_tenant(uow, shop_id)["settings"] or {})


def currency_of(settings: Mapping[str, Any]) -> str:
    return normalize_currency(str(settings.get(SETTING_CURRENCY) or DEFAULT_CURRENCY))


def _money(value: Decimal | None, currency: str, name: str) -> int | None:
    if value is None:
        return None
    try:
        return from_decimal(value, currency)
    except errors.InvalidAmount as exc:
        raise param(f"{name}: {exc.message}") from None


# --- rules shared by add and update ------------------------------------------------------------


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
    if any(item <= 0 for item in items):
        raise ShopeeError("voucher.voucher_item_not_exist")


def _fmt(amount: Decimal) -> str:
    return format(amount.normalize(), "f")


def check_terms(
    settings: Mapping[str, Any],
    reward_type: int,
    min_basket: Decimal,
    discount_amount: Decimal | None,
    percentage: int | None,
    max_price: Decimal | None,
) -> None:
    """The reward-type fields and Shopee's minimum-quality rules."""
    limit = int(settings.get(SETTING_MIN_PERCENT, 1))
    if reward_type == 1:
        if discount_amount is None or discount_amount <= 0:
            raise param("discount_amount is required and must be positive for a fix amount voucher")
        if min_basket != 0 and min_basket <= discount_amount:
            raise ShopeeError("voucher.voucher_min_price_error")
        if min_basket != 0 and discount_amount * 100 < min_basket * limit:
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


def terms_of(
    reward_type: int,
    currency: str,
    min_basket: Decimal,
    discount_amount: Decimal | None,
    percentage: int | None,
    max_price: Decimal | None,
) -> dict[str, int | None]:
    """Engine value terms in minor units / basis points."""
    terms: dict[str, int | None] = {"min_spend": _money(min_basket, currency, "min_basket_price")}
    if reward_type == 1:
        terms["discount_amount"] = _money(discount_amount, currency, "discount_amount")
    else:
        bps = (percentage or 0) * 100
        terms["discount_bps" if reward_type == 2 else "cashback_bps"] = bps
        cap = _money(max_price, currency, "max_price")
        terms["discount_cap"] = cap or None  # 0 = no cap
    return terms


def _status_window(kind: str, now: datetime) -> Any:
    """Shopee's status as a filter (``db.projections.shopee_status_sql``)."""
    if kind not in ("upcoming", "ongoing", "expired"):
        return None
    return shopee_status_sql(vouchers_table.c, now) == kind


def _listed(shop_id: int) -> list[Any]:
    v = vouchers_table.c
    return [v.tenant_id == shop_id, v.deleted_at.is_(None), v.kind.in_(SHOPEE_KINDS)]


def count_live(uow: UnitOfWork, shop_id: int) -> int:
    """Upcoming + ongoing vouchers of the shop (the 1000 limit)."""
    query = (
        select(func.count())
        .select_from(vouchers_table)
        .where(*_listed(shop_id), shopee_status_sql(vouchers_table.c, uow.now) != "expired")
    )
    return int(uow.conn.execute(query).scalar_one())


def list_page(
    uow: UnitOfWork, shop_id: int, status: str, page_no: int, page_size: int
) -> tuple[list[repo.Row], bool]:
    query = select(vouchers_table).where(*_listed(shop_id))
    window = _status_window(status, uow.now)
    if window is not None:
        query = query.where(window)
    query = (
        query.order_by(vouchers_table.c.id.desc())
        .offset((page_no - 1) * page_size)
        .limit(page_size + 1)
    )
    rows = list(uow.conn.execute(query).mappings().all())
    return rows[:page_size], len(rows) > page_size


# --- reading --------------------------------------------------------------------------------


def meta(row: repo.Row) -> dict[str, Any]:
    data = (row["metadata"] or {}).get("shopee")
    return dict(data) if isinstance(data, dict) else {}


def find(uow: UnitOfWork, actor: Actor, voucher_id: int, *, for_update: bool = False) -> repo.Row:
    """A voucher of this shop that the Shopee face can show, or common.error_not_found."""
    try:
        # Locked for the rest of the transaction when the caller is about to write, so the
        # guard and the write see the same version.
        row = find_voucher(uow, actor, VoucherRef(id=voucher_id), for_update=for_update)
    except errors.NotFound:
        row = None
    if row is None or row["kind"] not in SHOPEE_KINDS:
        raise ShopeeError("common.error_not_found", "The information you queried is not found.")
    return row


def _float(amount: int | None, currency: str | None) -> float:
    if amount is None:
        return 0.0
    return float(to_decimal(amount, currency or DEFAULT_CURRENCY))


def render(row: repo.Row, now: datetime, *, full: bool = True) -> dict[str, Any]:
    info = meta(row)
    kind = ValueKind(row["kind"])
    reward = KIND_REWARDS[kind]
    voucher_type = int(info.get("voucher_type", 1))
    start = row["starts_at"] or row["created_at"]
    channels = list(info.get("display_channel_list", []))
    out: dict[str, Any] = {
        "voucher_id": row["id"],
        "voucher_code": info.get("voucher_code", row["code"]),
        "voucher_name": info.get("voucher_name", row["label"] or row["code"]),
        "voucher_type": voucher_type,
        "reward_type": reward,
        "usage_quantity": row["max_uses"] or 0,
        "current_usage": row["uses"],
        "start_time": _unix(start),
        "end_time": _unix(row["ends_at"]),
        "is_admin": False,
        "voucher_purpose": int(info.get("voucher_purpose", 0)),
        "min_basket_price": _float(row["min_spend"], row["currency"]),
        "display_start_time": int(info.get("display_start_time", 0)),
        "target_voucher": 0,
    }
    if reward == 1:
        out["discount_amount"] = _float(row["discount_amount"], row["currency"])
    else:
        bps = row["discount_bps"] if reward == 2 else row["cashback_bps"]
        out["percentage"] = (bps or 0) // 100
        out["max_price"] = _float(row["discount_cap"], row["currency"])
    if full:
        out["display_channel_list"] = channels
        out["usecase"] = 2 if voucher_type == 2 else 1
        if voucher_type == 2:
            out["item_id_list"] = list(info.get("item_id_list", []))
    return out


def status_of(row: repo.Row, now: datetime) -> str:
    return shopee_status(repo.voucher_state(row), now)


# --- writing --------------------------------------------------------------------------------


def add(uow: UnitOfWork, actor: Actor, body: Mapping[str, Any]) -> int:
    name = _str(body, "voucher_name", required=True)
    code = _str(body, "voucher_code", required=True)
    start_time = _int(body, "start_time", required=True)
    end_time = _int(body, "end_time", required=True)
    voucher_type = _int(body, "voucher_type", required=True)
    reward_type = _int(body, "reward_type", required=True)
    usage_quantity = _int(body, "usage_quantity", required=True)
    min_basket = _number(body, "min_basket_price", required=True)
    discount_amount = _number(body, "discount_amount")
    percentage = _int(body, "percentage")
    max_price = _number(body, "max_price")
    channels = _int_list(body, "display_channel_list")
    items = _int_list(body, "item_id_list")
    display_start = _int(body, "display_start_time")
    assert name is not None and code is not None and start_time is not None
    assert end_time is not None and voucher_type is not None and reward_type is not None
    assert usage_quantity is not None and min_basket is not None
    if not name.strip() or len(name) > MAX_NAME:
        raise param(f"voucher_name must be 1 to {MAX_NAME} characters")
    if voucher_type not in (1, 2):
        raise param("voucher_type must be 1 (shop) or 2 (product)")
    if reward_type not in REWARD_KINDS:
        raise param("reward_type must be 1, 2 or 3")
    if not 1 <= usage_quantity <= 10**9:
        raise param("usage_quantity must be at least 1")
    if not CODE_RE.fullmatch(code):
        raise ShopeeError("voucher.voucher_code_error")
    settings = shop_settings(uow, actor.tenant_id)
    if reward_type == 3 and settings.get(SETTING_COIN) is False:
        raise ShopeeError("voucher.voucher_coin_error")
    starts_at, ends_at = _time(start_time, "start_time"), _time(end_time, "end_time")
    try:
        schedule.check_new_start(starts_at, uow.now, START_GRACE)
        schedule.check_window(starts_at, ends_at, min_length=MIN_LENGTH, max_months=MAX_MONTHS)
    except errors.ValidationFailed as exc:
        raise window_error(exc) from None
    check_terms(settings, reward_type, min_basket, discount_amount, percentage, max_price)
    check_channels(channels, display_start, ADD_CHANNELS)
    check_items(voucher_type, items)
    tenants.lock_tenant(uow, actor.tenant_id)  # two adds at 999 must not both pass
    if count_live(uow, actor.tenant_id) >= MAX_ACTIVE:
        raise ShopeeError("voucher.voucher_over_limit")
    currency = currency_of(settings)
    terms = terms_of(reward_type, currency, min_basket, discount_amount, percentage, max_price)
    info: dict[str, Any] = {
        "voucher_name": name,
        "voucher_code": code,
        "voucher_type": voucher_type,
        "display_channel_list": channels or [],
        "voucher_purpose": 0,
        "display_start_time": (
            display_start if display_start is not None else (start_time if channels else 0)
        ),
    }
    if voucher_type == 2:
        info["item_id_list"] = items or []
    spec = voucher_service.NewVoucher(
        kind=REWARD_KINDS[reward_type],
        currency=currency,
        max_uses=usage_quantity,
        starts_at=starts_at,
        ends_at=ends_at,
        code=code,
        label=name[:255],
        metadata={"shopee": info},
        active=True,
        **terms,  # type: ignore[arg-type]
    )
    try:
        created = voucher_service.create(uow, actor, spec)
    except errors.DuplicateCode:
        raise ShopeeError("voucher.voucher_code_duplicate_error") from None
    except errors.ValidationFailed as exc:
        raise param(exc.message) from None
    return int(created.voucher["id"])


_WINDOW_ERRORS: Final = {
    ("starts_at", "past"): "voucher.voucher_start_time_error",
    ("starts_at", "started"): "voucher.voucher_ongoing_param_error",
    ("ends_at", "after"): "voucher.voucher_time_period_error",
    ("ends_at", "min_length"): "voucher.voucher_time_period_error",
    ("ends_at", "max_length"): "voucher.voucher_end_time_error",
    ("ends_at", "shorten_only"): "voucher.voucher_end_time_reduce_error",
    ("max_uses", "increase_only"): "voucher.voucher_quantity_reduce_error",
}


def window_error(exc: errors.ValidationFailed) -> ShopeeError:
    code = _WINDOW_ERRORS.get((exc.field or "", exc.rule))
    if code is None and exc.rule == "started":
        code = "voucher.voucher_ongoing_param_error"
    if code is not None:
        return ShopeeError(code)
    return param(f"{exc.field}: {exc.message}")


def ensure_operable(row: repo.Row) -> None:
    """Vouchers of a campaign (or of a Shopee-run purpose) cannot be changed by a seller tool."""
    if row["campaign_id"] is not None or int(meta(row).get("voucher_purpose", 0)) != 0:
        raise ShopeeError("voucher.operate_voucher_permission_error")


def update(uow: UnitOfWork, actor: Actor, body: Mapping[str, Any]) -> int:
    voucher_id = _int(body, "voucher_id", required=True)
    assert voucher_id is not None
    name = _str(body, "voucher_name")
    start_time = _int(body, "start_time")
    end_time = _int(body, "end_time")
    usage_quantity = _int(body, "usage_quantity")
    min_basket = _number(body, "min_basket_price")
    discount_amount = _number(body, "discount_amount")
    percentage = _int(body, "percentage")
    max_price = _number(body, "max_price")
    channels = _int_list(body, "display_channel_list")
    items = _int_list(body, "item_id_list")
    display_start = _int(body, "display_start_time")
    if name is not None and (not name.strip() or len(name) > MAX_NAME):
        raise param(f"voucher_name must be 1 to {MAX_NAME} characters")
    row = find(uow, actor, voucher_id, for_update=True)
    ensure_operable(row)
    status = status_of(row, uow.now)
    if status == "expired":
        raise param("an expired voucher cannot be updated")
    info = meta(row)
    current = render(row, uow.now)
    reward = current["reward_type"]
    if status == "ongoing":
        # Only voucher_name, usage_quantity, end_time, display_channel_list, item_id_list.
        fixed = {
            "start_time": start_time,
            "min_basket_price": min_basket,
            "discount_amount": discount_amount,
            "percentage": percentage,
            "max_price": max_price,
            "display_start_time": display_start,
        }
        for field, value in fixed.items():
            if value is not None and (
                field not in current or Decimal(str(current[field])) != Decimal(str(value))
            ):
                raise ShopeeError("voucher.voucher_ongoing_param_error")
    settings = shop_settings(uow, actor.tenant_id)
    new_channels = channels if channels is not None else list(info.get("display_channel_list", []))
    new_display = (
        display_start
        if display_start is not None
        else (info.get("display_start_time") if channels is None or channels else None)
    )
    check_channels(
        new_channels, display_start if display_start is not None else None, UPDATE_CHANNELS
    )
    voucher_type = int(info.get("voucher_type", current["voucher_type"]))
    if items is not None:
        check_items(voucher_type, items)
    terms: dict[str, int | None] | None = None
    if (
        any(v is not None for v in (min_basket, discount_amount, percentage, max_price))
        and status != "ongoing"
    ):
        merged_min = (
            min_basket if min_basket is not None else Decimal(str(current["min_basket_price"]))
        )
        merged_amount = (
            discount_amount
            if discount_amount is not None
            else (Decimal(str(current.get("discount_amount", 0))) if reward == 1 else None)
        )
        merged_pct = percentage if percentage is not None else current.get("percentage")
        merged_cap = (
            max_price
            if max_price is not None
            else (Decimal(str(current.get("max_price", 0))) if reward != 1 else None)
        )
        check_terms(settings, reward, merged_min, merged_amount, merged_pct, merged_cap)
        terms = terms_of(
            reward,
            row["currency"] or currency_of(settings),
            merged_min,
            merged_amount,
            merged_pct,
            merged_cap,
        )
    if name is not None:
        info["voucher_name"] = name
    info["display_channel_list"] = new_channels
    info["display_start_time"] = (
        int(new_display or 0) or current["start_time"] if new_channels else 0
    )
    if items is not None and voucher_type == 2:
        info["item_id_list"] = items
    metadata = {**(row["metadata"] or {}), "shopee": info}
    kwargs: dict[str, Any] = {}
    if start_time is not None:
        kwargs["starts_at"] = _time(start_time, "start_time")
    if end_time is not None:
        kwargs["ends_at"] = _time(end_time, "end_time")
    if usage_quantity is not None:
        kwargs["max_uses"] = usage_quantity
    try:
        windows.reschedule(
            uow,
            actor,
            VoucherRef(id=voucher_id),
            terms=terms,
            metadata=metadata,
            min_length=MIN_LENGTH,
            max_months=MAX_MONTHS,
            start_grace=START_GRACE,
            reason="shopee update_voucher",
            **kwargs,
        )
    except errors.ValidationFailed as exc:
        raise window_error(exc) from None
    except errors.VoucherExpired:
        raise param("an expired voucher cannot be updated") from None
    except errors.InvalidTransition as exc:
        raise param(exc.message) from None
    return voucher_id


def end(uow: UnitOfWork, actor: Actor, voucher_id: int) -> int:
    row = find(uow, actor, voucher_id, for_update=True)
    ensure_operable(row)
    ref = VoucherRef(id=voucher_id)
    try:
        # A used-up voucher inside its window is still "ongoing" to Shopee: END_USED_UP.
        voucher_service.end(uow, actor, ref, reason="shopee end_voucher", policies=SHOPEE)
    except (errors.VoucherNotStarted, errors.VoucherInactive):
        raise ShopeeError("voucher.end_voucher_status_error") from None
    except (errors.VoucherExpired, errors.VoucherVoided):
        raise ShopeeError("voucher.update_end_voucher_error") from None
    except errors.InvalidTransition:
        raise ShopeeError("voucher.end_voucher_status_error") from None
    return voucher_id


def delete(uow: UnitOfWork, actor: Actor, voucher_id: int) -> int:
    row = find(uow, actor, voucher_id, for_update=True)
    ensure_operable(row)
    if status_of(row, uow.now) != "upcoming":
        raise ShopeeError("voucher.delete_voucher_error")
    try:
        voucher_service.delete(
            uow, actor, VoucherRef(id=voucher_id), reason="shopee delete_voucher"
        )
    except errors.InvalidTransition:
        raise ShopeeError("voucher.delete_voucher_error") from None
    return voucher_id
