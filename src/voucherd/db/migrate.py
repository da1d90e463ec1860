"""Run Alembic migrations from code (CLI ``db upgrade``, tests, ``make run``), and compute their
revision graph for ``db/revisions.py``, which compares a database with them (``/ready``,
``db current``, ``db check``, ``serve``) without Alembic."""

from __future__ import annotations

from functools import cache
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import Engine

from voucherd.db import revisions

MIGRATIONS = revisions.MIGRATIONS


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


@cache
def _scripts() -> ScriptDirectory:
    return ScriptDirectory.from_config(alembic_config())


def graph() -> revisions.Graph:
    """The migrations' revision graph, computed by Alembic (``db/revisions.py`` reads it from
    the snapshot this module writes, and asks here when the snapshot is stale)."""
    scripts = _scripts()
    every = list(scripts.walk_revisions())
    lineage = {
        r.revision: frozenset(a.revision for a in scripts.iterate_revisions(r.revision, "base"))
        for r in every
    }
    core_names = {r.revision for r in every if not r.branch_labels}
    core_heads = frozenset(
        r.revision for r in every if not r.branch_labels and not set(r.nextrev) & core_names
    )
    branch_heads: dict[str, set[str]] = {}
    for head in scripts.get_heads():
        for label in scripts.get_revision(head).branch_labels:
            branch_heads.setdefault(label, set()).add(head)
    return revisions.Graph(
        revisions.digest(),
        lineage,
        core_heads,
        {label: frozenset(heads) for label, heads in branch_heads.items()},
    )


def write_graph(path: Path = revisions.SNAPSHOT) -> None:
    """Rewrite the snapshot the server reads (run after adding or editing a migration)."""
    path.write_text(graph().as_json() + "\n")


if __name__ == "__main__":  # python -m voucherd.db.migrate
    write_graph()
    print(f"wrote {revisions.SNAPSHOT}")  # noqa: T201
