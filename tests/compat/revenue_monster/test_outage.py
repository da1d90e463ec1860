"""The database goes away under a running /rm face: token, signed calls and QR images answer 503
``TEMPORARY_UNAVAILABLE`` with ``Retry-After`` in RM's shape (never text/plain, never 500).

The app runs in process; after start-up its engine is swapped for one pointing at a closed port
(127.0.0.1:19899, nothing listens there), which is what a stopped PostgreSQL looks like to it.
``tests/reliability`` stops a real cluster under a real server for every face.
"""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr
from sqlalchemy import Engine

from tests.compat.revenue_monster.conftest import RmClient, RmMerchant, error_code, make_batch
from voucherd.api.app import create_app
from voucherd.config import Settings
from voucherd.db.engine import make_engine

DEAD_URL = "postgresql://postgres@127.0.0.1:19899/gone"


@pytest.fixture
def down(
    engine: Engine, database_url: str, merchant: RmMerchant, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[RmClient, str]]:
    monkeypatch.setenv("VOUCHERD_WORKER_EMBEDDED", "false")
    settings = Settings(database_url=database_url, secret_key=SecretStr("test-signing-key"))
    app = create_app(settings)
    with TestClient(app, raise_server_exceptions=False) as http:
        rm = RmClient.__new__(RmClient)
        rm.base, rm.merchant, rm.http, rm.key = (
            "http://testserver/rm",
            merchant,
            http,
            merchant.key.private,
        )
        issued = rm.token({"grantType": "client_credentials"})
        assert issued.status_code == 200, issued.text
        rm.tokens = issued.json()
        key = make_batch(engine, merchant.tenant_id, quantity=1)
        code = rm.call("post", f"/v3/voucher-batch/{key}/issue", {}).json()["item"]["code"]
        working = app.state.engine
        dead = make_engine(DEAD_URL, pool_size=1)
        app.state.engine = dead
        try:
            yield rm, code
        finally:
            app.state.engine = working
            dead.dispose()


def _unavailable(response: httpx.Response) -> None:
    assert response.status_code == 503, response.text
    assert response.headers["content-type"] == "application/json"
    assert response.headers["retry-after"].isdigit()
    assert error_code(response) == "TEMPORARY_UNAVAILABLE"
    assert response.json()["error"]["message"]


def test_every_kind_of_rm_call_answers_503_in_rm_shape(
    down: tuple[RmClient, str], merchant: RmMerchant
) -> None:
    rm, code = down
    _unavailable(rm.token({"grantType": "client_credentials"}))
    _unavailable(rm.call("get", f"/v3/voucher/{code}"))
    _unavailable(rm.call("post", f"/v3/voucher/{code}/void", {}))
    _unavailable(rm.http.get(f"{rm.base}/qr/{merchant.tenant_id}/voucher/{code}"))
