"""Reports computed from the ledger (the balance column is only its running sum).

Outstanding liability: the value still owed to card holders, by currency: the sum of the
ledger entries of every voucher that can still be spent (active or not yet activated, not
deleted). Expired value is breakage and voided value is no longer owed; neither counts.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select

from voucherd.db.tables import ledger_entries, vouchers
from voucherd.domain.lifecycle import VoucherStatus
from voucherd.services.unit_of_work import Actor, UnitOfWork

OUTSTANDING = (VoucherStatus.ACTIVE.value, VoucherStatus.INACTIVE.value)


@dataclass(frozen=True, slots=True)
class Liability:
    currency: str
    amount: int  # minor units
    vouchers: int  # how many vouchers hold some of it


def liability(uow: UnitOfWork, actor: Actor) -> list[Liability]:
    """Outstanding liability by currency, summed from the ledger; currencies in order."""
    per_voucher = (
        select(
            ledger_entries.c.voucher_id,
            ledger_entries.c.currency,
            func.sum(ledger_entries.c.amount).label("amount"),
        )
        .join(
            vouchers,
            (vouchers.c.tenant_id == ledger_entries.c.tenant_id)
            & (vouchers.c.id == ledger_entries.c.voucher_id),
        )
        .where(
            ledger_entries.c.tenant_id == actor.tenant_id,
            ledger_entries.c.currency.is_not(None),
            vouchers.c.status.in_(OUTSTANDING),
            vouchers.c.deleted_at.is_(None),
        )
        .group_by(ledger_entries.c.voucher_id, ledger_entries.c.currency)
        .subquery()
    )
    query = (
        select(
            per_voucher.c.currency,
            func.sum(per_voucher.c.amount),
            func.count().filter(per_voucher.c.amount > 0),
        )
        .group_by(per_voucher.c.currency)
        .order_by(per_voucher.c.currency)
    )
    return [
        Liability(str(currency), int(amount or 0), int(count or 0))
        for currency, amount, count in uow.conn.execute(query)
    ]


def vouchers_by_status(uow: UnitOfWork, actor: Actor) -> dict[str, int]:
    """How many vouchers are in each status (deleted ones under ``deleted``)."""
    query = (
        select(vouchers.c.status, func.count())
        .where(vouchers.c.tenant_id == actor.tenant_id)
        .group_by(vouchers.c.status)
    )
    counts = {status.value: 0 for status in VoucherStatus}
    for status, count in uow.conn.execute(query):
        counts[str(status)] = int(count)
    return counts


@dataclass(frozen=True, slots=True)
class Overview:
    liability: list[Liability]
    by_status: dict[str, int]


def overview(uow: UnitOfWork, actor: Actor) -> Overview:
    """What the dashboard's first page shows: liability by currency and vouchers by status."""
    return Overview(liability(uow, actor), vouchers_by_status(uow, actor))
