"""Queries, one function per question; the services decide, these only read and write.

Every function takes the tenant explicitly: there is no query that can cross tenants.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, RowMapping, and_, bindparam, func, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite

from voucherd.db.tables import (
    campaigns,
    customers,
    events,
    ledger_entries,
    reservations,
    vouchers,
)
from voucherd.domain.lifecycle import VoucherStatus
from voucherd.domain.vouchers import ValidityUnit, ValueKind, VoucherState

Row = RowMapping


def insert_ignore(conn: Connection, table: Any) -> Any:
    """INSERT ... ON CONFLICT DO NOTHING for the connection's dialect."""
    if conn.dialect.name == "postgresql":
        return postgresql.insert(table).on_conflict_do_nothing()
    return sqlite.insert(table).on_conflict_do_nothing()


# --- vouchers --------------------------------------------------------------------------------


def voucher_state(row: Mapping[Any, Any]) -> VoucherState:
    return VoucherState(
        id=row["id"],
        kind=ValueKind(row["kind"]),
        status=VoucherStatus(row["status"]),
        currency=row["currency"],
        balance=row["balance"],
        uses=row["uses"],
        max_uses=row["max_uses"],
        max_uses_per_customer=row["max_uses_per_customer"],
        discount_amount=row["discount_amount"],
        discount_bps=row["discount_bps"],
        discount_cap=row["discount_cap"],
        min_spend=row["min_spend"],
        cashback_bps=row["cashback_bps"],
        starts_at=row["starts_at"],
        ends_at=row["ends_at"],
        validity_value=row["validity_value"],
        validity_unit=ValidityUnit(row["validity_unit"]) if row["validity_unit"] else None,
        holder_id=row["holder_id"],
        locked_until=row["locked_until"],
        locking_code=row["locking_code"],
        lock_basket_code=row.get("lock_basket_code"),
        hold_id=row["hold_id"],
        hold_amount=row["hold_amount"],
        hold_expires_at=row["hold_expires_at"],
        version=row["version"],
    )


# The hot path's statements are built once, with bound parameters, and reused: building a Core
# statement and its cache key on every call was 10-15% of a charge's CPU (docs/benchmarks.md).
_FIND_BY = {"id": vouchers.c.id, "public_id": vouchers.c.public_id, "code": vouchers.c.code}
_FIND: dict[tuple[str, bool, bool, bool], Any] = {}
# A voucher read may bring its campaign's columns, named ``campaign__<column>`` (RM renders
# every voucher with its batch): one statement where a face would need two. Only the voucher's
# row is locked (``FOR UPDATE OF vouchers``); the campaign is read as of the statement.
CAMPAIGN_PREFIX = "campaign__"
_WITH_CAMPAIGN = vouchers.outerjoin(
    campaigns,
    and_(campaigns.c.id == vouchers.c.campaign_id, campaigns.c.tenant_id == vouchers.c.tenant_id),
)


def _find_statement(by: str, for_update: bool, include_deleted: bool, with_campaign: bool) -> Any:
    key = (by, for_update, include_deleted, with_campaign)
    statement = _FIND.get(key)
    if statement is None:
        statement = select(vouchers)
        if with_campaign:
            labelled = (c.label(f"{CAMPAIGN_PREFIX}{c.name}") for c in campaigns.c)
            statement = select(vouchers, *labelled).select_from(_WITH_CAMPAIGN)
        statement = statement.where(
            vouchers.c.tenant_id == bindparam("b_tenant_id"),
            _FIND_BY[by] == bindparam("b_key"),
        )
        if not include_deleted:
            statement = statement.where(vouchers.c.deleted_at.is_(None))
        if for_update:
            statement = statement.with_for_update(of=vouchers if with_campaign else None)
        _FIND[key] = statement
    return statement


def campaign_of(row: Mapping[Any, Any]) -> dict[str, Any] | None:
    """The campaign read with a voucher (``find_voucher(with_campaign=True)``); None for a
    voucher of no campaign."""
    if row.get(f"{CAMPAIGN_PREFIX}id") is None:
        return None
    return {name: row[f"{CAMPAIGN_PREFIX}{name}"] for name in campaigns.c.keys()}  # noqa: SIM118


