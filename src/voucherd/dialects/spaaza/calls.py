"""The Spaaza voucher calls: each parses, authenticates, guards, calls services, renders.

Every call runs in one ``UnitOfWork`` and commits once; a refusal raises before the commit, so
it changes nothing.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from starlette.responses import Response

from voucherd.db import repositories as repo
from voucherd.db.projections import spaaza_status
from voucherd.dialects.spaaza import errors as E
from voucherd.dialects.spaaza import params as P
from voucherd.dialects.spaaza import queries, store
from voucherd.dialects.spaaza.auth import ALL_KINDS, TRUSTED, Caller, resolve
from voucherd.dialects.spaaza.errors import SpaazaError, ok, warning
from voucherd.dialects.spaaza.render import TEXT_FIELDS, Renderer, owner
from voucherd.domain.lifecycle import Phase
from voucherd.domain.policies import SPAAZA
from voucherd.domain.vouchers import ValueKind
from voucherd.services import value
from voucherd.services import vouchers as vouchers_svc
from voucherd.services.changes import VoucherRef
from voucherd.services.unit_of_work import UnitOfWork
from voucherd.services.vouchers import NewVoucher

Headers = Mapping[str, str]
Params = Mapping[str, Any]
DEFAULT_LOCK_SECONDS = 300
MAX_LOCK_SECONDS = 366 * 86400
MAX_BULK = 10
LOCKABLE = (ValueKind.STORED_VALUE, ValueKind.FIXED_DISCOUNT, ValueKind.PERCENT_DISCOUNT)
USER_KEYS = ("user_id", "member_number", "username")
UNSUPPORTED_USER_KEYS = ("authentication_point_identifier", "auxiliary_identifier")


# --- shared guards -----------------------------------------------------------------------------


def target_user(
    uow: UnitOfWork, caller: Caller, params: Params, *, required: bool
) -> store.User | None:
    """The end user a call is about: the session's own user, or the one named by parameters.

    Raises: SpaazaError user_identifier_required, user_not_found.
    """
    if caller.kind == "user":
        return caller.user
    user_id = P.integer(params, "user_id")
    member_number = params.get("member_number")
    username = params.get("username")
    if user_id is None and not member_number and not username:
        if any(params.get(k) for k in UNSUPPORTED_USER_KEYS):
            raise SpaazaError(E.USER_NOT_FOUND)
        if required:
            raise SpaazaError(E.USER_IDENTIFIER_REQUIRED)
        return None
    user = store.find_user(
        uow,
        caller.chain_id,
        user_id=user_id,
        member_number=str(member_number) if member_number else None,
        username=str(username) if username else None,
    )
    if user is None:
        raise SpaazaError(E.USER_NOT_FOUND)
    return user


def check_access(caller: Caller, row: repo.Row, target: store.User | None) -> None:
    """A user session acts only on its own vouchers; a named user must be the voucher's."""
    own = owner(row)
    if caller.kind == "user":
        assert caller.user is not None
        if own != caller.user.user_id:
            raise SpaazaError(E.PERMISSION_DENIED)
    elif target is not None and own is not None and own != target.user_id:
        raise SpaazaError(E.PERMISSION_DENIED)


def load(uow: UnitOfWork, caller: Caller, params: Params) -> tuple[repo.Row, VoucherRef]:
    """The voucher read for update: every check made on it (ownership, holder, status) holds
    until this call's unit of work commits (every caller of ``load`` writes)."""
    ref, also_id = P.voucher_ref(params)
    row = vouchers_svc.get_for_update(uow, caller.actor, ref)
    if also_id is not None and row["id"] != also_id:
        raise SpaazaError(E.VOUCHER_NOT_FOUND)
    return row, VoucherRef(id=row["id"])


def require_chain_param(caller: Caller, params: Params) -> None:
    if caller.kind == "admin" and params.get("chain_id") is None:
        raise SpaazaError(E.CHAIN_ID_REQUIRED)


def refuse_redeemed(row: repo.Row) -> None:
    if spaaza_status(repo.voucher_state(row)) == "redeemed":
        raise SpaazaError(E.VOUCHER_ALREADY_REDEEMED)


