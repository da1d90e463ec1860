"""Read-only voucher lists for get-vouchers and get-user-vouchers."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, func, or_, select

from voucherd.db import repositories as repo
from voucherd.db.projections import spaaza_status_sql
from voucherd.db.tables import vouchers
from voucherd.domain.lifecycle import VoucherStatus
from voucherd.services.unit_of_work import UnitOfWork


@dataclass(slots=True)
class Filters:
    user_id: int | None = None
    campaign_id: int | None = None
    voucher_id: int | None = None
    show_expired: bool = False
    show_redeemed: bool = False  # only redeemed vouchers
    show_all_statuses: bool = False  # generated, claimed and redeemed together
    exclude_regenerated: bool = False
    min_created: datetime | None = None
    max_created: datetime | None = None
    min_expiry: datetime | None = None
    max_expiry: datetime | None = None
    min_redeemed: datetime | None = None
    max_redeemed: datetime | None = None  # every max_* is exclusive (``params.until``)


def _user_owned(user_id: int) -> Any:
    meta_user = vouchers.c.metadata["spaaza_user_id"].as_integer()
    return or_(
        vouchers.c.holder_id == user_id, and_(vouchers.c.holder_id.is_(None), meta_user == user_id)
    )


def _conditions(chain_id: int, f: Filters, now: datetime) -> list[Any]:
    c = vouchers.c
    where: list[Any] = [c.tenant_id == chain_id, c.deleted_at.is_(None)]
    if f.user_id is not None:
        where.append(_user_owned(f.user_id))
    if f.campaign_id is not None:
        where.append(c.campaign_id == f.campaign_id)
    if f.voucher_id is not None:
        where.append(c.id == f.voucher_id)
    if f.show_redeemed:
        where.append(spaaza_status_sql(c) == "redeemed")
    elif not f.show_all_statuses:
        where.append(spaaza_status_sql(c) != "redeemed")
    if not f.show_expired:
        where.append(c.status != VoucherStatus.EXPIRED.value)
        where.append(or_(c.ends_at.is_(None), c.ends_at > now))
    if f.exclude_regenerated:
        where.append(c.metadata["spaaza_parent_voucher_id"].as_integer().is_(None))
    for column, low, high in (
        (c.created_at, f.min_created, f.max_created),
        (c.ends_at, f.min_expiry, f.max_expiry),
        (c.redeemed_at, f.min_redeemed, f.max_redeemed),
    ):
        if low is not None:
            where.append(column >= low)
        if high is not None:
            where.append(column < high)
    return where


def list_vouchers(
    uow: UnitOfWork, chain_id: int, f: Filters, *, limit: int, offset: int
) -> tuple[int, Sequence[repo.Row]]:
    where = _conditions(chain_id, f, uow.now)
    total = uow.conn.execute(select(func.count()).select_from(vouchers).where(*where)).scalar_one()
    rows = (
        uow.conn.execute(
            select(vouchers).where(*where).order_by(vouchers.c.id).limit(limit).offset(offset)
        )
        .mappings()
        .all()
    )
    return int(total), rows
