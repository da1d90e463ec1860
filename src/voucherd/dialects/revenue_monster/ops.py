"""The RM operations: each parses RM's input, calls engine services in one transaction and
renders RM's objects. RM's rules are engine policies (``policies.REVENUE_MONSTER``) and
guards the services run on the locked row; nothing is checked here on a row read unlocked."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, case, func, select

from voucherd.db import repositories as repo
from voucherd.db.tables import campaigns as campaigns_table
from voucherd.db.tables import vouchers
from voucherd.dialects.revenue_monster import members, render
from voucherd.dialects.revenue_monster.errors import RmError, from_domain
from voucherd.dialects.revenue_monster.tables import rm_merchants
from voucherd.domain import errors, policies
from voucherd.domain.lifecycle import VoucherStatus
from voucherd.services import campaigns, secrets, value
from voucherd.services import vouchers as voucher_service
from voucherd.services.changes import VoucherRef
from voucherd.services.unit_of_work import Actor, UnitOfWork

DEFAULT_LIMIT = 100
MAX_LIMIT = 500


@dataclass(frozen=True, slots=True)
class Context:
    engine: Engine
    actor: Actor
    base_url: str  # ".../rm", for qrUrl

    @property
    def tenant_id(self) -> int:
        return self.actor.tenant_id


# --- helpers ------------------------------------------------------------------------------------


def encode_cursor(last_id: int) -> str:
    return base64.urlsafe_b64encode(str(last_id).encode()).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> int | None:
    if not cursor:
        return None
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        return int(text)
    except (binascii.Error, ValueError, UnicodeDecodeError):
        raise RmError("VALIDATION_ERROR", "cursor is invalid") from None


def parse_limit(text: str | None) -> int:
    if text in (None, ""):
        return DEFAULT_LIMIT
    try:
        limit = int(text)
    except ValueError:
        raise RmError("VALIDATION_ERROR", "limit must be an integer") from None
    if not 1 <= limit <= MAX_LIMIT:
        raise RmError("VALIDATION_ERROR", f"limit must be between 1 and {MAX_LIMIT}")
    return limit


def _object(body: Any) -> dict[str, Any]:
    if body is None:
        return {}
    if not isinstance(body, dict):
        raise RmError("INVALID_REQUEST", "The request body must be a JSON object")
    return body


class Renderer:
    """Renders vouchers of one transaction, loading each campaign and holder once."""

    def __init__(self, uow: UnitOfWork, ctx: Context) -> None:
        self.uow, self.ctx = uow, ctx
        self._campaigns: dict[int, Mapping[Any, Any] | None] = {}
        self._holders: dict[int, Mapping[Any, Any] | None] = {}

    def campaign(self, campaign_id: int | None) -> Mapping[Any, Any] | None:
        if campaign_id is None:
            return None
        if campaign_id not in self._campaigns:
            self._campaigns[campaign_id] = repo.find_campaign(
                self.uow.conn, self.ctx.tenant_id, id=campaign_id
            )
        return self._campaigns[campaign_id]

    def holder(self, customer_id: int | None) -> Mapping[Any, Any] | None:
        if customer_id is None:
            return None
        if customer_id not in self._holders:
            self._holders[customer_id] = repo.find_customer(
                self.uow.conn, self.ctx.tenant_id, id=customer_id
            )
        return self._holders[customer_id]

    def voucher(self, row: repo.Row) -> dict[str, Any]:
        return render.voucher(
            row,
            campaign=self.campaign(row["campaign_id"]),
            holder=self.holder(row["holder_id"]),
            now=self.uow.now,
            base_url=self.ctx.base_url,
        )


def _batch_counts(
    uow: UnitOfWork, tenant_id: int, campaign_ids: Sequence[int]
) -> dict[int, dict[str, int]]:
    if not campaign_ids:
        return {}
    unissued = (vouchers.c.status == VoucherStatus.INACTIVE.value) & vouchers.c.holder_id.is_(None)
    query = (
        select(
            vouchers.c.campaign_id,
            func.count(),
            func.coalesce(func.sum(case((unissued, 1), else_=0)), 0),
        )
        .where(
            vouchers.c.tenant_id == tenant_id,
            vouchers.c.campaign_id.in_(campaign_ids),
            vouchers.c.deleted_at.is_(None),
        )
        .group_by(vouchers.c.campaign_id)
    )
    return {
        int(cid): {"quantity": int(total), "balance": int(balance)}
        for cid, total, balance in uow.conn.execute(query)
    }


def _read(uow: UnitOfWork, ctx: Context, code: str) -> repo.Row:
    """A voucher for display only (never for a check that guards a write)."""
    try:
        return voucher_service.get(uow, ctx.actor, VoucherRef(code=code))
    except errors.NotFound:
        raise RmError("VOUCHER_NOT_FOUND") from None


# --- batches ------------------------------------------------------------------------------------


def list_batches(
    ctx: Context, cursor: str | None, filter_text: str | None, limit_text: str | None
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    after_id, limit = decode_cursor(cursor), parse_limit(limit_text)
    wanted: dict[str, Any] = {}
    if filter_text:
        try:
            wanted = json.loads(filter_text)
        except ValueError:
            raise RmError("VALIDATION_ERROR", "filter must be a JSON object") from None
        if not isinstance(wanted, dict):
            raise RmError("VALIDATION_ERROR", "filter must be a JSON object")
    with UnitOfWork(ctx.engine, readonly=True) as uow:
        if wanted.get("isStatic") is True or wanted.get("status") not in (None, "", "COMPLETED"):
            rows: Sequence[repo.Row] = []  # no static batches; every batch is COMPLETED
        else:
            rows = campaigns.list_page(uow, ctx.actor, after_id=after_id, limit=limit)
        counts = _batch_counts(uow, ctx.tenant_id, [r["id"] for r in rows])
        total = uow.conn.execute(
            select(func.count())
            .select_from(campaigns_table)
            .where(campaigns_table.c.tenant_id == ctx.tenant_id)
        ).scalar_one()
    items = [render.batch(r, counts.get(r["id"], {})) for r in rows]
    next_cursor = encode_cursor(rows[-1]["id"]) if len(rows) == limit else ""
    return items, {"count": int(total), "cursor": next_cursor}


def _campaign(uow: UnitOfWork, ctx: Context, key: str) -> repo.Row:
    try:
        return campaigns.get(uow, ctx.actor, key=key)
    except errors.NotFound:
        raise RmError("VOUCHER_BATCH_NOT_FOUND") from None


def get_batch(ctx: Context, key: str) -> dict[str, Any]:
    with UnitOfWork(ctx.engine, readonly=True) as uow:
        row = _campaign(uow, ctx, key)
        counts = _batch_counts(uow, ctx.tenant_id, [row["id"]])
    return render.batch(row, counts.get(row["id"], {}))


def batch_vouchers(
    ctx: Context, key: str, cursor: str | None, limit_text: str | None
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    after_id, limit = decode_cursor(cursor), parse_limit(limit_text)
    with UnitOfWork(ctx.engine, readonly=True) as uow:
        batch = _campaign(uow, ctx, key)
        rows = voucher_service.list_page(
            uow, ctx.actor, after_id=after_id, limit=limit, filters={"campaign_id": batch["id"]}
        )
        renderer = Renderer(uow, ctx)
        items = [renderer.voucher(r) for r in rows]
        total = repo.count_vouchers(uow.conn, ctx.tenant_id, campaign_id=batch["id"])
    next_cursor = encode_cursor(rows[-1]["id"]) if len(rows) == limit else ""
    return items, {"count": total, "cursor": next_cursor}


def issue(ctx: Context, key: str, body: Any) -> dict[str, Any]:
    """Hand out the batch's next unissued voucher: it is activated (a DYNAMIC expiry starts
    now) and, when the body names a member (countryCode + phoneNumber), claimed for them."""
    fields = _object(body)
    with UnitOfWork(ctx.engine) as uow:
        batch = _campaign(uow, ctx, key)
        member = None
        if fields.get("countryCode") or fields.get("phoneNumber"):
            member = members.get_or_create(
                uow, ctx.actor, fields.get("countryCode"), fields.get("phoneNumber")
            )
        try:
            row = campaigns.issue_next(
                uow,
                ctx.actor,
                batch,
                holder_id=member["id"] if member is not None else None,
                reason="rm issue",
            )
        except errors.VoucherdError as exc:
            raise from_domain(exc, action="issue") from None
        uow.commit()
    return {"code": row["code"], "qrUrl": render.qr_url(ctx.base_url, ctx.tenant_id, row["code"])}


# --- vouchers -----------------------------------------------------------------------------------


def get_voucher(ctx: Context, code: str) -> dict[str, Any]:
    with UnitOfWork(ctx.engine, readonly=True) as uow:
        row = _read(uow, ctx, code)
        return Renderer(uow, ctx).voucher(row)


def _used_at(fields: Mapping[Any, Any]) -> None:
    used_at = fields.get("usedAt")
    if used_at is None:
        return
    if not isinstance(used_at, str):
        raise RmError("VALIDATION_ERROR", "usedAt must be an RFC 3339 date-time")
    try:
        datetime.fromisoformat(used_at.replace("Z", "+00:00"))
    except ValueError:
        raise RmError("VALIDATION_ERROR", "usedAt must be an RFC 3339 date-time") from None


def void(ctx: Context, code: str, body: Any) -> dict[str, Any]:
    """Void ("use at shop"); ``usedAt`` is validated, the server's clock is recorded."""
    fields = _object(body)
    _used_at(fields)
    with UnitOfWork(ctx.engine) as uow:
        try:
            row = voucher_service.void(
                uow,
                ctx.actor,
                VoucherRef(code=code),
                reason="rm void",
                policies=policies.REVENUE_MONSTER,
            )
        except errors.VoucherdError as exc:
            raise from_domain(exc, action="void") from None
        item = Renderer(uow, ctx).voucher(row)
        uow.commit()
    return item


