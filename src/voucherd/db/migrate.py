"""Run Alembic migrations from code (CLI ``db upgrade``, tests, ``make run``) and compare a
database with them (``/ready``, ``db current``, ``db check``, ``serve``)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine

MIGRATIONS = Path(__file__).parent / "migrations"


def alembic_config(url: str | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option(
        "file_template",
        "%%(year)d_%%(month).2d_%%(day).2d_%%(hour).2d%%(minute).2d-%%(rev)s_%%(slug)s",
    )
    if url:
        config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def upgrade(engine: Engine, revision: str = "heads", kek: bytes | None = None) -> None:
    """``kek``: the key that seals stored secrets (a migration that seals or opens them reads
    it from the environment's settings when not given)."""
    config = alembic_config()
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        config.attributes["kek"] = kek
        command.upgrade(config, revision)


def downgrade(engine: Engine, revision: str, kek: bytes | None = None) -> None:
    config = alembic_config()
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        config.attributes["kek"] = kek
        command.downgrade(config, revision)


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


@cache
def _scripts() -> ScriptDirectory:
    return ScriptDirectory.from_config(alembic_config())


def expected_heads(enabled_dialects: Iterable[str]) -> frozenset[str]:
    """The revisions a database must have for the core and the given dialects.

    Core migrations carry no branch label; each dialect's branch is labelled with the dialect's
    package name. A dialect without migrations expects nothing.
    """
    scripts = _scripts()
    wanted = set(enabled_dialects)
    expected = set()
    for head in scripts.get_heads():
        labels = scripts.get_revision(head).branch_labels
        if labels & wanted:
            expected.add(head)
    core = [r for r in scripts.walk_revisions() if not r.branch_labels]
    core_names = {r.revision for r in core}
    expected |= {r.revision for r in core if not set(r.nextrev) & core_names}
    return frozenset(expected)


def current_heads(conn: Connection) -> frozenset[str]:
    """The revisions recorded in the database (none when it was never migrated)."""
    return frozenset(MigrationContext.configure(conn).get_current_heads())


def status(conn: Connection, enabled_dialects: Iterable[str]) -> SchemaStatus:
    """Compare the database on ``conn`` with this build's migrations."""
    scripts = _scripts()
    current = current_heads(conn)
    known = {r.revision for r in scripts.walk_revisions()}
    unknown = current - known
    applied = {r.revision for r in scripts.iterate_revisions(tuple(current & known), "base") if r}
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
