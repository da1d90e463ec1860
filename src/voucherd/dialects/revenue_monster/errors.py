"""RM's error shape ``{"error": {"code", "message"}}`` and the face's one error table.

Every refusal of the ``/rm`` face -- RM's own (``RmError``), the token endpoint's
(``OAuthError``), the engine's (``VoucherdError`` by class), a database outage and an internal
error -- is answered through ``TABLE`` by the shared runtime (``voucherd.faces``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Final

import orjson
from starlette.responses import Response

from voucherd.domain import errors
from voucherd.faces.errors import (
    ErrorTable,
    Internal,
    Refusal,
    TooManyAttempts,
    Unavailable,
    lookup,
)
from voucherd.faces.runtime import Face, Inbound
from voucherd.services.idempotency import IdempotencyInFlight, IdempotencyMismatch

MESSAGES: Final[dict[str, str]] = {
    "UNAUTHORIZED": "Unauthorized",
    "TOKEN_EXPIRED": "Invalid or expired token",
    "TOKEN_INVALID": "Unable to verify your credentials",
    "CLIENT_NOT_SET_PUBLIC_KEY": "Developer application does not set public key",
    "CLIENT_NO_PERMISSION": "Developer application does not have permission to access",
    "INVALID_REQUEST_SIGNATURE": "The request signature is invalid",
    "INVALID_TIMESTAMP": "Could not authenticate - Timestamp",
    "INVALID_NONCE": "The nonce string was already used",
    "INVALID_REQUEST": "Invalid request",
    "VALIDATION_ERROR": "Validations error",
    "API_ENDPOINT_NOT_FOUND": "The api endpoint does not exist",
    "INTERNAL_ERROR": "Internal error",
    "MEMBER_NOT_FOUND": "Member not found",
    "PIN_INVALID": "Pin is invalid",
    "VOUCHER_NOT_FOUND": "Voucher not found",
    "VOUCHER_NOT_ALLOW_VOID": "Voucher not allow to void",
    "VOUCHER_REDEEMED": "Voucher redeemed",
    "VOUCHER_REDEEMED_INVALID": "Voucher redeemed is invalid",
    "VOUCHER_NOT_REDEEMED": "Voucher has not been redeemed",
    "VOUCHER_NOT_MERCHANT": "Voucher does not belongs to merchant",
    "VOUCHER_OWNER_INVALID": "Voucher not owned",
    "VOUCHER_NOT_MINIMUM_AMOUNT": "Voucher does not meet minimum amount",
    "VOUCHER_REDEEM_MAX": "Voucher has reached maximum redemption limit",
    "VOUCHER_INSUFFICIENT": "Insufficient voucher batch",
    "VOUCHER_BATCH_EXPIRED": "Voucher batch expired",
    "VOUCHER_BATCH_KEY_INVALID": "Voucher batch key is invalid",
    "VOUCHER_BATCH_NOT_ENOUGH_QUANTITY": "Voucher batch not enough quantity",
    "VOUCHER_BATCH_NOT_FOUND": "Voucher batch not found",
    "IDEMPOTENCY_KEY_REUSED": "The Idempotency-Key was used with another request",
    "IDEMPOTENCY_KEY_IN_USE": "A request with this Idempotency-Key is still in progress",
    "TEMPORARY_UNAVAILABLE": (
        "The server is currently unable to handle the request due to a temporary overloading"
        " or maintenance of the server"
    ),
}

# HTTP statuses: RM does not document them; its SDKs treat any non-200 as an error.
STATUS: Final[dict[str, int]] = {
    "UNAUTHORIZED": 401,
    "TOKEN_EXPIRED": 401,
    "TOKEN_INVALID": 401,
    "INVALID_REQUEST_SIGNATURE": 401,
    "INVALID_TIMESTAMP": 401,
    "INVALID_NONCE": 401,
    "CLIENT_NOT_SET_PUBLIC_KEY": 401,
    "CLIENT_NO_PERMISSION": 403,
    "API_ENDPOINT_NOT_FOUND": 404,
    "VOUCHER_NOT_FOUND": 404,
    "VOUCHER_BATCH_NOT_FOUND": 404,
    "MEMBER_NOT_FOUND": 404,
    "IDEMPOTENCY_KEY_REUSED": 422,
    "IDEMPOTENCY_KEY_IN_USE": 409,
    "INTERNAL_ERROR": 500,
    "TEMPORARY_UNAVAILABLE": 503,
}
NO_STORE: Final[dict[str, str]] = {"Cache-Control": "no-store", "Pragma": "no-cache"}


class RmError(Exception):
    """A refusal in RM's own terms (its parsers, its authentication, its preconditions)."""

    def __init__(self, code: str, message: str | None = None, status: int | None = None) -> None:
        super().__init__(code)
        self.code = code
        self.message = message or MESSAGES.get(code, code)
        self.status = status or STATUS.get(code, 400)


