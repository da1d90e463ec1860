"""Who a Spaaza call is about, and the checks Spaaza makes before a voucher changes.

The voucher is read LOCKED (``for_update``) in the call's transaction and Spaaza's checks
(``Check``: a callable taking the row, raising to refuse) run on that row, so they hold until
the call commits: the guard the engine evaluates on the locked row (issue 9, item 5). Lines
marked ``ENGINE-POLICY`` are vendor rules due to become named engine policies.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import timedelta
from typing import Any

from voucherd.db import repositories as repo
from voucherd.db.projections import spaaza_status
from voucherd.dialects.spaaza import errors as E
from voucherd.dialects.spaaza import params as P
from voucherd.dialects.spaaza import store
from voucherd.dialects.spaaza.auth import Caller
from voucherd.dialects.spaaza.errors import SpaazaError
from voucherd.dialects.spaaza.render import owner
from voucherd.domain.policies import SPAAZA
from voucherd.domain.vouchers import ValueKind
from voucherd.services import vouchers as vouchers_svc
from voucherd.services.changes import VoucherRef, find
from voucherd.services.unit_of_work import UnitOfWork

Params = Mapping[str, Any]
DEFAULT_LOCK_SECONDS = 300
MAX_LOCK_SECONDS = 366 * 86400
LOCKABLE = (ValueKind.STORED_VALUE, ValueKind.FIXED_DISCOUNT, ValueKind.PERCENT_DISCOUNT)
UNSUPPORTED_USER_KEYS = ("authentication_point_identifier", "auxiliary_identifier")


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


def require_user(uow: UnitOfWork, caller: Caller, params: Params) -> store.User:
    user = target_user(uow, caller, params, required=True)
    assert user is not None
    return user


def require_chain_param(caller: Caller, params: Params) -> None:
    if caller.kind == "admin" and params.get("chain_id") is None:
        raise SpaazaError(E.CHAIN_ID_REQUIRED)


Check = Callable[[repo.Row], None]


def load(
    uow: UnitOfWork, caller: Caller, params: Params, *checks: Check
) -> tuple[repo.Row, VoucherRef]:
    """The voucher the call names, read with its row lock held until the call commits, after
    ``checks`` accepted it (Spaaza's checks, as the engine's guard on the locked row).

    Raises: SpaazaError voucher_identifier_required / voucher_not_found, what ``checks``
    raise; NotFound.
    """
    ref, also_id = P.voucher_ref(params)
    row = find(uow, caller.actor, ref, for_update=True)
    for check in (same_id(also_id), *checks):
        check(row)
    return row, VoucherRef(id=row["id"])


def same_id(also_id: int | None) -> Check:
    """``voucher_key`` and ``voucher_id`` sent together must name the same voucher."""

    def check(row: repo.Row) -> None:
        if also_id is not None and row["id"] != also_id:
            raise SpaazaError(E.VOUCHER_NOT_FOUND)

    return check


def access(caller: Caller, target: store.User | None) -> Check:
    """A user session acts only on its own vouchers; a named user must be the voucher's (68)."""

    def check(row: repo.Row) -> None:
        own = owner(row)
        if caller.kind == "user":
            assert caller.user is not None
            if own != caller.user.user_id:
                raise SpaazaError(E.PERMISSION_DENIED)
        elif target is not None and own is not None and own != target.user_id:
            raise SpaazaError(E.PERMISSION_DENIED)

    return check


def not_redeemed(row: repo.Row) -> None:
    """Spaaza changes nothing about a redeemed voucher (910)."""
    if spaaza_status(repo.voucher_state(row)) == "redeemed":
        raise SpaazaError(E.VOUCHER_ALREADY_REDEEMED)


def claimed(row: repo.Row) -> None:
    """expire, delete and unclaim need a claimed voucher (908)."""
    if row["holder_id"] is None:
        raise SpaazaError(E.VOUCHER_NOT_CLAIMED)


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


def lock(uow: UnitOfWork, caller: Caller, row: repo.Row, params: Params) -> repo.Row:
    """Lock a basket voucher for a period, a locking code and (exclusively) a basket."""
    if ValueKind(row["kind"]) not in LOCKABLE:
        raise SpaazaError(E.VOUCHER_TYPE_NOT_SUPPORTED, "Only basket vouchers can be locked")
    not_redeemed(row)
    period, basket, code = lock_params(params)
    return vouchers_svc.lock(
        uow,
        caller.actor,
        VoucherRef(id=row["id"]),
        period=period,
        locking_code=code,
        basket_code=basket,
        policies=SPAAZA,  # LOCK_BY_BASKET_CODE: a voucher locked to one basket stays its
    )


def text_param(params: Params, name: str) -> str | None:
    """A lock's name as the till sent it (None when absent or empty)."""
    value = params.get(name)
    return str(value) if value else None
