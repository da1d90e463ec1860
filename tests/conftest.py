"""Shared fixtures: every test that touches storage runs on SQLite and on PostgreSQL.

PostgreSQL runs when VOUCHERD_TEST_DATABASE_URL is set (``.ci/run`` sets it); otherwise those
tests are reported as skipped with the reason. Each session migrates a fresh database with
Alembic (the real migrations), and each test gets its own tenant, so tests never see each
other's data and need no cleanup.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from pydantic import SecretStr
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url

from tests.ports import free_port
from voucherd.api.app import create_app
from voucherd.config import Settings
from voucherd.db import migrate, sealed
from voucherd.db.engine import make_engine, normalize_url
from voucherd.domain.scopes import ALL_SCOPES, Scope
from voucherd.services import keys, tenants, tokens
from voucherd.services.unit_of_work import Actor, UnitOfWork

PG_ENV = "VOUCHERD_TEST_DATABASE_URL"
BACKENDS = ["sqlite", "postgresql"]


def _fresh_postgres(base_url: str, worker: str) -> str:
    """A database of this run's own (one per xdist worker), created empty."""
    url = make_url(normalize_url(base_url))
    name = f"{url.database}_{worker}" if worker != "master" else str(url.database)
    if worker != "master":
        admin = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        admin.dispose()
    else:
        engine = create_engine(url, isolation_level="AUTOCOMMIT")
        with engine.connect() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
        engine.dispose()
    return url.set(database=name).render_as_string(hide_password=False)


@pytest.fixture(scope="session", params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> str:
    worker = os.environ.get("PYTEST_XDIST_WORKER", "master")
    if request.param == "sqlite":
        path: Path = tmp_path_factory.mktemp("db") / "voucherd.db"
        return f"sqlite:///{path}"
    base = os.environ.get(PG_ENV)
    if not base:
        pytest.skip(f"PostgreSQL half skipped: set {PG_ENV} (make test does it via .ci/run)")
    return _fresh_postgres(base, worker)


TEST_SECRET_KEY = "test-signing-key"  # the key-encryption key of the test servers


@pytest.fixture(scope="session")
def engine(database_url: str) -> Iterator[Engine]:
    # Secrets the tests store directly (partners, merchants) are sealed under the same KEK
    # as the live server's, which is configured, not generated.
    sealed.register(database_url, sealed.derive(TEST_SECRET_KEY.encode()))
    engine = make_engine(database_url, pool_size=20)
    migrate.upgrade(engine)
    yield engine
    engine.dispose()


@pytest.fixture(scope="session")
def backend(engine: Engine) -> str:
    return engine.dialect.name


@dataclass
class TenantFixture:
    id: int
    actor: Actor
    client_id: str
    client_secret: str


def make_tenant(
    engine: Engine, name: str = "t", scopes: frozenset[Scope] = ALL_SCOPES
) -> TenantFixture:
    with UnitOfWork(engine) as uow:
        tenant_id = tenants.create_tenant(uow, name)
        client = tenants.create_client(uow, tenant_id, f"{name}-client", scopes)
        uow.commit()
    return TenantFixture(
        tenant_id,
        Actor(tenant_id, f"client:{client.client_id}", client.client_id),
        client.client_id,
        client.client_secret,
    )


@pytest.fixture
def tenant(engine: Engine) -> TenantFixture:
    return make_tenant(engine)


@dataclass
class LiveServer:
    url: str
    engine: Engine
    settings: Settings


@pytest.fixture(scope="session")
def live_server(engine: Engine, database_url: str) -> Iterator[LiveServer]:
    """The real app on a real socket (uvicorn in a thread), on this session's database."""
    settings = Settings(
        database_url=database_url,
        db_pool_size=20,
        secret_key=SecretStr(TEST_SECRET_KEY),
        # The built-in worker runs in this server (RM callbacks, webhooks, jobs); its sweep
        # stays out of the way of the tests that sweep themselves.
        worker_sweep_seconds=86_400,
        worker_poll_seconds=0.2,
        worker_election_seconds=0.5,
        webhook_retry_schedule="0.3 0.6 1.0",
        job_threshold=500,
        job_chunk_size=200,
        # The whole suite shares this server and its address: budgets of failed attempts no
        # test run reaches (tests/e2e/test_rate_limits_*.py check the real ones).
        limit_auth_failures=1_000_000,
        limit_guess_failures=1_000_000,
        limit_pin_failures=1_000_000,
        jtl_pin_max_failures=1_000_000,
    )
    port = free_port()
    config = uvicorn.Config(
        create_app(settings),
        host="127.0.0.1",
        port=port,
        log_level="warning",
        access_log=False,
        lifespan="on",
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("test server did not start")
        time.sleep(0.02)
    yield LiveServer(f"http://127.0.0.1:{port}", engine, settings)
    server.should_exit = True
    thread.join(timeout=10)


def authority(server: LiveServer) -> tokens.Authority:
    """A token authority on the server's database and key (to forge expired or odd tokens)."""
    return tokens.Authority(server.engine, keys.kek(server.settings))


class Api:
    """An httpx client of one tenant's API client, with its token."""

    def __init__(
        self, base_url: str, client_id: str, client_secret: str, scope: str | None = None
    ) -> None:
        self.http = httpx.Client(base_url=base_url, timeout=60)
        data = {"grant_type": "client_credentials"}
        if scope is not None:
            data["scope"] = scope
        response = self.http.post("/oauth/token", data=data, auth=(client_id, client_secret))
        assert response.status_code == 200, response.text
        self.token = response.json()["access_token"]
        self.http.headers["Authorization"] = f"Bearer {self.token}"

    def get(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.http.get(path, **kwargs)

    def post(self, path: str, json: Any = None, **kwargs: Any) -> httpx.Response:
        return self.http.post(path, json=json if json is not None else {}, **kwargs)

    def patch(self, path: str, json: Any = None, **kwargs: Any) -> httpx.Response:
        return self.http.patch(path, json=json, **kwargs)

    def delete(self, path: str, json: Any = None, **kwargs: Any) -> httpx.Response:
        return self.http.request("DELETE", path, json=json, **kwargs)

    def create_voucher(self, **fields: Any) -> dict[str, Any]:
        body = {
            "kind": "stored_value",
            "currency": "EUR",
            "amount": 10000,
            "active": True,
            **fields,
        }
        response = self.post("/v1/vouchers", body)
        assert response.status_code == 201, response.text
        result: dict[str, Any] = response.json()
        return result

    def close(self) -> None:
        self.http.close()


@pytest.fixture
def api(live_server: LiveServer, tenant: TenantFixture) -> Iterator[Api]:
    client = Api(live_server.url, tenant.client_id, tenant.client_secret)
    yield client
    client.close()
