"""Charges, reservations, refunds and recharges: every movement of value."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Query, Request
from starlette.responses import Response

from voucherd.api import pagination
from voucherd.api.deps import direct_actor, scoped
from voucherd.api.execute import direct_body, run
from voucherd.api.routes.vouchers import ERRORS
from voucherd.api.schemas import (
    CaptureRequest,
    ChargeRequest,
    ChargeResult,
    LedgerEntryRead,
    Page,
    RechargeRequest,
    RefundRequest,
    ReservationRead,
    ReserveRequest,
    VoucherRead,
    VoucherTarget,
)
from voucherd.db.repositories import Row
from voucherd.domain.errors import ValidationFailed
from voucherd.domain.scopes import Scope
from voucherd.faces.fields import ASCII_INT, text_id
from voucherd.services import value, vouchers
from voucherd.services.changes import VoucherRef
from voucherd.services.unit_of_work import Actor, UnitOfWork

router = APIRouter(prefix="/v1", tags=["Value"])
ChargeId = Annotated[int, text_id("charge")]
ReservationId = Annotated[int, text_id("reservation")]


def target(body: VoucherTarget) -> VoucherRef:
    if (body.voucher_id is None) == (body.code is None):
        raise ValidationFailed(
            "name the voucher by exactly one of voucher_id or code",
            field="voucher_id",
            rule="required_without",
        )
    return VoucherRef(public_id=body.voucher_id, code=body.code)


def _result(charged: value.Charged, now: datetime) -> ChargeResult:
    voucher = charged.voucher
    return ChargeResult(
        entry=LedgerEntryRead.of(charged.entry, voucher["public_id"]),
        voucher=VoucherRead.of(voucher, now),
    )


@router.post(
    "/charges",
    status_code=201,
    response_model=ChargeResult,
    responses=ERRORS,
    summary="Charge (redeem) a voucher by id or code",
)
async def charge(
    request: Request, body: ChargeRequest, actor: Actor = scoped(Scope.USE)
) -> Response:
    return await _charge(request, body, actor)


async def _charge(request: Request, body: ChargeRequest, actor: Actor) -> Response:
    def op(uow: UnitOfWork) -> ChargeResult:
        charged = value.charge(
            uow,
            actor,
            target(body),
            amount=body.amount,
            currency=body.currency,
            order_amount=body.order_amount,
            order_number=body.order_number,
            customer_id=body.customer_id,
            locking_code=body.locking_code,
            pin=body.pin,
        )
        return _result(charged, uow.now)

    return await run(request, actor, op, status_code=201, payload=body)


async def charge_direct(request: Request, _params: Mapping[str, str]) -> Response | None:
    """``POST /v1/charges`` answered directly (``faces/direct.py``); None leaves it to FastAPI."""
    actor = await direct_actor(request, (Scope.USE,))
    if actor is None:
        return None
    body = await direct_body(request, ChargeRequest)
    if body is None:
        return None
    return await _charge(request, body, actor)


@router.get(
    "/charges/{entry_id}",
    response_model=LedgerEntryRead,
    responses=ERRORS,
    summary="Get a ledger entry (charge, refund, recharge, issue)",
)
async def get_entry(
    request: Request, entry_id: ChargeId, actor: Actor = scoped(Scope.READ)
) -> Response:
    def op(uow: UnitOfWork) -> LedgerEntryRead:
        entry = value.get_entry(uow, actor, entry_id)
        voucher = vouchers.get(uow, actor, VoucherRef(id=entry["voucher_id"]))
        return LedgerEntryRead.of(entry, voucher["public_id"])

    return await run(request, actor, op, readonly=True)


@router.post(
    "/charges/{entry_id}/refund",
    status_code=201,
    response_model=ChargeResult,
    responses=ERRORS,
    summary="Refund (part of) a charge",
)
async def refund(
    request: Request, entry_id: ChargeId, body: RefundRequest, actor: Actor = scoped(Scope.USE)
) -> Response:
    def op(uow: UnitOfWork) -> ChargeResult:
        refunded = value.refund(
            uow, actor, entry_id, amount=body.amount, currency=body.currency, reason=body.reason
        )
        return _result(refunded, uow.now)

    return await run(request, actor, op, status_code=201, payload=body)


@router.post(
    "/vouchers/{voucher_id}/recharge",
    status_code=201,
    response_model=ChargeResult,
    responses=ERRORS,
    summary="Add value to a stored-value voucher",
)
async def recharge(
    request: Request,
    voucher_id: str,
    body: RechargeRequest,
    actor: Actor = scoped(Scope.RECHARGE),
) -> Response:
    def op(uow: UnitOfWork) -> ChargeResult:
        charged = value.recharge(
            uow,
            actor,
            VoucherRef(public_id=voucher_id),
            amount=body.amount,
            currency=body.currency,
            order_number=body.order_number,
        )
        return _result(charged, uow.now)

    return await run(request, actor, op, status_code=201, payload=body)


@router.get(
    "/vouchers/{voucher_id}/ledger",
    response_model=Page[LedgerEntryRead],
    responses=ERRORS,
    summary="The voucher's ledger",
)
async def ledger(
    request: Request,
    voucher_id: str,
    actor: Actor = scoped(Scope.READ),
    limit: Annotated[int, ASCII_INT, Query(ge=1, le=500)] = 100,
    cursor: str | None = None,
) -> Response:
    def op(uow: UnitOfWork) -> Page[LedgerEntryRead]:
        rows = value.ledger(
            uow,
            actor,
            VoucherRef(public_id=voucher_id),
            after_id=pagination.decode(cursor),
            limit=limit,
        )
        return Page[LedgerEntryRead](
            data=[LedgerEntryRead.of(r, voucher_id) for r in rows],
            next_cursor=pagination.next_cursor([r["id"] for r in rows], limit),
        )

    return await run(request, actor, op, readonly=True)


def _reservation(row: Row) -> ReservationRead:
    return ReservationRead.of(row, row["voucher_public_id"])


@router.post(
    "/reservations",
    status_code=201,
    response_model=ReservationRead,
    responses=ERRORS,
    summary="Hold value or a use on a voucher",
)
async def reserve(
    request: Request, body: ReserveRequest, actor: Actor = scoped(Scope.USE)
) -> Response:
    ttl = request.app.state.settings.reservation_ttl_seconds

    def op(uow: UnitOfWork) -> ReservationRead:
        reserved = value.reserve(
            uow,
            actor,
            target(body),
            amount=body.amount,
            currency=body.currency,
            ttl=timedelta(seconds=body.ttl_seconds or ttl),
            pin=body.pin,
            locking_code=body.locking_code,
        )
        return ReservationRead.of(reserved.reservation, reserved.voucher["public_id"])

    return await run(request, actor, op, status_code=201, payload=body)


@router.get(
    "/reservations/{reservation_id}",
    response_model=ReservationRead,
    responses=ERRORS,
    summary="Get a reservation",
)
async def get_reservation(
    request: Request, reservation_id: ReservationId, actor: Actor = scoped(Scope.READ)
) -> Response:
    return await run(
        request,
        actor,
        lambda uow: _reservation(value.get_reservation(uow, actor, reservation_id)),
        readonly=True,
    )


@router.post(
    "/reservations/{reservation_id}/capture",
    status_code=201,
    response_model=ChargeResult,
    responses=ERRORS,
    summary="Charge a reservation",
)
async def capture(
    request: Request,
    reservation_id: ReservationId,
    body: CaptureRequest,
    actor: Actor = scoped(Scope.USE),
) -> Response:
    def op(uow: UnitOfWork) -> ChargeResult:
        charged = value.capture(
            uow,
            actor,
            reservation_id,
            order_number=body.order_number,
            amount=body.amount,
            customer_id=body.customer_id,
        )
        return _result(charged, uow.now)

    return await run(request, actor, op, status_code=201, payload=body)


@router.post(
    "/reservations/{reservation_id}/release",
    response_model=ReservationRead,
    responses=ERRORS,
    summary="Cancel a reservation",
)
async def release(
    request: Request, reservation_id: ReservationId, actor: Actor = scoped(Scope.USE)
) -> Response:
    return await run(
        request, actor, lambda uow: _reservation(value.release(uow, actor, reservation_id))
    )
