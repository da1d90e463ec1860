"""JTL's response objects, for the OpenAPI document only.

Routes render plain dicts (``render.py``) that follow these models field for field.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, Field

from voucherd.dialects.jtl.schemas import AMOUNT_PATTERN, Interval, Status, VoucherType

OutAmount = Annotated[
    str, Field(min_length=4, max_length=9, pattern=AMOUNT_PATTERN, examples=["10.53"])
]


class Voucher(BaseModel):
    id: str
    client_id: str | None
    sku: str | None
    batch: str | None
    amount: OutAmount
    currency: Annotated[str, Field(min_length=3, max_length=3)]
    valid_until: datetime | None
    validity_value: int | None
    validity_interval: Interval | None
    status: Status
    type: VoucherType
    taxable: bool
    tax_rate: str | None
    order_number: str | None
    data: str | None
    created_at: datetime
    updated_at: datetime


class VoucherWithSecrets(Voucher):
    code: str
    pin: str | None = Field(
        description="Only in the response that created the voucher; the"
        " PIN is stored hashed and is null afterwards"
    )


class VoucherListItem(Voucher):
    remaining_amount: OutAmount
    deletable: bool


class Links(BaseModel):
    first: str
    last: str
    prev: str | None
    next: str | None


class Meta(BaseModel):
    current_page: int
    per_page: int
    from_: int | None = Field(alias="from")
    to: int | None
    last_page: int
    total: int
    path: str


class VoucherPage(BaseModel):
    data: list[VoucherListItem]
    links: Links
    meta: Meta


class Charge(BaseModel):
    id: str
    voucher_id: str
    client_id: str | None
    type: Literal["charge", "recharge", "refund"]
    amount: OutAmount
    order_number: str | None
    created_at: datetime
    updated_at: datetime


class ChargePage(BaseModel):
    data: list[Charge]
    links: Links
    meta: Meta


class Reservation(BaseModel):
    id: str
    voucher_id: str
    voucher_taxable: bool
    voucher_tax_rate: str | None
    client_id: str | None
    amount: OutAmount
    valid_until: datetime
    created_at: datetime
    updated_at: datetime


class Client(BaseModel):
    id: str
    client_group_id: str
    name: str
    secret: str
    scopes: list[str]
    created_at: datetime
    updated_at: datetime
    connected_at: datetime
    type: str


class Token(BaseModel):
    access_token: str
    token_type: Literal["Bearer"]
    expires_in: int
    scope: str


class OAuthError(BaseModel):
    error: str
    error_description: str


class Error(BaseModel):
    status: int
    code: str
    message: str


class FieldError(BaseModel):
    code: str
    property: str
    rule: str
    message: str


class ValidationFailure(Error):
    errors: list[FieldError]
