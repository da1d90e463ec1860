"""Printable cards of a campaign: its vouchers' codes, a page of cards at a time.

Codes are secrets: the caller must hold the secret-reading permission (checked by the face
that shows them, as for a CSV of codes).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

from sqlalchemy import func, select

from voucherd.db import repositories as repo
from voucherd.db.tables import vouchers
from voucherd.services import campaigns
from voucherd.services.unit_of_work import Actor, UnitOfWork

PER_SHEET: Final = 60  # cards per sheet page (six A4 pages of ten cards)


@dataclass(frozen=True, slots=True)
class Sheet:
    campaign: repo.Row
    cards: Sequence[repo.Row]  # public_id, code, balance, currency, ends_at
    page: int  # 1-based
    pages: int
    total: int


def sheet(uow: UnitOfWork, actor: Actor, campaign_id: int, page: int = 1) -> Sheet:
    """Raises: NotFound (campaign)."""
    campaign = campaigns.get(uow, actor, id=campaign_id)
    v = vouchers.c
    mine = (
        (v.tenant_id == actor.tenant_id) & (v.campaign_id == campaign_id) & v.deleted_at.is_(None)
    )
    total = int(uow.conn.execute(select(func.count()).where(mine)).scalar_one())
    pages = max(1, -(-total // PER_SHEET))
    page = min(max(1, page), pages)
    cards = (
        uow.conn.execute(
            select(v.public_id, v.code, v.balance, v.currency, v.kind, v.ends_at)
            .where(mine)
            .order_by(v.id)
            .offset((page - 1) * PER_SHEET)
            .limit(PER_SHEET)
        )
        .mappings()
        .all()
    )
    return Sheet(campaign, cards, page, pages, total)


def voucher_count(uow: UnitOfWork, actor: Actor, campaign_id: int) -> int:
    return repo.campaign_voucher_count(uow.conn, actor.tenant_id, campaign_id)