def find_voucher(
    conn: Connection,
    tenant_id: int,
    *,
    id: int | None = None,
    public_id: str | None = None,
    code: str | None = None,
    for_update: bool = False,
    include_deleted: bool = False,
    with_campaign: bool = False,
) -> Row | None:
    """The voucher (with its campaign's columns when ``with_campaign``: ``campaign_of``)."""
    key: int | str
    if id is not None:
        by, key = "id", id
    elif public_id is not None:
        by, key = "public_id", public_id
    elif code is not None:
        by, key = "code", code
    else:
        raise ValueError("find_voucher needs id, public_id or code")
    statement = _find_statement(by, for_update, include_deleted, with_campaign)
    return conn.execute(statement, {"b_tenant_id": tenant_id, "b_key": key}).mappings().first()


# SET takes the columns named in the parameters; the WHERE's own parameters are prefixed.
_UPDATE_VOUCHER = (
    update(vouchers)
    .where(
        vouchers.c.tenant_id == bindparam("b_tenant_id"),
        vouchers.c.id == bindparam("b_id"),
        vouchers.c.version == bindparam("b_version"),
    )
    .returning(*vouchers.c)
)


def update_voucher(
    conn: Connection, tenant_id: int, voucher_id: int, version: int, values: Mapping[str, Any]
) -> Row | None:
    """Write ``values`` only if nobody changed the voucher since ``version`` was read."""
    parameters = {
        **values,
        "version": version + 1,
        "b_tenant_id": tenant_id,
        "b_id": voucher_id,
        "b_version": version,
    }
    return conn.execute(_UPDATE_VOUCHER, parameters).mappings().first()


def _recorded() -> Any:
    """The event insert as a data-modifying CTE, its values named ``ev_<column>``."""
    return (
        insert(events)
        .values({c: bindparam(f"ev_{c}", type_=events.c[c].type) for c in _EVENT_COLUMNS})
        .cte("recorded")
    )


def update_voucher_with_event(
    conn: Connection,
    tenant_id: int,
    voucher_id: int,
    version: int,
    values: Mapping[str, Any],
    event: Mapping[str, Any],
) -> Row | None:
    """``update_voucher`` and the event describing the change; on PostgreSQL one statement
    (the event is a data-modifying CTE of the update), elsewhere two.

    A lost race (None) has written the event all the same on PostgreSQL: the caller refuses,
    and the refusal rolls the transaction (or its savepoint) back, event included.
    """
    if conn.dialect.name != "postgresql":
        updated = update_voucher(conn, tenant_id, voucher_id, version, values)
        if updated is not None:
            insert_event(conn, event)
        return updated
    parameters = {
        **values,
        "version": version + 1,
        "b_tenant_id": tenant_id,
        "b_id": voucher_id,
        "b_version": version,
    }
    parameters.update({f"ev_{c}": event.get(c) for c in _EVENT_COLUMNS})
    return conn.execute(_UPDATE_VOUCHER_WITH_EVENT, parameters).mappings().first()


def insert_voucher(conn: Connection, values: Mapping[str, Any]) -> Row:
    row = conn.execute(insert(vouchers).values(**values).returning(*vouchers.c)).mappings().one()
    return row


def list_vouchers(
    conn: Connection,
    tenant_id: int,
    *,
    after_id: int | None,
    limit: int,
    filters: Mapping[str, Any],
    created_from: datetime | None = None,
    created_to: datetime | None = None,
    include_deleted: bool = False,
) -> Sequence[Row]:
    query = select(vouchers).where(vouchers.c.tenant_id == tenant_id)
    if not include_deleted:
        query = query.where(vouchers.c.deleted_at.is_(None))
    for column, value in filters.items():
        if value is not None:
            query = query.where(vouchers.c[column] == value)
    if created_from is not None:
        query = query.where(vouchers.c.created_at >= created_from)
    if created_to is not None:
        query = query.where(vouchers.c.created_at < created_to)
    if after_id is not None:
        query = query.where(vouchers.c.id > after_id)
    return conn.execute(query.order_by(vouchers.c.id).limit(limit)).mappings().all()


def count_vouchers(conn: Connection, tenant_id: int, **filters: Any) -> int:
    query = select(func.count()).select_from(vouchers).where(vouchers.c.tenant_id == tenant_id)
    for column, value in filters.items():
        query = query.where(vouchers.c[column] == value)
    return int(conn.execute(query).scalar_one())


# --- ledger, events, reservations -------------------------------------------------------------


_INSERT_LEDGER = insert(ledger_entries).returning(*ledger_entries.c)
_INSERT_EVENT = insert(events)


def insert_ledger(conn: Connection, values: Mapping[str, Any]) -> Row:
    return conn.execute(_INSERT_LEDGER, dict(values)).mappings().one()


