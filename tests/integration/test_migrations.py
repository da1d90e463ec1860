"""Migration drift: after ``upgrade heads`` the database is exactly what the table code declares.

Alembic's autogenerate comparison (``compare_metadata``) between the migrated schema and the
SQLAlchemy metadata, core and every dialect's tables, on SQLite and PostgreSQL. A table, column,
index, constraint or type that exists on one side only, or differs, is a migration someone
forgot (or a table definition that no longer matches what was shipped). Alembic does not compare
CHECK constraints; those are exercised by the tests that hit them.
"""

from __future__ import annotations

import importlib
from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine, MetaData

from voucherd import dialects
from voucherd.db.tables import metadata


def _all_tables() -> MetaData:
    """The shared metadata with every dialect's tables registered on it."""
    for package, _ in dialects.DIALECTS:
        importlib.import_module(f"voucherd.dialects.{package}.tables")
    return metadata


def test_dialect_tables_share_the_metadata() -> None:
    names = set(_all_tables().tables)
    assert {"vouchers", "jtl_connect_pins", "rm_nonces", "spaaza_sessions"} <= names


def test_migrated_schema_matches_the_table_code(engine: Engine) -> None:
    target = _all_tables()
    with engine.connect() as conn:
        context = MigrationContext.configure(
            conn, opts={"compare_type": True, "compare_server_default": True}
        )
        drift: list[Any] = compare_metadata(context, target)
    assert drift == [], "\n".join(map(str, drift))
