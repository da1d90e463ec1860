"""Compare a database with this build's migrations (``/ready``, the server's startup check,
``serve``, ``db current``, ``db check``) without importing Alembic in the server.

The revision graph is Alembic's own answer, written once to ``migrations/revisions.json`` by
``python -m voucherd.db.migrate`` (``db/migrate.py`` computes it with Alembic's
``ScriptDirectory``) and read here; nothing here walks or parses migrations. The snapshot
carries a digest of the migration files it was computed from: when the files differ (a
migration added or edited without rewriting it), the graph is computed with Alembic instead,
so a stale snapshot costs memory, never a wrong answer. A unit test keeps the committed
snapshot equal to Alembic's answer. Why: Alembic (with Mako and Pygments) is about 10 MB of
every server worker's memory (docs/benchmarks.md, "Session 5: server memory").
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from sqlalchemy import Connection, Engine, inspect, text

MIGRATIONS = Path(__file__).parent / "migrations"
SNAPSHOT = MIGRATIONS / "revisions.json"
VERSION_TABLE = "alembic_version"  # Alembic's default, which db/migrate.py keeps


@dataclass(frozen=True, slots=True)
class Graph:
    """The migrations' revisions as Alembic sees them.

    ``lineage``: every revision with itself and every revision it stands on, down to base.
    ``core_heads``: the newest revisions without a branch label (the core).
    ``branch_heads``: per branch label (a dialect's package name), the heads carrying it.
    ``digest``: of the migration files the graph was computed from.
    """

    digest: str
    lineage: Mapping[str, frozenset[str]]
    core_heads: frozenset[str]
    branch_heads: Mapping[str, frozenset[str]]

    def as_json(self) -> str:
        return json.dumps(
            {
                "digest": self.digest,
                "lineage": {r: sorted(a) for r, a in sorted(self.lineage.items())},
                "core_heads": sorted(self.core_heads),
                "branch_heads": {b: sorted(h) for b, h in sorted(self.branch_heads.items())},
            },
            indent=1,
        )

    @classmethod
    def from_json(cls, raw: str) -> Graph:
        data = json.loads(raw)
        return cls(
            data["digest"],
            {r: frozenset(a) for r, a in data["lineage"].items()},
            frozenset(data["core_heads"]),
            {b: frozenset(h) for b, h in data["branch_heads"].items()},
        )


def digest(versions: Path = MIGRATIONS / "versions") -> str:
    """Of the migration files' names and contents."""
    h = hashlib.sha256()
    for path in sorted(versions.glob("*.py")):
        h.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    return h.hexdigest()


def snapshot(path: Path = SNAPSHOT) -> Graph | None:
    """The written graph, if it was computed from the migration files as they are."""
    try:
        graph = Graph.from_json(path.read_text())
    except (OSError, ValueError, KeyError):
        return None
    return graph if graph.digest == digest() else None


@cache
def graph() -> Graph:
    found = snapshot()
    if found is not None:
        return found
    from voucherd.db import migrate  # the files changed since the snapshot: ask Alembic

    return migrate.graph()


@dataclass(frozen=True, slots=True)
class SchemaStatus:
    """Where a database's schema stands against the migrations of this build.

    ``expected``: the newest core revision and the newest revision of each enabled dialect's
    branch. ``missing``: those of them the database has not applied. ``unknown``: revisions the
    database has that this build does not know (a newer voucherd migrated it).
    """

    current: frozenset[str]
    expected: frozenset[str]
    missing: frozenset[str]
    unknown: frozenset[str]

    @property
    def at_heads(self) -> bool:
        return not self.missing and not self.unknown

    def as_dict(self) -> dict[str, object]:
        return {
            "at_heads": self.at_heads,
            "current": sorted(self.current),
            "expected": sorted(self.expected),
            "missing": sorted(self.missing),
            "unknown": sorted(self.unknown),
        }


def expected_heads(enabled_dialects: Iterable[str]) -> frozenset[str]:
    """The revisions a database must have for the core and the given dialects.

    Core migrations carry no branch label; each dialect's branch is labelled with the dialect's
    package name. A dialect without migrations expects nothing.
    """
    found = graph()
    expected = set(found.core_heads)
    for dialect in set(enabled_dialects):
        expected |= found.branch_heads.get(dialect, frozenset())
    return frozenset(expected)


def current_heads(conn: Connection) -> frozenset[str]:
    """The revisions recorded in the database (none when it was never migrated): the rows of
    Alembic's version table, read as Alembic's ``MigrationContext.get_current_heads`` does."""
    if not inspect(conn).has_table(VERSION_TABLE):
        return frozenset()
    rows = conn.execute(text(f"SELECT version_num FROM {VERSION_TABLE}"))  # noqa: S608
    return frozenset(row[0] for row in rows)


def status(conn: Connection, enabled_dialects: Iterable[str]) -> SchemaStatus:
    """Compare the database on ``conn`` with this build's migrations."""
    found = graph()
    current = current_heads(conn)
    unknown = current - found.lineage.keys()
    applied: set[str] = set()
    for revision in current - unknown:
        applied |= found.lineage[revision]
    expected = expected_heads(enabled_dialects)
    return SchemaStatus(current, expected, expected - applied, frozenset(unknown))


def check(engine: Engine, enabled_dialects: Iterable[str]) -> SchemaStatus:
    """``status`` on a connection of its own; on SQLite a read that takes no write lock."""
    with engine.connect().execution_options(sqlite_begin="DEFERRED") as conn:
        return status(conn, enabled_dialects)


def refusal(
    engine: Engine, enabled_dialects: Iterable[str], *, needs_answer: bool = True
) -> str | None:
    """Why a server must not start on this database, as one line for the operator; None if
    it may (``serve`` checks before starting, the app's startup again).

    A database that answers without an expected head is always refused. One that does not
    answer is refused only when ``needs_answer`` (the server needs it to start, e.g. for the
    signing key kept in it); otherwise the server starts and ``/ready`` answers 503 until the
    database is back.
    """
    where = engine.url.render_as_string(hide_password=True)
    try:
        schema = check(engine, enabled_dialects)
    except Exception:  # the operator needs what to do, not the driver's exception
        if not needs_answer:
            return None
        return f"the database at {where} does not answer: check the database URL"
    if schema.missing:
        missing = ", ".join(sorted(schema.missing))
        return (
            f"the database at {where} is not migrated (missing {missing}):"
            " run `voucherd db upgrade`"
        )
    return None
