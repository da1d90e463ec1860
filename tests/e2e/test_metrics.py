"""``/metrics`` across two worker processes: counts summed over workers, operator token only."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import Engine

from tests.conftest import TEST_SECRET_KEY, make_tenant
from tests.ports import free_port

TOKEN = "metrics-operator-token"


@pytest.fixture
def two_workers(engine: Engine, database_url: str, tmp_path: Path) -> Iterator[str]:
    port = free_port()
    multiproc = tmp_path / "prom"
    multiproc.mkdir()
    env = {
        **os.environ,
        "VOUCHERD_DATABASE_URL": database_url,
        "VOUCHERD_SECRET_KEY": TEST_SECRET_KEY,  # the session database's KEK
        "VOUCHERD_METRICS_TOKEN": TOKEN,
        "PROMETHEUS_MULTIPROC_DIR": str(multiproc),
    }
    voucherd = str(Path(sys.executable).with_name("voucherd"))
    process = subprocess.Popen(
        [voucherd, "serve", "--port", str(port), "--workers", "2", "--log-level", "warning"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            if httpx.get(f"{url}/health").status_code == 200:
                break
        except httpx.TransportError:
            pass
        assert process.poll() is None and time.monotonic() < deadline
        time.sleep(0.2)
    try:
        yield url
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=30)


def _sample(text: str, name: str, **labels: str) -> float:
    total = 0.0
    for line in text.splitlines():
        match = re.fullmatch(rf"{name}\{{(.*)\}} (\S+)", line)
        if match is None:
            continue
        found = dict(re.findall(r'(\w+)="([^"]*)"', match.group(1)))
        if all(found.get(k) == v for k, v in labels.items()):
            total += float(match.group(2))
    return total


def test_metrics_count_requests_and_value_across_workers(engine: Engine, two_workers: str) -> None:
    tenant = make_tenant(engine, "metrics")
    token = httpx.post(
        f"{two_workers}/oauth/token",
        data={"grant_type": "client_credentials"},
        auth=(tenant.client_id, tenant.client_secret),
    ).json()["access_token"]
    auth = {"Authorization": f"Bearer {token}"}
    voucher = httpx.post(
        f"{two_workers}/v1/vouchers",
        json={"kind": "stored_value", "currency": "CHF", "amount": 100_000, "active": True},
        headers=auth,
    ).json()
    before = httpx.get(f"{two_workers}/metrics", headers={"Authorization": f"Bearer {TOKEN}"}).text
    reads, charges = 24, 6
    for _ in range(reads):  # a new connection each: the two workers share them out
        reply = httpx.get(f"{two_workers}/v1/vouchers/{voucher['id']}", headers=auth)
        assert reply.status_code == 200
    for _ in range(charges):
        reply = httpx.post(
            f"{two_workers}/v1/charges",
            json={"voucher_id": voucher["id"], "amount": 150},
            headers=auth,
        )
        assert reply.status_code == 201
    after = httpx.get(f"{two_workers}/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert after.status_code == 200
    text = after.text
    route = "/v1/vouchers/{voucher_id}"
    read_count = _sample(
        text, "voucherd_requests_total", face="native", route=route, status="200"
    ) - _sample(before, "voucherd_requests_total", face="native", route=route, status="200")
    assert read_count == reads
    charged = _sample(text, "voucherd_value_minor_units_total", kind="charge", currency="CHF")
    charged -= _sample(before, "voucherd_value_minor_units_total", kind="charge", currency="CHF")
    assert charged == charges * 150
    assert _sample(text, "voucherd_vouchers", status="active") >= 1
    assert "voucherd_request_duration_seconds_bucket" in text
    # Not for tenants: without the operator token (or with a tenant's) there is nothing.
    assert httpx.get(f"{two_workers}/metrics").status_code == 404
    assert httpx.get(f"{two_workers}/metrics", headers=auth).status_code == 404
