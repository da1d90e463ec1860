"""OpenAPI descriptions of the Shopee calls (documentation only: parsing is in ``vouchers``).

The handlers read the raw body themselves so that every malformed field gets Shopee's own error
(``error_param`` "Wrong parameters, detail: ..."), not a framework 422; these models describe the
wire format in ``/shopee/openapi.json``.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field


class AddVoucher(BaseModel):
    voucher_name: str
    voucher_code: str = Field(description="1-5 characters of 0-9, A-Z, a-z")
    start_time: int = Field(description="unix seconds")
    end_time: int = Field(description="unix seconds; 1 hour to 3 months after start_time")
    voucher_type: int = Field(description="1 shop voucher, 2 product voucher")
    reward_type: int = Field(description="1 fix amount, 2 discount percentage, 3 coin cashback")
    usage_quantity: int
    min_basket_price: float
    discount_amount: float | None = Field(None, description="fix amount vouchers")
    percentage: int | None = Field(None, description="percentage / coin cashback vouchers")
    max_price: float | None = Field(None, description="cap; 0 = no cap")
    display_channel_list: list[int] | None = Field(
        None, description="1 all, 3 feed, 4 live; [] hidden"
    )
    item_id_list: list[int] | None = Field(None, description="product vouchers")
    display_start_time: int | None = None


class UpdateVoucher(BaseModel):
    voucher_id: int
    voucher_name: str | None = None
    start_time: int | None = None
    end_time: int | None = None
    usage_quantity: int | None = None
    min_basket_price: float | None = None
    discount_amount: float | None = None
    percentage: int | None = None
    max_price: float | None = None
    display_channel_list: list[int] | None = None
    item_id_list: list[int] | None = None
    display_start_time: int | None = None


class VoucherId(BaseModel):
    voucher_id: int


class TokenGet(BaseModel):
    code: str
    partner_id: int
    shop_id: int | None = None
    main_account_id: int | None = None


class AccessTokenGet(BaseModel):
    refresh_token: str
    partner_id: int
    shop_id: int


def _query(
    name: str, description: str, *, required: bool = True, kind: str = "integer"
) -> dict[str, Any]:
    return {
        "name": name,
        "in": "query",
        "required": required,
        "description": description,
        "schema": {"type": kind},
    }


PUBLIC_PARAMS = [
    _query("partner_id", "the partner (app) id"),
    _query("timestamp", "unix seconds; refused when more than 5 minutes old"),
    _query("sign", "hex HMAC-SHA256(partner_key, partner_id + path + timestamp)", kind="string"),
]
SHOP_PARAMS = [
    *PUBLIC_PARAMS[:2],
    _query("access_token", "from /api/v2/auth/token/get (4 hours)", kind="string"),
    _query("shop_id", "the shop (= voucherd tenant id)"),
    _query(
        "sign",
        "hex HMAC-SHA256(partner_key, partner_id + path + timestamp + access_token + shop_id)",
        kind="string",
    ),
]


def doc(
    body: type[BaseModel] | None = None,
    *,
    public: bool = False,
    query: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """``openapi_extra`` for a route: common parameters, call parameters, JSON body."""
    extra: dict[str, Any] = {
        "parameters": [*(PUBLIC_PARAMS if public else SHOP_PARAMS), *(query or [])]
    }
    if body is not None:
        extra["requestBody"] = {
            "required": True,
            "content": {"application/json": {"schema": body.model_json_schema()}},
        }
    return extra


VOUCHER_ID_QUERY = [_query("voucher_id", "the voucher")]
LIST_QUERY = [
    _query("status", "upcoming | ongoing | expired | all", kind="string"),
    _query("page_no", "1-5000, default 1", required=False),
    _query("page_size", "1-100, default 20", required=False),
]
AUTH_PAGE_QUERY = [
    _query("redirect", "absolute http(s) URL receiving ?code=&shop_id=", kind="string")
]
