"""The RM operations, one small function each: RM's parsed input → engine services → RM objects.

Each runs inside the runtime's one unit of work (``ctx.uow``); none opens a transaction,
commits, or maps engine errors (the face's error table in ``errors.py`` does). Parsing lives in
``parse.py``, the dialect's own reads in ``queries.py``, RM's objects in ``render.py``.
RM's rules are engine policies (``policies.REVENUE_MONSTER``) and guards the services run on
the locked row; nothing that guards a write is checked here on a row read without a lock.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from voucherd.db import repositories as repo
from voucherd.dialects.revenue_monster import members, merchants, parse, queries, render
from voucherd.dialects.revenue_monster.auth import Caller
from voucherd.dialects.revenue_monster.errors import RmError
from voucherd.domain import policies
from voucherd.faces.runtime import Context
from voucherd.services import campaigns, hashing, value
from voucherd.services import vouchers as voucher_service
from voucherd.services.attempts import Budget
from voucherd.services.changes import VoucherRef

Ctx = Context[Caller]


def _renderer(ctx: Ctx) -> render.Renderer:
    return render.Renderer(ctx.uow, ctx.caller.tenant_id, render.base_url(ctx.inbound.request))


def _find(ctx: Ctx, code: str) -> repo.Row:
    """A voucher for display only (never for a check that guards a write)."""
    return voucher_service.get(ctx.uow, ctx.caller.actor, VoucherRef(code=code))


def _paging(ctx: Ctx) -> tuple[int | None, int]:
    q = ctx.inbound.query
    return parse.cursor(q.get("cursor")), parse.limit(q.get("limit"))


def _voucher_page(ctx: Ctx, paging: tuple[int | None, int], **where: int) -> render.Page:
    """A page of vouchers with ``where`` (campaign or holder) and the count of all of them."""
    after_id, limit = paging
    uow, actor = ctx.uow, ctx.caller.actor
    rows = voucher_service.list_page(uow, actor, after_id=after_id, limit=limit, filters=where)
    total = repo.count_vouchers(uow.conn, actor.tenant_id, **where)
    renderer = _renderer(ctx)
    cursor = parse.encode_cursor(rows[-1]["id"]) if len(rows) == limit else ""
    return [renderer.voucher(r) for r in rows], {"count": total, "cursor": cursor}


# --- batches ------------------------------------------------------------------------------------


def list_batches(ctx: Ctx) -> render.Page:
    after_id, limit = _paging(ctx)
    wanted = parse.batch_filter(ctx.inbound.query.get("filter"))
    if wanted.get("isStatic") is True or wanted.get("status") not in (None, "", "COMPLETED"):
        rows: Sequence[repo.Row] = []  # no static batches; every batch is COMPLETED
    else:
        rows = campaigns.list_page(ctx.uow, ctx.caller.actor, after_id=after_id, limit=limit)
    conn, tenant_id = ctx.uow.conn, ctx.caller.tenant_id
    counts = queries.batch_counts(conn, tenant_id, [r["id"] for r in rows])
    items = [render.batch(r, counts.get(r["id"], {})) for r in rows]
    cursor = parse.encode_cursor(rows[-1]["id"]) if len(rows) == limit else ""
    return items, {"count": queries.batch_total(conn, tenant_id), "cursor": cursor}


def get_batch(ctx: Ctx, key: str) -> dict[str, Any]:
    row = campaigns.get(ctx.uow, ctx.caller.actor, key=key)
    counts = queries.batch_counts(ctx.uow.conn, ctx.caller.tenant_id, [row["id"]])
    return render.batch(row, counts.get(row["id"], {}))


def batch_vouchers(ctx: Ctx, key: str) -> render.Page:
    paging = _paging(ctx)
    batch = campaigns.get(ctx.uow, ctx.caller.actor, key=key)
    return _voucher_page(ctx, paging, campaign_id=batch["id"])


def issue(ctx: Ctx, key: str) -> dict[str, Any]:
    """Hand out the batch's next unissued voucher: it is activated (a DYNAMIC expiry starts
    now) and, when the body names a member (countryCode + phoneNumber), claimed for them."""
    fields = parse.body_object(ctx.inbound.body)
    uow, actor = ctx.uow, ctx.caller.actor
    batch = campaigns.get(uow, actor, key=key)
    member = None
    if fields.get("countryCode") or fields.get("phoneNumber"):
        member = members.get_or_create(
            uow, actor, fields.get("countryCode"), fields.get("phoneNumber")
        )
    row = campaigns.issue_next(
        uow,
        actor,
        batch,
        holder_id=member["id"] if member is not None else None,
        reason="rm issue",
    )
    base = render.base_url(ctx.inbound.request)
    signer = render.qr_key(uow.conn)
    return {
        "code": row["code"],
        "qrUrl": render.qr_url(signer, base, actor.tenant_id, row["code"], uow.now),
    }


# --- vouchers -----------------------------------------------------------------------------------


def get_voucher(ctx: Ctx, code: str) -> dict[str, Any]:
    return _renderer(ctx).voucher(_find(ctx, code))


def void(ctx: Ctx, code: str) -> dict[str, Any]:
    """Void ("use at shop"); ``usedAt`` is validated, the server's clock is recorded."""
    parse.used_at(parse.body_object(ctx.inbound.body))
    row = voucher_service.void(
        ctx.uow,
        ctx.caller.actor,
        VoucherRef(code=code),
        reason="rm void",
        policies=policies.REVENUE_MONSTER,  # VOID_USED_UP: a collected voucher, at the shop
    )
    return _renderer(ctx).voucher(row)


