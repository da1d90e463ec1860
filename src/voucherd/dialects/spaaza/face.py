"""The Spaaza face for the shared runtime: its one error table and its error envelope.

Every exception a Spaaza call can raise is answered here, looked up along its class hierarchy
(``faces.errors.lookup``): the dialect's own ``SpaazaError``, engine refusals by class, the
Idempotency-Key refusals, a database outage (921, HTTP 503 + ``Retry-After``) and anything
unexpected (922, HTTP 500, never the exception's message). Code 68
(``permission_denied_or_non_existent``) keeps the HTTP 500 Spaaza documents for it: it is the
only business refusal answered with a 5xx (docs/compat/spaaza.md).
"""

from __future__ import annotations

from typing import Final

import orjson
from starlette.responses import Response

from voucherd.dialects.spaaza import errors as E
from voucherd.dialects.spaaza.errors import Code, SpaazaError, error_body
from voucherd.domain import errors as domain
from voucherd.faces.errors import ErrorTable, Internal, Refusal, TooManyAttempts, Unavailable
from voucherd.faces.runtime import Face, Inbound
from voucherd.services.idempotency import IdempotencyInFlight, IdempotencyMismatch


def refusal(code: Code, description: str | None = None) -> Refusal:
    """Spaaza's code as the runtime's refusal; warning-only codes answer HTTP 400."""
    headers = {"Retry-After": str(Unavailable.retry_after)} if code.http == 503 else {}
    return Refusal(
        code.http if code.http >= 400 else 400,
        str(code.code),
        description or code.description,
        {"spaaza": code},
        headers,
    )


NOT_FOUND_KINDS: Final = {
    "voucher": E.VOUCHER_NOT_FOUND,
    "customer": E.USER_NOT_FOUND,
    "campaign": E.CAMPAIGN_NOT_FOUND,
}


def _not_found(exc: domain.NotFound) -> Refusal:
    # Anything else that does not exist is Spaaza's "permission denied or non existent".
    return refusal(NOT_FOUND_KINDS.get(exc.kind, E.PERMISSION_DENIED))


TABLE: Final[ErrorTable] = {
    SpaazaError: lambda exc: refusal(exc.spaaza, exc.description),
    # Engine refusals: the nearest class wins; the rest are invalid parameters.
    domain.VoucherdError: lambda exc: refusal(E.INVALID_PARAMETER, exc.message),
    domain.NotFound: _not_found,
    domain.NotClaimed: lambda exc: refusal(E.VOUCHER_NOT_CLAIMED, exc.message),
    domain.AlreadyClaimed: lambda exc: refusal(E.VOUCHER_ALREADY_CLAIMED, exc.message),
    domain.VoucherRedeemed: refusal(E.VOUCHER_ALREADY_REDEEMED),
    domain.VoucherVoided: refusal(E.VOUCHER_ALREADY_REDEEMED),
    domain.UsageLimitReached: refusal(E.VOUCHER_ALREADY_REDEEMED),
    domain.VoucherExpired: refusal(E.VOUCHER_EXPIRED),
    domain.VoucherDeleted: refusal(E.VOUCHER_NOT_FOUND),
    domain.VoucherLocked: lambda exc: refusal(E.VOUCHER_LOCKED, exc.message),
    domain.VoucherReserved: lambda exc: refusal(E.VOUCHER_LOCKED, exc.message),
    domain.InsufficientBalance: refusal(E.VOUCHER_AMOUNT_INSUFFICIENT),
    domain.ConcurrentModification: refusal(E.CONCURRENT_MODIFICATION),
    domain.NotSupportedForKind: lambda exc: refusal(E.VOUCHER_TYPE_NOT_SUPPORTED, exc.message),
    IdempotencyMismatch: refusal(E.IDEMPOTENCY_KEY_REUSED),
    IdempotencyInFlight: refusal(E.IDEMPOTENCY_KEY_IN_USE),
    Unavailable: refusal(E.SERVICE_UNAVAILABLE),
    Internal: refusal(E.INTERNAL_ERROR),
    # Too many failed attempts (codes, logins): faces/limits.py.
    TooManyAttempts: lambda exc: Refusal(
        429,
        str(E.TOO_MANY_ATTEMPTS.code),
        E.TOO_MANY_ATTEMPTS.description,
        {"spaaza": E.TOO_MANY_ATTEMPTS},
        exc.headers,
    ),
}


def render_error(refused: Refusal, _inbound: Inbound) -> Response:
    code = refused.details.get("spaaza")
    if not isinstance(code, Code):  # every entry of TABLE carries its code; never reached
        code = E.INTERNAL_ERROR
    return Response(
        orjson.dumps(error_body(code, refused.message)),
        status_code=refused.status,
        media_type="application/json",
        headers=dict(refused.headers) or None,
    )


FACE: Final = Face("spaaza", TABLE, render_error)
