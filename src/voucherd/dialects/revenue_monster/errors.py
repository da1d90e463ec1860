"""RM's error shape ``{"error": {"code", "message"}}`` and the map from engine errors."""

from __future__ import annotations

from typing import Final

import orjson
from starlette.responses import Response

from voucherd.domain import errors

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
    "INTERNAL_ERROR": 500,
}


class RmError(Exception):
    def __init__(self, code: str, message: str | None = None, status: int | None = None) -> None:
        super().__init__(code)
        self.code = code
        self.message = message or MESSAGES.get(code, code)
        self.status = status or STATUS.get(code, 400)


def response(exc: RmError) -> Response:
    body = {"error": {"code": exc.code, "message": exc.message}}
    return Response(orjson.dumps(body), status_code=exc.status, media_type="application/json")


def from_domain(exc: errors.VoucherdError, *, action: str = "") -> RmError:
    """The RM code for an engine refusal; ``action`` names the RM operation attempted."""
    if isinstance(exc, errors.NotFound):
        if exc.kind == "campaign":
            return RmError("VOUCHER_BATCH_NOT_FOUND")
        if exc.kind == "customer":
            return RmError("MEMBER_NOT_FOUND")
        return RmError("VOUCHER_NOT_FOUND")
    if isinstance(exc, errors.InvalidPin):
        return RmError("PIN_INVALID")
    if isinstance(exc, errors.CampaignEnded):
        return RmError("VOUCHER_BATCH_EXPIRED")
    if isinstance(exc, errors.CampaignExhausted):
        return RmError("VOUCHER_BATCH_NOT_ENOUGH_QUANTITY")
    if isinstance(exc, errors.MinimumSpendNotMet):
        return RmError("VOUCHER_NOT_MINIMUM_AMOUNT")
    if isinstance(exc, errors.AlreadyClaimed):
        return RmError("VOUCHER_OWNER_INVALID")
    if isinstance(exc, errors.UsageLimitReached | errors.CustomerUsageLimitReached):
        return RmError("VOUCHER_REDEEM_MAX")
    if isinstance(exc, errors.VoucherNotVoided):
        return RmError("VOUCHER_REDEEMED_INVALID", "Voucher is not void")
    if action == "void" and isinstance(exc, errors.InvalidTransition):
        return RmError("VOUCHER_NOT_ALLOW_VOID")
    if isinstance(exc, errors.VoucherRedeemed):
        return RmError("VOUCHER_REDEEMED")
    if isinstance(exc, errors.VoucherExpired):
        if action == "issue":
            return RmError("VOUCHER_BATCH_EXPIRED")
        return RmError("VOUCHER_REDEEMED_INVALID", "Voucher expired")
    if isinstance(exc, errors.InvalidTransition):
        return RmError("VOUCHER_REDEEMED_INVALID", exc.message)
    if isinstance(exc, errors.ValidationFailed | errors.InvalidAmount):
        return RmError("VALIDATION_ERROR", exc.message)
    if isinstance(exc, errors.ConcurrentModification):
        return RmError("INVALID_REQUEST", "The voucher was changed concurrently; retry", 409)
    return RmError("VOUCHER_REDEEMED_INVALID", exc.message)
