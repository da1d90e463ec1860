"""Electing the one worker that runs the schedule, among processes and hosts.

PostgreSQL: a session advisory lock, held on a connection the leader keeps open. When the
leader's process dies (even by SIGKILL) its connection closes and the server releases the lock;
a standby's next ``try_acquire`` wins. SQLite (one host anyway): an exclusive ``flock`` on a
file beside the database, released by the kernel when the holder's process dies. An
in-memory SQLite database is private to its process: a process-wide lock.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import threading
from typing import IO

from sqlalchemy import Connection, Engine, text

log = logging.getLogger("voucherd.worker")

# pg_advisory_lock key: "voucherd" as a 64-bit integer, fixed across versions.
ADVISORY_KEY = int.from_bytes(b"voucherd", "big") & 0x7FFF_FFFF_FFFF_FFFF
_MEMORY_LOCK = threading.Lock()


class Leadership:
    """``try_acquire`` until it answers True; ``still_held`` before each pass; ``release``."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._conn: Connection | None = None
        self._file: IO[bytes] | None = None
        self._memory = False

    @property
    def held(self) -> bool:
        return self._conn is not None or self._file is not None or self._memory

    def try_acquire(self) -> bool:
        if self.held:
            return True
        if self.engine.dialect.name == "postgresql":
            return self._acquire_advisory()
        database = self.engine.url.database
        if not database or database == ":memory:":
            self._memory = _MEMORY_LOCK.acquire(blocking=False)
            return self._memory
        return self._acquire_file(f"{database}.worker-lock")

    def _acquire_advisory(self) -> bool:
        conn = self.engine.connect()
        try:
            got = conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": ADVISORY_KEY})
            won = bool(got.scalar())
            conn.commit()
        except Exception:
            conn.close()
            raise
        if not won:
            conn.close()
            return False
        self._conn = conn
        return True

    def _acquire_file(self, path: str) -> bool:
        handle = open(path, "ab")  # noqa: SIM115 - held open while leading
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            handle.close()
            return False
        self._file = handle
        return True

    def still_held(self) -> bool:
        """False once the lock is gone (the leader's database connection broke)."""
        if self._conn is None:
            return self.held
        try:
            self._conn.execute(text("SELECT 1"))
            self._conn.commit()
            return True
        except Exception:  # the connection is gone, and with it the lock
            log.warning("worker lost its database connection: leadership released")
            self._drop()
            return False

    def _drop(self) -> None:
        if self._conn is not None:
            with contextlib.suppress(Exception):
                self._conn.invalidate()
                self._conn.close()
            self._conn = None

    def release(self) -> None:
        if self._conn is not None:
            with contextlib.suppress(Exception):
                self._conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": ADVISORY_KEY})
                self._conn.commit()
            with contextlib.suppress(Exception):
                self._conn.close()
            self._conn = None
        if self._file is not None:
            with contextlib.suppress(OSError):
                fcntl.flock(self._file.fileno(), fcntl.LOCK_UN)
            self._file.close()
            self._file = None
        if self._memory:
            _MEMORY_LOCK.release()
            self._memory = False
