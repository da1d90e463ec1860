"""Read-only page queries for JTL's Laravel-style lists (offset pages with a total).

They read the engine's tables for one tenant and never write; every change goes through
``voucherd.services``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Select, func, select

from voucherd.db.projections import jtl_status_sql
from voucherd.db.repositories import Row
from voucherd.db.tables import ledger_entries, vouchers
from voucherd.domain.vouchers import ValueKind

# JTL "active" = chargeable in principle (a used-up card stays active); the rest is inactive.


@dataclass(frozen=True, slots=True)
class VoucherFilter:
    status: str | None = None
    batch: str | None = None
    sku: str | None = None
    type: str | None = None
    order_number: str | None = None
    created_from: datetime | None = None
    created_to: datetime | None = None


def _page(
    conn: Connection, query: Select[Any], order: Any, page: int, per_page: int
) -> tuple[Sequence[Row], int]:
    total = conn.execute(select(func.count()).select_from(query.subquery())).scalar_one()
    rows = (
        conn.execute(query.order_by(order).offset((page - 1) * per_page).limit(per_page))
        .mappings()
        .all()
    )
    return rows, int(total)


def voucher_page(
    conn: Connection, tenant_id: int, where: VoucherFilter, page: int, per_page: int
) -> tuple[Sequence[Row], int]:
    query = select(vouchers).where(
        vouchers.c.tenant_id == tenant_id,
        vouchers.c.deleted_at.is_(None),
        vouchers.c.kind == ValueKind.STORED_VALUE.value,
    )
    if where.status in ("active", "inactive"):
        query = query.where(jtl_status_sql(vouchers.c) == where.status)
    for column, value in (
        ("label", where.batch),
        ("sku", where.sku),
        ("medium", where.type),
        ("order_number", where.order_number),
    ):
        if value is not None:
            query = query.where(vouchers.c[column] == value)
    if where.created_from is not None:
        query = query.where(vouchers.c.created_at >= where.created_from)
    if where.created_to is not None:
        query = query.where(vouchers.c.created_at <= where.created_to)
    return _page(conn, query, vouchers.c.id, page, per_page)


def charge_page(
    conn: Connection,
    tenant_id: int,
    voucher_id: int,
    kinds: Sequence[str],
    page: int,
    per_page: int,
) -> tuple[Sequence[Row], int]:
    query = select(ledger_entries).where(
        ledger_entries.c.tenant_id == tenant_id,
        ledger_entries.c.voucher_id == voucher_id,
        ledger_entries.c.kind.in_(kinds),
    )
    return _page(conn, query, ledger_entries.c.id, page, per_page)