def find_ledger_entry(conn: Connection, tenant_id: int, entry_id: int) -> Row | None:
    query = select(ledger_entries).where(
        ledger_entries.c.tenant_id == tenant_id, ledger_entries.c.id == entry_id
    )
    return conn.execute(query).mappings().first()


def refunded_total(conn: Connection, tenant_id: int, entry_id: int) -> tuple[int, int]:
    """(amount refunded, number of refunds) against one charge entry."""
    query = select(func.coalesce(func.sum(ledger_entries.c.amount), 0), func.count()).where(
        ledger_entries.c.tenant_id == tenant_id, ledger_entries.c.refund_of == entry_id
    )
    amount, count = conn.execute(query).one()
    return int(amount), int(count)


def customer_uses(conn: Connection, tenant_id: int, voucher_id: int, customer_id: int) -> int:
    query = select(func.coalesce(func.sum(ledger_entries.c.uses_delta), 0)).where(
        ledger_entries.c.tenant_id == tenant_id,
        ledger_entries.c.voucher_id == voucher_id,
        ledger_entries.c.customer_id == customer_id,
    )
    return int(conn.execute(query).scalar_one())


def list_ledger(
    conn: Connection,
    tenant_id: int,
    voucher_id: int,
    *,
    after_id: int | None,
    limit: int,
    kinds: Sequence[str] | None = None,
) -> Sequence[Row]:
    query = select(ledger_entries).where(
        ledger_entries.c.tenant_id == tenant_id, ledger_entries.c.voucher_id == voucher_id
    )
    if kinds:
        query = query.where(ledger_entries.c.kind.in_(kinds))
    if after_id is not None:
        query = query.where(ledger_entries.c.id > after_id)
    return conn.execute(query.order_by(ledger_entries.c.id).limit(limit)).mappings().all()


def insert_event(conn: Connection, values: Mapping[str, Any]) -> None:
    conn.execute(_INSERT_EVENT, dict(values))


_EVENT_COLUMNS = (
    "tenant_id",
    "voucher_id",
    "subject",
    "subject_id",
    "operation",
    "actor",
    "reason",
    "before",
    "after",
    "created_at",
)
_LEDGER_WITH_EVENT: dict[frozenset[str], Any] = {}
_UPDATE_VOUCHER_WITH_EVENT = _UPDATE_VOUCHER.add_cte(_recorded())


def _ledger_with_event(columns: frozenset[str]) -> Any:
    statement = _LEDGER_WITH_EVENT.get(columns)
    if statement is None:
        recorded = _recorded()
        statement = (
            insert(ledger_entries)
            .values(
                {c: bindparam(f"le_{c}", type_=ledger_entries.c[c].type) for c in sorted(columns)}
            )
            .returning(*ledger_entries.c)
            .add_cte(recorded)
        )
        _LEDGER_WITH_EVENT[columns] = statement
    return statement


def insert_ledger_with_event(
    conn: Connection, entry: Mapping[str, Any], event: Mapping[str, Any]
) -> Row:
    """The ledger entry and the event describing it; on PostgreSQL one statement (one round
    trip: the event is a data-modifying CTE of the ledger insert), elsewhere two."""
    if conn.dialect.name != "postgresql":
        row = insert_ledger(conn, entry)
        insert_event(conn, event)
        return row
    parameters = {f"le_{k}": v for k, v in entry.items()}
    parameters.update({f"ev_{c}": event.get(c) for c in _EVENT_COLUMNS})
    statement = _ledger_with_event(frozenset(entry))
    return conn.execute(statement, parameters).mappings().one()


def list_events(
    conn: Connection, tenant_id: int, voucher_id: int, *, after_id: int | None, limit: int
) -> Sequence[Row]:
    query = select(events).where(events.c.tenant_id == tenant_id, events.c.voucher_id == voucher_id)
    if after_id is not None:
        query = query.where(events.c.id > after_id)
    return conn.execute(query.order_by(events.c.id).limit(limit)).mappings().all()


# Built once, like the vouchers' statements above (every JTL and Shopee reservation uses them).
_INSERT_RESERVATION = insert(reservations).returning(*reservations.c)
_FIND_RESERVATION = select(
    reservations,
    select(vouchers.c.public_id)
    .where(
        vouchers.c.tenant_id == bindparam("b_tenant_id"),
        vouchers.c.id == reservations.c.voucher_id,
    )
    .scalar_subquery()
    .label("voucher_public_id"),
).where(
    reservations.c.tenant_id == bindparam("b_tenant_id"), reservations.c.id == bindparam("b_id")
)
_CLOSE_RESERVATIONS = update(reservations).where(
    reservations.c.tenant_id == bindparam("b_tenant_id"),
    reservations.c.voucher_id == bindparam("b_voucher_id"),
    reservations.c.status == "open",
)
_CLOSE_RESERVATION = _CLOSE_RESERVATIONS.where(reservations.c.id == bindparam("b_id"))


