"""The flow report (value issued and redeemed per period) against ledger sums.

Random histories from ``test_reports``; the oracle adds up the ledger rows in Python.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import timedelta
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, update

from tests.conftest import make_tenant
from tests.integration.test_reports import ledger_rows, play_plan, steps
from voucherd.db.tables import vouchers
from voucherd.services import reports, value, verify
from voucherd.services import vouchers as voucher_service
from voucherd.services.changes import VoucherRef
from voucherd.services.unit_of_work import UnitOfWork
from voucherd.services.vouchers import NewVoucher

Totals = dict[tuple[str, str], list[int]]


def _expected(entries: list[Any], label: Any) -> Totals:
    totals: Totals = defaultdict(lambda: [0, 0, 0])
    for e in entries:
        key = (label(e["created_at"]), e["currency"])
        if e["kind"] in ("issue", "recharge"):
            totals[key][0] += int(e["amount"])
        elif e["kind"] == "charge":
            totals[key][1] -= int(e["amount"])
        elif e["kind"] == "refund":
            totals[key][2] += int(e["amount"])
    return dict(totals)


@settings(
    max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(plan=steps, window=st.integers(1, 120))
def test_flow_equals_the_ledger_sums(engine: Engine, plan: list[Any], window: int) -> None:
    t, _model, end = play_plan(engine, plan)
    entries = [e for e in ledger_rows(engine, t.id) if e["currency"] is not None]
    with UnitOfWork(engine, readonly=True, clock=lambda: end) as uow:
        for period, fmt in (
            (reports.Period.DAY, "%Y-%m-%d"),
            (reports.Period.MONTH, "%Y-%m"),
        ):
            got = reports.flow_report(uow, t.actor, reports.Params(period=period))
            expected = _expected(entries, lambda m, f=fmt: m.strftime(f))
            assert {
                (r.period, r.currency): [r.issued, r.redeemed, r.refunded] for r in got
            } == expected
        # The dashboard's dense series: the last ``window`` days, zeros where nothing moved.
        series = reports.daily_flow(uow, t.actor, window)
        first = end.date() - timedelta(days=window - 1)
        recent = [e for e in entries if e["created_at"].date() >= first]
        issued: dict[tuple[str, str], int] = defaultdict(int)
        redeemed: dict[tuple[str, str], int] = defaultdict(int)
        for e in recent:
            day = e["created_at"].date().isoformat()
            if e["kind"] in ("issue", "recharge"):
                issued[(e["currency"], day)] += int(e["amount"])
            elif e["kind"] == "charge":
                redeemed[(e["currency"], day)] -= int(e["amount"])
        assert {s.currency for s in series} == {
            e["currency"] for e in recent if e["kind"] in ("issue", "recharge", "charge", "refund")
        }
        for s in series:
            assert len(s.days) == window and s.days[-1] == end.date() and s.days[0] == first
            for n, day in enumerate(s.days):
                assert s.issued[n] == issued.get((s.currency, day.isoformat()), 0)
                assert s.redeemed[n] == redeemed.get((s.currency, day.isoformat()), 0)
    with engine.connect() as conn:
        flow = next(r for r in verify.run(conn)[2] if r.name == "flow_matches_balances")
        assert flow.ok, flow.violations


def test_verify_checks_the_flow_against_the_balances(engine: Engine) -> None:
    t = make_tenant(engine, "flow-verify")
    with UnitOfWork(engine) as uow:
        row = voucher_service.create(
            uow, t.actor, NewVoucher(currency="EUR", amount=800, active=True)
        ).voucher
        value.charge(uow, t.actor, VoucherRef(id=row["id"]), amount=300)
        uow.commit()
    with engine.connect() as conn:
        assert reports.flow_net_by_tenant(conn)[(t.id, "EUR")] == 500
        assert t.id not in {
            v
            for r in verify.run(conn)[2]
            if r.name == "flow_matches_balances"
            for v in r.violations
        }
    with engine.begin() as conn:
        conn.execute(update(vouchers).where(vouchers.c.id == row["id"]).values(balance=900))
    try:
        with engine.connect() as conn:
            failed = {r.name: r.violations for r in verify.run(conn)[2] if not r.ok}
        assert t.id in failed["flow_matches_balances"]
    finally:
        with engine.begin() as conn:
            conn.execute(update(vouchers).where(vouchers.c.id == row["id"]).values(balance=500))
