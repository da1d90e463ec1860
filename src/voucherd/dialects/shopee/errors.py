"""Shopee's error envelope, the HTTP status of each error, and the face's one error table.

Every answer is ``{"error", "message", "request_id", "response"}``; ``request_id`` is 32 lower-case
hex characters, also logged. HTTP status (docs/compat/shopee.md): errors of the gateway (common
parameters, signature, partner, token, shop link, Idempotency-Key) are 4xx like Shopee's gateway;
errors of the call itself (``voucher.*``, body ``error_param``, ``common.error_not_found``,
code/refresh-token errors) are HTTP 200 with the error in the body, so clients that discard
non-2xx bodies (``pyshopee``) still see them. A lost race is 409, an outage 503 with
``Retry-After``, anything unexpected 500.

Engine refusals are mapped here once, by class (``faces.errors``: the nearest class in the
exception's MRO wins). Where Shopee names a refusal differently per call (end vs delete vs
update), the lifecycle error says which action was refused (``InvalidTransition.action``).
"""

from __future__ import annotations

import logging
import re
import secrets
from typing import Any, Final

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from voucherd.dialects.shopee import messages as m
from voucherd.domain import errors
from voucherd.domain.lifecycle import Action
from voucherd.faces import guard
from voucherd.faces.errors import ErrorTable, Internal, Refusal, TooManyAttempts, Unavailable
from voucherd.faces.runtime import Face, Inbound
from voucherd.services.idempotency import IdempotencyInFlight, IdempotencyMismatch

log = logging.getLogger("voucherd.shopee")


class ShopeeError(Exception):
    """An error in Shopee's vocabulary; ``status`` is the HTTP status it is sent with."""

    def __init__(
        self, error: str, message: str | None = None, status: int = 200, **fmt: Any
    ) -> None:
        text = message if message is not None else m.VOUCHER_MESSAGES.get(error, error)
        if fmt:
            text = text.format(**fmt)
        super().__init__(text)
        self.error = error
        self.message = text
        self.status = status


def param(detail: str) -> ShopeeError:
    """A request (body or query) parameter that breaks the call's rules: HTTP 200."""
    return ShopeeError("error_param", f"Wrong parameters, detail: {detail}.")


def gateway_param(message: str) -> ShopeeError:
    """A missing or malformed common parameter: HTTP 400."""
    return ShopeeError("error_param", message, status=400)


def not_found() -> ShopeeError:
    return ShopeeError("common.error_not_found", m.NOT_FOUND)


# --- request ids ------------------------------------------------------------------------------

_SHOPEE_ID: Final = re.compile(r"[0-9a-f]{32}")


def request_id(request: Request) -> str:
    """Shopee's request id (32 lower-case hex): the request's own id when it has that shape."""
    rid = getattr(request.state, "shopee_request_id", None)
    if rid is None:
        given = getattr(request.state, "request_id", None)
        rid = given if isinstance(given, str) and _SHOPEE_ID.fullmatch(given) else None
        rid = rid or secrets.token_hex(16)
        request.state.shopee_request_id = rid
    return str(rid)


def envelope(
    request: Request, response: Any = None, *, error: str = "", message: str = ""
) -> dict[str, Any]:
    body: dict[str, Any] = {"error": error, "message": message, "request_id": request_id(request)}
    if response is not None:
        body["response"] = response
    elif error:
        body["response"] = ""
    return body


# --- the one error table ----------------------------------------------------------------------


def _refusal(exc: ShopeeError) -> Refusal:
    return Refusal(exc.status, exc.error, exc.message)


def _business(exc: errors.VoucherdError) -> Refusal:
    return _refusal(param(exc.message))


# Engine rule breaks of a validity window or usage limit, by (field, rule).
_WINDOW_ERRORS: Final = {
    ("starts_at", "past"): "voucher.voucher_start_time_error",
    ("starts_at", "started"): "voucher.voucher_ongoing_param_error",
    ("ends_at", "after"): "voucher.voucher_time_period_error",
    ("ends_at", "min_length"): "voucher.voucher_time_period_error",
    ("ends_at", "max_length"): "voucher.voucher_end_time_error",
    ("ends_at", "shorten_only"): "voucher.voucher_end_time_reduce_error",
    ("max_uses", "increase_only"): "voucher.voucher_quantity_reduce_error",
}


