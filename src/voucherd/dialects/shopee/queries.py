"""The Shopee face's reads: a shop's vouchers by Shopee status, page by page, and the live count.

Shopee's status in SQL is ``db.projections.shopee_status_sql``, beside its Python projection
(``db.projections.shopee_status``) and tested against it.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from voucherd.db import repositories as repo
from voucherd.db.projections import shopee_status_sql
from voucherd.db.tables import vouchers as vouchers_table
from voucherd.dialects.shopee.rules import SHOPEE_KINDS
from voucherd.services.unit_of_work import UnitOfWork

STATUSES = ("upcoming", "ongoing", "expired", "all")


def _listed(shop_id: int) -> list[Any]:
    v = vouchers_table.c
    return [v.tenant_id == shop_id, v.deleted_at.is_(None), v.kind.in_(SHOPEE_KINDS)]


def count_live(uow: UnitOfWork, shop_id: int) -> int:
    """Upcoming + ongoing vouchers of the shop (the 1000 limit)."""
    query = (
        select(func.count())
        .select_from(vouchers_table)
        .where(*_listed(shop_id), shopee_status_sql(vouchers_table.c, uow.now) != "expired")
    )
    return int(uow.conn.execute(query).scalar_one())


def list_page(
    uow: UnitOfWork, shop_id: int, status: str, page_no: int, page_size: int
) -> tuple[list[repo.Row], bool]:
    query = select(vouchers_table).where(*_listed(shop_id))
    if status != "all":
        query = query.where(shopee_status_sql(vouchers_table.c, uow.now) == status)
    query = (
        query.order_by(vouchers_table.c.id.desc())
        .offset((page_no - 1) * page_size)
        .limit(page_size + 1)
    )
    rows = list(uow.conn.execute(query).mappings().all())
    return rows[:page_size], len(rows) > page_size
