"""The dialect's own reads: batch counts, the QR lookup and the merchant's reinstate PIN.

"Unissued" is the engine's (``db.projections.unissued_sql``); allocation is
``services.campaigns.issue_next``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, case, func, select

from voucherd.db.projections import unissued_sql
from voucherd.db.tables import campaigns, vouchers
from voucherd.dialects.revenue_monster.tables import rm_merchants
from voucherd.domain import codes

UNISSUED: Any = unissued_sql(vouchers.c)


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
