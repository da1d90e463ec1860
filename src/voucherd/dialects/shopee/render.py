"""Engine vouchers as Shopee vouchers, and Shopee's success envelope."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from typing import Any

from fastapi import Request
from fastapi.responses import JSONResponse

from voucherd.db import repositories as repo
from voucherd.db.projections import shopee_status
from voucherd.dialects.shopee.errors import envelope, request_id
from voucherd.dialects.shopee.rules import DEFAULT_CURRENCY, KIND_REWARDS
from voucherd.domain.money import to_decimal
from voucherd.domain.vouchers import ValueKind

log = logging.getLogger("voucherd.shopee")


def meta(row: repo.Row) -> dict[str, Any]:
    """The Shopee-only fields of a voucher (``metadata["shopee"]``)."""
    data = (row["metadata"] or {}).get("shopee")
    return dict(data) if isinstance(data, dict) else {}


def status_of(row: repo.Row, now: datetime) -> str:
    return shopee_status(repo.voucher_state(row), now)


def _unix(moment: datetime | None) -> int:
    return int(moment.timestamp()) if moment is not None else 0


def _float(amount: int | None, currency: str | None) -> float:
    if amount is None:
        return 0.0
    return float(to_decimal(amount, currency or DEFAULT_CURRENCY))


def voucher(row: repo.Row, *, full: bool = True) -> dict[str, Any]:
    info = meta(row)
    reward = KIND_REWARDS[ValueKind(row["kind"])]
    voucher_type = int(info.get("voucher_type", 1))
    start = row["starts_at"] or row["created_at"]
    out: dict[str, Any] = {
        "voucher_id": row["id"],
        # A code made through this face is a shared promotion code the seller published; one
        # made elsewhere (native API, a campaign) may be a personal bearer code: not shown.
        "voucher_code": info.get("voucher_code", ""),
        "voucher_name": info.get("voucher_name", row["label"] or f"voucher {row['id']}"),
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
        out["display_channel_list"] = list(info.get("display_channel_list", []))
        out["usecase"] = 2 if voucher_type == 2 else 1
        if voucher_type == 2:
            out["item_id_list"] = list(info.get("item_id_list", []))
    return out


def logged(request: Request) -> str:
    """The request id of a successful call, logged (never the query: it carries the token)."""
    rid = request_id(request)
    log.info("shopee %s %s -> ok request_id=%s", request.method, request.url.path, rid)
    return rid


def ok(request: Request) -> Callable[[Any], JSONResponse]:
    """Render a call's result in the envelope: ``{"error": "", ..., "response": result}``."""

    def render(result: Any) -> JSONResponse:
        logged(request)
        return JSONResponse(envelope(request, result))

    return render


def top_level(request: Request) -> Callable[[dict[str, Any]], JSONResponse]:
    """Render a token call: its fields at the top level of the envelope, as documented."""

    def render(result: dict[str, Any]) -> JSONResponse:
        rid = logged(request)
        return JSONResponse({"error": "", "message": "", "request_id": rid, **result})

    return render
