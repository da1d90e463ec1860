"""``/v1/reservations`` (reserve, charge, cancel) and ``/v1/charges/{id}/refund``."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import Response

from voucherd.config import Settings
from voucherd.dialects.jtl import parse, render
from voucherd.dialects.jtl.auth import bearer, documented
from voucherd.dialects.jtl.common import created, no_content, only_stored_value, storable_ref
from voucherd.dialects.jtl.docs import body_doc, errors_doc
from voucherd.dialects.jtl.errors import FACE, Unprocessable, not_found
from voucherd.dialects.jtl.responses import Charge, Reservation
from voucherd.dialects.jtl.schemas import ChargeRequest, RefundRequest, ReservationRequest
from voucherd.dialects.jtl.vouchers import MAX_BALANCE_ERROR
from voucherd.domain.policies import JTL
from voucherd.domain.scopes import Scope
from voucherd.faces.runtime import Context, call
from voucherd.services import value
from voucherd.services.changes import VoucherRef
from voucherd.services.unit_of_work import Actor

router = APIRouter(prefix="/v1")


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
    dependencies=documented(Scope.USE),
    openapi_extra=body_doc(ReservationRequest),
)
async def reserve(request: Request) -> Response:
    return await _reserve(request)


async def _reserve(request: Request) -> Response:
    settings: Settings = request.app.state.settings

    def reserve(ctx: Context[Actor]) -> dict[str, Any]:
        body = parse.body(ReservationRequest, ctx.inbound)
        ref = VoucherRef(code=body.code)
        amount = render.parse_money(body.amount, body.currency)
        storable_ref(ref)
        reserved = value.reserve(
            ctx.uow,
            ctx.caller,
            ref,
            amount=amount,
            currency=body.currency,
            pin=body.pin,
            ttl=timedelta(seconds=settings.reservation_ttl_seconds),
            guard=only_stored_value,  # on the row the service locks: one lookup, not two
        )
        return render.reservation(reserved.reservation, reserved.voucher)

    return await call(FACE, request, reserve, authenticate=bearer(Scope.USE), render=created)


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
    dependencies=documented(Scope.USE),
    openapi_extra=body_doc(ChargeRequest),
)
async def charge(request: Request, id: str) -> Response:
    return await _charge(request, id)


async def _charge(request: Request, id: str) -> Response:
    def charge(ctx: Context[Actor]) -> dict[str, Any]:
        reservation_id = parse.numeric_id(id, "reservation")
        body = parse.body(ChargeRequest, ctx.inbound)
        # RESERVATION_OUTCOMES: "already charged", "cancelled" and "lapsed" are told apart by
        # the engine on the reservation read after its voucher was locked (errors.TABLE).
        charged = value.capture(
            ctx.uow, ctx.caller, reservation_id, order_number=body.order_number, policies=JTL
        )
        return render.charge(charged.entry, charged.voucher["public_id"])

    return await call(FACE, request, charge, authenticate=bearer(Scope.USE), render=created)


# --- direct (``faces/direct.py``) ------------------------------------------------------------
# The routes above parse and authenticate inside the runtime call, so a direct answer is the
# route's own: the direct path only skips the framework's routing. Declared ``json_only``
# (``jtl.direct_routes``): another body type goes to the route.


async def reserve_direct(request: Request, _params: Mapping[str, str]) -> Response:
    """``POST /v1/reservations`` answered directly."""
    return await _reserve(request)


async def charge_direct(request: Request, params: Mapping[str, str]) -> Response:
    """``POST /v1/reservations/{id}/charge`` answered directly."""
    return await _charge(request, params["id"])


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
    dependencies=documented(Scope.USE),
)
async def cancel(request: Request, id: str) -> Response:
    def cancel(ctx: Context[Actor]) -> None:
        reservation_id = parse.numeric_id(id, "reservation")
        # RESERVATION_OUTCOMES: cancelling a closed reservation is a no-op, unless it was
        # charged (RESERVATION.ALREADY_CHARGED).
        value.release(ctx.uow, ctx.caller, reservation_id, policies=JTL)

    return await call(FACE, request, cancel, authenticate=bearer(Scope.USE), render=no_content)


@router.post(
    "/charges/{id}/refund",
    status_code=201,
    operation_id="refundCharge",
    response_model=Charge,
    tags=["Charges"],
    responses=errors_doc(401, 403, 404, 409, 422),
    summary="Refund a specific voucher charge",
    description="Gives back part or all of what is left of a charge (type `charge`).",
    dependencies=documented(Scope.USE),
    openapi_extra=body_doc(RefundRequest),
)
async def refund(request: Request, id: str) -> Response:
    def refund(ctx: Context[Actor]) -> dict[str, Any]:
        entry_id = parse.numeric_id(id, "charge")
        body = parse.body(RefundRequest, ctx.inbound)
        amount = render.parse_money(body.amount, body.currency)
        entry = value.get_entry(ctx.uow, ctx.caller, entry_id)
        if entry["kind"] not in render.CHARGE_TYPES:
            raise not_found("charge")
        refunded = value.refund(
            ctx.uow, ctx.caller, entry_id, amount=amount, currency=body.currency
        )
        if not render.fits(refunded.voucher["balance"], refunded.voucher["currency"]):
            raise Unprocessable(MAX_BALANCE_ERROR)  # rolls the refund back
        return render.charge(refunded.entry, refunded.voucher["public_id"])

    return await call(FACE, request, refund, authenticate=bearer(Scope.USE), render=created)
