"""Wire models of the native API. Amounts are integer minor units; times RFC 3339 UTC."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Generic, Literal, TypeVar

import orjson
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StrictInt, field_validator
from pydantic.json_schema import SkipJsonSchema

from voucherd.db.repositories import Row
from voucherd.domain.inputs import JSON_MAX_BYTES, JSON_MAX_DEPTH
from voucherd.domain.lifecycle import VoucherStatus
from voucherd.domain.lifecycle import phase as phase_of
from voucherd.domain.money import MAX_MINOR_UNITS
from voucherd.domain.vouchers import ValidityUnit, ValueKind
from voucherd.faces.fields import JSON_LIMITS, json_id

# Every integer a client sends is a JSON integer: ``true``, ``1.0`` and ``"1"`` are refused
# (docs/decisions.md, "Input limits").
Minor = Annotated[StrictInt, Field(ge=0, le=MAX_MINOR_UNITS, description="integer minor units")]
PositiveMinor = Annotated[
    StrictInt, Field(ge=1, le=MAX_MINOR_UNITS, description="minor units, > 0")
]
Currency = Annotated[str, Field(pattern=r"^[A-Za-z]{3}$", description="ISO 4217 code")]
BasisPoints = Annotated[StrictInt, Field(ge=1, le=10000, description="1/100 of a percent")]
TaxRate = Annotated[StrictInt, Field(ge=0, le=10000)]
Count = Annotated[StrictInt, Field(ge=1, le=10**9)]
CustomerId = Annotated[StrictInt, json_id("customer")]
CampaignId = Annotated[StrictInt, json_id("campaign")]
Metadata = Annotated[
    dict[str, Any],
    JSON_LIMITS,
    Field(
        description=f"any JSON object: at most {JSON_MAX_DEPTH} levels deep"
        f" and {JSON_MAX_BYTES} bytes"
    ),
]
Text255 = Annotated[str, Field(max_length=255)]
Code = Annotated[str, Field(min_length=1, max_length=64)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class VoucherTemplate(Strict):
    kind: ValueKind = ValueKind.STORED_VALUE
    currency: Currency | None = None
    amount: Minor | None = Field(None, description="initial balance (stored value only)")
    discount_amount: PositiveMinor | None = None
    discount_bps: BasisPoints | None = None
    discount_cap: Minor | None = None
    min_spend: Minor | None = None
    gift_description: Text255 | None = None
    cashback_bps: BasisPoints | None = None
    max_uses: Count | None = None
    max_uses_per_customer: Count | None = None
    starts_at: AwareDatetime | None = None
    ends_at: AwareDatetime | None = None
    validity_value: Annotated[StrictInt, Field(ge=1, le=1000)] | None = None
    validity_unit: ValidityUnit | None = None
    medium: Literal["print", "digital"] = "digital"
    taxable: bool = False
    tax_rate_bps: TaxRate | None = None
    metadata: Metadata = Field(default_factory=dict)


class VoucherCreate(VoucherTemplate):
    id: Text255 | None = Field(None, description="custom public id; generated if absent")
    code: Code | None = Field(None, description="custom code; generated if absent")
    pin: Annotated[str, Field(min_length=4, max_length=32)] | None = None
    generate_pin: bool = False
    campaign_id: CampaignId | None = None
    customer_id: CustomerId | None = None
    sku: Text255 | None = None
    label: Text255 | None = None
    order_number: Text255 | None = None
    active: bool = False


class VoucherUpdate(Strict):
    sku: Text255 | None = None
    label: Text255 | None = None
    order_number: Text255 | None = None
    # Omitted means unchanged; these three have no "unset" value, so an explicit null is refused.
    metadata: Metadata | SkipJsonSchema[None] = None
    medium: Literal["print", "digital"] | SkipJsonSchema[None] = None
    taxable: bool | SkipJsonSchema[None] = None
    tax_rate_bps: TaxRate | None = None
    reason: Text255 | None = None

    @field_validator("metadata", "medium", "taxable", mode="before")
    @classmethod
    def _not_null(cls, value: Any) -> Any:
        if value is None:
            raise ValueError("may be omitted but not null")
        return value


class Reason(Strict):
    reason: Text255 | None = None


class RequiredReason(Strict):
    reason: Annotated[str, Field(min_length=1, max_length=255)]


class ReinstateRequest(Strict):
    pin: Annotated[str, Field(max_length=32)] | None = None
    reason: Text255 | None = None


class ClaimRequest(Strict):
    customer_id: CustomerId
    reason: Text255 | None = None


class UnclaimRequest(Strict):
    force: bool = False
    reason: Text255 | None = None


class LockRequest(Strict):
    lock_seconds: Annotated[StrictInt, Field(ge=1, le=31 * 86400)]
    locking_code: Text255 | None = None
    basket_code: Text255 | None = None


class Lookup(Strict):
    code: Code


class VoucherTarget(Strict):
    """Names the voucher in a body: by ``voucher_id`` or by ``code`` (codes never in URLs)."""

    voucher_id: Text255 | None = None
    code: Code | None = None
    pin: Annotated[str, Field(max_length=32)] | None = None


class ChargeRequest(VoucherTarget):
    amount: PositiveMinor | None = Field(None, description="stored value: what to charge")
    currency: Currency | None = None
    order_amount: Minor | None = Field(None, description="basket total, for discounts")
    order_number: Text255 | None = None
    customer_id: CustomerId | None = None
    locking_code: Text255 | None = None


class ReserveRequest(VoucherTarget):
    amount: PositiveMinor | None = None
    currency: Currency | None = None
    ttl_seconds: Annotated[StrictInt, Field(ge=1, le=86400)] | None = None
    locking_code: Text255 | None = None


class CaptureRequest(Strict):
    amount: PositiveMinor | None = None
    order_number: Text255 | None = None
    customer_id: CustomerId | None = None


class RefundRequest(Strict):
    amount: PositiveMinor | None = None
    currency: Currency | None = None
    reason: Text255 | None = None


class RechargeRequest(Strict):
    amount: PositiveMinor
    currency: Currency | None = None
    order_number: Text255 | None = None


class CodeSettings(Strict):
    charset: Annotated[str, Field(min_length=2, max_length=128)] = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
    length: Annotated[StrictInt, Field(ge=1, le=64)] = 12
    prefix: Annotated[str, Field(max_length=32)] = ""
    suffix: Annotated[str, Field(max_length=32)] = ""
    pattern: Annotated[str, Field(max_length=64)] | None = None
    check_char: bool = False


class CampaignCreate(Strict):
    name: Annotated[str, Field(min_length=1, max_length=255)]
    key: Annotated[str, Field(min_length=1, max_length=64)] | None = None
    template: VoucherTemplate
    codes: CodeSettings = Field(default_factory=CodeSettings)
    activate_on_create: bool = False
    # Printed stock whose PIN carries the entropy: its codes may give under 40 bits.
    pin_protected: bool = Field(
        False,
        description="PIN-protected printed stock: the code space may give under 40 bits of"
        " entropy (the PIN carries it)",
    )


class GenerateRequest(Strict):
    count: Annotated[StrictInt, Field(ge=1, le=100_000)]


class ImportRequest(Strict):
    codes: Annotated[list[Code], Field(min_length=1, max_length=10_000)]


class CustomerCreate(Strict):
    external_ref: Text255 | None = None
    name: Text255 | None = None
    email: Text255 | None = None
    phone: Annotated[str, Field(max_length=64)] | None = None
    metadata: Metadata = Field(default_factory=dict)


# --- responses --------------------------------------------------------------------------------


class Hold(BaseModel):
    reservation_id: int
    amount: int
    expires_at: datetime


class VoucherRead(BaseModel):
    id: str
    number: int
    campaign_id: int | None
    kind: ValueKind
    status: VoucherStatus
    phase: str
    currency: str | None
    balance: int
    available_balance: int
    uses: int
    max_uses: int | None
    max_uses_per_customer: int | None
    discount_amount: int | None
    discount_bps: int | None
    discount_cap: int | None
    min_spend: int | None
    gift_description: str | None
    cashback_bps: int | None
    starts_at: datetime | None
    ends_at: datetime | None
    validity_value: int | None
    validity_unit: str | None
    customer_id: int | None
    claimed_at: datetime | None
    locked_until: datetime | None
    hold: Hold | None
    medium: str
    taxable: bool
    tax_rate_bps: int | None
    sku: str | None
    label: str | None
    order_number: str | None
    metadata: dict[str, Any]
    has_pin: bool
    activated_at: datetime | None
    redeemed_at: datetime | None
    voided_at: datetime | None
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, row: Row, now: datetime | None = None) -> VoucherRead:
        now = now or datetime.now(UTC)
        hold_live = row["hold_id"] is not None and (
            row["hold_expires_at"] is None or row["hold_expires_at"] > now
        )
        hold = (
            Hold(
                reservation_id=row["hold_id"],
                amount=row["hold_amount"],
                expires_at=row["hold_expires_at"],
            )
            if hold_live
            else None
        )
        locked = row["locked_until"] if row["locked_until"] and row["locked_until"] > now else None
        return cls(
            id=row["public_id"],
            number=row["id"],
            campaign_id=row["campaign_id"],
            kind=row["kind"],
            status=row["status"],
            phase=phase_of(VoucherStatus(row["status"]), row["starts_at"], row["ends_at"], now),
            currency=row["currency"],
            balance=row["balance"],
            available_balance=row["balance"] - (hold.amount if hold else 0),
            uses=row["uses"],
            max_uses=row["max_uses"],
            max_uses_per_customer=row["max_uses_per_customer"],
            discount_amount=row["discount_amount"],
            discount_bps=row["discount_bps"],
            discount_cap=row["discount_cap"],
            min_spend=row["min_spend"],
            gift_description=row["gift_description"],
            cashback_bps=row["cashback_bps"],
            starts_at=row["starts_at"],
            ends_at=row["ends_at"],
            validity_value=row["validity_value"],
            validity_unit=row["validity_unit"],
            customer_id=row["holder_id"],
            claimed_at=row["claimed_at"],
            locked_until=locked,
            hold=hold,
            medium=row["medium"],
            taxable=row["taxable"],
            tax_rate_bps=row["tax_rate_bps"],
            sku=row["sku"],
            label=row["label"],
            order_number=row["order_number"],
            metadata=row["metadata"] or {},
            has_pin=row["pin_hash"] is not None,
            activated_at=row["activated_at"],
            redeemed_at=row["redeemed_at"],
            voided_at=row["voided_at"],
            created_at=row["created_at"],
            updated_at=row["updated_at"],
        )


class VoucherSecret(BaseModel):
    id: str
    code: str


class VoucherCreated(VoucherRead):
    code: str
    pin: str | None = Field(None, description="only when generated; shown once")


class LedgerEntryRead(BaseModel):
    id: int
    voucher_id: str
    kind: str
    amount: int
    currency: str | None
    balance_after: int
    uses_delta: int
    uses_after: int
    value: int
    refund_of: int | None
    reservation_id: int | None
    order_number: str | None
    customer_id: int | None
    client_id: str | None
    created_at: datetime

    @classmethod
    def of(cls, row: Row, voucher_public_id: str) -> LedgerEntryRead:
        return cls(
            voucher_id=voucher_public_id,
            **{k: row[k] for k in cls.model_fields if k != "voucher_id"},
        )


class ChargeResult(BaseModel):
    entry: LedgerEntryRead
    voucher: VoucherRead


class ReservationRead(BaseModel):
    id: int
    voucher_id: str  # the voucher's public id, like every other object names it
    amount: int
    currency: str | None
    status: str
    expires_at: datetime
    created_at: datetime
    closed_at: datetime | None

    @classmethod
    def of(cls, row: Row, voucher_public_id: str) -> ReservationRead:
        return cls(
            voucher_id=voucher_public_id,
            **{k: row[k] for k in cls.model_fields if k != "voucher_id"},
        )


class EventRead(BaseModel):
    id: int
    operation: str
    actor: str
    reason: str | None
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    created_at: datetime

    @classmethod
    def of(cls, row: Row) -> EventRead:
        return cls(**{k: row[k] for k in cls.model_fields})


class CampaignRead(BaseModel):
    id: int
    key: str
    name: str
    kind: str
    currency: str | None
    amount: int | None
    code_charset: str
    code_length: int
    code_prefix: str
    code_suffix: str
    code_pattern: str | None
    code_check_char: bool
    activate_on_create: bool
    pin_protected: bool
    created_at: datetime

    @classmethod
    def of(cls, row: Row) -> CampaignRead:
        return cls(**{k: row[k] for k in cls.model_fields})


class CustomerRead(BaseModel):
    id: int
    external_ref: str | None
    name: str | None
    email: str | None
    phone: str | None
    metadata: dict[str, Any]
    created_at: datetime

    @classmethod
    def of(cls, row: Row) -> CustomerRead:
        return cls(**{k: row[k] for k in cls.model_fields})


ItemT = TypeVar("ItemT")


class Page(BaseModel, Generic[ItemT]):
    """One page of a list; pass ``next_cursor`` back as ``cursor`` for the next one."""

    data: list[ItemT]
    next_cursor: str | None


class Generated(BaseModel):
    campaign_id: int
    created: int


class TokenResponse(BaseModel):
    access_token: str
    token_type: Literal["Bearer"] = "Bearer"  # noqa: S105 (a scheme name)
    expires_in: int
    scope: str


# --- jobs and webhooks ------------------------------------------------------------------------


class JobRead(BaseModel):
    """A long job (bulk generate or import above the threshold), run by the worker in chunks."""

    id: int
    kind: Literal["generate", "import"]
    campaign_id: int
    status: Literal["queued", "running", "succeeded", "failed"]
    total: int = Field(description="codes the job creates in all")
    done: int = Field(description="codes created so far (committed chunks)")
    progress: float = Field(description="done / total, 0 to 1")
    result: dict[str, Any] | None = Field(None, description='when finished: {"created": n}')
    errors: list[dict[str, Any]] = Field(default_factory=list, description="code and message")
    created_at: datetime
    updated_at: datetime
    finished_at: datetime | None

    @classmethod
    def of(cls, row: Row) -> JobRead:
        total = int(row["total"])
        return cls(
            id=row["id"],
            kind=row["kind"],
            campaign_id=row["campaign_id"],
            status=row["status"],
            total=total,
            done=row["done"],
            progress=round(int(row["done"]) / total, 4) if total else 1.0,
            result=row["result"],
            errors=row["errors"] or [],
            created_at=row["created_at"],
            updated_at=row["updated_at"],
            finished_at=row["finished_at"],
        )


EventType = Annotated[str, Field(pattern=r"^(\*|[a-z_]{1,32}\.(\*|[a-z_]{1,32}))$")]


class WebhookCreate(Strict):
    url: Annotated[str, Field(min_length=8, max_length=1024, pattern=r"^[Hh][Tt][Tt][Pp][Ss]?://")]
    event_types: Annotated[list[EventType], Field(min_length=1, max_length=50)] = Field(
        default_factory=lambda: ["voucher.*"],
        description="'*', 'voucher.*' or one type such as 'voucher.charge'",
    )
    description: Text255 | None = None


class WebhookRead(BaseModel):
    id: int
    url: str
    event_types: list[str]
    description: str | None
    created_at: datetime

    @classmethod
    def of(cls, row: Row) -> WebhookRead:
        return cls(
            id=row["id"],
            url=row["url"],
            event_types=list(row["event_types"]),
            description=row["description"],
            created_at=row["created_at"],
        )


class WebhookCreated(WebhookRead):
    secret: str = Field(description="whsec_...: verifies signatures; shown only in this answer")


class DeliveryRead(BaseModel):
    id: int
    event_id: int
    voucher_id: str | None = Field(description="the voucher's public id, for voucher events")
    event_type: str
    status: Literal["pending", "delivering", "delivered", "failed"]
    attempts: int
    last_status_code: int | None
    last_error: str | None
    next_attempt_at: datetime | None
    created_at: datetime
    delivered_at: datetime | None

    @classmethod
    def of(cls, row: Row) -> DeliveryRead:
        body = load_payload(row["payload"])
        return cls(
            id=row["id"],
            event_id=row["event_id"],
            voucher_id=body.get("data", {}).get("voucher_id"),
            event_type=str(body.get("type", "")),
            status=row["status"],
            attempts=row["attempts"],
            last_status_code=row["last_status_code"],
            last_error=row["last_error"],
            next_attempt_at=row["next_attempt_at"] if row["status"] == "pending" else None,
            created_at=row["created_at"],
            delivered_at=row["delivered_at"],
        )


def load_payload(text: str) -> dict[str, Any]:
    value = orjson.loads(text)
    return value if isinstance(value, dict) else {}
