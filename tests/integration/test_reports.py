"""Reports against the ledger: random histories, then every report recomputed in Python.

The oracle is independent of the report queries: it reads the ledger rows as they are and
follows each voucher's status as the services answered it, step by step.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, select, update

from tests.conftest import TenantFixture, make_tenant
from voucherd.db.tables import ledger_entries, vouchers
from voucherd.domain.errors import VoucherdError
from voucherd.services import campaigns, reports, value, verify
from voucherd.services import vouchers as voucher_service
from voucherd.services.changes import VoucherRef
from voucherd.services.unit_of_work import UnitOfWork
from voucherd.services.vouchers import NewVoucher

START = datetime(2025, 1, 1, tzinfo=UTC)
OUTSTANDING = {"inactive", "active", "redeemed"}

create = st.tuples(
    st.just("create"),
    st.sampled_from(["EUR", "USD"]),
    st.integers(1, 10_000),
    st.booleans(),  # active
    st.booleans(),  # in the campaign
)
act = st.tuples(
    st.sampled_from(["charge", "recharge", "void", "reinstate", "end", "activate", "delete"]),
    st.integers(0, 7),  # which voucher (modulo how many exist)
    st.integers(1, 6_000),
)
steps = st.lists(st.tuples(st.integers(0, 200), st.one_of(create, act)), min_size=1, max_size=14)


@dataclass
class Model:
    created: dict[int, datetime] = field(default_factory=dict)
    currency: dict[int, str] = field(default_factory=dict)
    campaign: dict[int, int | None] = field(default_factory=dict)
    timeline: dict[int, list[tuple[datetime, str]]] = field(
        default_factory=lambda: defaultdict(list)
    )

    def status_at(self, voucher_id: int, moment: datetime) -> str | None:
        status = None
        for when, value_ in self.timeline[voucher_id]:
            if when <= moment:
                status = value_
        return status


def play_plan(engine: Engine, plan: list[tuple[int, Any]]) -> tuple[TenantFixture, Model, datetime]:
    t = make_tenant(engine, "reports")
    actor = t.actor
    model = Model()
    with UnitOfWork(engine, clock=lambda: START) as uow:
        campaign = campaigns.create(
            uow, actor, name="c", template=NewVoucher(currency="EUR", amount=100)
        )
        uow.commit()
    now = START
    ids: list[int] = []
    for gap, step in plan:
        now = now + timedelta(days=gap, seconds=1)
        moment = now
        with UnitOfWork(engine, clock=lambda m=moment: m) as uow:
            try:
                if step[0] == "create":
                    _, currency, amount, active, in_campaign = step
                    spec = NewVoucher(
                        currency=currency,
                        amount=amount,
                        active=active,
                        campaign_id=campaign["id"] if in_campaign else None,
                    )
                    row = voucher_service.create(uow, actor, spec).voucher
                    ids.append(int(row["id"]))
                    model.created[row["id"]] = moment
                    model.currency[row["id"]] = currency
                    model.campaign[row["id"]] = row["campaign_id"]
                else:
                    if not ids:
                        continue
                    name, which, amount = step
                    ref = VoucherRef(id=ids[which % len(ids)])
                    if name == "charge":
                        row = value.charge(uow, actor, ref, amount=amount).voucher
                    elif name == "recharge":
                        row = value.recharge(uow, actor, ref, amount=amount, currency=None).voucher
                    elif name == "delete":
                        row = voucher_service.delete(uow, actor, ref, "gone")
                    else:
                        row = getattr(voucher_service, name)(uow, actor, ref, reason="test")
                uow.commit()
            except VoucherdError:
                continue
        model.timeline[row["id"]].append((moment, str(row["status"])))
    return t, model, now


def ledger_rows(engine: Engine, tenant_id: int) -> list[Any]:
    with engine.connect() as conn:
        return list(
            conn.execute(
                select(ledger_entries).where(ledger_entries.c.tenant_id == tenant_id)
            ).mappings()
        )


def _expected_liability(
    model: Model, entries: list[Any], as_of: datetime
) -> dict[tuple[str, int | None], int]:
    totals: dict[tuple[str, int | None], int] = defaultdict(int)
    for e in entries:
        vid = e["voucher_id"]
        if e["created_at"] <= as_of and model.status_at(vid, as_of) in OUTSTANDING:
            totals[(e["currency"], model.campaign[vid])] += int(e["amount"])
    return dict(totals)


def _month(moment: datetime) -> str:
    return moment.strftime("%Y-%m")


@settings(
    max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(plan=steps, probes=st.lists(st.integers(0, 3000), max_size=3))
def test_reports_equal_the_ledger_sums(engine: Engine, plan: list[Any], probes: list[int]) -> None:
    t, model, end = play_plan(engine, plan)
    entries = ledger_rows(engine, t.id)
    moments = [START - timedelta(days=1), end, *(START + timedelta(days=d) for d in probes)]
    moments += [when for line in model.timeline.values() for when, _ in line]
    with UnitOfWork(engine, readonly=True, clock=lambda: end) as uow:
        for as_of in moments:
            got = {
                (r.currency, r.campaign_id): r.amount
                for r in reports.liability_report(uow, t.actor, reports.Params(as_of=as_of))
            }
            assert got == _expected_liability(model, entries, as_of), as_of
            aging = reports.aging_report(uow, t.actor, reports.Params(as_of=as_of))
            expected_aging: dict[tuple[str, str], int] = defaultdict(int)
            for (currency, _campaign), amount in got.items():
                expected_aging[(currency, "total")] += amount
            for e in entries:
                vid = e["voucher_id"]
                if e["created_at"] <= as_of and model.status_at(vid, as_of) in OUTSTANDING:
                    days = (as_of - model.created[vid]).days
                    bucket = next(
                        name for name, high in reports.AGE_BUCKETS if high is None or days <= high
                    )
                    expected_aging[(e["currency"], bucket)] += int(e["amount"])
            for row in aging:
                expected_aging[(row.currency, "total")] -= row.amount
                assert row.amount == expected_aging.get((row.currency, row.bucket), 0)
            assert all(v == 0 for k, v in expected_aging.items() if k[1] == "total")
        # Breakage: the balance at each move into "expired", by month.
        expected_breakage: dict[tuple[str, str], int] = defaultdict(int)
        for vid, line in model.timeline.items():
            previous = None
            for when, status in line:
                if status == "expired" and previous != "expired":
                    balance = sum(
                        int(e["amount"])
                        for e in entries
                        if e["voucher_id"] == vid and e["created_at"] <= when
                    )
                    expected_breakage[(_month(when), model.currency[vid])] += balance
                previous = status
        breakage = reports.breakage_report(uow, t.actor, reports.Params())
        assert {(r.period, r.currency): r.amount for r in breakage} == dict(expected_breakage)
        # Redemptions: charges and refunds by month.
        expected_charged: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0])
        for e in entries:
            if e["kind"] == "charge":
                expected_charged[(_month(e["created_at"]), e["currency"])][0] -= int(e["amount"])
                expected_charged[(_month(e["created_at"]), e["currency"])][1] += 1
        redemptions = reports.redemptions_report(uow, t.actor, reports.Params())
        assert {(r.period, r.currency): [r.charged, r.charges] for r in redemptions} == dict(
            expected_charged
        )
        # Now, liability equals the balances of the vouchers still owed.
        balances: dict[str, int] = defaultdict(int)
        for vid in model.created:
            if model.status_at(vid, end) in OUTSTANDING:
                balances[model.currency[vid]] += sum(
                    int(e["amount"]) for e in entries if e["voucher_id"] == vid
                )
        now = {r.currency: r.amount for r in reports.liability(uow, t.actor)}
        assert now == {c: a for c, a in balances.items() if c in now or a}
    with engine.connect() as conn:
        assert all(r.ok for r in verify.run(conn)[2])


def test_verify_catches_a_status_changed_without_its_event(engine: Engine) -> None:
    t = make_tenant(engine, "silent")
    with UnitOfWork(engine) as uow:
        row = voucher_service.create(
            uow, t.actor, NewVoucher(currency="EUR", amount=500, active=True)
        ).voucher
        uow.commit()
    with engine.begin() as conn:
        conn.execute(update(vouchers).where(vouchers.c.id == row["id"]).values(status="void"))
    try:
        with engine.connect() as conn:
            failed = {r.name: r.violations for r in verify.run(conn)[2] if not r.ok}
        assert t.id in failed["reports_match_balances"]
    finally:
        with engine.begin() as conn:
            conn.execute(update(vouchers).where(vouchers.c.id == row["id"]).values(status="active"))