def insert_reservation(conn: Connection, values: Mapping[str, Any]) -> Row:
    return conn.execute(_INSERT_RESERVATION, dict(values)).mappings().one()


# The voucher of a reservation, locked, in one statement. Correct under READ COMMITTED as a
# whole: a reservation's voucher never changes, so the subquery's answer cannot go stale while
# the statement waits for the lock (PostgreSQL re-checks only the locked row). What the
# reservation says (its status) can: callers read it again after this (``find_reservation``).
_LOCK_RESERVED_VOUCHER = (
    select(vouchers)
    .where(
        vouchers.c.tenant_id == bindparam("b_tenant_id"),
        vouchers.c.id
        == select(reservations.c.voucher_id)
        .where(
            reservations.c.tenant_id == bindparam("b_tenant_id"),
            reservations.c.id == bindparam("b_id"),
        )
        .scalar_subquery(),
    )
    .with_for_update()
)


def lock_reserved_voucher(conn: Connection, tenant_id: int, reservation_id: int) -> Row | None:
    """The voucher a reservation holds value on, read for update (a deleted one too); None if
    there is no such reservation (or, impossibly, no such voucher)."""
    parameters = {"b_tenant_id": tenant_id, "b_id": reservation_id}
    return conn.execute(_LOCK_RESERVED_VOUCHER, parameters).mappings().first()


def find_reservation(conn: Connection, tenant_id: int, reservation_id: int) -> Row | None:
    """The reservation, plus ``voucher_public_id`` (how every face names its voucher)."""
    parameters = {"b_tenant_id": tenant_id, "b_id": reservation_id}
    return conn.execute(_FIND_RESERVATION, parameters).mappings().first()


def close_reservations(
    conn: Connection,
    tenant_id: int,
    voucher_id: int,
    status: str,
    now: datetime,
    only_id: int | None = None,
) -> None:
    """Mark the voucher's open reservation(s) as ``status``."""
    parameters: dict[str, Any] = {
        "b_tenant_id": tenant_id,
        "b_voucher_id": voucher_id,
        "status": status,
        "closed_at": now,
    }
    if only_id is None:
        conn.execute(_CLOSE_RESERVATIONS, parameters)
    else:
        conn.execute(_CLOSE_RESERVATION, {**parameters, "b_id": only_id})


# --- campaigns and customers -----------------------------------------------------------------


_FIND_CAMPAIGN = {
    by: select(campaigns).where(
        campaigns.c.tenant_id == bindparam("b_tenant_id"), column == bindparam("b_key")
    )
    for by, column in (("id", campaigns.c.id), ("key", campaigns.c.key))
}


def find_campaign(
    conn: Connection, tenant_id: int, *, id: int | None = None, key: str | None = None
) -> Row | None:
    by, value = ("id", id) if id is not None else ("key", key)
    parameters = {"b_tenant_id": tenant_id, "b_key": value}
    return conn.execute(_FIND_CAMPAIGN[by], parameters).mappings().first()


def list_campaigns(
    conn: Connection, tenant_id: int, *, after_id: int | None, limit: int
) -> Sequence[Row]:
    query = select(campaigns).where(campaigns.c.tenant_id == tenant_id)
    if after_id is not None:
        query = query.where(campaigns.c.id > after_id)
    return conn.execute(query.order_by(campaigns.c.id).limit(limit)).mappings().all()


def find_customer(
    conn: Connection, tenant_id: int, *, id: int | None = None, external_ref: str | None = None
) -> Row | None:
    query = select(customers).where(customers.c.tenant_id == tenant_id)
    if id is not None:
        query = query.where(customers.c.id == id)
    else:
        query = query.where(customers.c.external_ref == external_ref)
    return conn.execute(query).mappings().first()


def insert_customer(conn: Connection, values: Mapping[str, Any]) -> Row:
    return conn.execute(insert(customers).values(**values).returning(*customers.c)).mappings().one()


def campaign_voucher_count(conn: Connection, tenant_id: int, campaign_id: int) -> int:
    query = (
        select(func.count())
        .select_from(vouchers)
        .where(and_(vouchers.c.tenant_id == tenant_id, vouchers.c.campaign_id == campaign_id))
    )
    return int(conn.execute(query).scalar_one())
