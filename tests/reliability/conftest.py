"""Fixtures for reliability tests: a private PostgreSQL cluster and a real server process."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine

from tests.conftest import TEST_SECRET_KEY
from tests.reliability.cluster import PgCluster, free_port
from voucherd.db import migrate, sealed
from voucherd.db.engine import make_engine


@pytest.fixture(scope="module")
def pg_cluster() -> Iterator[PgCluster]:
    """A PostgreSQL cluster of this test module's own, started; removed at the end."""
    cluster = PgCluster(free_port(offset=55))
    try:
        cluster.init()
        cluster.start()
        yield cluster
    finally:
        cluster.destroy()


def migrated(url: str) -> Engine:
    # Secrets the tests store directly are sealed under the servers' key-encryption key.
    sealed.register(url, sealed.derive(TEST_SECRET_KEY.encode()))
    engine = make_engine(url, pool_size=5, pre_ping=True)  # survives the restarts
    migrate.upgrade(engine)
    return engine


@pytest.fixture(scope="module")
def log_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("server-logs")
