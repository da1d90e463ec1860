"""Engines for SQLite (embedded default, WAL) and PostgreSQL (production, psycopg 3)."""

from __future__ import annotations

import os
import sqlite3
import threading
from typing import Any

from sqlalchemy import Engine, create_engine, event
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


# How long a writer waits for the in-process write lock: the same as SQLite's busy timeout.
SQLITE_WRITE_WAIT_SECONDS = 30.0
_WRITE_LOCKS: dict[str, threading.Lock] = {}
_WRITE_LOCKS_GUARD = threading.Lock()


class SerialisedWrites(sqlite3.Connection):
    """A SQLite connection whose write transactions take this process's lock for the file.

    SQLite admits one writer at a time; the others wait in its busy handler, which sleeps in
    growing steps (up to 100 ms) and polls, so under load a charge waited up to a second behind
    others that had long finished (docs/benchmarks.md, "The embedded default"). Writers of one
    process instead queue on a lock taken before ``BEGIN IMMEDIATE`` and released right after
    ``COMMIT``/``ROLLBACK``: the next writer starts the moment the previous one ends, and no
    thread spins. (Writers in other processes still meet SQLite's busy handler; ``serve``
    runs one process on SQLite for that reason.) ``writer`` is set per database file.
    """

    writer: threading.Lock
    holding = False

    def begin_write(self) -> None:
        if not self.writer.acquire(timeout=SQLITE_WRITE_WAIT_SECONDS):
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


def _serialised_writes(database: str) -> type[SerialisedWrites]:
    """The connection class sharing one write lock among all connections to ``database``."""
    with _WRITE_LOCKS_GUARD:
        lock = _WRITE_LOCKS.setdefault(database, threading.Lock())
    return type("SerialisedWrites", (SerialisedWrites,), {"writer": lock})


def _sqlite_engine(url: str, echo: bool) -> Engine:
    memory = ":memory:" in url or url.rstrip("/") in ("sqlite:", "sqlite:/")
    # A pooled connection is used by one thread at a time; writers queue on a lock per file.
    database = make_url(url).database or ""
    kwargs: dict[str, Any] = {
        "connect_args": {
            "check_same_thread": False,
            "timeout": 30,
            "factory": _serialised_writes(os.path.realpath(database)),
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
            dbapi_conn.begin_write()  # type: ignore[union-attr]
        try:
            conn.exec_driver_sql(f"BEGIN {mode}")
        except BaseException:
            if serialised:
                dbapi_conn.end_write()  # type: ignore[union-attr]
            raise

    return engine
