"""Spaaza's response envelopes, error codes and the mapping from engine errors.

Success: ``{"result": {"code": 1, "status": "ok"}, "results": {..., "result_type": call}}``
(plus a ``warnings`` array when there are warnings); error: ``{"result": {"code": 2,
"status": "error"}, "error": {"code", "name", "description"}}`` with an HTTP error status.
Codes 5, 6, 68, 183 and 269 are Spaaza's documented ones; the 9xx codes are voucherd's own
(Spaaza's full table is not public), listed in docs/compat/spaaza.md. Which exception answers
which code is the face's one error table, ``face.TABLE``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

import orjson
from starlette.responses import Response


@dataclass(frozen=True, slots=True)
class Code:
    code: int
    name: str
    description: str
    http: int


PASSWORD_ERROR: Final = Code(
    5, "password_error_or_non_existent", "The username or password is unknown.", 401
)
NO_VALID_SESSION: Final = Code(
    6,
    "no_valid_session",
    "The user needs to be logged in and a valid session key needs to be sent",
    401,
)
PERMISSION_DENIED: Final = Code(
    68,
    "permission_denied_or_non_existent",
    "This user has insufficient permissions for this object or the object does not exist.",
    500,
)
VOUCHER_NOT_FOUND: Final = Code(
    183,
    "voucher_not_found",
    "No voucher has been found matching this voucher_key or voucher_id.",
    404,
)
NO_MYPRICE_APP: Final = Code(269, "no_myprice_app", "Myprice app is required", 400)

VOUCHER_IDENTIFIER_REQUIRED: Final = Code(
    901,
    "voucher_identifier_required",
    "At least one of the parameters voucher_key or voucher_id must be used.",
    400,
)
USER_IDENTIFIER_REQUIRED: Final = Code(
    902,
    "user_identifier_required",
    "A user identifier (user_id, member_number or username) is required.",
    400,
)
CHAIN_ID_REQUIRED: Final = Code(
    903, "chain_id_required", "The chain_id parameter is required.", 400
)
USER_NOT_FOUND: Final = Code(904, "user_not_found", "No user has been found in this chain.", 404)
CAMPAIGN_NOT_FOUND: Final = Code(
    905, "campaign_not_found", "No campaign has been found matching this campaign_id.", 404
)
CAMPAIGN_TYPE_NOT_ALLOWED: Final = Code(
    906,
    "campaign_type_not_allowed",
    "Vouchers can only be created for campaigns of type wallet or loyalty.",
    400,
)
INVALID_PARAMETER: Final = Code(907, "invalid_parameter", "A parameter has an invalid value.", 400)
VOUCHER_NOT_CLAIMED: Final = Code(
    908, "voucher_not_claimed", "This operation needs a voucher with status claimed.", 400
)
VOUCHER_ALREADY_CLAIMED: Final = Code(
    909, "voucher_already_claimed", "The voucher has already been claimed.", 400
)
VOUCHER_ALREADY_REDEEMED: Final = Code(
    910,
    "voucher_already_redeemed",
    "The voucher has been redeemed; a redeemed voucher cannot change.",
    400,
)
VOUCHER_EXPIRED: Final = Code(911, "voucher_expired", "The voucher has expired.", 400)
VOUCHER_LOCKED: Final = Code(912, "voucher_locked", "The voucher is locked.", 400)
VOUCHER_AMOUNT_INSUFFICIENT: Final = Code(
    913,
    "voucher_amount_insufficient",
    "The amount is more than the voucher's remaining amount.",
    400,
)
VOUCHER_TYPE_NOT_SUPPORTED: Final = Code(
    914, "voucher_type_not_supported", "This voucher type is not supported for this call.", 400
)
TOO_MANY_VOUCHERS: Final = Code(
    915, "too_many_vouchers", "At most 10 vouchers can be claimed in one call.", 400
)
INVALID_REQUEST_BODY: Final = Code(
    916, "invalid_request_body", "The request body could not be read.", 400
)
VOUCHER_NOT_LOCKED: Final = Code(917, "voucher_not_locked", "The voucher is not locked.", 200)
CONCURRENT_MODIFICATION: Final = Code(
    918, "concurrent_modification", "The voucher was changed at the same time; retry.", 409
)
NOT_FOUND: Final = Code(919, "not_found", "The requested call does not exist.", 404)
METHOD_NOT_ALLOWED: Final = Code(
    920, "method_not_allowed", "This request method is not allowed for this call.", 405
)
SERVICE_UNAVAILABLE: Final = Code(
    921,
    "service_unavailable",
    "The service is temporarily unavailable; retry later.",
    503,
)
INTERNAL_ERROR: Final = Code(922, "internal_error", "An internal error occurred.", 500)
IDEMPOTENCY_KEY_REUSED: Final = Code(
    923,
    "idempotency_key_reused",
    "This Idempotency-Key was used with another request.",
    422,
)
IDEMPOTENCY_KEY_IN_USE: Final = Code(
    924,
    "idempotency_key_in_use",
    "A request with this Idempotency-Key is still being processed; retry later.",
    409,
)
TOO_MANY_ATTEMPTS: Final = Code(
    925,
    "too_many_attempts",
    "Too many failed attempts from this address or credential; retry later.",
    429,
)

ALL_CODES: Final = (
    PASSWORD_ERROR,
    NO_VALID_SESSION,
    PERMISSION_DENIED,
    VOUCHER_NOT_FOUND,
    NO_MYPRICE_APP,
    VOUCHER_IDENTIFIER_REQUIRED,
    USER_IDENTIFIER_REQUIRED,
    CHAIN_ID_REQUIRED,
    USER_NOT_FOUND,
    CAMPAIGN_NOT_FOUND,
    CAMPAIGN_TYPE_NOT_ALLOWED,
    INVALID_PARAMETER,
    VOUCHER_NOT_CLAIMED,
    VOUCHER_ALREADY_CLAIMED,
    VOUCHER_ALREADY_REDEEMED,
    VOUCHER_EXPIRED,
    VOUCHER_LOCKED,
    VOUCHER_AMOUNT_INSUFFICIENT,
    VOUCHER_TYPE_NOT_SUPPORTED,
    TOO_MANY_VOUCHERS,
    INVALID_REQUEST_BODY,
    VOUCHER_NOT_LOCKED,
    CONCURRENT_MODIFICATION,
    NOT_FOUND,
    METHOD_NOT_ALLOWED,
    SERVICE_UNAVAILABLE,
    INTERNAL_ERROR,
    IDEMPOTENCY_KEY_REUSED,
    IDEMPOTENCY_KEY_IN_USE,
    TOO_MANY_ATTEMPTS,
)


class SpaazaError(Exception):
    """A refusal in Spaaza's terms; ``description`` may be more specific than the default."""

    def __init__(self, code: Code, description: str | None = None) -> None:
        super().__init__(description or code.description)
        self.spaaza = code
        self.description = description or code.description


def error_body(code: Code, description: str | None = None) -> dict[str, Any]:
    return {
        "result": {"code": 2, "status": "error"},
        "error": {
            "code": code.code,
            "name": code.name,
            "description": description or code.description,
        },
    }


def warning(code: Code, description: str | None = None, **message: Any) -> dict[str, Any]:
    item: dict[str, Any] = {
        "code": code.code,
        "name": code.name,
        "description": description or code.description,
    }
    if message:
        item["message"] = message
    return item


def ok(
    result_type: str, results: dict[str, Any], warnings: list[dict[str, Any]] | None = None
) -> Response:
    body: dict[str, Any] = {"result": {"code": 1, "status": "ok"}}
    if warnings:
        body["warnings"] = warnings
    body["results"] = {**results, "result_type": result_type}
    return Response(orjson.dumps(body), media_type="application/json")
