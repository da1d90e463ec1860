"""One database transaction per operation; nothing persists unless ``commit()`` is called."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from types import TracebackType

from sqlalchemy import Connection, Engine, RootTransaction

from voucherd.services.attempts import NO_LIMITS, Attempts


def utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class Actor:
    """Who acts: the tenant comes from the credential, never from the request body."""

    tenant_id: int
    name: str  # "client:<id>", "cli", "system:sweep", "jtl:<client id>" ...
    client_id: str | None = None


class UnitOfWork:
    """A context manager around one transaction; it rolls back unless committed.

    On SQLite a writing unit takes the write lock at BEGIN (see ``db/engine.py``); a
    ``readonly`` unit does not, so lookups never queue behind writers. On PostgreSQL a
    ``readonly`` unit runs without a transaction (autocommit): use it only for reads.

    ``attempts`` is the request's budgets of failed attempts (``services/attempts.py``); the
    request runtime passes them, elsewhere no budget applies. They read their counters on this
    unit's connection while it is open.
    """

    def __init__(
        self,
        engine: Engine,
        *,
        readonly: bool = False,
        clock: Callable[[], datetime] = utcnow,
        attempts: Attempts = NO_LIMITS,
    ) -> None:
        self.engine = engine
        self.attempts = attempts
        self.readonly = readonly
        self.clock = clock
        self._conn: Connection | None = None
        self._tx: RootTransaction | None = None
        self.now = clock()
        # Value movements written in this unit, as (kind, currency, amount): what committed
        # work is reported as (metrics) once the entrypoint has committed.
        self.moved: list[tuple[str, str, int]] = []

    @property
    def conn(self) -> Connection:
        if self._conn is None:
            raise RuntimeError("UnitOfWork used outside its 'with' block")
        return self._conn

    def __enter__(self) -> UnitOfWork:
        conn = self.engine.connect()
        if conn.dialect.name == "sqlite":
            conn = conn.execution_options(sqlite_begin="DEFERRED" if self.readonly else "IMMEDIATE")
        elif self.readonly:
            # A read needs no BEGIN/ROLLBACK round trips; each statement sees committed data.
            conn = conn.execution_options(isolation_level="AUTOCOMMIT")
        self._conn = conn
        self._tx = conn.begin()
        self.now = self.clock()
        self.attempts.reads_on(conn)
        return self

    def commit(self) -> None:
        assert self._tx is not None
        self._tx.commit()

    def rollback(self) -> None:
        if self._tx is not None and self._tx.is_active:
            self._tx.rollback()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.attempts.reads_on(None)
        try:
            self.rollback()
        finally:
            if self._conn is not None:
                self._conn.close()
            self._conn = None
