"""Fixtures of the end-to-end tests that several modules share."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import Engine

from tests.e2e.limits_support import settings_env, two_servers
from tests.support import Server


@pytest.fixture(scope="session")
def limited_servers(
    engine: Engine, database_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Server, Server]]:
    """Two ``voucherd serve`` processes with small budgets and short windows
    (tests/e2e/limits_support.py), on the session's database."""
    folder = tmp_path_factory.mktemp("limits")
    with two_servers(settings_env(database_url), folder) as pair:
        yield pair
