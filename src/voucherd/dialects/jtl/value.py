"""``/v1/reservations`` (reserve, charge, cancel) and ``/v1/charges/{id}/refund``."""

from __future__ import annotations

from datetime import datetime, timedelta

from fastapi import APIRouter, Request
from starlette.responses import Response

from voucherd.config import Settings
from voucherd.db.repositories import Row
from voucherd.dialects.jtl import render
from voucherd.dialects.jtl.common import (
    engine,
    errors_doc,
    json,
    numeric_id,
    scoped,
    stored_value,
)
from voucherd.dialects.jtl.errors import JtlError, not_found, unprocessable
from voucherd.dialects.jtl.schemas import (
    Charge,
    ChargeRequest,
    RefundRequest,
    Reservation,
    ReservationRequest,
)
from voucherd.dialects.jtl.vouchers import MAX_BALANCE_ERROR
from voucherd.domain import errors
from voucherd.domain.scopes import Scope
from voucherd.services import value
from voucherd.services.changes import VoucherRef, find
from voucherd.services.unit_of_work import Actor, UnitOfWork

router = APIRouter(prefix="/v1")

ALREADY_CHARGED = JtlError(
    409, "RESERVATION.ALREADY_CHARGED", "The reservation has already been charged."
)
CANCELLED = JtlError(409, "RESERVATION.CANCELLED", "The reservation has been cancelled.")


def _locked_reservation(uow: UnitOfWork, actor: Actor, reservation_id: int) -> Row:
    """The reservation, read again after locking its voucher, so that of two requests racing
    on one reservation the second sees what the first did (and gets the right error)."""
    reservation = value.get_reservation(uow, actor, reservation_id)
    try:
        find(uow, actor, VoucherRef(id=reservation["voucher_id"]), for_update=True)
    except errors.NotFound:
        return reservation  # the voucher was deleted; its reservations are closed
    return value.get_reservation(uow, actor, reservation_id)


def _lapsed(reservation: Row, now: datetime) -> bool:
    """Expired by time, or replaced by a newer reservation on the same voucher."""
    return reservation["status"] in ("superseded", "expired") or (
        reservation["status"] == "open" and reservation["expires_at"] <= now
    )


@router.post(
    "/reservations",
    status_code=201,
    operation_id="createReservation",
    response_model=Reservation,
    tags=["Reservations"],
    responses=errors_doc(401, 403, 404, 409, 422),
    summary="Set the reservation for a specific voucher",
    description="Holds `amount` on the voucher with `code` for 30 minutes. A new reservation"
    " on the same voucher replaces the previous one. `pin` is checked when sent.",
)
def reserve(
    request: Request, body: ReservationRequest, actor: Actor = scoped(Scope.USE)
) -> Response:
    settings: Settings = request.app.state.settings
    ref = VoucherRef(code=body.code)
    amount = render.parse_money(body.amount, body.currency)
    with UnitOfWork(engine(request)) as uow:
        stored_value(uow, actor, ref, for_update=True)
        reserved = value.reserve(
            uow,
            actor,
            ref,
            amount=amount,
            currency=body.currency,
            pin=body.pin,
            ttl=timedelta(seconds=settings.reservation_ttl_seconds),
        )
        uow.commit()
    return json(render.reservation(reserved.reservation, reserved.voucher), 201)


@router.post(
    "/reservations/{id}/charge",
    status_code=201,
    operation_id="chargeReservation",
    response_model=Charge,
    tags=["Reservations"],
    responses=errors_doc(401, 403, 404, 409, 422),
    summary="Charge a specific voucher reservation",
    description="Charges the reserved amount. RESERVATION.EXPIRED after 30 minutes or once a"
    " newer reservation exists for the voucher.",
)
def charge(
    request: Request, id: str, body: ChargeRequest, actor: Actor = scoped(Scope.USE)
) -> Response:
    reservation_id = numeric_id(id, "reservation")
    with UnitOfWork(engine(request)) as uow:
        reservation = _locked_reservation(uow, actor, reservation_id)
        if reservation["status"] == "captured":
            raise ALREADY_CHARGED
        if reservation["status"] == "released":
            raise CANCELLED
        if _lapsed(reservation, uow.now):
            raise errors.ReservationExpired("the reservation has expired")
        charged = value.capture(uow, actor, reservation_id, order_number=body.order_number)
        uow.commit()
    return json(render.charge(charged.entry, charged.voucher["public_id"]), 201)


@router.delete(
    "/reservations/{id}",
    status_code=204,
    operation_id="cancelReservation",
    tags=["Reservations"],
    responses={
        204: {"description": "Cancelled (also when it had already lapsed or been cancelled)"},
        **errors_doc(401, 403, 404, 409),
    },
    summary="Cancel a reservation",
    description="Releases the held amount. Idempotent; a charged reservation cannot be"
    " cancelled (RESERVATION.ALREADY_CHARGED).",
)
def cancel(request: Request, id: str, actor: Actor = scoped(Scope.USE)) -> Response:
    reservation_id = numeric_id(id, "reservation")
    with UnitOfWork(engine(request)) as uow:
        reservation = _locked_reservation(uow, actor, reservation_id)
        if reservation["status"] == "captured":
            raise ALREADY_CHARGED
        if reservation["status"] == "open":
            value.release(uow, actor, reservation_id)
        uow.commit()
    return Response(status_code=204)


@router.post(
    "/charges/{id}/refund",
    status_code=201,
    operation_id="refundCharge",
    response_model=Charge,
    tags=["Charges"],
    responses=errors_doc(401, 403, 404, 409, 422),
    summary="Refund a specific voucher charge",
    description="Gives back part or all of what is left of a charge (type `charge`).",
)
def refund(
    request: Request, id: str, body: RefundRequest, actor: Actor = scoped(Scope.USE)
) -> Response:
    entry_id = numeric_id(id, "charge")
    amount = render.parse_money(body.amount, body.currency)
    with UnitOfWork(engine(request)) as uow:
        entry = value.get_entry(uow, actor, entry_id)
        if entry["kind"] not in render.CHARGE_TYPES:
            raise not_found("charge")
        refunded = value.refund(uow, actor, entry_id, amount=amount, currency=body.currency)
        if not render.fits(refunded.voucher["balance"], refunded.voucher["currency"]):
            raise unprocessable("CHARGE.REFUND", MAX_BALANCE_ERROR)
        uow.commit()
    return json(render.charge(refunded.entry, refunded.voucher["public_id"]), 201)
