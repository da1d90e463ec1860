"""The same budgets with their counters in Redis (VOUCHERD_REDIS_URL), across two processes.

Uses Redis database 1 (``VOUCHERD_TEST_REDIS_URL``, default redis://127.0.0.1:6379/1), which
the test empties first; skipped when no Redis answers there.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import redis
from sqlalchemy import Engine, func, select

from tests.conftest import make_tenant
from tests.e2e.limits_support import (
    Client,
    assert_stopped,
    burst,
    new_address,
    settings_env,
    two_servers,
    wait_out,
)
from tests.support import Server
from voucherd.db.tables import rate_limit_hits

REDIS_URL = os.environ.get("VOUCHERD_TEST_REDIS_URL", "redis://127.0.0.1:6379/1")


@pytest.fixture(scope="module")
def store() -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(REDIS_URL)
    try:
        client.ping()
    except redis.RedisError as exc:
        pytest.skip(f"no Redis at {REDIS_URL}: {exc}")
    client.flushdb()  # this test's own database only
    yield client
    client.flushdb()
    client.close()


@pytest.fixture(scope="module")
def servers(
    store: redis.Redis, engine: Engine, database_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Server, Server]]:
    folder: Path = tmp_path_factory.mktemp("limits-redis")
    env = settings_env(database_url, VOUCHERD_REDIS_URL=REDIS_URL)
    with two_servers(env, folder) as pair:
        yield pair


def _rows(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(rate_limit_hits)).scalar_one())


def test_counters_in_redis_are_shared_by_both_processes(
    servers: tuple[Server, Server], engine: Engine, store: redis.Redis
) -> None:
    tenant = make_tenant(engine, "redis")
    address = new_address()
    token = httpx.post(
        servers[0].url + "/oauth/token",
        data={"grant_type": "client_credentials"},
        auth=(tenant.client_id, tenant.client_secret),
        headers={"X-Forwarded-For": address},
    ).json()["access_token"]
    guesser = Client(servers, address, token)
    rows_before = _rows(engine)

    def guess(i: int) -> httpx.Response:
        return guesser.request("POST", "/v1/vouchers/lookup", json={"code": f"REDIS{i:06d}"})

    assert_stopped(burst(guess), 404)
    refused = guess(99)
    assert refused.status_code == 429 and int(refused.headers["Retry-After"]) >= 1
    # The failures were counted in Redis, not in the database; no key names the client.
    keys = [key.decode() for key in store.keys("*")]
    assert keys and all("guess" in key for key in keys), keys
    assert not any(address in key or tenant.client_id in key for key in keys)
    assert _rows(engine) == rows_before
    other = make_tenant(engine, "redis-other")
    served = httpx.post(
        servers[1].url + "/oauth/token",
        data={"grant_type": "client_credentials"},
        auth=(other.client_id, other.client_secret),
        headers={"X-Forwarded-For": new_address()},
    )
    assert served.status_code == 200
    assert wait_out(lambda: guess(0)).status_code == 404  # served again: a miss, not a 429
