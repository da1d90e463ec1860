"""Bulk generation and the expiry sweep keep the audit trail whole (SQLite and PostgreSQL).

Modest sizes (20,000 vouchers), several chunks and batches each; no timing here (see
bench/bulk.py for the 1,000,000-voucher targets).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, func, insert, select
from sqlalchemy.exc import IntegrityError

from tests.conftest import TenantFixture, make_tenant
from voucherd.db.tables import events, ledger_entries, vouchers
from voucherd.domain import codes
from voucherd.services import campaigns, imports, sweep
from voucherd.services.unit_of_work import UnitOfWork
from voucherd.services.vouchers import NewVoucher

N = 20_000


def _campaign(
    engine: Engine,
    t: TenantFixture,
    *,
    ends_at: datetime | None = None,
    spec: codes.CodeSpec | None = None,
) -> int:
    with UnitOfWork(engine) as uow:
        row = campaigns.create(
            uow,
            t.actor,
            name="bulk",
            activate_on_create=True,
            template=NewVoucher(currency="EUR", amount=700, ends_at=ends_at),
            code_spec=spec,
            pin_protected=spec is not None,
        )
        uow.commit()
    return int(row["id"])


def _generate(engine: Engine, t: TenantFixture, campaign_id: int, count: int, chunk: int) -> int:
    seen: list[int] = []
    with UnitOfWork(engine) as uow:
        created = campaigns.generate(
            uow, t.actor, campaign_id, count, chunk_size=chunk, progress=seen.append
        )
        uow.commit()
    assert sum(seen) == created
    return created


def _per_voucher(engine: Engine, t: TenantFixture, campaign_id: int, table: object) -> list[int]:
    """How many rows of ``table`` (events or ledger_entries, already filtered) each of the
    campaign's vouchers has, one number per voucher."""
    subquery = table.subquery()  # type: ignore[attr-defined]
    with engine.connect() as conn:
        rows = conn.execute(
            select(func.count(subquery.c.voucher_id))
            .select_from(vouchers)
            .outerjoin(subquery, subquery.c.voucher_id == vouchers.c.id)
            .where(vouchers.c.tenant_id == t.id, vouchers.c.campaign_id == campaign_id)
            .group_by(vouchers.c.id)
        ).all()
    return [int(r[0]) for r in rows]


def _issue_entries(t: TenantFixture) -> object:
    return select(ledger_entries.c.voucher_id).where(
        ledger_entries.c.tenant_id == t.id, ledger_entries.c.kind == "issue"
    )


def _voucher_events(t: TenantFixture, operation: str) -> object:
    return select(events.c.voucher_id).where(
        events.c.tenant_id == t.id,
        events.c.subject == "voucher",
        events.c.operation == operation,
    )


def _codes(engine: Engine, t: TenantFixture, campaign_id: int) -> tuple[int, int, int]:
    with engine.connect() as conn:
        row = conn.execute(
            select(
                func.count(),
                func.count(func.distinct(vouchers.c.code)),
                func.count(func.distinct(vouchers.c.public_id)),
            ).where(vouchers.c.tenant_id == t.id, vouchers.c.campaign_id == campaign_id)
        ).one()
    return int(row[0]), int(row[1]), int(row[2])


def test_bulk_generate_has_no_duplicates_and_one_entry_and_event_per_voucher(
    engine: Engine, tenant: TenantFixture
) -> None:
    campaign_id = _campaign(engine, tenant)
    assert _generate(engine, tenant, campaign_id, N, chunk=6_000) == N
    assert _codes(engine, tenant, campaign_id) == (N, N, N)
    entries = _per_voucher(engine, tenant, campaign_id, _issue_entries(tenant))
    created = _per_voucher(engine, tenant, campaign_id, _voucher_events(tenant, "create"))
    assert len(entries) == len(created) == N
    assert set(entries) == {1} and set(created) == {1}


def test_generate_in_a_crowded_code_space_still_creates_distinct_codes(
    engine: Engine, tenant: TenantFixture
) -> None:
    """32,768 possible codes (generation stops at 10% full), 3,000 of them taken first: a
    later chunk of 90 draws about 8 taken codes, so it goes the slow way (ON CONFLICT) on
    PostgreSQL, and the codes it could not use are drawn again."""
    campaign_id = _campaign(engine, tenant, spec=codes.CodeSpec(charset="AB", length=15))
    assert _generate(engine, tenant, campaign_id, 3_000, chunk=500) == 3_000
    assert _generate(engine, tenant, campaign_id, 270, chunk=90) == 270
    assert _codes(engine, tenant, campaign_id) == (3_270, 3_270, 3_270)
    created = _per_voucher(engine, tenant, campaign_id, _voucher_events(tenant, "create"))
    entries = _per_voucher(engine, tenant, campaign_id, _issue_entries(tenant))
    assert set(created) == {1} and set(entries) == {1} and len(created) == 3_270


