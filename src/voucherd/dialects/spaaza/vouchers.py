"""The Spaaza voucher calls that change a voucher: parse, check, call the services.

Each runs as the runtime's operation (``faces.runtime.call``): in the call's one unit of work,
after authentication, and never commits itself; a refusal raises, so it changes nothing.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from typing import Any

from voucherd.db import repositories as repo
from voucherd.dialects.spaaza import errors as E
from voucherd.dialects.spaaza import params as P
from voucherd.dialects.spaaza import rules, store
from voucherd.dialects.spaaza.auth import Caller
from voucherd.dialects.spaaza.errors import SpaazaError, warning
from voucherd.dialects.spaaza.render import TEXT_FIELDS, Renderer, owner
from voucherd.dialects.spaaza.replies import Vouchers, Warnings
from voucherd.domain.errors import VoucherLocked
from voucherd.domain.lifecycle import Phase
from voucherd.domain.vouchers import ValueKind
from voucherd.faces.runtime import Context
from voucherd.services import value
from voucherd.services import vouchers as vouchers_svc
from voucherd.services.changes import VoucherRef
from voucherd.services.vouchers import NewVoucher

Params = Mapping[str, Any]
Ctx = Context[Caller]
MAX_BULK = 10
LOCK_PARAMS = ("voucher_lock_period", "retailer_basket_code", "voucher_locking_code")


def _one(ctx: Ctx, row: repo.Row, warnings: Warnings | None = None) -> Vouchers:
    return Vouchers(Renderer(ctx.uow, ctx.caller.chain_id), [row], warnings or [])


def create_voucher(ctx: Ctx, params: Params) -> Vouchers:
    # End users may not mint vouchers: Spaaza only lets them turn wallet balance into a
    # voucher, and voucherd keeps no wallet balances (docs/compat/spaaza.md).
    uow, caller = ctx.uow, ctx.caller
    campaign_id = P.integer(params, "campaign_id")
    if campaign_id is None:
        raise SpaazaError(E.CAMPAIGN_NOT_FOUND, "campaign_id is required")
    campaign = repo.find_campaign(uow.conn, caller.chain_id, id=campaign_id)
    if campaign is None:
        raise SpaazaError(E.CAMPAIGN_NOT_FOUND)
    if (campaign["metadata"] or {}).get("spaaza_campaign_type") not in store.VOUCHER_CAMPAIGN_TYPES:
        raise SpaazaError(E.CAMPAIGN_TYPE_NOT_ALLOWED)
    target = rules.require_user(uow, caller, params)
    currency = campaign["currency"] or store.chain_currency(uow, caller.chain_id)
    metadata: dict[str, Any] = {"spaaza_user_id": target.user_id}
    for name in TEXT_FIELDS:
        if params.get(name):
            metadata[f"spaaza_{name}"] = str(params[name])
    voucher_type = params.get("voucher_type", "basket")
    spec = NewVoucher(
        currency=currency,
        campaign_id=campaign_id,
        active=True,
        public_id=secrets.token_hex(32),
        ends_at=P.when(params.get("expiry_date"), "expiry_date", end_of_day=True),
        holder_id=target.user_id if P.flag(params, "set_claimed") else None,
    )
    if voucher_type == "basket":
        if params.get("voucher_amount") is None:
            raise SpaazaError(E.INVALID_PARAMETER, "voucher_amount is required")
        spec.kind = ValueKind.STORED_VALUE
        spec.amount = P.amount(params["voucher_amount"], currency, "voucher_amount")
        metadata["spaaza_amount_original"] = spec.amount
    elif voucher_type == "basket_pct":
        if params.get("voucher_discount_ratio") is None:
            raise SpaazaError(E.INVALID_PARAMETER, "voucher_discount_ratio is required")
        spec.kind = ValueKind.PERCENT_DISCOUNT
        spec.discount_bps = P.ratio_bps(params["voucher_discount_ratio"])
        spec.max_uses = 1
    else:
        raise SpaazaError(E.VOUCHER_TYPE_NOT_SUPPORTED, "voucher_type must be basket or basket_pct")
    if spec.ends_at is not None and spec.ends_at <= uow.now:
        raise SpaazaError(E.INVALID_PARAMETER, "expiry_date must be in the future")
    spec.metadata = metadata
    row = vouchers_svc.create(uow, caller.actor, spec).voucher
    if any(params.get(k) for k in LOCK_PARAMS):
        row = rules.lock(uow, caller, row, params)
    warnings = []
    if params.get("delete_existing"):
        warnings.append(
            warning(
                E.INVALID_PARAMETER,
                "delete_existing is not supported and was ignored",
                key="delete_existing",
            )
        )
    return _one(ctx, row, warnings)


def _claim_one(ctx: Ctx, target: store.User, row: repo.Row, warnings: Warnings) -> repo.Row:
    uow, caller = ctx.uow, ctx.caller
    # ENGINE-POLICY (holder guard on the locked row): claimed by someone else, another user's.
    if caller.kind != "user" and row["holder_id"] not in (None, target.user_id):
        raise SpaazaError(E.VOUCHER_ALREADY_CLAIMED)
    rules.access(caller, target)(row)
    rules.not_redeemed(row)
    if repo.voucher_state(row).phase(uow.now) is Phase.EXPIRED:
        raise SpaazaError(E.VOUCHER_EXPIRED)
    if row["holder_id"] == target.user_id:
        warnings.append(warning(E.VOUCHER_ALREADY_CLAIMED, key=row["public_id"]))
        return row
    return vouchers_svc.claim(uow, caller.actor, VoucherRef(id=row["id"]), target.user_id)


def claim_voucher(ctx: Ctx, params: Params) -> Vouchers:
    rules.require_chain_param(ctx.caller, params)
    target = rules.require_user(ctx.uow, ctx.caller, params)
    row, _ = rules.load(ctx.uow, ctx.caller, params)
    warnings: Warnings = []
    return _one(ctx, _claim_one(ctx, target, row, warnings), warnings)


def _obj(body: Params, name: str) -> dict[str, Any]:
    found = body.get(name)
    return found if isinstance(found, dict) else {}


def bulk_chain(body: Params) -> dict[str, str]:
    """claim-vouchers names its chain in ``entity.chain_id`` (for authentication)."""
    entity = _obj(body, "entity")
    return {"chain_id": str(entity["chain_id"])} if entity.get("chain_id") is not None else {}


def claim_vouchers(ctx: Ctx, body: Params) -> Vouchers:
    user = _obj(body, "user")
    target = rules.require_user(
        ctx.uow, ctx.caller, {k: str(v) for k, v in user.items() if v is not None}
    )
    items = body.get("vouchers")
    if not isinstance(items, list) or not items:
        raise SpaazaError(E.VOUCHER_IDENTIFIER_REQUIRED)
    if len(items) > MAX_BULK:
        raise SpaazaError(E.TOO_MANY_VOUCHERS)
    locking = _obj(body, "locking")
    warnings: Warnings = []
    claimed = []
    for item in items:
        if not isinstance(item, dict):
            raise SpaazaError(E.VOUCHER_IDENTIFIER_REQUIRED)
        row, _ = rules.load(ctx.uow, ctx.caller, item)
        row = _claim_one(ctx, target, row, warnings)
        if locking:
            row = rules.lock(ctx.uow, ctx.caller, row, locking)
        claimed.append(row)
    return Vouchers(Renderer(ctx.uow, ctx.caller.chain_id), claimed, warnings)


def unclaim_voucher(ctx: Ctx, params: Params) -> Vouchers:
    uow, caller = ctx.uow, ctx.caller
    rules.require_chain_param(caller, params)
    target = rules.require_user(uow, caller, params)
    row, ref = rules.load(
        uow, caller, params, rules.access(caller, target), rules.not_redeemed, rules.claimed
    )
    if caller.kind == "user" and repo.voucher_state(row).locked(uow.now):
        raise SpaazaError(
            E.VOUCHER_LOCKED,
            "A locked voucher can only be unclaimed with admin or privileged authentication",
        )
    return _one(ctx, vouchers_svc.unclaim(uow, caller.actor, ref, force=caller.kind != "user"))


def expire_voucher(ctx: Ctx, params: Params) -> Vouchers:
    uow, caller = ctx.uow, ctx.caller
    target = rules.require_user(uow, caller, params)
    row, ref = rules.load(uow, caller, params, rules.access(caller, target), rules.not_redeemed)
    row = vouchers_svc.expire(
        uow, caller.actor, ref, reason="spaaza expire-voucher", require_holder=True
    )
    return _one(ctx, row)


def lock_voucher(ctx: Ctx, params: Params) -> Vouchers:
    target = rules.target_user(ctx.uow, ctx.caller, params, required=False)
    row, _ = rules.load(ctx.uow, ctx.caller, params, rules.access(ctx.caller, target))
    return _one(ctx, rules.lock(ctx.uow, ctx.caller, row, params))


def unlock_voucher(ctx: Ctx, params: Params) -> Vouchers:
    uow, caller = ctx.uow, ctx.caller
    target = rules.target_user(uow, caller, params, required=False)
    row, ref = rules.load(uow, caller, params, rules.access(caller, target))
    warnings = []
    if not repo.voucher_state(row).locked(uow.now):
        warnings.append(warning(E.VOUCHER_NOT_LOCKED, key=row["public_id"]))
    return _one(ctx, vouchers_svc.unlock(uow, caller.actor, ref), warnings)


def redeem_voucher(ctx: Ctx, params: Params) -> Vouchers:
    uow, caller = ctx.uow, ctx.caller
    rules.require_chain_param(caller, params)
    target = rules.target_user(uow, caller, params, required=False)
    row, ref = rules.load(uow, caller, params, rules.access(caller, target), rules.not_redeemed)
    # The till that locked the voucher names its lock; redeeming consumes the lock (the
    # engine's rule, LOCK_BY_BASKET_CODE, on the locked row).
    try:
        row = vouchers_svc.consume_lock(
            uow,
            caller.actor,
            ref,
            locking_code=rules.text_param(params, "voucher_locking_code"),
            basket_code=rules.text_param(params, "retailer_basket_code"),
        )
    except VoucherLocked:
        raise SpaazaError(
            E.VOUCHER_LOCKED,
            "The voucher is locked: name its voucher_locking_code or retailer_basket_code",
        ) from None
    customer = owner(row) or (target.user_id if target else None)
    view = Renderer(uow, caller.chain_id)
    if ValueKind(row["kind"]) is not ValueKind.STORED_VALUE:
        if params.get("amount") is not None:
            raise SpaazaError(E.INVALID_PARAMETER, "A percentage voucher is redeemed whole")
        return Vouchers(view, [value.charge(uow, caller.actor, ref, customer_id=customer).voucher])
    balance = int(row["balance"])
    wanted = (
        P.amount(params["amount"], view.currency(row), "amount")
        if params.get("amount") is not None
        else balance
    )
    if wanted > balance:
        raise SpaazaError(E.VOUCHER_AMOUNT_INSUFFICIENT)
    # A partial redeem moves the rest to a regenerated voucher (the engine's split).
    meta = dict(row["metadata"] or {})
    child_meta = {
        k: v
        for k, v in meta.items()
        if k in ("spaaza_user_id", *(f"spaaza_{n}" for n in TEXT_FIELDS))
    }
    child_meta.update(
        spaaza_amount_original=balance - wanted,
        spaaza_parent_voucher_id=row["id"],
        spaaza_parent_voucher_key=row["public_id"],
    )
    split = value.redeem_and_split(
        uow,
        caller.actor,
        ref,
        amount=wanted,
        customer_id=customer,
        new_public_id=secrets.token_hex(32),
        metadata=child_meta,
    )
    regenerated = split.remainder
    meta["spaaza_amount_redeemed"] = wanted
    if regenerated is not None:
        meta.update(
            spaaza_regenerated_voucher_id=regenerated["id"],
            spaaza_regenerated_voucher_key=regenerated["public_id"],
        )
    row = vouchers_svc.update(uow, caller.actor, ref, {"metadata": meta})
    return Vouchers(view, [row], regenerated=regenerated)


def delete_voucher(ctx: Ctx, params: Params) -> Vouchers:
    uow, caller = ctx.uow, ctx.caller
    target = rules.require_user(uow, caller, params)
    row, ref = rules.load(
        uow, caller, params, rules.access(caller, target), rules.not_redeemed, rules.claimed
    )
    vouchers_svc.delete(uow, caller.actor, ref, reason="spaaza delete-voucher")
    return _one(ctx, row)
