"""Hypothesis drives random operation sequences; the ledger invariant holds after each step."""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule, run_state_machine_as_test
from sqlalchemy import Engine, func, select

from tests.conftest import make_tenant
from voucherd.db.tables import ledger_entries, vouchers
from voucherd.domain import errors
from voucherd.services import value
from voucherd.services import vouchers as voucher_service
from voucherd.services.changes import VoucherRef
from voucherd.services.unit_of_work import UnitOfWork
from voucherd.services.vouchers import NewVoucher

amounts = st.integers(min_value=1, max_value=6000)


def machine(engine: Engine) -> type[RuleBasedStateMachine]:
    tenant = make_tenant(engine, "stateful")

    class GiftCard(RuleBasedStateMachine):
        def __init__(self) -> None:
            super().__init__()
            with UnitOfWork(engine) as uow:
                row = voucher_service.create(
                    uow, tenant.actor, NewVoucher(currency="EUR", amount=5000, active=True)
                ).voucher
                uow.commit()
            self.ref = VoucherRef(id=row["id"])
            self.balance = 5000
            self.status = "active"
            self.charges: dict[int, int] = {}  # entry id -> refundable amount
            self.reservation: tuple[int, int] | None = None

        def _run(self, operation: Any) -> Any:
            with UnitOfWork(engine) as uow:
                result = operation(uow)
                uow.commit()
            return result

        def _held(self) -> int:
            return self.reservation[1] if self.reservation else 0

        @rule(amount=amounts)
        def charge(self, amount: int) -> None:
            try:
                charged = self._run(
                    lambda uow: value.charge(
                        uow, tenant.actor, self.ref, amount=amount, currency="EUR"
                    )
                )
            except errors.VoucherdError as exc:
                expected = self.status != "active" or amount > self.balance - self._held()
                assert expected, f"unexpected refusal {exc.code}"
                return
            assert self.status == "active" and amount <= self.balance - self._held()
            self.balance -= amount
            self.charges[charged.entry["id"]] = amount
            self.status = "redeemed" if self.balance == 0 else "active"

        @rule(data=st.data())
        def refund(self, data: st.DataObject) -> None:
            if not self.charges:
                return
            entry_id = data.draw(st.sampled_from(sorted(self.charges)))
            amount = data.draw(st.integers(min_value=1, max_value=7000))
            left = self.charges[entry_id]
            try:
                self._run(lambda uow: value.refund(uow, tenant.actor, entry_id, amount=amount))
            except errors.VoucherdError as exc:
                assert amount > left or self.status == "void", exc.code
                return
            assert amount <= left
            self.charges[entry_id] = left - amount
            self.balance += amount
            if self.status == "redeemed":
                self.status = "active"

        @rule(amount=amounts)
        def recharge(self, amount: int) -> None:
            try:
                self._run(
                    lambda uow: value.recharge(
                        uow, tenant.actor, self.ref, amount=amount, currency="EUR"
                    )
                )
            except errors.VoucherdError:
                assert self.status == "void"
                return
            self.balance += amount
            if self.status == "redeemed":
                self.status = "active"

        @rule(amount=amounts)
        def reserve(self, amount: int) -> None:
            try:
                reserved = self._run(
                    lambda uow: value.reserve(uow, tenant.actor, self.ref, amount=amount)
                )
            except errors.VoucherdError:
                assert self.status != "active" or amount > self.balance
                return
            self.reservation = (reserved.reservation["id"], amount)

        @rule()
        def capture(self) -> None:
            if self.reservation is None:
                return
            reservation_id, held = self.reservation
            try:
                charged = self._run(lambda uow: value.capture(uow, tenant.actor, reservation_id))
            except errors.VoucherdError:
                assert self.status != "active"
                return
            self.reservation = None
            self.balance -= held
            self.charges[charged.entry["id"]] = held
            self.status = "redeemed" if self.balance == 0 else "active"

        @rule()
        def release(self) -> None:
            if self.reservation is None:
                return
            self._run(lambda uow: value.release(uow, tenant.actor, self.reservation[0]))  # type: ignore[index]
            self.reservation = None

        @rule()
        def void_or_reinstate(self) -> None:
            if self.status == "void":
                self._run(lambda uow: voucher_service.reinstate(uow, tenant.actor, self.ref))
                self.status = "active"
            elif self.status == "active":
                self._run(lambda uow: voucher_service.void(uow, tenant.actor, self.ref))
                self.status = "void"

        @invariant()
        def ledger_matches_balance(self) -> None:
            with engine.connect() as conn:
                stored = conn.execute(
                    select(vouchers.c.balance, vouchers.c.status).where(
                        vouchers.c.id == self.ref.id
                    )
                ).one()
                total = conn.execute(
                    select(func.coalesce(func.sum(ledger_entries.c.amount), 0)).where(
                        ledger_entries.c.voucher_id == self.ref.id
                    )
                ).scalar_one()
            assert stored.balance == total == self.balance
            assert stored.status == self.status

    return GiftCard


def test_random_operation_sequences_keep_the_ledger_true(engine: Engine) -> None:
    run_state_machine_as_test(
        machine(engine),
        settings=settings(
            max_examples=25,
            stateful_step_count=25,
            deadline=None,
            suppress_health_check=list(HealthCheck),
        ),
    )
