"""Engines for SQLite (embedded default, WAL) and PostgreSQL (production, psycopg 3)."""

from __future__ import annotations

import fcntl
import os
import sqlite3
import threading
import time
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import Connection, ExceptionContext, make_url
from sqlalchemy.pool import StaticPool

from voucherd.db.types import load_json
from voucherd.domain.errors import ValidationFailed, VoucherdError
from voucherd.domain.inputs import INT64_MAX, INT64_MIN

# A database that does not answer is reported (503) within seconds, not after TCP's minutes.
CONNECT_TIMEOUT_SECONDS = 3
POOL_TIMEOUT_SECONDS = 10


def normalize_url(url: str) -> str:
    """Accept plain ``postgresql://`` URLs and use the psycopg 3 driver for them."""
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed.render_as_string(hide_password=False)


def _refusal(parameters: Any) -> ValidationFailed | None:
    """Why these statement parameters can never be stored or compared, or None.

    Walks them without recursion (JSON values arrive as dicts, or psycopg ``Json`` wrappers):
    text with NUL (or JSON's escape of it, which PostgreSQL's jsonb refuses too) and integers
    outside 64 bits (SQLite raises ``OverflowError``, PostgreSQL compares ``bigint`` with
    ``numeric``), each a server error if sent.
    """
    stack = [parameters]
    while stack:
        value = stack.pop()
        if isinstance(value, str):
            if "\x00" in value or "\\u0000" in value:
                return ValidationFailed("text may not contain NUL characters", rule="no_nul")
        elif isinstance(value, bool):
            continue
        elif isinstance(value, int):
            if not INT64_MIN <= value <= INT64_MAX:
                return ValidationFailed("integers must fit in 64 bits", rule="range")
        elif isinstance(value, dict):
            stack.extend(value.keys())
            stack.extend(value.values())
        elif isinstance(value, (list, tuple)):
            stack.extend(value)
        else:
            wrapped = getattr(value, "obj", None)  # psycopg's Json/Jsonb parameter wrappers
            if wrapped is not None:
                stack.append(wrapped)
    return None


def refuse_nul_text(engine: Engine) -> None:
    """No text with NUL characters, and no integer beyond 64 bits, reaches the database.

    PostgreSQL cannot store NUL and would fail the statement as a server error; SQLite would
    store what PostgreSQL refuses. Refusing them here, as a typed validation error, gives every
    API face its own 4xx for it. (Faces refuse out-of-range ids as "not found" before this:
    ``domain/inputs.py``; this is the backstop.)
    """

    @event.listens_for(engine, "before_cursor_execute")
    def _check(
        _conn: Any, _cursor: Any, _statement: str, parameters: Any, _context: Any, _many: bool
    ) -> None:
        if parameters:
            refusal = _refusal(parameters)
            if refusal is not None:
                raise refusal

    @event.listens_for(engine, "handle_error")
    def _domain_errors_pass(context: ExceptionContext) -> BaseException | None:
        # A column type refusing a value (``JsonValue``) raises while SQLAlchemy binds the
        # parameters, which it would wrap in a StatementError: let the domain error out as is.
        original = context.original_exception
        return original if isinstance(original, VoucherdError) else None


def make_engine(
    url: str, *, pool_size: int = 10, echo: bool = False, pre_ping: bool = False
) -> Engine:
    url = normalize_url(url)
    engine = (
        _sqlite_engine(url, echo)
        if url.startswith("sqlite")
        else _postgres_engine(url, pool_size, echo, pre_ping)
    )
    refuse_nul_text(engine)
    return engine


def _postgres_engine(url: str, pool_size: int, echo: bool, pre_ping: bool) -> Engine:
    return create_engine(
        url,
        # Up to 3 * pool_size connections as before, but all kept for reuse: "overflow"
        # connections are closed when handed back, so any load above pool_size opened and
        # closed a PostgreSQL session per few requests (docs/benchmarks.md).
        pool_size=pool_size * 3,
        max_overflow=0,
        # Off by default: a ping is one more round trip per request. A connection broken by a
        # database restart fails one request, and SQLAlchemy then renews the whole pool.
        pool_pre_ping=pre_ping,
        pool_recycle=3600,
        # A request waits at most this long for a pooled connection, then answers 503.
        pool_timeout=POOL_TIMEOUT_SECONDS,
        echo=echo,
        # Errors and logs never carry statement parameters (codes, PINs, secrets).
        hide_parameters=True,
        json_deserializer=load_json,
        connect_args={"application_name": "voucherd", "connect_timeout": CONNECT_TIMEOUT_SECONDS},
    )


# How long a writer waits for the write lock: the same as SQLite's busy timeout.
SQLITE_WRITE_WAIT_SECONDS = 30.0
# While another process holds the file's lock, a writer retries after this long, doubling up to
# the cap: the wait ends within about a millisecond of the other's commit.
_FILE_LOCK_FIRST_WAIT, _FILE_LOCK_MAX_WAIT = 0.00005, 0.001