def _validation(exc: errors.ValidationFailed) -> Refusal:
    code = _WINDOW_ERRORS.get((exc.field or "", exc.rule))
    if code is None and exc.rule == "started":
        code = "voucher.voucher_ongoing_param_error"
    if code is not None:
        return _refusal(ShopeeError(code))
    if exc.field == "Idempotency-Key":  # a header of the request, checked like a common one
        return _refusal(gateway_param(exc.message))
    return _refusal(param(f"{exc.field}: {exc.message}" if exc.field else exc.message))


_ENDED: Final = (errors.VoucherExpired, errors.VoucherVoided, errors.VoucherDeleted)


def _transition(exc: errors.InvalidTransition) -> Refusal:
    """The lifecycle refused ``exc.action``: Shopee's name for it depends on the call."""
    if exc.action == Action.END:
        if isinstance(exc, _ENDED):
            return _refusal(ShopeeError("voucher.update_end_voucher_error"))
        return _refusal(ShopeeError("voucher.end_voucher_status_error"))
    if exc.action == Action.DELETE:
        return _refusal(ShopeeError("voucher.delete_voucher_error"))
    if isinstance(exc, errors.VoucherExpired):
        return _refusal(param("an expired voucher cannot be updated"))
    return _refusal(param(exc.message))


TABLE: Final[ErrorTable] = {
    ShopeeError: _refusal,
    errors.VoucherdError: _business,
    errors.NotFound: _refusal(not_found()),
    errors.ValidationFailed: _validation,
    errors.InvalidTransition: _transition,
    errors.DuplicateCode: _refusal(ShopeeError("voucher.voucher_code_duplicate_error")),
    errors.ConcurrentModification: Refusal(409, "common.error_server", m.BUSY),
    IdempotencyMismatch: Refusal(
        422,
        "error_param",
        "Wrong parameters, detail: this Idempotency-Key was used with another request.",
    ),
    IdempotencyInFlight: Refusal(
        409,
        "common.error_server",
        "A request with this Idempotency-Key is still in progress. Please try later.",
    ),
    Unavailable: Refusal(
        503, "error_server", m.SERVER, headers={"Retry-After": str(Unavailable.retry_after)}
    ),
    Internal: Refusal(500, "error_server", m.SERVER),
    # Too many failed attempts (codes, secrets): faces/limits.py.
    TooManyAttempts: lambda exc: Refusal(
        429,
        "error_too_many_requests",
        "Too many failed attempts, please try again later.",
        headers=exc.headers,
    ),
}


def render_error(refusal: Refusal, inbound: Inbound) -> JSONResponse:
    request = inbound.request
    body = envelope(request, error=refusal.code, message=refusal.message)
    log.info(
        "shopee %s %s -> %s (%s) request_id=%s",
        request.method,
        request.url.path,
        refusal.code,
        refusal.status,
        body["request_id"],
    )
    return JSONResponse(body, status_code=refusal.status, headers=dict(refusal.headers) or None)


FACE: Final = Face("shopee", TABLE, render_error)


def install(app: FastAPI) -> None:
    """The face's error answers for what happens outside ``runtime.call``."""

    def answer(request: Request, exc: ShopeeError) -> JSONResponse:
        return render_error(_refusal(exc), Inbound(request, b""))

    async def on_validation(request: Request, exc: Exception) -> JSONResponse:
        return answer(request, param(str(exc)))

    async def on_http(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, StarletteHTTPException)
        if exc.status_code in (404, 405):
            return answer(request, ShopeeError("error_param", m.NO_API, status=exc.status_code))
        return answer(request, ShopeeError("error_server", m.SERVER, status=exc.status_code))

    app.add_exception_handler(RequestValidationError, on_validation)
    app.add_exception_handler(StarletteHTTPException, on_http)
    guard.install(app, FACE)
