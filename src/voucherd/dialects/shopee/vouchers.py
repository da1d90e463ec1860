"""The voucher calls as operations of the face runtime: parse, Shopee's input rules, one service.

One Shopee voucher is one engine voucher: ``voucher_id`` is the engine's internal id, the
shared ``voucher_code`` its code, ``usage_quantity`` its ``max_uses`` and ``current_usage`` its
``uses`` (redemptions through any face count). reward_type 1/2/3 are the kinds fixed_discount,
percentage_discount and cashback. Shopee-only descriptive fields live in ``metadata["shopee"]``.

Each operation runs inside the runtime's unit of work (``faces.runtime.call``); engine refusals
propagate and are named by ``errors.TABLE``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from voucherd.db import repositories as repo
from voucherd.dialects.shopee import parse, queries, render, rules
from voucherd.dialects.shopee.auth import Caller
from voucherd.dialects.shopee.errors import ShopeeError, not_found, param
from voucherd.dialects.shopee.rules import SETTING_CURRENCY as SETTING_CURRENCY
from voucherd.domain import policies, schedule
from voucherd.faces.runtime import Context
from voucherd.services import tenants, windows
from voucherd.services import vouchers as voucher_service
from voucherd.services.changes import VoucherRef
from voucherd.services.changes import find as find_voucher
from voucherd.services.unit_of_work import Actor, UnitOfWork

Ctx = Context[Caller]


def shop_settings(uow: UnitOfWork, shop_id: int) -> Mapping[str, Any]:
    return dict(tenants.get_tenant(uow, shop_id)["settings"] or {})


def find(uow: UnitOfWork, actor: Actor, voucher_id: int, *, for_update: bool = False) -> repo.Row:
    """A voucher of this shop that the Shopee face can show (else NotFound / not found).

    ``for_update`` locks it for the rest of the transaction, so the checks below and the
    engine's write see the same version.
    """
    row = find_voucher(uow, actor, VoucherRef(id=voucher_id), for_update=for_update)
    if row["kind"] not in rules.SHOPEE_KINDS:
        raise not_found()
    return row


def _operable(uow: UnitOfWork, actor: Actor, voucher_id: int) -> repo.Row:
    row = find(uow, actor, voucher_id, for_update=True)
    rules.ensure_operable(render.meta(row), row["campaign_id"])
    return row


# --- reads ------------------------------------------------------------------------------------


def get_voucher(ctx: Ctx) -> dict[str, Any]:
    voucher_id = parse.query_voucher_id(parse.query_params(ctx.inbound.query))
    return render.voucher(find(ctx.uow, ctx.caller.actor, voucher_id))


def get_voucher_list(ctx: Ctx) -> dict[str, Any]:
    params = parse.query_params(ctx.inbound.query)
    page_no = parse.query_int(params, "page_no", default=1, low=1, high=5000)
    page_size = parse.query_int(params, "page_size", default=20, low=1, high=100)
    status = params.get("status")
    if not status:
        raise param("status is required")
    if status not in queries.STATUSES:
        raise param("status must be upcoming, ongoing, expired or all")
    rows, more = queries.list_page(ctx.uow, ctx.caller.actor.tenant_id, status, page_no, page_size)
    return {"more": more, "voucher_list": [render.voucher(r, full=False) for r in rows]}


# --- writes -----------------------------------------------------------------------------------


def add_voucher(ctx: Ctx) -> dict[str, int]:
    uow, actor = ctx.uow, ctx.caller.actor
    request = parse.add_voucher(parse.body(ctx.inbound.body))
    settings = shop_settings(uow, actor.tenant_id)
    rules.check_add(request, settings)
    schedule.check_new_start(request.starts_at, uow.now, rules.START_GRACE)
    schedule.check_window(
        request.starts_at,
        request.ends_at,
        min_length=rules.MIN_LENGTH,
        max_months=rules.MAX_MONTHS,
    )
    rules.check_add_terms(request, settings)
    tenants.lock_tenant(uow, actor.tenant_id)  # two adds at 999 must not both pass
    if queries.count_live(uow, actor.tenant_id) >= rules.MAX_ACTIVE:
        raise ShopeeError("voucher.voucher_over_limit")
    currency = rules.currency_of(settings)
    display = request.display
    info: dict[str, Any] = {
        "voucher_name": request.name,
        "voucher_code": request.code,
        "voucher_type": request.voucher_type,
        "display_channel_list": display.channels or [],
        "voucher_purpose": 0,
        "display_start_time": (
            display.display_start
            if display.display_start is not None
            else (request.start_time if display.channels else 0)
        ),
    }
    if request.voucher_type == 2:
        info["item_id_list"] = display.items or []
    spec = voucher_service.NewVoucher(
        kind=rules.REWARD_KINDS[request.reward_type],
        currency=currency,
        max_uses=request.usage_quantity,
        starts_at=request.starts_at,
        ends_at=request.ends_at,
        code=request.code,
        label=request.name[:255],
        metadata={"shopee": info},
        active=True,
        **rules.engine_terms(request.reward_type, currency, request.terms),  # type: ignore[arg-type]
    )
    created = voucher_service.create(uow, actor, spec)
    return {"voucher_id": int(created.voucher["id"])}


def update_voucher(ctx: Ctx) -> dict[str, int]:
    uow, actor = ctx.uow, ctx.caller.actor
    request = parse.update_voucher(parse.body(ctx.inbound.body))
    rules.check_name(request.name)
    row = _operable(uow, actor, request.voucher_id)
    status = render.status_of(row, uow.now)
    if status == "expired":
        raise param("an expired voucher cannot be updated")
    info = render.meta(row)
    current = render.voucher(row)
    reward = current["reward_type"]
    if status == "ongoing":
        rules.check_ongoing(request, current)
    display = request.display
    channels = (
        display.channels
        if display.channels is not None
        else list(info.get("display_channel_list", []))
    )
    shown_from = (
        display.display_start
        if display.display_start is not None
        else (info.get("display_start_time") if display.channels is None or channels else None)
    )
    rules.check_channels(channels, display.display_start, rules.UPDATE_CHANNELS)
    voucher_type = int(info.get("voucher_type", current["voucher_type"]))
    if display.items is not None:
        rules.check_items(voucher_type, display.items)
    terms: dict[str, int | None] | None = None
    if request.terms.any_sent() and status != "ongoing":
        settings = shop_settings(uow, actor.tenant_id)
        merged = rules.merged_terms(request.terms, current, reward)
        rules.check_terms(settings, reward, merged)
        currency = row["currency"] or rules.currency_of(settings)
        terms = rules.engine_terms(reward, currency, merged)
    if request.name is not None:
        info["voucher_name"] = request.name
    info["display_channel_list"] = channels
    info["display_start_time"] = int(shown_from or 0) or current["start_time"] if channels else 0
    if display.items is not None and voucher_type == 2:
        info["item_id_list"] = display.items
    changes: dict[str, Any] = {}
    if request.start_time is not None:
        changes["starts_at"] = parse.moment(request.start_time)
    if request.end_time is not None:
        changes["ends_at"] = parse.moment(request.end_time)
    if request.usage_quantity is not None:
        changes["max_uses"] = request.usage_quantity
    windows.reschedule(
        uow,
        actor,
        VoucherRef(id=request.voucher_id),
        terms=terms,
        metadata={**(row["metadata"] or {}), "shopee": info},
        min_length=rules.MIN_LENGTH,
        max_months=rules.MAX_MONTHS,
        start_grace=rules.START_GRACE,
        reason="shopee update_voucher",
        **changes,
    )
    return {"voucher_id": request.voucher_id}


def _guard(row: repo.Row) -> None:
    """The face's checks on the row the engine read for update (``changes.locked``): a voucher
    this face can show and change (Shopee's own rules run in the engine: ``policies.SHOPEE``)."""
    if row["kind"] not in rules.SHOPEE_KINDS:
        raise not_found()
    rules.ensure_operable(render.meta(row), row["campaign_id"])


def end_voucher(ctx: Ctx) -> dict[str, int]:
    """A used-up voucher inside its window is still ongoing to Shopee: policy END_USED_UP."""
    voucher_id = parse.voucher_id(parse.body(ctx.inbound.body))
    voucher_service.end(
        ctx.uow,
        ctx.caller.actor,
        VoucherRef(id=voucher_id),
        reason="shopee end_voucher",
        policies=policies.SHOPEE,
        guard=_guard,
    )
    return {"voucher_id": voucher_id}


def delete_voucher(ctx: Ctx) -> dict[str, int]:
    """Shopee deletes only an upcoming voucher: policy DELETE_ONLY_UPCOMING."""
    voucher_id = parse.voucher_id(parse.body(ctx.inbound.body))
    voucher_service.delete(
        ctx.uow,
        ctx.caller.actor,
        VoucherRef(id=voucher_id),
        reason="shopee delete_voucher",
        policies=policies.SHOPEE,
        guard=_guard,
    )
    return {"voucher_id": voucher_id}