class FileWriteLock:
    """The write lock of one database file, for this process's writers and across processes.

    Writers of this process queue on a ``threading.Lock``; the one at its head then takes an
    exclusive ``flock`` on ``<database>.write-lock``, which serve's other worker processes take
    the same way. The kernel releases a dead process's ``flock``, so a killed worker never
    leaves the file locked. The lock file's descriptor is opened per process (a descriptor
    inherited across ``fork`` would share one lock between the two processes).
    """

    def __init__(self, path: str | None) -> None:
        self.path = path
        self.local = threading.Lock()
        self._fd: int | None = None
        self._pid = 0

    def _descriptor(self) -> int:
        if self._fd is None or self._pid != os.getpid():
            self._fd = os.open(self.path or "", os.O_RDWR | os.O_CREAT, 0o600)
            self._pid = os.getpid()
        return self._fd

    def acquire(self) -> bool:
        deadline = time.monotonic() + SQLITE_WRITE_WAIT_SECONDS
        if not self.local.acquire(timeout=SQLITE_WRITE_WAIT_SECONDS):
            return False
        if self.path is None:
            return True
        try:
            fd = self._descriptor()
            wait = _FILE_LOCK_FIRST_WAIT
            while True:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    return True
                except BlockingIOError:
                    if time.monotonic() >= deadline:
                        self.local.release()
                        return False
                    time.sleep(wait)
                    wait = min(wait * 2, _FILE_LOCK_MAX_WAIT)
        except BaseException:
            self.local.release()
            raise

    def release(self) -> None:
        try:
            if self.path is not None and self._fd is not None:
                fcntl.flock(self._fd, fcntl.LOCK_UN)
        finally:
            self.local.release()


_WRITE_LOCKS: dict[str, FileWriteLock] = {}
_WRITE_LOCKS_GUARD = threading.Lock()


class SerialisedWrites(sqlite3.Connection):
    """A SQLite connection whose write transactions take the database file's write lock.

    SQLite admits one writer at a time; the others wait in its busy handler, which sleeps in
    growing steps (up to 100 ms) and polls, so under load a charge waited up to a second behind
    others that had long finished (docs/benchmarks.md, "The embedded default"). Writers instead
    queue on ``FileWriteLock``, taken before ``BEGIN IMMEDIATE`` and released right after
    ``COMMIT``/``ROLLBACK``: in this process on a lock (the next writer starts the moment the
    previous one ends), across serve's worker processes on an ``flock`` of a lock file beside
    the database. Processes that do not take it (a CLI command) still meet SQLite's busy
    handler. ``writer`` is set per database file.
    """

    writer: FileWriteLock
    holding = False

    def begin_write(self) -> None:
        if not self.writer.acquire():
            raise sqlite3.OperationalError("database is locked")
        self.holding = True

    def end_write(self) -> None:
        if self.holding:
            self.holding = False
            self.writer.release()

    def commit(self) -> None:
        try:
            super().commit()
        finally:
            self.end_write()

    def rollback(self) -> None:
        try:
            super().rollback()
        finally:
            self.end_write()

    def close(self) -> None:
        try:
            super().close()
        finally:
            self.end_write()


def _serialised_writes(database: str, lock_file: str | None) -> type[SerialisedWrites]:
    """The connection class sharing one write lock among all connections to ``database``."""
    with _WRITE_LOCKS_GUARD:
        lock = _WRITE_LOCKS.setdefault(database, FileWriteLock(lock_file))
    return type("SerialisedWrites", (SerialisedWrites,), {"writer": lock})


def _sqlite_engine(url: str, echo: bool) -> Engine:
    memory = ":memory:" in url or url.rstrip("/") in ("sqlite:", "sqlite:/")
    # A pooled connection is used by one thread at a time; writers queue on a lock per file.
    database = make_url(url).database or ""
    kwargs: dict[str, Any] = {
        "connect_args": {
            "check_same_thread": False,
            "timeout": 30,
            "factory": _serialised_writes(
                os.path.realpath(database),
                f"{os.path.realpath(database)}.write-lock" if not memory else None,
            ),
        },
        "pool_size": 20,
        "max_overflow": 40,
    }
    if memory:
        kwargs = {"connect_args": {"check_same_thread": False}, "poolclass": StaticPool}
    engine = create_engine(
        url, echo=echo, hide_parameters=True, json_deserializer=load_json, **kwargs
    )

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        # Let SQLAlchemy's "begin" event below issue BEGIN itself.
        dbapi_conn.isolation_level = None
        cursor = dbapi_conn.cursor()
        if not memory:
            cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        # Writers take the write lock up front (BEGIN IMMEDIATE): a read-then-write
        # transaction can then never lose a race it would only learn about at commit.
        mode = conn.get_execution_options().get("sqlite_begin", "IMMEDIATE")
        dbapi_conn = conn.connection.dbapi_connection
        serialised = mode == "IMMEDIATE" and isinstance(dbapi_conn, SerialisedWrites)
        if serialised:
            try:
                dbapi_conn.begin_write()  # type: ignore[union-attr]
            except sqlite3.OperationalError as exc:
                # As SQLite's own "database is locked" reaches callers: a database error the
                # faces answer 503 with Retry-After (faces/errors.py), not an internal error.
                raise sa_exc.OperationalError(f"BEGIN {mode}", None, exc) from exc
        try:
            conn.exec_driver_sql(f"BEGIN {mode}")
        except BaseException:
            if serialised:
                dbapi_conn.end_write()  # type: ignore[union-attr]
            raise

    return engine