def test_a_large_generate_leaves_statistics_that_count_its_rows(
    engine: Engine, tenant: TenantFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Past BULK_ANALYZE vouchers, the generate refreshes the statistics of the three tables
    it wrote, in its own transaction (a coarse sample for a table it at least doubled), and
    leaves the session's statistics target as it found it."""
    if engine.dialect.name != "postgresql":
        pytest.skip("statistics are PostgreSQL's")
    monkeypatch.setattr(campaigns, "BULK_ANALYZE", 1_000)
    campaign_id = _campaign(engine, tenant)
    with UnitOfWork(engine) as uow:
        target = uow.conn.exec_driver_sql("SHOW default_statistics_target").scalar()
        before = uow.conn.execute(select(func.count()).select_from(vouchers)).scalar_one()
        assert campaigns.generate(uow, tenant.actor, campaign_id, 3_000, chunk_size=1_000) == 3_000
        counted = uow.conn.exec_driver_sql(
            "SELECT reltuples FROM pg_class WHERE oid = CAST('vouchers' AS regclass)"
        ).scalar()
        after = uow.conn.exec_driver_sql("SHOW default_statistics_target").scalar()
        # Rolled back: statistics left by this test's sample (committed, they would miss the
        # tenants of later tests) made the next test's per-voucher count plan a nested loop.
        uow.rollback()
    assert after == target
    # Counted with this transaction's own rows (a sample's estimate, hence the margin).
    assert counted is not None and counted >= 0.9 * (before + 3_000)


def test_a_large_csv_import_leaves_statistics_that_count_its_events(
    engine: Engine, tenant: TenantFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Past BULK_ANALYZE rows a CSV import refreshes the written tables' statistics in its
    own transaction, as a generate does: `verify` after a 100,000-row import otherwise
    planned its per-voucher event check for a handful of events and ran for minutes."""
    if engine.dialect.name != "postgresql":
        pytest.skip("statistics are PostgreSQL's")
    monkeypatch.setattr(campaigns, "BULK_ANALYZE", 1_000)
    lines = ["code,amount,currency"] + [f"STATS-{tenant.id}-{n:05d},100,EUR" for n in range(2_000)]
    with UnitOfWork(engine) as uow:
        before = uow.conn.execute(select(func.count()).select_from(events)).scalar_one()
        assert imports.import_vouchers(uow, tenant.actor, lines).created == 2_000
        counted = uow.conn.exec_driver_sql(
            "SELECT reltuples FROM pg_class WHERE oid = CAST('events' AS regclass)"
        ).scalar()
        uow.rollback()  # (see the generate's test above: statistics of this sample stay here)
    assert counted is not None and counted >= 0.9 * (before + 2_000)


def test_sweep_of_many_due_vouchers_writes_one_event_each(
    engine: Engine, tenant: TenantFixture
) -> None:
    soon = datetime.now(UTC) + timedelta(seconds=30)
    campaign_id = _campaign(engine, tenant, ends_at=soon)
    assert _generate(engine, tenant, campaign_id, N, chunk=10_000) == N
    result = sweep.run(engine, now=soon + timedelta(seconds=1), batch_size=3_000)
    assert result.expired_vouchers >= N  # the shared test database may hold other due ones
    with engine.connect() as conn:
        statuses = conn.execute(
            select(vouchers.c.status, func.count())
            .where(vouchers.c.tenant_id == tenant.id, vouchers.c.campaign_id == campaign_id)
            .group_by(vouchers.c.status)
        ).all()
    assert {s: int(n) for s, n in statuses} == {"expired": N}
    expired = _per_voucher(engine, tenant, campaign_id, _voucher_events(tenant, "expire"))
    assert len(expired) == N and set(expired) == {1}
    # A second sweep finds nothing of this campaign left to expire and writes no event.
    sweep.run(engine, now=soon + timedelta(seconds=2), batch_size=3_000)
    again = _per_voucher(engine, tenant, campaign_id, _voucher_events(tenant, "expire"))
    assert set(again) == {1}


def test_the_sweep_finds_due_vouchers_through_its_partial_index(engine: Engine) -> None:
    """``ix_vouchers_ends_at`` holds only the vouchers the sweep can still expire; the sweep's
    selection states that condition so the database can use it (SQLite matches a partial
    index only against the same literals, so a bound-parameter IN would scan the table)."""
    query = sweep.due_vouchers(datetime.now(UTC), 100)
    with engine.connect() as conn:
        compiled = query.compile(dialect=conn.dialect)
        if conn.dialect.name == "sqlite":
            params: Any = tuple(compiled.params[k] for k in compiled.positiontup or ())
            rows = conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {compiled}", params).all()
            plan = " ".join(str(r[-1]) for r in rows)
        else:
            conn.exec_driver_sql("SET enable_seqscan = off")  # this session only
            rows = conn.exec_driver_sql(f"EXPLAIN {compiled}", compiled.params).all()
            plan = " ".join(str(r[0]) for r in rows)
            conn.rollback()
    assert "ix_vouchers_ends_at" in plan, plan


def test_a_ledger_entry_cannot_name_another_tenants_voucher(
    engine: Engine, tenant: TenantFixture
) -> None:
    """Ledger entries have no key of their own to ``tenants`` (core_0008_bulk_keys): the
    composite key to the voucher still refuses an entry whose tenant is not the voucher's."""
    other = make_tenant(engine, "other")
    campaign_id = _campaign(engine, tenant)
    assert _generate(engine, tenant, campaign_id, 1, chunk=1) == 1
    with engine.connect() as conn:
        voucher_id = conn.execute(
            select(vouchers.c.id).where(vouchers.c.campaign_id == campaign_id)
        ).scalar_one()
    entry = {
        "voucher_id": voucher_id,
        "kind": "recharge",
        "amount": 100,
        "currency": "EUR",
        "balance_after": 800,
        "created_at": datetime.now(UTC),
    }
    with pytest.raises(IntegrityError), engine.begin() as conn:
        conn.execute(insert(ledger_entries).values(tenant_id=other.id, **entry))
    with pytest.raises(IntegrityError), engine.begin() as conn:
        conn.execute(insert(ledger_entries).values(tenant_id=10**9, **entry))
    with engine.connect() as conn:  # under the voucher's own tenant it is accepted (then
        conn.execute(insert(ledger_entries).values(tenant_id=tenant.id, **entry))
        conn.rollback()  # rolled back: the shared database's ledger stays balanced)