def reinstate(ctx: Ctx, code: str) -> dict[str, Any]:
    """Undo a void. The ``pin`` is the merchant's reinstate PIN (``voucherd rm merchant set
    --reinstate-pin``); a voucher that has its own PIN must also match it (engine rule)."""
    pin, reason = parse.reinstate(parse.body_object(ctx.inbound.body))
    pin_hash = queries.reinstate_pin_hash(ctx.uow.conn, ctx.caller.tenant_id)

    def merchant_pin(row: repo.Row) -> None:  # a guard: runs on the locked row
        if pin_hash is None and row["pin_hash"] is None:
            raise RmError("PIN_INVALID", "No reinstate PIN is set for this merchant")
        if pin_hash is not None:
            ctx.uow.attempts.guard(Budget.PIN)  # the merchant's PIN is guessable too
            if not hashing.verify_pin(pin_hash, pin):
                ctx.uow.attempts.failed(Budget.PIN)
                raise RmError("PIN_INVALID")

    row = voucher_service.reinstate(
        ctx.uow,
        ctx.caller.actor,
        VoucherRef(code=code),
        pin=pin,
        reason=reason or "rm reinstate",
        guard=merchant_pin,
    )
    return _renderer(ctx).voucher(row)


def _redeem(ctx: Ctx, renderer: render.Renderer, code: str, member_id: int | None) -> repo.Row:
    """RM "redeem" (the member collects the voucher): one use, a CASH voucher's whole value.

    RM sends no order amount, so none is invented: the minimum spend is waived by the named
    policy (``MIN_SPEND_WAIVED``), and a percentage is worth 0 in the ledger. With a member,
    an unheld voucher is claimed for them; one held by another member is refused. The batch
    ``renderer`` shows comes with the voucher's read.
    """
    charged = value.charge(
        ctx.uow,
        ctx.caller.actor,
        VoucherRef(code=code),
        whole_balance=True,
        customer_id=member_id,
        claim=member_id is not None,
        for_holder=member_id is None,
        policies=policies.REVENUE_MONSTER,
        with_campaign=True,
    )
    renderer.knows(charged.campaign)
    return charged.voucher


def bulk_redeem(ctx: Ctx) -> list[dict[str, Any]]:
    """``POST /v3/vouchers/redeem`` ``{"codes": [...]}``: all redeemed, or none."""
    wanted = parse.codes(parse.body_object(ctx.inbound.body))
    renderer = _renderer(ctx)
    redeemed = []
    for code in wanted:
        redeemed.append(renderer.voucher(_redeem(ctx, renderer, code, None)))
    return redeemed


def server_public_key(ctx: Ctx) -> dict[str, Any]:
    pem = merchants.ensure(ctx.uow, ctx.caller.tenant_id)["server_public_key_pem"]
    return {"publicKey": str(pem), "signType": "sha256"}


# --- members ------------------------------------------------------------------------------------


def _member_query(ctx: Ctx) -> tuple[str | None, str | None]:
    q = ctx.inbound.query
    return q.get("countryCode"), q.get("phoneNumber")


def member_vouchers(ctx: Ctx) -> render.Page:
    paging = _paging(ctx)
    member = members.find(ctx.uow, ctx.caller.actor, *_member_query(ctx))
    return _voucher_page(ctx, paging, holder_id=member["id"])


def member_voucher(ctx: Ctx, code: str) -> dict[str, Any]:
    member = members.find(ctx.uow, ctx.caller.actor, *_member_query(ctx))
    row = _find(ctx, code)
    if row["holder_id"] != member["id"]:
        raise RmError("VOUCHER_OWNER_INVALID")
    return _renderer(ctx).voucher(row)


def member_redeem(ctx: Ctx, code: str) -> dict[str, Any]:
    """The member redeems (collects) a voucher: an unheld one is first claimed for them."""
    member = members.get_or_create(ctx.uow, ctx.caller.actor, *_member_query(ctx))
    renderer = _renderer(ctx)
    return renderer.voucher(_redeem(ctx, renderer, code, member["id"]))
