"""Attempt budgets as the services see them: guard before a guessable check, report a failure.

A service that checks something an attacker could guess (a voucher code, a PIN, a client
secret) calls ``uow.attempts.guard(budget)`` just before the check and
``uow.attempts.failed(budget)`` when it fails. The request runtime (``faces/limits.py``)
gives each request's unit of work an implementation that knows the caller and the client
address: ``guard`` refuses with 429 once a budget is spent, and failures are counted after
the unit of work has ended, outside the transaction that the failure rolls back.

While its unit of work is open, the budgets are handed the unit's connection (``reads_on``):
a guard whose counters live in the database reads them there, in one statement, so a request
never needs a second pooled connection while it holds one.

Outside a request (the CLI, the worker) the default does nothing: no budget applies there.
"""

from __future__ import annotations

from collections.abc import Callable
from enum import StrEnum

from sqlalchemy import Connection, Engine


class Budget(StrEnum):
    """The separate budgets of failed attempts (settings ``VOUCHERD_LIMIT_<NAME>_*``)."""

    AUTH = "auth"  # failed client authentication on a token endpoint, failed logins
    GUESS = "guess"  # lookups and redemptions by code that found nothing
    PIN = "pin"  # wrong PINs: voucher PINs, JTL connect PINs, RM reinstate PINs


class Attempts:
    """No budgets: what a unit of work outside a request has."""

    def guard(self, budget: Budget, subject: str | None = None) -> None:
        """Refuse (raise) when ``budget`` is spent for this caller or ``subject``.

        ``subject`` is a further key the budget is kept for, such as the client id a token
        request names. It is hashed before it is stored.
        """

    def reads_on(self, conn: Connection | None) -> None:
        """The connection of the unit of work these budgets serve while it is open; None after.

        ``UnitOfWork`` calls it on entering and on leaving.
        """

    def failed(self, budget: Budget, subject: str | None = None) -> None:
        """Count one failure against ``budget`` (after the unit of work has ended)."""

    def later(self, work: Callable[[Engine], None]) -> None:
        """Run ``work`` in its own transaction after the unit of work, whatever its outcome.

        For what must outlive a refusal's rollback (a PIN lockout's count). Outside a request
        it is dropped.
        """

    # How many wrong PINs in a row lock a voucher's PIN checks, and for how long (seconds).
    pin_lockout_failures: int = 5
    pin_lockout_seconds: int = 900


NO_LIMITS = Attempts()
