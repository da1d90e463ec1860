"""The rate limiter's counters in the database: a ``limits`` storage on ``rate_limit_hits``.

``limits`` (the library the limiter's algorithm comes from) keeps its counters in a storage;
its own storages are memory, Redis, Memcached and MongoDB. This one keeps them in the
service's own database, so every worker and every host on that database shares them with no
other server to run. It supports the moving window strategy: one row per counted hit, with
the time it leaves the window; a key's window is its rows that have not expired. Only failed
attempts are counted, so the rows stay few; a key's expired rows go when it is next hit.

A check reads every key of a request in one statement (``windows``), on the connection the
request already holds (``faces/limits.py``): a request never waits for a second pooled
connection while it holds one. Counting (``acquire_entry``) runs after the request's unit of
work has ended, in its own short transaction: a failure is counted even when the refused
operation's transaction rolls back. The library's own calls (``get_moving_window`` ...) take a
pooled connection of their own; their reads take no write lock on SQLite.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

from limits.storage import Storage
from limits.storage.base import MovingWindowSupport
from sqlalchemy import Connection, Engine, bindparam, delete, func, insert, select
from sqlalchemy import exc as sa_exc

from voucherd.db.tables import rate_limit_hits as hits


def _ms(seconds: float) -> int:
    return int(seconds * 1000)


# Hits in the window and the earliest expiry, per key, for all of a check's keys at once.
_WINDOWS = (
    select(hits.c.key, func.count(), func.min(hits.c.expires_at))
    .where(hits.c.key.in_(bindparam("keys", expanding=True)), hits.c.expires_at > bindparam("now"))
    .group_by(hits.c.key)
)


class SqlStorage(Storage, MovingWindowSupport):
    """Hits in ``rate_limit_hits``; ``engine`` is the service's own engine."""

    STORAGE_SCHEME = ["voucherd+sql"]

    def __init__(self, engine: Engine) -> None:
        super().__init__(None, wrap_exceptions=False)
        self.engine = engine

    def _reading(self) -> Connection:
        return self.engine.connect().execution_options(sqlite_begin="DEFERRED")

    @property
    def base_exceptions(self) -> type[Exception] | tuple[type[Exception], ...]:
        return sa_exc.SQLAlchemyError

    def _alive(self, conn: Connection, key: str, now: int) -> tuple[int, int | None, int | None]:
        """(hits in the window, earliest and latest expiry) of ``key``."""
        row = conn.execute(
            select(func.count(), func.min(hits.c.expires_at), func.max(hits.c.expires_at)).where(
                hits.c.key == key, hits.c.expires_at > now
            )
        ).one()
        return int(row[0]), row[1], row[2]

    def _add(self, conn: Connection, key: str, expiry: float, amount: int, now: int) -> None:
        conn.execute(delete(hits).where(hits.c.key == key, hits.c.expires_at <= now))
        expires = now + _ms(expiry)
        conn.execute(insert(hits), [{"key": key, "expires_at": expires}] * amount)

    def windows(
        self, conn: Connection | None, keys: Sequence[str], expiry: int
    ) -> list[tuple[float, int]]:
        """``get_moving_window`` of every key in ``keys`` (in order), in one statement.

        ``conn``: the connection to read on (the request's own); None takes one from the pool.
        """
        now = time.time()
        if conn is None:
            with self._reading() as own:
                return self.windows(own, keys, expiry)
        found = {
            row[0]: (row[2] / 1000 - expiry, int(row[1]))
            for row in conn.execute(_WINDOWS, {"keys": list(keys), "now": _ms(now)})
        }
        return [found.get(key, (now, 0)) for key in keys]

    def incr(self, key: str, expiry: int, amount: int = 1) -> int:
        now = _ms(time.time())
        with self.engine.begin() as conn:
            self._add(conn, key, expiry, amount, now)
            return self._alive(conn, key, now)[0]

    def get(self, key: str) -> int:
        with self._reading() as conn:
            return self._alive(conn, key, _ms(time.time()))[0]

    def get_expiry(self, key: str) -> float:
        now = time.time()
        with self._reading() as conn:
            latest = self._alive(conn, key, _ms(now))[2]
        return latest / 1000 if latest is not None else now

    def check(self) -> bool:
        try:
            with self._reading() as conn:
                conn.execute(select(1))
        except sa_exc.SQLAlchemyError:
            return False
        return True

    def reset(self) -> int | None:
        with self.engine.begin() as conn:
            count = conn.execute(select(func.count()).select_from(hits)).scalar()
            conn.execute(delete(hits))
        return int(count or 0)

    def clear(self, key: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(delete(hits).where(hits.c.key == key))

    def acquire_entry(self, key: str, limit: int, expiry: int, amount: int = 1) -> bool:
        """One more hit in ``key``'s window unless that would pass ``limit``.

        Two processes hitting the same key at the same instant may both be let in: a budget
        of failures can be passed by the number of concurrent requests, never more.
        """
        if amount > limit:
            return False
        now = _ms(time.time())
        with self.engine.begin() as conn:
            if self._alive(conn, key, now)[0] + amount > limit:
                return False
            self._add(conn, key, expiry, amount, now)
        return True

    def get_moving_window(self, key: str, limit: int, expiry: int) -> tuple[float, int]:
        """(start of the window, hits in it): the window starts with its oldest hit."""
        now = time.time()
        with self._reading() as conn:
            count, earliest, _ = self._alive(conn, key, _ms(now))
        if earliest is None:
            return now, 0
        return earliest / 1000 - expiry, count
