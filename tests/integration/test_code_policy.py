"""A wrong check character is refused before any voucher lookup, and counts as a guess."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import Engine, event, select

from tests.conftest import make_tenant
from voucherd.db.tables import vouchers
from voucherd.domain import codes, errors
from voucherd.services import campaigns
from voucherd.services.attempts import Attempts, Budget
from voucherd.services.changes import VoucherRef, find
from voucherd.services.unit_of_work import UnitOfWork
from voucherd.services.vouchers import NewVoucher


class Recorded(Attempts):
    """Budgets that only remember what the services reported."""

    def __init__(self) -> None:
        self.guarded: list[Budget] = []
        self.failures: list[Budget] = []

    def guard(self, budget: Budget, subject: str | None = None) -> None:
        self.guarded.append(budget)

    def failed(self, budget: Budget, subject: str | None = None) -> None:
        self.failures.append(budget)

    def later(self, work: Callable[[Engine], None]) -> None:
        pass


def test_a_wrong_check_character_never_reaches_the_vouchers_table(engine: Engine) -> None:
    tenant = make_tenant(engine, "policy")
    spec = codes.CodeSpec(pattern="#####-#####", prefix="CK-", check_char=True)
    with UnitOfWork(engine) as uow:
        campaign = campaigns.create(
            uow,
            tenant.actor,
            name="Checked",
            template=NewVoucher(currency="EUR", amount=100),
            code_spec=spec,
            activate_on_create=True,
        )
        campaigns.generate(uow, tenant.actor, campaign["id"], 1)
        uow.commit()
    with UnitOfWork(engine, readonly=True) as uow:
        code = str(
            uow.conn.execute(
                select(vouchers.c.code).where(vouchers.c.campaign_id == campaign["id"])
            ).scalar_one()
        )
        find(uow, tenant.actor, VoucherRef(code=code))  # reads the tenant's code forms once
    wrong = code[:-1] + next(c for c in codes.UNAMBIGUOUS if c != code[-1])
    statements: list[str] = []

    def seen(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", seen)
    try:
        with UnitOfWork(engine, readonly=True) as uow:
            uow.attempts = recorded = Recorded()
            with pytest.raises(errors.NotFound):
                find(uow, tenant.actor, VoucherRef(code=wrong))
            assert recorded.guarded == [Budget.GUESS] and recorded.failures == [Budget.GUESS]
            assert not any("vouchers" in s for s in statements), statements
            # The right code is found (one voucher lookup), and spends nothing.
            uow.attempts = recorded = Recorded()
            assert find(uow, tenant.actor, VoucherRef(code=code))["code"] == code
            assert recorded.failures == []
            assert any("vouchers" in s for s in statements)
    finally:
        event.remove(engine, "before_cursor_execute", seen)
