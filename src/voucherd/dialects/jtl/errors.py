"""JTL's error shape and the one table from engine error codes to JTL codes.

Every error leaves this dialect as ``{"status", "code", "message"}``; a 422 adds
``errors: [{code, property, rule, message}]`` with codes in JTL's
``RESOURCE.OPERATION.PROPERTY.RULE`` form. The ``RESOURCE.OPERATION`` prefix of a request comes
from its route's ``operation_id`` (``PREFIXES``).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any, Final

import orjson
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

from voucherd.domain import errors

log = logging.getLogger("voucherd.jtl")

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


class JtlError(Exception):
    """A response in JTL's error shape."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        errors: Sequence[Mapping[str, str]] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.errors = list(errors) if errors is not None else None
        self.headers = dict(headers or {})

    def response(self) -> Response:
        body: dict[str, Any] = {"status": self.status, "code": self.code, "message": self.message}
        if self.errors is not None:
            body["errors"] = self.errors
        return Response(
            orjson.dumps(body),
            status_code=self.status,
            media_type="application/json",
            headers=self.headers or None,
        )


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


def unprocessable(prefix: str, *items: tuple[str, str, str]) -> JtlError:
    """A 422 listing ``(property, rule, message)`` items."""
    return JtlError(
        422,
        f"{prefix}.UNPROCESSABLE_ENTITY",
        INVALID_DATA,
        [field_error(prefix, *item) for item in items],
    )


# --- the engine's error codes, mapped once --------------------------------------------------

# Business refusals: (HTTP status, JTL code, message).
BUSINESS: Final[Mapping[str, tuple[int, str, str]]] = {
    errors.VoucherInactive.code: (
        409,
        "VOUCHER.INACTIVE",
        "The voucher is inactive and cannot be used.",
    ),
    errors.VoucherExpired.code: (409, "VOUCHER.EXPIRED", "The voucher has expired."),
    errors.VoucherNotStarted.code: (409, "VOUCHER.NOT_YET_VALID", "The voucher is not valid yet."),
    errors.VoucherRedeemed.code: (
        409,
        "VOUCHER.USED_UP",
        "The voucher has been used up and has no balance left.",
    ),
    errors.VoucherVoided.code: (409, "VOUCHER.VOIDED", "The voucher has been voided."),
    errors.VoucherDeleted.code: (404, "VOUCHER.NOT_FOUND", "The requested Voucher was not found."),
    errors.VoucherAlreadyActive.code: (
        409,
        "VOUCHER.ALREADY_ACTIVE",
        "The voucher is already active.",
    ),
    errors.InvalidTransition.code: (
        409,
        "VOUCHER.STATUS_CONFLICT",
        "The voucher's status does not allow this operation.",
    ),
    errors.InsufficientBalance.code: (
        409,
        "VOUCHER.INSUFFICIENT_BALANCE",
        "The voucher balance is too low for this amount.",
    ),
    errors.VoucherLocked.code: (409, "VOUCHER.LOCKED", "The voucher is locked."),
    errors.VoucherReserved.code: (
        409,
        "VOUCHER.RESERVED",
        "Part of the voucher balance is held by a reservation.",
    ),
    errors.UsageLimitReached.code: (
        409,
        "VOUCHER.USAGE_LIMIT_REACHED",
        "The voucher has no uses left.",
    ),
    errors.NotSupportedForKind.code: (
        409,
        "VOUCHER.NOT_SUPPORTED",
        "This operation is not supported for this voucher.",
    ),
    errors.ReservationExpired.code: (409, "RESERVATION.EXPIRED", "The reservation has expired."),
    errors.ReservationClosed.code: (
        409,
        "RESERVATION.CLOSED",
        "The reservation was already charged or cancelled.",
    ),
    errors.NotRefundable.code: (
        409,
        "CHARGE.NOT_REFUNDABLE",
        "Only charges of type charge can be refunded.",
    ),
    errors.ConcurrentModification.code: (
        409,
        "VOUCHER.CONCURRENT_MODIFICATION",
        "The voucher was changed by another request at the same time; retry.",
    ),
    errors.CodeSpaceTooSmall.code: (
        409,
        "VOUCHER.CODE_SPACE_EXHAUSTED",
        "No free voucher code could be generated.",
    ),
}

# Refusals that concern one request property: (property, rule, message) inside a 422.
FIELD: Final[Mapping[str, tuple[str, str, str]]] = {
    errors.CurrencyMismatch.code: (
        "currency",
        "voucher_currency",
        "The currency must match the currency of the voucher.",
    ),
    errors.RefundExceedsCharge.code: (
        "amount",
        "refundable",
        "The amount may not be greater than what is left of the charge.",
    ),
    errors.InvalidPin.code: ("pin", "valid_pin", "The pin is invalid."),
    errors.DuplicateCode.code: ("code", "unique", "The code has already been taken."),
    errors.DuplicateId.code: ("id", "unique", "The id has already been taken."),
}

NOT_FOUND: Final[Mapping[str, tuple[str, str]]] = {
    "voucher": ("VOUCHER.NOT_FOUND", "The requested Voucher was not found."),
    "reservation": ("RESERVATION.NOT_FOUND", "The requested Reservation was not found."),
    "charge": ("CHARGE.NOT_FOUND", "The requested Charge was not found."),
}


def not_found(kind: str) -> JtlError:
    code, message = NOT_FOUND.get(
        kind, (f"{kind.upper()}.NOT_FOUND", f"The requested {kind.title()} was not found.")
    )
    return JtlError(404, code, message)


