"""The Shopee face's reads: a shop's vouchers by Shopee status, page by page, and the live count.

ENGINE: the status SQL below mirrors ``domain.projections.shopee_status``; the ``engine`` helper
(issue 9 item 7) moves it into one module beside its Python projection. Until that lands on
main, ``_status_window`` is this face's only copy; replace it by the engine's SQL form then.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import and_, func, not_, or_, select

from voucherd.db import repositories as repo
from voucherd.db.tables import vouchers as vouchers_table
from voucherd.dialects.shopee.rules import SHOPEE_KINDS
from voucherd.services.unit_of_work import UnitOfWork

STATUSES = ("upcoming", "ongoing", "expired", "all")


def _status_window(kind: str, now: datetime) -> Any:
    """SQL mirror of ``projections.shopee_status`` (tested against it)."""
    v = vouchers_table.c
    expired = or_(
        v.status.in_(["expired", "void", "deleted"]), and_(v.ends_at.is_not(None), v.ends_at <= now)
    )
    upcoming = and_(
        not_(expired),
        or_(v.status == "inactive", and_(v.starts_at.is_not(None), v.starts_at > now)),
    )
    if kind == "expired":
        return expired
    if kind == "upcoming":
        return upcoming
    if kind == "ongoing":
        return and_(not_(expired), not_(upcoming))
    return None


def _listed(shop_id: int) -> list[Any]:
    v = vouchers_table.c
    return [v.tenant_id == shop_id, v.deleted_at.is_(None), v.kind.in_(SHOPEE_KINDS)]


def count_live(uow: UnitOfWork, shop_id: int) -> int:
    """Upcoming + ongoing vouchers of the shop (the 1000 limit)."""
    query = (
        select(func.count())
        .select_from(vouchers_table)
        .where(*_listed(shop_id), not_(_status_window("expired", uow.now)))
    )
    return int(uow.conn.execute(query).scalar_one())


def list_page(
    uow: UnitOfWork, shop_id: int, status: str, page_no: int, page_size: int
) -> tuple[list[repo.Row], bool]:
    query = select(vouchers_table).where(*_listed(shop_id))
    window = _status_window(status, uow.now)
    if window is not None:
        query = query.where(window)
    query = (
        query.order_by(vouchers_table.c.id.desc())
        .offset((page_no - 1) * page_size)
        .limit(page_size + 1)
    )
    rows = list(uow.conn.execute(query).mappings().all())
    return rows[:page_size], len(rows) > page_size
