"""The one table from domain error codes to HTTP statuses, and RFC 9457 problem responses."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, Final

import orjson
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

from voucherd.domain import errors
from voucherd.faces.errors import ErrorTable, Internal, Refusal, TooManyAttempts, Unavailable
from voucherd.faces.runtime import Face, Inbound
from voucherd.services.idempotency import IdempotencyInFlight, IdempotencyMismatch

# Engine refusals by class, found along the class hierarchy (the nearest entry wins).
STATUS: Final[Mapping[type[errors.VoucherdError], int]] = {
    errors.NotFound: 404,
    errors.ValidationFailed: 422,
    errors.InvalidAmount: 422,
    errors.CurrencyMismatch: 422,
    errors.MinimumSpendNotMet: 422,
    errors.NotSupportedForKind: 422,
    errors.CodeSpaceTooSmall: 422,
    errors.InvalidPin: 403,
    errors.Forbidden: 403,
    errors.InvalidCredentials: 401,
    IdempotencyMismatch: 422,
    IdempotencyInFlight: 409,
    errors.ConcurrentModification: 409,
    errors.DuplicateCode: 409,
    errors.DuplicateId: 409,
    # Every other business refusal (wrong state, no balance, locked, ...) is a 409 Conflict:
    # the request was well-formed but the voucher's current state does not allow it.
    errors.VoucherdError: 409,
}

TITLES: Final[dict[int, str]] = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    409: "Conflict",
    413: "Content Too Large",
    415: "Unsupported Media Type",
    422: "Unprocessable Content",
    429: "Too Many Requests",
    500: "Internal Server Error",
    503: "Service Unavailable",
}


def problem(
    status: int, code: str, detail: str, headers: dict[str, str] | None = None, **extra: Any
) -> Response:
    body = {
        "type": f"https://voucherd.dev/problems/{code}",
        "title": TITLES.get(status, "Error"),
        "status": status,
        "code": code,
        "detail": detail,
        **extra,
    }
    return Response(
        orjson.dumps(body),
        status_code=status,
        media_type="application/problem+json",
        headers=headers,
    )


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    return str(value)


def _domain(exc: errors.VoucherdError) -> Refusal:
    status = next(STATUS[cls] for cls in type(exc).__mro__ if cls in STATUS)
    reserved = {"type", "title", "status", "code", "detail", "request_id"}
    extra: dict[str, Any] = {
        (f"voucher_{k}" if k in reserved else k): _jsonable(v)
        for k, v in exc.details.items()
        if v is not None
    }
    if isinstance(exc, errors.NotFound):
        extra = {"resource": exc.kind}
    if isinstance(exc, errors.ValidationFailed) and exc.field:
        extra["errors"] = [{"field": exc.field, "rule": exc.rule, "message": exc.message}]
    return Refusal(status, exc.code, exc.message, extra)


# The native face's one error table.
TABLE: Final[ErrorTable] = {
    errors.VoucherdError: _domain,
    Unavailable: Refusal(
        503,
        "service_unavailable",
        "the database is unavailable; retry after the time in Retry-After",
        headers={"Retry-After": str(Unavailable.retry_after)},
    ),
    Internal: Refusal(
        500, "internal_error", "an unexpected error occurred; it is logged with the request id"
    ),
    TooManyAttempts: lambda exc: Refusal(429, "too_many_attempts", str(exc), headers=exc.headers),
}


def render(refusal: Refusal, inbound: Inbound) -> Response:
    return problem(
        refusal.status,
        refusal.code,
        refusal.message,
        dict(refusal.headers) or None,
        request_id=inbound.request_id,
        **refusal.details,
    )


NATIVE: Final = Face(
    "native",
    TABLE,
    render,
    media_type="application/json",
    error_media_type="application/problem+json",
)


def from_domain(exc: errors.VoucherdError) -> Response:
    refusal = _domain(exc)
    return problem(refusal.status, refusal.code, refusal.message, **refusal.details)


# pydantic names the member of a union it tried (``function-after[...]``, ``int``): not a field.
_UNION_MEMBER = re.compile(r"[a-z-]+\[.*\]|int|str|bool|float|dict\[.*\]|list\[.*\]|none")


def _field(loc: tuple[Any, ...]) -> str:
    parts = [
        str(p)
        for p in loc
        if p not in ("body", "query", "path", "header")
        and not (isinstance(p, str) and _UNION_MEMBER.fullmatch(p))
    ]
    return ".".join(parts) or "body"


def validation_problem(exc: RequestValidationError) -> Response:
    items = exc.errors()
    if any(e.get("type") == "json_invalid" for e in items):
        return problem(400, "malformed_json", "the request body is not valid JSON")
    listed = [
        {
            "field": _field(tuple(e.get("loc", ()))),
            "rule": e.get("type", "invalid"),
            "message": e.get("msg", "invalid"),
        }
        for e in items
    ]
    return problem(422, "validation_failed", "the request has invalid fields", errors=listed)


def install(app: FastAPI) -> None:
    @app.exception_handler(errors.VoucherdError)
    async def _refused(request: Request, exc: errors.VoucherdError) -> Response:
        return NATIVE.refusal_response(exc, Inbound(request, b""))

    @app.exception_handler(RequestValidationError)
    async def _validation(_request: Request, exc: RequestValidationError) -> Response:
        return validation_problem(exc)

    @app.exception_handler(StarletteHTTPException)
    async def _http(_request: Request, exc: StarletteHTTPException) -> Response:
        code = str(getattr(exc, "code", "") or TITLES.get(exc.status_code, "error")).lower()
        return problem(
            exc.status_code,
            code.replace(" ", "_"),
            str(exc.detail),
            headers=getattr(exc, "headers", None),
        )


class ApiError(StarletteHTTPException):
    """An HTTP-level refusal (auth, scope) with a stable code."""

    def __init__(
        self, status: int, code: str, detail: str, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(status, detail, headers)
        self.code = code