def lock_params(params: Params) -> tuple[timedelta, str | None, str | None]:
    seconds = P.integer(params, "voucher_lock_period")
    seconds = DEFAULT_LOCK_SECONDS if seconds is None else seconds
    if not 0 < seconds <= MAX_LOCK_SECONDS:
        raise SpaazaError(
            E.INVALID_PARAMETER, f"voucher_lock_period must be between 1 and {MAX_LOCK_SECONDS}"
        )
    basket = params.get("retailer_basket_code")
    code = params.get("voucher_locking_code")
    return (
        timedelta(seconds=seconds),
        str(basket) if basket else None,
        (str(code) if code else None),
    )


def do_lock(uow: UnitOfWork, caller: Caller, row: repo.Row, params: Params) -> repo.Row:
    if ValueKind(row["kind"]) not in LOCKABLE:
        raise SpaazaError(E.VOUCHER_TYPE_NOT_SUPPORTED, "Only basket vouchers can be locked")
    refuse_redeemed(row)
    period, basket, code = lock_params(params)
    return vouchers_svc.lock(
        uow,
        caller.actor,
        VoucherRef(id=row["id"]),
        period=period,
        locking_code=code,
        basket_code=basket,
        policies=SPAAZA,  # LOCK_BY_BASKET_CODE
    )


# --- voucher calls -----------------------------------------------------------------------------


def create_voucher(uow: UnitOfWork, headers: Headers, params: Params) -> Response:
    # End users may not mint vouchers: Spaaza only lets them turn wallet balance into a
    # voucher, and voucherd keeps no wallet balances (docs/compat/spaaza.md).
    caller = resolve(uow, headers, params, allowed=TRUSTED)
    campaign_id = P.integer(params, "campaign_id")
    if campaign_id is None:
        raise SpaazaError(E.CAMPAIGN_NOT_FOUND, "campaign_id is required")
    campaign = repo.find_campaign(uow.conn, caller.chain_id, id=campaign_id)
    if campaign is None:
        raise SpaazaError(E.CAMPAIGN_NOT_FOUND)
    if (campaign["metadata"] or {}).get("spaaza_campaign_type") not in store.VOUCHER_CAMPAIGN_TYPES:
        raise SpaazaError(E.CAMPAIGN_TYPE_NOT_ALLOWED)
    target = target_user(uow, caller, params, required=True)
    assert target is not None
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
    if any(
        params.get(k)
        for k in ("voucher_lock_period", "retailer_basket_code", "voucher_locking_code")
    ):
        row = do_lock(uow, caller, row, params)
    warnings = (
        [
            warning(
                E.INVALID_PARAMETER,
                "delete_existing is not supported and was ignored",
                key="delete_existing",
            )
        ]
        if params.get("delete_existing")
        else []
    )
    uow.commit()
    return ok("create-voucher", Renderer(uow, caller.chain_id).voucher(row), warnings)


def _claim_one(
    uow: UnitOfWork,
    caller: Caller,
    target: store.User,
    row: repo.Row,
    warnings: list[dict[str, Any]],
) -> repo.Row:
    if (
        caller.kind != "user"
        and row["holder_id"] is not None
        and (row["holder_id"] != target.user_id)
    ):
        raise SpaazaError(E.VOUCHER_ALREADY_CLAIMED)
    check_access(caller, row, target)
    refuse_redeemed(row)
    if repo.voucher_state(row).phase(uow.now) is Phase.EXPIRED:
        raise SpaazaError(E.VOUCHER_EXPIRED)
    if row["holder_id"] == target.user_id:
        warnings.append(warning(E.VOUCHER_ALREADY_CLAIMED, key=row["public_id"]))
        return row
    return vouchers_svc.claim(uow, caller.actor, VoucherRef(id=row["id"]), target.user_id)


