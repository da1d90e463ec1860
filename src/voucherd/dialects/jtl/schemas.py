"""JTL's request bodies and query strings (validated strictly, like Laravel rules).

They are parsed by ``parse.py`` after authentication; the response objects are in
``responses.py``.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Final, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictBool,
    StrictInt,
    StrictStr,
    field_validator,
)
from pydantic_core import PydanticCustomError

from voucherd.domain import inputs
from voucherd.domain.errors import ValidationFailed
from voucherd.domain.money import is_currency

AMOUNT_PATTERN = r"^[0-9]{1,5}\.[0-9]{2}$"
AMOUNT_DESCRIPTION = (
    "Amount in the currency of this voucher. Must be send as string in the following pattern:\n"
    "* Up to five digits before the decimal point\n* The decimal point (.)\n"
    "* Exactly two digits after the decimal point"
)
TAX_RATE_PATTERN = r"^[0-9]{1,3}(\.[0-9]{1,2})?$"
ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]*$"


def _currency(value: str) -> str:
    if not is_currency(value.upper()):
        raise PydanticCustomError("valid_currency", "Currency must be a valid currency code")
    return value.upper()


def _positive(value: str) -> str:
    if value.replace("0", "").replace(".", "") == "":
        raise PydanticCustomError("min", "The amount must be at least 0.01.")
    return value


DATA_MESSAGES: Final = {
    "json": "The data must be a valid JSON string.",
    "depth": f"The data may not be nested more than {inputs.JSON_MAX_DEPTH} levels deep.",
    "size": f"The data may not be greater than {inputs.JSON_MAX_BYTES} bytes.",
}


def _json_object(value: str | None) -> str | None:
    if value is None:
        return None
    try:  # the one JSON limit of every face (depth, size, text, 64-bit integers)
        parsed = inputs.loads_json(value, "data")
    except ValidationFailed as exc:
        rule = "json" if exc.rule in ("json", "depth") else exc.rule
        raise PydanticCustomError(rule, DATA_MESSAGES.get(exc.rule, exc.message)) from None
    if not isinstance(parsed, dict):
        raise PydanticCustomError("json", "The data must be a JSON object string.")
    return value


def _not_blank(value: str) -> str:
    if not value.strip():
        raise PydanticCustomError("required", "The comment field is required.")
    return value


Amount = Annotated[
    StrictStr,
    Field(
        min_length=4,
        max_length=9,
        pattern=AMOUNT_PATTERN,
        description=AMOUNT_DESCRIPTION,
        examples=["10.53"],
    ),
]
PositiveAmount = Annotated[
    Amount, AfterValidator(_positive), Field(description=AMOUNT_DESCRIPTION + "\n* At least 0.01")
]
Currency = Annotated[
    StrictStr,
    Field(
        min_length=3,
        max_length=3,
        examples=["EUR"],
        description="The three-character ISO-4217 currency code, matching the voucher's currency",
    ),
    AfterValidator(_currency),
]
Text255 = Annotated[StrictStr, Field(max_length=255)]
OrderNumber = Annotated[
    StrictStr,
    Field(max_length=255, examples=["ORDER-62642"], description="Order or invoice number"),
]
Interval = Literal["days", "weeks", "months", "years"]
VoucherType = Literal["print", "digital"]
Status = Literal["active", "inactive"]


def storable(text: str) -> bool:
    """Text a database column can hold: no NUL character, no lone UTF-16 surrogate."""
    if "\x00" in text:
        return False
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _storable_text(value: object) -> object:
    if isinstance(value, str) and not storable(value):
        raise PydanticCustomError("utf8", "The value must be UTF-8 text without NUL characters.")
    return value


class Strict(BaseModel):
    model_config = ConfigDict(strict=True, extra="ignore")

    @field_validator("*", mode="after")
    @classmethod
    def _storable(cls, value: object) -> object:
        return _storable_text(value)


class VoucherCreate(Strict):
    id: Annotated[
        StrictStr | None,
        Field(
            max_length=255,
            pattern=ID_PATTERN,
            examples=["4ZH83T0ACUUC14CW"],
            description="A unique custom identifier for this voucher (optional; generated as 16"
            " upper-case letters and digits if not set)",
        ),
    ] = None
    code: Annotated[
        StrictStr | None,
        Field(
            min_length=1,
            max_length=64,
            description="The code a customer enters (optional; generated if not set)",
        ),
    ] = None
    pin: Annotated[
        StrictStr | None,
        Field(
            min_length=1,
            max_length=255,
            description="An additional security feature (optional;"
            " a 6-digit PIN is generated if not set). Returned only in this response.",
        ),
    ] = None
    amount: Amount
    currency: Currency
    validity_value: Annotated[
        StrictInt | None,
        Field(
            ge=1,
            le=1000,
            examples=[24],
            description="Together with validity_interval: how long"
            " the voucher is valid after activation",
        ),
    ] = None
    validity_interval: Interval | None = None
    status: Annotated[
        Status | None,
        Field(description="Initial status; vouchers (print and digital) are inactive by default"),
    ] = None
    type: VoucherType = "digital"
    taxable: StrictBool = False
    tax_rate: Annotated[
        StrictStr | None,
        Field(
            pattern=TAX_RATE_PATTERN,
            examples=["19"],
            description="Tax rate in percent (required when taxable is true)",
        ),
    ] = None
    sku: Annotated[StrictStr | None, Field(max_length=255)] = None
    batch: Annotated[StrictStr | None, Field(max_length=30)] = None
    order_number: Annotated[StrictStr | None, Field(max_length=255)] = None
    data: Annotated[
        StrictStr | None,
        Field(
            max_length=65535,
            examples=['{"foo": "bar"}'],
            description="Any additional custom data as a JSON object string",
        ),
        AfterValidator(_json_object),
    ] = None


class VoucherUpdate(Strict):
    sku: Annotated[StrictStr | None, Field(max_length=255)] = None
    batch: Annotated[StrictStr | None, Field(max_length=30)] = None


class StatusRequest(Strict):
    status: Status
    comment: Annotated[
        StrictStr | None, Field(max_length=255, examples=["reason for this status change"])
    ] = None


class DeleteRequest(Strict):
    comment: Annotated[
        StrictStr,
        Field(
            max_length=255,
            examples=["deleted reason comment"],
            description="Must be set when the voucher gets deleted",
        ),
        AfterValidator(_not_blank),
    ]


class RechargeRequest(Strict):
    amount: PositiveAmount
    currency: Currency
    order_number: OrderNumber
    code: Annotated[
        StrictStr | None, Field(max_length=255, description="Not necessary if id is set")
    ] = None
    id: Annotated[StrictStr | None, Field(max_length=255, examples=["4ZH83T0ACUUC14CW"])] = None


class ReservationRequest(Strict):
    amount: PositiveAmount
    currency: Currency
    code: Annotated[StrictStr, Field(max_length=255, examples=["test"])]
    pin: Annotated[StrictStr | None, Field(max_length=255)] = None


class ChargeRequest(Strict):
    order_number: OrderNumber


class RefundRequest(Strict):
    amount: PositiveAmount
    currency: Currency


class ConnectRequest(Strict):
    pin: Annotated[
        StrictStr,
        Field(
            max_length=255,
            examples=["X53HI0"],
            description="Previously issued one-time PIN (30 minutes validity)",
        ),
    ]


# --- query strings -------------------------------------------------------------------------


def _utc(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    try:
        return (value if value.tzinfo else value.replace(tzinfo=UTC)).astimezone(UTC)
    except (OverflowError, ValueError):
        raise PydanticCustomError("date", "The date is out of range.") from None


def _ascii_int(value: object) -> object:
    """Integers in a query string are ASCII digits: no "+", "_", blanks or other digits."""
    if isinstance(value, str):
        try:
            return inputs.parse_ascii_int(value, allow_negative=True)
        except ValueError:
            raise PydanticCustomError("int_parsing", "Input should be a valid integer") from None
    return value


Page = Annotated[
    int, Field(ge=1, le=1_000_000, description="Page number"), BeforeValidator(_ascii_int)
]
PerPage = Annotated[
    int,
    Field(ge=1, le=100, description="Entries per page (at most 100)"),
    BeforeValidator(_ascii_int),
]
CreatedAt = Annotated[datetime | None, AfterValidator(_utc)]


class Query(BaseModel):
    """Query strings are text: integers and dates are read from it (ASCII digits only)."""

    model_config = ConfigDict(extra="ignore")

    @field_validator("*", mode="after")
    @classmethod
    def _storable(cls, value: object) -> object:
        return _storable_text(value)


class PageQuery(Query):
    page: Page = 1
    per_page: PerPage = 25


class VoucherListQuery(PageQuery):
    created_from: Annotated[
        CreatedAt,
        Field(alias="filter[created_from]", description="Entries created at or after (RFC 3339)"),
    ] = None
    created_to: Annotated[
        CreatedAt,
        Field(alias="filter[created_to]", description="Entries created at or before (RFC 3339)"),
    ] = None
    status: Annotated[Status | None, Field(alias="filter[status]")] = None
    batch: Annotated[str | None, Field(alias="filter[batch]", max_length=30)] = None
    sku: Annotated[str | None, Field(alias="filter[sku]", max_length=255)] = None
    type: Annotated[VoucherType | None, Field(alias="filter[type]")] = None
    order_number: Annotated[str | None, Field(alias="filter[order_number]", max_length=255)] = None
