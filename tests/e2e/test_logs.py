"""The server's own log output: one JSON access line per request, never a secret or a code."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import orjson
import pytest
from sqlalchemy import Engine

from tests.conftest import TEST_SECRET_KEY, make_tenant
from tests.ports import free_port


@pytest.fixture
def server_log(engine: Engine, database_url: str, tmp_path: Path) -> Iterator[tuple[str, Path]]:
    port = free_port()
    log_path = tmp_path / "server.log"
    env = {
        **os.environ,
        "VOUCHERD_DATABASE_URL": database_url,
        "VOUCHERD_SECRET_KEY": TEST_SECRET_KEY,  # the session database's KEK
    }
    with log_path.open("wb") as sink:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "uvicorn",
                "voucherd.api.app:app_factory",
                "--factory",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--no-access-log",
            ],
            env=env,
            stdout=sink,
            stderr=subprocess.STDOUT,
        )
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"{url}/health").status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert process.poll() is None and time.monotonic() < deadline, log_path.read_text()
            time.sleep(0.1)
        try:
            yield url, log_path
        finally:
            process.send_signal(signal.SIGTERM)
            process.wait(timeout=20)


def test_one_json_access_line_per_request_and_no_secrets(
    engine: Engine, server_log: tuple[str, Path]
) -> None:
    url, log_path = server_log
    tenant = make_tenant(engine, "logs")
    sent = 1  # the /health probe of the fixture
    with httpx.Client(base_url=url) as http:
        token_reply = http.post(
            "/oauth/token",
            data={"grant_type": "client_credentials"},
            auth=(tenant.client_id, tenant.client_secret),
        )
        token = token_reply.json()["access_token"]
        auth = {"Authorization": f"Bearer {token}"}
        created = http.post(
            "/v1/vouchers",
            json={"kind": "stored_value", "currency": "EUR", "amount": 5000, "active": True},
            headers=auth,
        ).json()
        code = created["code"]
        charged = http.post(
            "/v1/charges",
            json={"code": code, "amount": 1250},
            headers={**auth, "X-Request-Id": "till-7-req-0001"},
        )
        assert charged.status_code == 201
        assert charged.headers["x-request-id"] == "till-7-req-0001"
        refused = http.post(
            "/v1/charges",
            json={"code": code + "X", "amount": 1},
            headers={**auth, "X-Request-Id": "bad id with spaces"},
        )
        assert refused.status_code == 404
        generated = refused.headers["x-request-id"]
        assert generated != "bad id with spaces" and len(generated) == 32
        assert refused.json()["request_id"] == generated
        sent += 4
    time.sleep(0.3)
    output = log_path.read_text()
    access = []
    for line in output.splitlines():
        if line.startswith("{"):
            record = orjson.loads(line)
            if record.get("logger") == "voucherd.access":
                access.append(record)
    assert len(access) == sent, output
    charge_line = next(r for r in access if r["request_id"] == "till-7-req-0001")
    assert charge_line["route"] == "/v1/charges"
    assert charge_line["status"] == 201
    assert charge_line["method"] == "POST"
    assert charge_line["face"] == "native"
    assert charge_line["tenant"] == tenant.id
    assert charge_line["client"] == tenant.client_id
    assert isinstance(charge_line["duration_ms"], float | int)
    assert any(r["request_id"] == generated and r["status"] == 404 for r in access)
    for secret in (tenant.client_secret, token, code):
        assert secret not in output
