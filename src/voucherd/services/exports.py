"""Exports of a tenant's vouchers, ledger entries and events, as rows for CSV (streamed).

An export is planned inside the request's unit of work (``plan_*``: the caller's rights and
the filters are checked there, and the highest id is fixed), then its rows are read by
``rows`` one page at a time, each page in its own short read-only transaction, so neither the
process nor the database holds the whole export. Rows come in id order and only rows that
existed when the export was planned are part of it: ledger entries and events are never
changed, so their export is exact; a voucher changed while its export runs shows its state at
the moment its page was read.

Codes are secrets: the vouchers export has a ``code`` column only when the caller may read
secrets (the ``read-secrets`` scope, or a staff role with that permission).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

import orjson
from sqlalchemy import Engine, Select, func, select

from voucherd.db.tables import campaigns, events, ledger_entries, vouchers
from voucherd.domain import errors
from voucherd.services import campaigns as campaign_service
from voucherd.services.unit_of_work import Actor, UnitOfWork

PAGE: Final = 1000
KINDS: Final = ("vouchers", "ledger", "events")

VOUCHER_COLUMNS: Final = (
    "public_id",
    "code",
    "kind",
    "status",
    "currency",
    "balance",
    "uses",
    "max_uses",
    "discount_amount",
    "discount_bps",
    "campaign",
    "customer_id",
    "starts_at",
    "ends_at",
    "activated_at",
    "redeemed_at",
    "voided_at",
    "created_at",
    "updated_at",
)
LEDGER_COLUMNS: Final = (
    "id",
    "created_at",
    "voucher",
    "kind",
    "amount",
    "currency",
    "balance_after",
    "uses_delta",
    "uses_after",
    "value",
    "refund_of",
    "reservation_id",
    "order_number",
    "customer_id",
    "client_id",
)
EVENT_COLUMNS: Final = (
    "id",
    "created_at",
    "subject",
    "subject_id",
    "operation",
    "actor",
    "reason",
    "before",
    "after",
)


@dataclass(frozen=True, slots=True)
class Export:
    """What to export; ``header`` names the CSV columns in order."""

    kind: str
    tenant_id: int
    header: tuple[str, ...]
    last_id: int  # the highest id when planned: later rows are not part of this export
    since: datetime | None = None
    until: datetime | None = None
    campaign_id: int | None = None

    @property
    def filename(self) -> str:
        return f"{self.kind}.csv"


Plan = Callable[[UnitOfWork, Actor], Export]
"""An export planned for an actor in a unit of work (how the faces pass ``plan_*`` on)."""


def _last_id(uow: UnitOfWork, table: Any, tenant_id: int) -> int:
    query = select(func.max(table.c.id)).where(table.c.tenant_id == tenant_id)
    return int(uow.conn.execute(query).scalar() or 0)


def _period(since: datetime | None, until: datetime | None) -> None:
    if since is not None and until is not None and since > until:
        raise errors.ValidationFailed("from must not be after to", field="from", rule="before")


def plan_vouchers(
    uow: UnitOfWork,
    actor: Actor,
    *,
    with_codes: bool,
    campaign_id: int | None = None,
) -> Export:
    """Raises: NotFound (campaign)."""
    if campaign_id is not None:
        campaign_service.get(uow, actor, id=campaign_id)
    header = tuple(c for c in VOUCHER_COLUMNS if with_codes or c != "code")
    return Export(
        "vouchers",
        actor.tenant_id,
        header,
        _last_id(uow, vouchers, actor.tenant_id),
        campaign_id=campaign_id,
    )


def plan_ledger(
    uow: UnitOfWork, actor: Actor, *, since: datetime | None, until: datetime | None
) -> Export:
    """Ledger entries created in [since, until] (either end open). Raises: ValidationFailed."""
    _period(since, until)
    last = _last_id(uow, ledger_entries, actor.tenant_id)
    return Export("ledger", actor.tenant_id, LEDGER_COLUMNS, last, since, until)


def plan_events(
    uow: UnitOfWork, actor: Actor, *, since: datetime | None, until: datetime | None
) -> Export:
    """Events recorded in [since, until] (either end open). Raises: ValidationFailed."""
    _period(since, until)
    last = _last_id(uow, events, actor.tenant_id)
    return Export("events", actor.tenant_id, EVENT_COLUMNS, last, since, until)


def _voucher_page(export: Export, after: int) -> Select[Any]:
    v = vouchers.c
    query = (
        select(v.id, *[v[c] for c in VOUCHER_COLUMNS if c not in ("campaign", "customer_id")])
        .add_columns(campaigns.c.key.label("campaign"), v.holder_id.label("customer_id"))
        .select_from(
            vouchers.outerjoin(
                campaigns,
                (campaigns.c.tenant_id == v.tenant_id) & (campaigns.c.id == v.campaign_id),
            )
        )
        .where(v.tenant_id == export.tenant_id, v.id > after, v.id <= export.last_id)
        .where(v.deleted_at.is_(None))
    )
    if export.campaign_id is not None:
        query = query.where(v.campaign_id == export.campaign_id)
    return query.order_by(v.id).limit(PAGE)


def _ledger_page(export: Export, after: int) -> Select[Any]:
    e = ledger_entries.c
    query = (
        select(e.id, *[e[c] for c in LEDGER_COLUMNS if c not in ("id", "voucher")])
        .add_columns(vouchers.c.public_id.label("voucher"))
        .select_from(
            ledger_entries.join(
                vouchers, (vouchers.c.tenant_id == e.tenant_id) & (vouchers.c.id == e.voucher_id)
            )
        )
        .where(e.tenant_id == export.tenant_id, e.id > after, e.id <= export.last_id)
    )
    if export.since is not None:
        query = query.where(e.created_at >= export.since)
    if export.until is not None:
        query = query.where(e.created_at <= export.until)
    return query.order_by(e.id).limit(PAGE)


def _event_page(export: Export, after: int) -> Select[Any]:
    e = events.c
    query = select(*[e[c] for c in EVENT_COLUMNS]).where(
        e.tenant_id == export.tenant_id, e.id > after, e.id <= export.last_id
    )
    if export.since is not None:
        query = query.where(e.created_at >= export.since)
    if export.until is not None:
        query = query.where(e.created_at <= export.until)
    return query.order_by(e.id).limit(PAGE)


PAGES: Final = {"vouchers": _voucher_page, "ledger": _ledger_page, "events": _event_page}


def _cell(name: str, value: Any) -> Any:
    if name in ("before", "after") and value is not None:
        return orjson.dumps(value, option=orjson.OPT_SORT_KEYS).decode()
    return value


def rows(engine: Engine, export: Export) -> Iterator[Sequence[Any]]:
    """The export's rows in ``header`` order, a page per short read-only transaction."""
    after = 0
    while True:
        with UnitOfWork(engine, readonly=True) as uow:
            page = uow.conn.execute(PAGES[export.kind](export, after)).mappings().all()
        if not page:
            return
        for row in page:
            yield [_cell(name, row[name]) for name in export.header]
        if len(page) < PAGE:
            return
        after = int(page[-1]["id"])
