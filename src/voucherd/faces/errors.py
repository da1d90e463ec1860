"""Errors as each face answers them: one table per face, looked up along the class hierarchy.

A face's table maps exception classes to a ``Refusal`` (or a function giving one). Lookup walks
the raised exception's MRO, the way Starlette finds exception handlers, so one entry covers a
whole family (``VoucherdError`` is every business refusal) and a more specific entry wins.
Infrastructure failures are classified first (``classify``): a database that cannot be reached
becomes ``Unavailable`` (503 with ``Retry-After``), anything unexpected becomes ``Internal``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import exc as sa_exc

from voucherd.domain import errors


@dataclass(frozen=True, slots=True)
class Refusal:
    """What a face answers for an error: its HTTP status, its own code and message.

    ``details`` carries the face-specific extras its renderer knows how to place (field lists,
    the engine error's facts); ``headers`` go on the response as they are.
    """

    status: int
    code: str
    message: str
    details: Mapping[str, Any] = field(default_factory=dict)
    headers: Mapping[str, str] = field(default_factory=dict)


Entry = Refusal | Callable[[Any], Refusal]
ErrorTable = Mapping[type[BaseException], Entry]

RETRY_AFTER_SECONDS = 2


class Unavailable(Exception):
    """The database could not be reached or timed out: the caller should retry shortly."""

    retry_after = RETRY_AFTER_SECONDS


class Internal(Exception):
    """Anything unexpected. Never carries the original message to the caller."""


class TooManyAttempts(Exception):
    """A budget of failed attempts is spent (``faces/limits.py``): 429 with ``Retry-After``.

    Not a business refusal: an Idempotency-Key keeps no answer for it, and a retry after
    ``retry_after`` seconds runs.
    """

    def __init__(self, budget: str, retry_after: int) -> None:
        super().__init__(f"too many failed attempts; retry after {retry_after} s")
        self.budget = budget
        self.retry_after = retry_after

    @property
    def headers(self) -> dict[str, str]:
        return {"Retry-After": str(self.retry_after)}


class NoEntry(LookupError):
    """A face's table has no entry for an error class: a bug in that face's table."""


def classify(exc: BaseException) -> BaseException:
    """Turn a database failure into ``Unavailable``; keep every other exception as it is.

    SQLAlchemy wraps driver errors: ``OperationalError`` and ``InterfaceError`` are the
    connection-level ones (refused, reset, timed out, SQLite busy), and a statement on a
    connection the pool has invalidated says so. A pool checkout that timed out is
    ``sqlalchemy.exc.TimeoutError``.
    """
    if isinstance(exc, sa_exc.TimeoutError | sa_exc.DisconnectionError):
        return Unavailable()
    if isinstance(exc, sa_exc.DBAPIError) and (
        exc.connection_invalidated
        or isinstance(exc, sa_exc.OperationalError | sa_exc.InterfaceError)
    ):
        return Unavailable()
    return exc


def refuse(table: ErrorTable, exc: BaseException) -> tuple[Refusal, bool]:
    """The face's answer for ``exc``, and whether it was unexpected (to be logged as a bug).

    Whatever the table does not name is an internal error: its message never reaches the caller.
    """
    exc = classify(exc)
    try:
        return lookup(table, exc), False
    except NoEntry:
        return lookup(table, Internal()), True


def lookup(table: ErrorTable, exc: BaseException) -> Refusal:
    """The refusal for ``exc``: the table entry of the nearest class in its MRO.

    Raises: NoEntry if no class in the MRO is in the table.
    """
    for cls in type(exc).__mro__:
        entry = table.get(cls)
        if entry is not None:
            return entry if isinstance(entry, Refusal) else entry(exc)
    raise NoEntry(f"no error entry for {type(exc).__name__}")


def require_complete(table: ErrorTable) -> None:
    """Every face must answer the three families every request can meet."""
    for needed in (errors.VoucherdError, Unavailable, Internal, TooManyAttempts):
        lookup(table, needed.__new__(needed))
