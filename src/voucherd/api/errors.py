"""The one table from domain error codes to HTTP statuses, and RFC 9457 problem responses."""

from __future__ import annotations

from typing import Any, Final

import orjson
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

from voucherd.domain import errors
from voucherd.services.idempotency import IdempotencyInFlight, IdempotencyMismatch

STATUS: Final[dict[str, int]] = {
    errors.NotFound.code: 404,
    errors.ValidationFailed.code: 422,
    errors.InvalidAmount.code: 422,
    errors.CurrencyMismatch.code: 422,
    errors.MinimumSpendNotMet.code: 422,
    errors.NotSupportedForKind.code: 422,
    errors.CodeSpaceTooSmall.code: 422,
    errors.InvalidPin.code: 403,
    IdempotencyMismatch.code: 422,
    IdempotencyInFlight.code: 409,
    errors.ConcurrentModification.code: 409,
    errors.DuplicateCode.code: 409,
    errors.DuplicateId.code: 409,
}
# Every other business refusal (wrong state, no balance, locked, ...) is a 409 Conflict: the
# request was well-formed but the voucher's current state does not allow it.
DEFAULT_BUSINESS_STATUS: Final = 409

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
    500: "Internal Server Error",
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
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    return str(value)


def from_domain(exc: errors.VoucherdError) -> Response:
    status = STATUS.get(exc.code, DEFAULT_BUSINESS_STATUS)
    reserved = {"type", "title", "status", "code", "detail"}
    extra = {
        (f"voucher_{k}" if k in reserved else k): _jsonable(v)
        for k, v in exc.details.items()
        if v is not None
    }
    if isinstance(exc, errors.NotFound):
        extra = {"resource": exc.kind}
    if isinstance(exc, errors.ValidationFailed) and exc.field:
        extra["errors"] = [{"field": exc.field, "rule": exc.rule, "message": exc.message}]
    return problem(status, exc.code, exc.message, **extra)


def _field(loc: tuple[Any, ...]) -> str:
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "header")]
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
    async def _domain(_request: Request, exc: errors.VoucherdError) -> Response:
        return from_domain(exc)

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
