"""JTL's error shape and the face's one error table (``TABLE``), looked up by exception class.

Every error leaves this dialect as ``{"status", "code", "message"}``; a 422 adds
``errors: [{code, property, rule, message}]`` with codes in JTL's
``RESOURCE.OPERATION.PROPERTY.RULE`` form. The ``RESOURCE.OPERATION`` prefix of a request comes
from its route's ``operation_id`` (``PREFIXES``) and is put in when the refusal is rendered.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Final

import orjson
from fastapi import FastAPI, Request
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

from voucherd.domain import errors
from voucherd.faces.errors import ErrorTable, Internal, Refusal, TooManyAttempts, Unavailable
from voucherd.faces.runtime import Face, Inbound
from voucherd.services.idempotency import IdempotencyInFlight, IdempotencyMismatch

# operation_id -> the RESOURCE.OPERATION part of JTL error codes.
PREFIXES: Final[Mapping[str, str]] = {
    "connectClient": "CLIENT.CONNECT",
    "createVoucher": "VOUCHER.CREATE",
    "listVouchers": "VOUCHER.LIST",
    "getVoucher": "VOUCHER.SHOW",
    "getCompleteVoucher": "VOUCHER.COMPLETE",
    "updateVoucher": "VOUCHER.UPDATE",
    "setVoucherStatus": "VOUCHER.STATUS",
    "deleteVoucher": "VOUCHER.DELETE",
    "rechargeVoucher": "VOUCHER.RECHARGE",
    "listVoucherCharges": "VOUCHER.CHARGES",
    "createReservation": "RESERVATION.CREATE",
    "chargeReservation": "RESERVATION.CHARGE",
    "cancelReservation": "RESERVATION.CANCEL",
    "refundCharge": "CHARGE.REFUND",
}
INVALID_DATA: Final = "The given data was invalid."
UNPROCESSABLE: Final = "UNPROCESSABLE_ENTITY"

Item = tuple[str, str, str]  # (property, rule, message) of one 422 entry


class JtlError(Exception):
    """A refusal of this dialect in JTL's plain shape (no ``errors`` list)."""

    def __init__(
        self, status: int, code: str, message: str, headers: Mapping[str, str] | None = None
    ) -> None:
        super().__init__(message)
        self.refusal = Refusal(status, code, message, headers=dict(headers or {}))


class Unprocessable(Exception):
    """A 422 listing ``(property, rule, message)`` items; the code prefix is the route's."""

    def __init__(self, *items: Item) -> None:
        super().__init__(INVALID_DATA)
        self.items = items


def _property_code(prop: str) -> str:
    """``filter[created_from]`` -> ``FILTER.CREATED_FROM``; ``currency`` -> ``CURRENCY``."""
    return prop.replace("[", ".").replace("]", "").upper()


def field_error(prefix: str, prop: str, rule: str, message: str) -> dict[str, str]:
    return {
        "code": f"{prefix}.{_property_code(prop)}.{rule.upper()}",
        "property": prop,
        "rule": rule,
        "message": message,
    }


def _unprocessable(*items: Item) -> Refusal:
    return Refusal(422, UNPROCESSABLE, INVALID_DATA, {"errors": items})


def _plain(status: int, code: str, message: str) -> Refusal:
    return Refusal(status, code, message)


NOT_FOUND: Final[Mapping[str, Refusal]] = {
    "voucher": _plain(404, "VOUCHER.NOT_FOUND", "The requested Voucher was not found."),
    "reservation": _plain(404, "RESERVATION.NOT_FOUND", "The requested Reservation was not found."),
    "charge": _plain(404, "CHARGE.NOT_FOUND", "The requested Charge was not found."),
}


def not_found(kind: str) -> errors.NotFound:
    """Raise this for a resource the request names but JTL cannot show."""
    return errors.NotFound(kind)


def _not_found(exc: errors.NotFound) -> Refusal:
    return NOT_FOUND.get(exc.kind) or _plain(
        404, f"{exc.kind.upper()}.NOT_FOUND", f"The requested {exc.kind.title()} was not found."
    )


def _field(prop: str, rule: str, message: str) -> Refusal:
    return _unprocessable((prop, rule, message))


HTTP_CODES: Final[Mapping[int, tuple[str, str]]] = {
    404: ("NOT_FOUND", "The requested resource was not found."),
    405: ("METHOD_NOT_ALLOWED", "The method is not allowed for this resource."),
}


def _http(exc: StarletteHTTPException) -> Refusal:
    code, message = HTTP_CODES.get(exc.status_code, ("HTTP_ERROR", str(exc.detail)))
    return Refusal(exc.status_code, code, message, headers=dict(exc.headers or {}))


