"""A budget check reads its counters on the request's own connection, in one statement.

docs/benchmarks.md ("The 18 HTTP errors"): the check used to read them on a second pooled
connection while the request's transaction held the first, so under load requests waited for
the pool past its timeout. Failures are still counted after the unit of work, in a transaction
of their own, so they outlive the refused operation's rollback.
"""

from __future__ import annotations

import secrets
from typing import Any

import pytest
from limits import RateLimitItemPerSecond
from sqlalchemy import Engine, event
from starlette.requests import Request

from voucherd.db.limit_store import SqlStorage
from voucherd.faces import limits
from voucherd.faces.errors import TooManyAttempts
from voucherd.services.attempts import Budget
from voucherd.services.unit_of_work import UnitOfWork

BUDGET = 3
WINDOW = 600


def _request() -> Request:
    """A request from an address of this test's own (so no other test spends its budget)."""
    address = f"198.18.{secrets.randbelow(256)}.{secrets.randbelow(254) + 1}"
    scope: dict[str, Any] = {
        "type": "http",
        "method": "POST",
        "path": "/",
        "headers": [],
        "client": (address, 50000),
        "query_string": b"",
    }
    return Request(scope)


@pytest.mark.parametrize("readonly", [False, True], ids=["writing", "reading"])
def test_a_check_takes_no_second_connection_and_failures_outlive_the_rollback(
    engine: Engine, readonly: bool
) -> None:
    item = RateLimitItemPerSecond(BUDGET, WINDOW)
    limiter = limits.Limiter(SqlStorage(engine), dict.fromkeys(Budget, item))
    request = _request()
    subject = "client:" + secrets.token_hex(8)  # this test's own
    checkouts: list[object] = []
    reads: list[str] = []

    def checkout(*_args: Any) -> None:
        checkouts.append(_args)

    def statement(_conn: Any, _cursor: Any, sql: str, *_args: Any) -> None:
        if "rate_limit_hits" in sql:
            reads.append(sql)

    event.listen(engine, "checkout", checkout)
    event.listen(engine, "before_cursor_execute", statement)
    try:
        for _ in range(BUDGET):
            attempts = limits.RequestAttempts(limiter, request)
            with UnitOfWork(engine, readonly=readonly, attempts=attempts) as uow:
                assert uow.attempts is attempts
                held, reads[:] = len(checkouts), []
                attempts.guard(Budget.AUTH, subject)  # two keys: address, subject
                assert len(checkouts) == held  # read on the unit's own connection
                assert len(reads) == 1  # both keys in one statement
                attempts.failed(Budget.AUTH, subject)
                # no commit: the refused operation rolls back; its failure still counts
            limits.settle(attempts, engine)
        attempts = limits.RequestAttempts(limiter, request)
        with UnitOfWork(engine, readonly=readonly, attempts=attempts) as uow:
            with pytest.raises(TooManyAttempts) as refused:
                attempts.guard(Budget.AUTH, subject)
            assert 1 <= refused.value.retry_after <= WINDOW
            attempts.guard(Budget.GUESS)  # another budget is not spent
            # Another address naming the same subject is refused too (the subject's budget).
            other = limits.RequestAttempts(limiter, _request())
            other.reads_on(uow.conn)
            with pytest.raises(TooManyAttempts):
                other.guard(Budget.AUTH, subject)
            other.guard(Budget.AUTH, "client:nobody")
    finally:
        event.remove(engine, "checkout", checkout)
        event.remove(engine, "before_cursor_execute", statement)


def test_outside_a_unit_the_check_reads_on_a_connection_of_its_own(engine: Engine) -> None:
    """The budgets of a request whose unit has ended (or not begun) still answer."""
    item = RateLimitItemPerSecond(1, WINDOW)
    limiter = limits.Limiter(SqlStorage(engine), dict.fromkeys(Budget, item))
    attempts = limits.RequestAttempts(limiter, _request())
    attempts.guard(Budget.PIN)
    attempts.failed(Budget.PIN)
    limits.settle(attempts, engine)
    with pytest.raises(TooManyAttempts):
        attempts.guard(Budget.PIN)
