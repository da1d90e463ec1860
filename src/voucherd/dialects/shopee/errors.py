"""Shopee's error envelope, the HTTP status chosen for each error, and the exception handlers.

Every answer is ``{"error", "message", "request_id", "response"}``; ``request_id`` is 32 lower-case
hex characters, also logged. HTTP status (docs/compat/shopee.md): errors of the gateway (common
parameters, signature, partner, token, shop link) are 4xx like Shopee's gateway; errors of the
call itself (``voucher.*``, body ``error_param``, ``common.error_not_found``, code/refresh-token
errors) are HTTP 200 with the error in the body, so clients that discard non-2xx bodies
(``pyshopee``) still see them.
"""

from __future__ import annotations

import logging
import secrets
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

log = logging.getLogger("voucherd.shopee")

# Common (gateway) messages, verbatim from the spec's common_error_list.
NO_PARTNER_ID = "There is no partner_id in query."
BAD_PARTNER_ID = "Partner_id is invalid, should be an integer between 0 and 4294967295."
NO_TIMESTAMP = "no timestamp"
BAD_TIMESTAMP = "Timestamp is invalid, should be an integer between 0 and 4294967295."
EXPIRED_TIMESTAMP = "Timestamp is expired."
INVALID_TIMESTAMP = "Invalid timestamp"
NO_SIGN = "There is no sign in query."
WRONG_SIGN = "Wrong sign."
NO_ACCESS_TOKEN = "There is no access_token in query."  # noqa: S105
NO_SHOP_ID = "There is no shop_id in query."
BAD_SHOP_ID = "shop_id is invalid, should be an integer between 0 and 4294967295."
PARTNER_INVALID = "partner_id is invalid"
INVALID_ACCESS_TOKEN = "Invalid access_token, please have a check."  # noqa: S105
PARTNER_OR_SHOP = "Invalid partner_id or shopid."
SHOP_NO_LINK = "Partner and shop has no linked."
NOT_FOUND = "The information you queried is not found."
NO_API = "Permission denied. This API is currently offline or the request path is incorrect."
SERVER = "Something wrong. Please try later."

# Voucher errors, verbatim messages from the spec's error_list.
VOUCHER_MESSAGES: dict[str, str] = {
    "voucher.voucher_min_price_error": (
        "Min_basket_price must be higher than the fix amount if Min_basket_price is not 0."
    ),
    "voucher.voucher_btoc_item_blocked_error": (
        "Some items cannot be uploaded as they are b2c products in FBS shop"
    ),
    "voucher.voucher_code_duplicate_error": "Duplicated voucher code.",
    "voucher.voucher_code_error": (
        "Voucher code doesn't meet the requirement. Only support 0-9 or A-Z or a-z. Up "
        "to 5 characters."
    ),
    "voucher.voucher_coin_error": "Cannot create coin cashback voucher.",
    "voucher.voucher_display_channel_error": "Voucher display channel is set wrongly.",
    "voucher.voucher_end_time_error": "Voucher valid period can not be longer than 3 months.",
    "voucher.fix_amount_low_qualtiy_errorr": (
        "Voucher cannot be saved as it is lower than {limit}%. Please adjust the "
        "percentage amount to be more than or equal to {limit}%."
    ),
    "voucher.voucher_item_duplication_error": "Duplicated items in item_id_list.",
    "voucher.voucher_item_count_limit_error": (
        "The number of items in item_id_list exceeds the limit."
    ),
    "voucher.voucher_item_not_exist": "Some item in item_id_list doesn't exist",
    "voucher.voucher_max_discount_low_quality": (
        "To attract buyers to use your voucher, please increase maximum discount price "
        "to > {minimum} or reduce minimum basket price to < {maximum} to ensure buyers "
        "can enjoy the percentage discount configured."
    ),
    "voucher.voucher_over_limit": (
        "The total number of ongoing voucher and upcoming voucher cannot exceed 1000."
    ),
    "voucher.percentage_low_quality_error": (
        "Voucher cannot be saved as it is lower than {limit}.00%. Please adjust the "
        "percentage amount to be more than or equal to {limit}.00%."
    ),
    "voucher.voucher_start_time_error": "Voucher start time is earlier than current time.",
    "voucher.voucher_time_period_error": (
        "Voucher end time must be 1 hour later than the start time."
    ),
    "voucher.voucher_end_time_reduce_error": (
        "Only allow to shorten the voucher end_time. Cannot extend the end_time."
    ),
    "voucher.voucher_ongoing_param_error": (
        "Only limited fields can be modified when the voucher is ongoing. Fileds allow "
        "modification: voucher_name,usage_quantity,end_time,display_channel_list, "
        "item_id_list"
    ),
    "voucher.voucher_quantity_reduce_error": "Only allow to increase the voucher quantity.",
    "voucher.delete_voucher_error": "Can only delete upcoming voucher.",
    "voucher.end_voucher_status_error": "Can only end the ongoing voucher.",
    "voucher.update_end_voucher_error": "Cannot update status for expired voucher.",
    "voucher.operate_voucher_permission_error": (
        "The Voucher created in Shopee admin/Shop Game/Follow Prize/Member ship/Voucher "
        "campaign can't be updated"
    ),
}


class ShopeeError(Exception):
    """An error in Shopee's vocabulary; ``status`` is the HTTP status it is sent with."""

    def __init__(
        self, error: str, message: str | None = None, status: int = 200, **fmt: Any
    ) -> None:
        text = message if message is not None else VOUCHER_MESSAGES.get(error, error)
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


def new_request_id() -> str:
    return secrets.token_hex(16)


def request_id(request: Request) -> str:
    rid = getattr(request.state, "shopee_request_id", None)
    if rid is None:
        rid = new_request_id()
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


def error_response(request: Request, exc: ShopeeError) -> JSONResponse:
    rid = request_id(request)
    log.info(
        "shopee %s %s -> %s (%s) request_id=%s",
        request.method,
        request.url.path,
        exc.error,
        exc.status,
        rid,
    )
    return JSONResponse(
        envelope(request, error=exc.error, message=exc.message), status_code=exc.status
    )


def install(app: FastAPI) -> None:
    async def on_shopee(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, ShopeeError)
        return error_response(request, exc)

    async def on_validation(request: Request, exc: Exception) -> JSONResponse:
        return error_response(request, param(str(exc)))

    async def on_http(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, StarletteHTTPException)
        if exc.status_code == 404:
            return error_response(request, ShopeeError("error_param", NO_API, status=404))
        if exc.status_code == 405:
            return error_response(request, ShopeeError("error_param", NO_API, status=405))
        return error_response(request, ShopeeError("error_server", SERVER, status=exc.status_code))

    app.add_exception_handler(ShopeeError, on_shopee)
    app.add_exception_handler(RequestValidationError, on_validation)
    app.add_exception_handler(StarletteHTTPException, on_http)