class OAuthError(Exception):
    """An error of the token endpoint, with RM's CamelCase OAuth codes."""

    def __init__(self, code: str, message: str, status: int = 400) -> None:
        super().__init__(code)
        self.code = code
        self.message = message
        self.status = status


def refusal(code: str, message: str | None = None, status: int | None = None) -> Refusal:
    error = RmError(code, message, status)
    return Refusal(error.status, error.code, error.message)


def _oauth(exc: OAuthError) -> Refusal:
    headers = dict(NO_STORE)
    if exc.status == 401:
        headers["WWW-Authenticate"] = 'Basic realm="rm"'
    return Refusal(exc.status, exc.code, exc.message, headers=headers)


def _not_found(exc: errors.NotFound) -> Refusal:
    if exc.kind == "campaign":
        return refusal("VOUCHER_BATCH_NOT_FOUND")
    if exc.kind == "customer":
        return refusal("MEMBER_NOT_FOUND")
    return refusal("VOUCHER_NOT_FOUND")


def _transition(otherwise: Refusal) -> Callable[[errors.InvalidTransition], Refusal]:
    """A lifecycle refusal: on a void it is RM's "not allowed to void", else ``otherwise``."""

    def entry(exc: errors.InvalidTransition) -> Refusal:
        if exc.action == "void":
            return refusal("VOUCHER_NOT_ALLOW_VOID")
        return otherwise

    return entry


def _invalid(exc: errors.InvalidTransition) -> Refusal:
    return _transition(refusal("VOUCHER_REDEEMED_INVALID", exc.message))(exc)


def _expired(exc: errors.VoucherExpired) -> Refusal:
    if exc.action == "activate":  # issuing from a batch whose vouchers have lapsed
        return refusal("VOUCHER_BATCH_EXPIRED")
    return _transition(refusal("VOUCHER_REDEEMED_INVALID", "Voucher expired"))(exc)


def _validation(exc: errors.VoucherdError) -> Refusal:
    return refusal("VALIDATION_ERROR", exc.message)


# The /rm face's one error table, looked up along the exception's class hierarchy.
TABLE: Final[ErrorTable] = {
    RmError: lambda e: Refusal(e.status, e.code, e.message),
    OAuthError: _oauth,
    errors.VoucherdError: lambda e: refusal("VOUCHER_REDEEMED_INVALID", e.message),
    errors.NotFound: _not_found,
    errors.InvalidPin: refusal("PIN_INVALID"),
    errors.CampaignEnded: refusal("VOUCHER_BATCH_EXPIRED"),
    errors.CampaignExhausted: refusal("VOUCHER_BATCH_NOT_ENOUGH_QUANTITY"),
    errors.MinimumSpendNotMet: refusal("VOUCHER_NOT_MINIMUM_AMOUNT"),
    errors.AlreadyClaimed: refusal("VOUCHER_OWNER_INVALID"),
    errors.UsageLimitReached: refusal("VOUCHER_REDEEM_MAX"),
    errors.CustomerUsageLimitReached: refusal("VOUCHER_REDEEM_MAX"),
    errors.InvalidTransition: _invalid,
    errors.VoucherNotVoided: refusal("VOUCHER_REDEEMED_INVALID", "Voucher is not void"),
    errors.VoucherRedeemed: _transition(refusal("VOUCHER_REDEEMED")),
    errors.VoucherExpired: _expired,
    errors.ValidationFailed: _validation,
    errors.InvalidAmount: _validation,
    errors.CurrencyMismatch: _validation,
    errors.ConcurrentModification: refusal(
        "INVALID_REQUEST", "The voucher was changed concurrently; retry", 409
    ),
    IdempotencyMismatch: refusal("IDEMPOTENCY_KEY_REUSED"),
    IdempotencyInFlight: refusal("IDEMPOTENCY_KEY_IN_USE"),
    Unavailable: Refusal(
        503,
        "TEMPORARY_UNAVAILABLE",
        MESSAGES["TEMPORARY_UNAVAILABLE"],
        headers={"Retry-After": str(Unavailable.retry_after)},
    ),
    Internal: refusal("INTERNAL_ERROR"),
    # Too many failed attempts (codes, PINs, secrets): faces/limits.py.
    TooManyAttempts: lambda exc: Refusal(
        429, "TOO_MANY_REQUESTS", "Too many failed attempts; retry later", headers=exc.headers
    ),
}


def _response(refusal: Refusal) -> Response:
    body = {"error": {"code": refusal.code, "message": refusal.message}}
    return Response(
        orjson.dumps(body),
        status_code=refusal.status,
        media_type="application/json",
        headers=dict(refusal.headers) or None,
    )


def render_error(refusal: Refusal, _inbound: Inbound) -> Response:
    return _response(refusal)


FACE: Final = Face("revenue_monster", TABLE, render_error)


def answer(exc: BaseException) -> Response:
    """RM's answer for ``exc`` through ``TABLE``, where no request is in hand (the router's own
    404/405, a refusal an operation returns rather than raises)."""
    return _response(lookup(TABLE, exc))