# The face's one error table: the nearest class along the raised exception's MRO wins.
TABLE: Final[ErrorTable] = {
    # This dialect's own refusals.
    JtlError: lambda exc: exc.refusal,
    Unprocessable: lambda exc: _unprocessable(*exc.items),
    StarletteHTTPException: _http,  # unknown route, wrong method (raised by the router)
    # Engine refusals.
    errors.NotFound: _not_found,
    errors.VoucherInactive: _plain(
        409, "VOUCHER.INACTIVE", "The voucher is inactive and cannot be used."
    ),
    errors.VoucherExpired: _plain(409, "VOUCHER.EXPIRED", "The voucher has expired."),
    errors.VoucherNotStarted: _plain(409, "VOUCHER.NOT_YET_VALID", "The voucher is not valid yet."),
    errors.VoucherRedeemed: _plain(
        409, "VOUCHER.USED_UP", "The voucher has been used up and has no balance left."
    ),
    errors.VoucherVoided: _plain(409, "VOUCHER.VOIDED", "The voucher has been voided."),
    errors.VoucherDeleted: NOT_FOUND["voucher"],
    errors.VoucherAlreadyActive: _plain(
        409, "VOUCHER.ALREADY_ACTIVE", "The voucher is already active."
    ),
    errors.InvalidTransition: _plain(
        409, "VOUCHER.STATUS_CONFLICT", "The voucher's status does not allow this operation."
    ),
    errors.InsufficientBalance: _plain(
        409, "VOUCHER.INSUFFICIENT_BALANCE", "The voucher balance is too low for this amount."
    ),
    errors.VoucherLocked: _plain(409, "VOUCHER.LOCKED", "The voucher is locked."),
    errors.VoucherReserved: _plain(
        409, "VOUCHER.RESERVED", "Part of the voucher balance is held by a reservation."
    ),
    errors.UsageLimitReached: _plain(
        409, "VOUCHER.USAGE_LIMIT_REACHED", "The voucher has no uses left."
    ),
    errors.NotSupportedForKind: _plain(
        409, "VOUCHER.NOT_SUPPORTED", "This operation is not supported for this voucher."
    ),
    errors.ReservationExpired: _plain(409, "RESERVATION.EXPIRED", "The reservation has expired."),
    errors.ReservationClosed: _plain(
        409, "RESERVATION.CLOSED", "The reservation was already charged or cancelled."
    ),
    # RESERVATION_OUTCOMES (policies.JTL): how a closed reservation closed.
    errors.ReservationCaptured: _plain(
        409, "RESERVATION.ALREADY_CHARGED", "The reservation has already been charged."
    ),
    errors.ReservationReleased: _plain(
        409, "RESERVATION.CANCELLED", "The reservation has been cancelled."
    ),
    errors.NotRefundable: _plain(
        409, "CHARGE.NOT_REFUNDABLE", "Only charges of type charge can be refunded."
    ),
    errors.ConcurrentModification: _plain(
        409,
        "VOUCHER.CONCURRENT_MODIFICATION",
        "The voucher was changed by another request at the same time; retry.",
    ),
    errors.CodeSpaceTooSmall: _plain(
        409, "VOUCHER.CODE_SPACE_EXHAUSTED", "No free voucher code could be generated."
    ),
    # Refusals that concern one request property: a 422 naming it.
    errors.CurrencyMismatch: _field(
        "currency", "voucher_currency", "The currency must match the currency of the voucher."
    ),
    errors.RefundExceedsCharge: _field(
        "amount", "refundable", "The amount may not be greater than what is left of the charge."
    ),
    errors.InvalidPin: _field("pin", "valid_pin", "The pin is invalid."),
    errors.DuplicateCode: _field("code", "unique", "The code has already been taken."),
    errors.DuplicateId: _field("id", "unique", "The id has already been taken."),
    errors.ValidationFailed: lambda exc: _unprocessable(
        (exc.field or "body", exc.rule, exc.message)
    ),
    errors.InvalidAmount: lambda exc: _unprocessable(
        (str(exc.details.get("field") or "amount"), "valid_amount", exc.message)
    ),
    # Idempotency-Key: another request under a used key; the first one still running.
    IdempotencyMismatch: _field(
        "Idempotency-Key",
        "same_request",
        "The Idempotency-Key was already used for a different request.",
    ),
    IdempotencyInFlight: _plain(
        409,
        "REQUEST.IDEMPOTENCY_KEY_IN_USE",
        "A request with this Idempotency-Key is still being processed; retry later.",
    ),
    # Every other business refusal: the voucher's state does not allow it.
    errors.VoucherdError: lambda exc: _plain(409, f"VOUCHER.{exc.code.upper()}", exc.message),
    # Infrastructure.
    Unavailable: Refusal(
        503,
        "SERVICE_UNAVAILABLE",
        "The service is temporarily unavailable. Please try again later.",
        headers={"Retry-After": str(Unavailable.retry_after)},
    ),
    Internal: _plain(500, "SERVER_ERROR", "An internal error occurred."),
    # Too many failed attempts (codes, PINs, secrets): faces/limits.py.
    TooManyAttempts: lambda exc: Refusal(
        429,
        "REQUEST.TOO_MANY_ATTEMPTS",
        "Too many failed attempts. Please try again later.",
        headers=exc.headers,
    ),
}


def prefix_of(request: Request) -> str:
    route = request.scope.get("route")
    operation_id = getattr(route, "operation_id", None)
    return PREFIXES.get(str(operation_id), "REQUEST")


def render(refusal: Refusal, inbound: Inbound) -> Response:
    body: dict[str, Any] = {
        "status": refusal.status,
        "code": refusal.code,
        "message": refusal.message,
    }
    items: Sequence[Item] | None = refusal.details.get("errors")
    if items is not None:  # a 422: its codes start with the operation's RESOURCE.OPERATION
        prefix = prefix_of(inbound.request)
        body["code"] = f"{prefix}.{refusal.code}"
        body["errors"] = [field_error(prefix, *item) for item in items]
    return Response(
        orjson.dumps(body),
        status_code=refusal.status,
        media_type="application/json",
        headers=dict(refusal.headers) or None,
    )


FACE: Final = Face("jtl", TABLE, render)


def install(app: FastAPI) -> None:
    """Refusals raised before a route runs (no such route, wrong method) in JTL's shape."""

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> Response:
        return FACE.refusal_response(exc, Inbound(request, b""))
