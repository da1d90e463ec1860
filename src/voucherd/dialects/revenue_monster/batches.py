"""RM voucher batches as engine campaigns (RM creates batches in its portal; here the CLI)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import Engine

from voucherd.domain.vouchers import ValidityUnit, ValueKind
from voucherd.services import campaigns, hashing
from voucherd.services.unit_of_work import Actor, UnitOfWork
from voucherd.services.vouchers import NewVoucher

CURRENCY = "MYR"  # RM amounts are sen (cents) of Malaysian ringgit

RmType = Literal["CASH", "DISCOUNT", "GIFT"]


@dataclass(frozen=True, slots=True)
class NewBatch:
    label: str
    type: RmType
    quantity: int
    amount: int | None = None  # cents: CASH value, or a fixed DISCOUNT
    discount_rate: int | None = None  # basis points: a percentage DISCOUNT
    minimum_spend: int | None = None
    expiry_days: int | None = None  # DYNAMIC: days from issue
    expires_at: datetime | None = None  # FIXED


def template(spec: NewBatch) -> NewVoucher:
    """Raises: ValueError naming what does not fit RM's batch rules."""
    if spec.expiry_days is not None and spec.expires_at is not None:
        raise ValueError("give either --expiry-days (DYNAMIC) or --expires-at (FIXED)")
    unit = ValidityUnit.DAYS if spec.expiry_days is not None else None

    def voucher(kind: ValueKind, **value: Any) -> NewVoucher:
        return NewVoucher(
            kind=kind,
            currency=CURRENCY,
            min_spend=spec.minimum_spend or None,
            validity_value=spec.expiry_days,
            validity_unit=unit,
            ends_at=spec.expires_at,
            metadata={"rm": {"type": spec.type}},
            **value,
        )

    if spec.type == "CASH":
        if not spec.amount or spec.discount_rate:
            raise ValueError("a CASH batch needs --amount (cents) and no --discount-rate")
        return voucher(ValueKind.STORED_VALUE, amount=spec.amount, max_uses=1)
    if spec.type == "DISCOUNT":
        if bool(spec.amount) == bool(spec.discount_rate):
            raise ValueError("a DISCOUNT batch needs exactly one of --amount, --discount-rate")
        if spec.amount:
            return voucher(ValueKind.FIXED_DISCOUNT, discount_amount=spec.amount)
        return voucher(ValueKind.PERCENT_DISCOUNT, discount_bps=spec.discount_rate)
    if spec.amount or spec.discount_rate:
        raise ValueError("a GIFT batch has no --amount or --discount-rate")
    return voucher(ValueKind.GIFT, gift_description=spec.label)


def create(
    engine: Engine, tenant_id: int, spec: NewBatch, actor_name: str = "cli"
) -> dict[str, object]:
    """One transaction: the campaign and its ``quantity`` vouchers (unissued, inactive).

    Raises: ValueError, VoucherdError.
    """
    if not spec.label.strip():
        raise ValueError("--label is required")
    voucher = template(spec)
    actor = Actor(tenant_id, actor_name)
    with UnitOfWork(engine) as uow:
        row = campaigns.create(
            uow, actor, name=spec.label, template=voucher, key="vb_" + _key_suffix()
        )
        created = campaigns.generate(uow, actor, row["id"], spec.quantity)
        uow.commit()
    return {
        "key": row["key"],
        "id": row["id"],
        "label": spec.label,
        "type": spec.type,
        "quantity": created,
    }


def _key_suffix() -> str:
    return hashing.random_id(24, "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz")