def from_domain(exc: errors.VoucherdError, prefix: str) -> JtlError:
    if isinstance(exc, errors.NotFound):
        return not_found(exc.kind)
    if exc.code in BUSINESS:
        return JtlError(*BUSINESS[exc.code])
    if exc.code in FIELD:
        return unprocessable(prefix, FIELD[exc.code])
    if isinstance(exc, errors.ValidationFailed):
        return unprocessable(prefix, (exc.field or "body", exc.rule, exc.message))
    if isinstance(exc, errors.InvalidAmount):
        return unprocessable(
            prefix, (str(exc.details.get("field") or "amount"), "valid_amount", exc.message)
        )
    return JtlError(409, f"VOUCHER.{exc.code.upper()}", exc.message)


# --- request validation -> Laravel-style rules ----------------------------------------------


def _property(loc: Sequence[Any]) -> str:
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "header")]
    return ".".join(parts) or "body"


def _name(prop: str) -> str:
    """How a message names a property: ``order_number`` -> "order number" (like Laravel)."""
    return prop if "[" in prop else prop.replace("_", " ")


BAD_JSON: Final = ("body", "json", "The request body must be valid JSON.")


def _rule(item: Mapping[str, Any], prop: str) -> tuple[str, str]:
    kind = str(item.get("type", "invalid"))
    ctx = item.get("ctx") or {}
    name = _name(prop)
    if kind == "missing":
        return "required", f"The {name} field is required."
    if kind == "string_type":
        return "string", f"The {name} must be a string."
    if kind == "string_unicode":
        return "utf8", "The value must be UTF-8 text without NUL characters."
    if kind == "string_too_long":
        return "max", f"The {name} may not be greater than {ctx.get('max_length')} characters."
    if kind == "string_too_short":
        return "min", f"The {name} must be at least {ctx.get('min_length')} characters."
    if kind == "string_pattern_mismatch":
        return "regex", f"The {name} format is invalid."
    if kind in ("literal_error", "enum"):
        return "in", f"The selected {name} is invalid."
    if kind in ("bool_type", "bool_parsing"):
        return "boolean", f"The {name} field must be true or false."
    if kind in ("int_type", "int_parsing", "int_from_float"):
        return "integer", f"The {name} must be an integer."
    if kind in ("greater_than_equal", "greater_than"):
        return "min", f"The {name} must be at least {ctx.get('ge', ctx.get('gt'))}."
    if kind in ("less_than_equal", "less_than"):
        return "max", f"The {name} may not be greater than {ctx.get('le', ctx.get('lt'))}."
    if kind in ("datetime_type", "datetime_parsing", "datetime_from_date_parsing"):
        return "date", f"The {name} is not a valid RFC 3339 date."
    if kind in ("model_type", "model_attributes_type", "dict_type"):
        return "object", "The request body must be a JSON object."
    if kind == "json_invalid":
        return BAD_JSON[1:]
    return kind, str(item.get("msg", "invalid"))


def _required_fields(request: Request) -> list[str]:
    """The required properties of the route's JSON body model."""
    field = getattr(request.scope.get("route"), "body_field", None)
    model = getattr(getattr(field, "field_info", None), "annotation", None)
    if isinstance(model, type) and issubclass(model, BaseModel):
        return [name for name, info in model.model_fields.items() if info.is_required()]
    return []


def from_validation(exc: RequestValidationError, request: Request) -> JtlError:
    prefix = prefix_of(request)
    items: list[tuple[str, str, str]] = []
    seen: set[str] = set()
    for item in exc.errors():
        prop = _property(tuple(item.get("loc", ())))
        if prop == "body" and item.get("type") == "missing":
            # No body at all: every required property is missing (as Laravel reports it).
            for name in _required_fields(request):
                if name not in seen:
                    seen.add(name)
                    items.append((name, "required", f"The {_name(name)} field is required."))
            if items:
                continue
        if item.get("type") == "json_invalid":
            prop = "body"
        if prop in seen:
            continue  # one message per property, the first rule that failed (like Laravel)
        seen.add(prop)
        rule, message = _rule(item, prop)
        items.append((prop, rule, message))
    return unprocessable(prefix, *items)


def prefix_of(request: Request) -> str:
    route = request.scope.get("route")
    operation_id = getattr(route, "operation_id", None)
    return PREFIXES.get(str(operation_id), "REQUEST")


HTTP_CODES: Final[Mapping[int, tuple[str, str]]] = {
    404: ("NOT_FOUND", "The requested resource was not found."),
    405: ("METHOD_NOT_ALLOWED", "The method is not allowed for this resource."),
}


def install(app: FastAPI) -> None:
    @app.exception_handler(JtlError)
    async def _jtl(_request: Request, exc: JtlError) -> Response:
        return exc.response()

    @app.exception_handler(errors.VoucherdError)
    async def _domain(request: Request, exc: errors.VoucherdError) -> Response:
        return from_domain(exc, prefix_of(request)).response()

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> Response:
        return from_validation(exc, request).response()

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> Response:
        if exc.status_code == 400:  # FastAPI could not decode the body at all
            return unprocessable(prefix_of(request), BAD_JSON).response()
        code, message = HTTP_CODES.get(exc.status_code, ("HTTP_ERROR", str(exc.detail)))
        return JtlError(exc.status_code, code, message, headers=exc.headers).response()

    @app.exception_handler(Exception)
    async def _crash(_request: Request, exc: Exception) -> Response:
        log.exception("unhandled error in the JTL dialect", exc_info=exc)
        return JtlError(500, "SERVER_ERROR", "An internal error occurred.").response()
