"""The dialect's own reads: batch counts, the QR lookup, the merchant's reinstate PIN, and the
next unissued voucher of a batch.

ENGINE(status SQL): ``UNISSUED`` is RM's VALID in SQL; it moves to the engine's one module per
vendor status (its SQL form beside ``domain.projections.rm_status``) when that lands.
ENGINE(allocation): ``next_unissued`` goes with RM allocation into ``campaigns.issue_next``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, case, func, select

from voucherd.db.tables import campaigns, vouchers
from voucherd.dialects.revenue_monster.tables import rm_merchants
from voucherd.domain import codes
from voucherd.domain.lifecycle import VoucherStatus

UNISSUED: Any = (vouchers.c.status == VoucherStatus.INACTIVE.value) & vouchers.c.holder_id.is_(None)


def batch_counts(
    conn: Connection, tenant_id: int, campaign_ids: Sequence[int]
) -> dict[int, dict[str, int]]:
    """``quantity`` (vouchers) and ``balance`` (not yet issued) of each batch."""
    if not campaign_ids:
        return {}
    query = (
        select(
            vouchers.c.campaign_id,
            func.count(),
            func.coalesce(func.sum(case((UNISSUED, 1), else_=0)), 0),
        )
        .where(
            vouchers.c.tenant_id == tenant_id,
            vouchers.c.campaign_id.in_(campaign_ids),
            vouchers.c.deleted_at.is_(None),
        )
        .group_by(vouchers.c.campaign_id)
    )
    return {
        int(cid): {"quantity": int(total), "balance": int(balance)}
        for cid, total, balance in conn.execute(query)
    }


def batch_total(conn: Connection, tenant_id: int) -> int:
    return int(
        conn.execute(
            select(func.count()).select_from(campaigns).where(campaigns.c.tenant_id == tenant_id)
        ).scalar_one()
    )


def next_unissued(conn: Connection, tenant_id: int, campaign_id: int, skip: list[int]) -> Any:
    """The id of the batch's first unissued voucher not in ``skip``, or None."""
    query = select(vouchers.c.id).where(
        vouchers.c.tenant_id == tenant_id,
        vouchers.c.campaign_id == campaign_id,
        UNISSUED,
        vouchers.c.deleted_at.is_(None),
    )
    if skip:
        query = query.where(vouchers.c.id.not_in(skip))
    return conn.execute(query.order_by(vouchers.c.id).limit(1)).scalar()


def qr_code(conn: Connection, tenant_id: int, code: str) -> str | None:
    """The stored spelling of a live voucher's code, for its QR image."""
    found = conn.execute(
        select(vouchers.c.code).where(
            vouchers.c.tenant_id == tenant_id,
            vouchers.c.code == codes.normalize(code),
            vouchers.c.deleted_at.is_(None),
        )
    ).scalar()
    return None if found is None else str(found)


def reinstate_pin_hash(conn: Connection, tenant_id: int) -> str | None:
    found = conn.execute(
        select(rm_merchants.c.reinstate_pin_hash).where(rm_merchants.c.tenant_id == tenant_id)
    ).scalar()
    return None if found is None else str(found)