def claim_voucher(uow: UnitOfWork, headers: Headers, params: Params) -> Response:
    caller = resolve(uow, headers, params, allowed=ALL_KINDS)
    require_chain_param(caller, params)
    target = target_user(uow, caller, params, required=True)
    assert target is not None
    row, _ = load(uow, caller, params)
    warnings: list[dict[str, Any]] = []
    row = _claim_one(uow, caller, target, row, warnings)
    uow.commit()
    return ok("claim-voucher", Renderer(uow, caller.chain_id).voucher(row), warnings)


def _obj(body: Params, name: str) -> dict[str, Any]:
    value = body.get(name)
    return value if isinstance(value, dict) else {}


def claim_vouchers(uow: UnitOfWork, headers: Headers, body: Params) -> Response:
    entity, user = _obj(body, "entity"), _obj(body, "user")
    chain = {"chain_id": str(entity["chain_id"])} if entity.get("chain_id") is not None else {}
    caller = resolve(uow, headers, chain, allowed=TRUSTED)
    target = target_user(
        uow, caller, {k: str(v) for k, v in user.items() if v is not None}, required=True
    )
    assert target is not None
    items = body.get("vouchers")
    if not isinstance(items, list) or not items:
        raise SpaazaError(E.VOUCHER_IDENTIFIER_REQUIRED)
    if len(items) > MAX_BULK:
        raise SpaazaError(E.TOO_MANY_VOUCHERS)
    locking = _obj(body, "locking")
    warnings: list[dict[str, Any]] = []
    claimed = []
    for item in items:
        if not isinstance(item, dict):
            raise SpaazaError(E.VOUCHER_IDENTIFIER_REQUIRED)
        row, _ = load(uow, caller, item)
        row = _claim_one(uow, caller, target, row, warnings)
        if locking:
            row = do_lock(uow, caller, row, locking)
        claimed.append(row)
    uow.commit()
    renderer = Renderer(uow, caller.chain_id)
    return ok("claim-vouchers", {"vouchers": [renderer.voucher(r) for r in claimed]}, warnings)


def unclaim_voucher(uow: UnitOfWork, headers: Headers, params: Params) -> Response:
    caller = resolve(uow, headers, params, allowed=ALL_KINDS)
    require_chain_param(caller, params)
    target = target_user(uow, caller, params, required=True)
    row, ref = load(uow, caller, params)
    check_access(caller, row, target)
    refuse_redeemed(row)
    if row["holder_id"] is None:
        raise SpaazaError(E.VOUCHER_NOT_CLAIMED)
    if caller.kind == "user" and repo.voucher_state(row).locked(uow.now):
        raise SpaazaError(
            E.VOUCHER_LOCKED,
            "A locked voucher can only be unclaimed with admin or privileged authentication",
        )
    row = vouchers_svc.unclaim(uow, caller.actor, ref, force=caller.kind != "user")
    uow.commit()
    return ok("unclaim-voucher", Renderer(uow, caller.chain_id).voucher(row))


def expire_voucher(uow: UnitOfWork, headers: Headers, params: Params) -> Response:
    caller = resolve(uow, headers, params, allowed=ALL_KINDS, permission="delete")
    target = target_user(uow, caller, params, required=True)
    row, ref = load(uow, caller, params)
    check_access(caller, row, target)
    refuse_redeemed(row)
    row = vouchers_svc.expire(
        uow, caller.actor, ref, reason="spaaza expire-voucher", require_holder=True
    )
    uow.commit()
    return ok("expire-voucher", {"voucher_key": row["public_id"]})


def lock_voucher(uow: UnitOfWork, headers: Headers, params: Params) -> Response:
    caller = resolve(uow, headers, params, allowed=ALL_KINDS)
    target = target_user(uow, caller, params, required=False)
    row, _ = load(uow, caller, params)
    check_access(caller, row, target)
    row = do_lock(uow, caller, row, params)
    uow.commit()
    return ok("lock-voucher", Renderer(uow, caller.chain_id).voucher(row))