def reinstate(ctx: Context, code: str, body: Any) -> dict[str, Any]:
    """Undo a void. The ``pin`` is the merchant's reinstate PIN (``voucherd rm merchant set
    --reinstate-pin``); a voucher that has its own PIN must also match it (engine rule)."""
    fields = _object(body)
    pin, reason = fields.get("pin"), fields.get("reason")
    if not isinstance(pin, str) or not pin:
        raise RmError("VALIDATION_ERROR", "pin is required")
    if reason is not None and not isinstance(reason, str):
        raise RmError("VALIDATION_ERROR", "reason must be a string")
    with UnitOfWork(ctx.engine) as uow:
        pin_hash = uow.conn.execute(
            select(rm_merchants.c.reinstate_pin_hash).where(
                rm_merchants.c.tenant_id == ctx.tenant_id
            )
        ).scalar()

        def merchant_pin(row: repo.Row) -> None:  # runs on the locked row
            if pin_hash is None and row["pin_hash"] is None:
                raise RmError("PIN_INVALID", "No reinstate PIN is set for this merchant")
            if pin_hash is not None and not secrets.verify_pin(pin_hash, pin):
                raise RmError("PIN_INVALID")

        try:
            row = voucher_service.reinstate(
                uow,
                ctx.actor,
                VoucherRef(code=code),
                pin=pin,
                reason=reason or "rm reinstate",
                guard=merchant_pin,
            )
        except errors.VoucherdError as exc:
            raise from_domain(exc, action="reinstate") from None
        item = Renderer(uow, ctx).voucher(row)
        uow.commit()
    return item