def unlock_voucher(uow: UnitOfWork, headers: Headers, params: Params) -> Response:
    caller = resolve(uow, headers, params, allowed=TRUSTED)
    target = target_user(uow, caller, params, required=False)
    row, ref = load(uow, caller, params)
    check_access(caller, row, target)
    warnings = []
    if not repo.voucher_state(row).locked(uow.now):
        warnings.append(warning(E.VOUCHER_NOT_LOCKED, key=row["public_id"]))
    row = vouchers_svc.unlock(uow, caller.actor, ref)
    uow.commit()
    return ok("unlock-voucher", Renderer(uow, caller.chain_id).voucher(row), warnings)


def redeem_voucher(uow: UnitOfWork, headers: Headers, params: Params) -> Response:
    caller = resolve(uow, headers, params, allowed=TRUSTED)
    require_chain_param(caller, params)
    target = target_user(uow, caller, params, required=False)
    row, ref = load(uow, caller, params)
    check_access(caller, row, target)
    refuse_redeemed(row)
    state = repo.voucher_state(row)
    if state.locked(uow.now):
        # The till that locked the voucher names its lock; redeeming consumes the lock.
        named = (
            row["locking_code"] and params.get("voucher_locking_code") == row["locking_code"]
        ) or (
            row["lock_basket_code"]
            and params.get("retailer_basket_code") == row["lock_basket_code"]
        )
        if not named:
            raise SpaazaError(
                E.VOUCHER_LOCKED,
                "The voucher is locked: name its voucher_locking_code or retailer_basket_code",
            )
        row = vouchers_svc.unlock(uow, caller.actor, ref)
    customer = owner(row) or (target.user_id if target else None)
    kind = ValueKind(row["kind"])
    renderer = Renderer(uow, caller.chain_id)
    if kind is not ValueKind.STORED_VALUE:
        if params.get("amount") is not None:
            raise SpaazaError(E.INVALID_PARAMETER, "A percentage voucher is redeemed whole")
        row = value.charge(uow, caller.actor, ref, customer_id=customer).voucher
        uow.commit()
        return ok("redeem-voucher", renderer.voucher(row))
    balance = int(row["balance"])
    currency = renderer.currency(row)
    wanted = (
        P.amount(params["amount"], currency, "amount")
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
    uow.commit()
    result = renderer.voucher(row)
    result["regenerated_voucher"] = renderer.voucher(regenerated) if regenerated else None
    return ok("redeem-voucher", result)


def delete_voucher(uow: UnitOfWork, headers: Headers, params: Params) -> Response:
    caller = resolve(uow, headers, params, allowed=ALL_KINDS, permission="delete")
    target = target_user(uow, caller, params, required=True)
    row, ref = load(uow, caller, params)
    check_access(caller, row, target)
    refuse_redeemed(row)
    if row["holder_id"] is None:
        raise SpaazaError(E.VOUCHER_NOT_CLAIMED, "Only a claimed voucher can be deleted")
    vouchers_svc.delete(uow, caller.actor, ref, reason="spaaza delete-voucher")
    uow.commit()
    return ok("delete-voucher", {"voucher_key": row["public_id"]})


def _filters(uow: UnitOfWork, params: Params) -> queries.Filters:
    return queries.Filters(
        campaign_id=P.integer(params, "campaign_id"),
        voucher_id=P.integer(params, "voucher_id"),
        show_expired=P.flag(params, "show_expired"),
        show_redeemed=P.flag(params, "show_redeemed"),
        show_all_statuses=P.flag(params, "show_all_statuses"),
        exclude_regenerated=P.flag(params, "exclude_regenerated"),
        min_created=P.when(params.get("min_created_datetime"), "min_created_datetime"),
        max_created=P.until(params.get("max_created_datetime"), "max_created_datetime"),
        min_expiry=P.when(params.get("min_expiry_datetime"), "min_expiry_datetime"),
        max_expiry=P.until(params.get("max_expiry_datetime"), "max_expiry_datetime"),
        min_redeemed=P.when(params.get("min_redeemed_datetime"), "min_redeemed_datetime"),
        max_redeemed=P.until(params.get("max_redeemed_datetime"), "max_redeemed_datetime"),
    )


def get_vouchers(uow: UnitOfWork, headers: Headers, params: Params) -> Response:
    caller = resolve(uow, headers, params, allowed=TRUSTED, permission="read")
    filters = _filters(uow, params)
    target = target_user(uow, caller, params, required=False)
    filters.user_id = target.user_id if target else None
    limit = P.integer(params, "number_results") or 50
    offset = P.integer(params, "results_offset") or 0
    if not 0 < limit <= 1000 or offset < 0:
        raise SpaazaError(
            E.INVALID_PARAMETER, "number_results must be 1..1000 and results_offset at least 0"
        )
    total, rows = queries.list_vouchers(uow, caller.chain_id, filters, limit=limit, offset=offset)
    renderer = Renderer(uow, caller.chain_id)
    renderer.prefetch_users(list(rows))
    return ok(
        "get-vouchers",
        {
            "results_count_total": total,
            "vouchers": [renderer.voucher(r, with_user=True) for r in rows],
        },
    )


def get_user_vouchers(uow: UnitOfWork, headers: Headers, params: Params) -> Response:
    caller = resolve(uow, headers, params, allowed=ALL_KINDS, permission="read")
    target = target_user(uow, caller, params, required=True)
    assert target is not None
    show_all = params.get("filter") == "all"
    filters = queries.Filters(
        user_id=target.user_id, show_all_statuses=show_all, show_expired=show_all
    )
    _total, rows = queries.list_vouchers(uow, caller.chain_id, filters, limit=1000, offset=0)
    renderer = Renderer(uow, caller.chain_id)
    rendered = [renderer.voucher(r) for r in rows]
    return ok(
        "get-user-vouchers",
        {
            "user_id": target.user_id,
            "basket_vouchers": [v for v in rendered if v["voucher_type"] != "honour"],
            "honour_vouchers": [v for v in rendered if v["voucher_type"] == "honour"],
            "var_price_vouchers": [],
        },
    )


# --- sessions ----------------------------------------------------------------------------------


def login(uow: UnitOfWork, headers: Headers, params: Params) -> Response:
    from voucherd.dialects.spaaza.auth import hostname_chain

    chain = hostname_chain(uow, headers)
    username, password = params.get("username"), params.get("password")
    if not username or not password:
        raise SpaazaError(E.PASSWORD_ERROR)
    user = store.authenticate(uow, str(username), str(password), chain)
    if user is None:
        raise SpaazaError(E.PASSWORD_ERROR)
    key, expires_at = store.create_session(uow, user)
    uow.commit()
    return ok(
        "login",
        {
            "session_info": {
                "session_user_id": user.user_id,
                "session_key": key,
                "username": user.username,
                "session_expiry_datetime_utc": expires_at.strftime("%Y-%m-%d %H:%M:%S"),
            },
            "user_info": {
                "user_id": user.user_id,
                "username": user.username,
                "member_number": user.member_number,
                "chain_id": user.chain_id,
                "is_admin": user.is_admin,
            },
        },
    )


def _session_from(headers: Headers, params: Params) -> tuple[int, str]:
    from voucherd.dialects.spaaza.auth import session_credentials

    credentials = session_credentials({}, params) or session_credentials(headers)
    if credentials is None:
        raise SpaazaError(E.NO_VALID_SESSION)
    return credentials


def get_login_status(uow: UnitOfWork, headers: Headers, params: Params) -> Response:
    user_id, key = _session_from(headers, params)
    user = store.session_user(uow, user_id, key)
    if user is None:
        raise SpaazaError(E.NO_VALID_SESSION)
    return ok(
        "get-login-status",
        {
            "logged_in": True,
            "session_info": {"session_user_id": user.user_id, "username": user.username},
        },
    )


def logout(uow: UnitOfWork, headers: Headers, params: Params) -> Response:
    from voucherd.dialects.spaaza.auth import session_credentials

    credentials = session_credentials(headers) or session_credentials({}, params)
    if credentials is None or not store.end_session(uow, *credentials):
        raise SpaazaError(E.NO_VALID_SESSION)
    uow.commit()
    return ok("logout", {})