def _redeem(uow: UnitOfWork, ctx: Context, code: str, member_id: int | None) -> repo.Row:
    """RM "redeem" (the member collects the voucher): one use, a CASH voucher's whole value.

    RM sends no order amount, so none is invented: the minimum spend is waived by the named
    policy (``MIN_SPEND_WAIVED``), and a percentage is worth 0 in the ledger. With a member,
    an unheld voucher is claimed for them; one held by another member is refused.
    """
    try:
        return value.charge(
            uow,
            ctx.actor,
            VoucherRef(code=code),
            whole_balance=True,
            customer_id=member_id,
            claim=member_id is not None,
            for_holder=member_id is None,
            policies=policies.REVENUE_MONSTER,
        ).voucher
    except errors.VoucherdError as exc:
        raise from_domain(exc, action="redeem") from None


def bulk_redeem(ctx: Context, body: Any) -> list[dict[str, Any]]:
    """``POST /v3/vouchers/redeem`` ``{"codes": [...]}``: all redeemed, or none."""
    fields = _object(body)
    codes = fields.get("codes")
    if not isinstance(codes, list) or not codes or not all(isinstance(c, str) for c in codes):
        raise RmError("VALIDATION_ERROR", "codes must be a non-empty list of voucher codes")
    if len(codes) > MAX_LIMIT:
        raise RmError("VALIDATION_ERROR", f"at most {MAX_LIMIT} codes at once")
    with UnitOfWork(ctx.engine) as uow:
        renderer = Renderer(uow, ctx)
        items = []
        for code in codes:
            items.append(renderer.voucher(_redeem(uow, ctx, code, None)))
        uow.commit()
    return items


# --- members ------------------------------------------------------------------------------------


def member_vouchers(
    ctx: Context,
    country_code: str | None,
    phone: str | None,
    cursor: str | None,
    limit_text: str | None,
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    after_id, limit = decode_cursor(cursor), parse_limit(limit_text)
    with UnitOfWork(ctx.engine, readonly=True) as uow:
        member = members.find(uow, ctx.actor, country_code, phone)
        rows = voucher_service.list_page(
            uow, ctx.actor, after_id=after_id, limit=limit, filters={"holder_id": member["id"]}
        )
        renderer = Renderer(uow, ctx)
        items = [renderer.voucher(r) for r in rows]
        total = repo.count_vouchers(uow.conn, ctx.tenant_id, holder_id=member["id"])
    next_cursor = encode_cursor(rows[-1]["id"]) if len(rows) == limit else ""
    return items, {"count": total, "cursor": next_cursor}


def member_voucher(
    ctx: Context, code: str, country_code: str | None, phone: str | None
) -> dict[str, Any]:
    with UnitOfWork(ctx.engine, readonly=True) as uow:
        member = members.find(uow, ctx.actor, country_code, phone)
        row = _read(uow, ctx, code)
        if row["holder_id"] != member["id"]:
            raise RmError("VOUCHER_OWNER_INVALID")
        return Renderer(uow, ctx).voucher(row)


def member_redeem(
    ctx: Context, code: str, country_code: str | None, phone: str | None
) -> dict[str, Any]:
    """The member redeems (collects) a voucher: an unheld one is first claimed for them."""
    with UnitOfWork(ctx.engine) as uow:
        member = members.get_or_create(uow, ctx.actor, country_code, phone)
        row = _redeem(uow, ctx, code, member["id"])
        item = Renderer(uow, ctx).voucher(row)
        uow.commit()
    return item
