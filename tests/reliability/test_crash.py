"""SIGKILL a loaded server, again and again: every acknowledged write survives.

``voucherd serve`` runs as a real process under concurrent charges over HTTP and is killed with
SIGKILL (no shutdown code runs) several times, restarted each time. Afterwards every charge the
server answered 201 for is in the ledger, exactly as acknowledged, and ``voucherd verify`` passes.
Runs on SQLite and on a private PostgreSQL cluster (fsync on).
"""

from __future__ import annotations

import os
import random
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine, select

from tests.conftest import make_tenant
from tests.reliability.cluster import PgCluster
from tests.reliability.conftest import migrated
from tests.reliability.server import SIGNING_KEY, ServerProcess
from voucherd.db.tables import ledger_entries, vouchers

pytestmark = pytest.mark.crash

KILLS = 5
WORKERS = 8
VOUCHERS = 12


@dataclass(frozen=True)
class Ack:
    entry_id: int
    voucher_id: str
    order_number: str
    balance_after: int


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'crash.db'}"
        return
    cluster: PgCluster = request.getfixturevalue("pg_cluster")
    name = f"crash_{int(time.time() * 1000)}"
    cluster.create_database(name)
    yield cluster.database_url(name)


def _load(url: str, token: str, ids: list[str], stop: threading.Event, acks: list[Ack]) -> None:
    """Charge 1 minor unit of a random voucher, over and over, until ``stop``."""
    rng = random.Random()
    with httpx.Client(
        base_url=url, headers={"Authorization": f"Bearer {token}"}, timeout=10
    ) as http:
        n = 0
        while not stop.is_set():
            n += 1
            order = f"{threading.get_ident()}-{time.monotonic_ns()}-{n}"
            body = {"voucher_id": rng.choice(ids), "amount": 1, "currency": "EUR",
                    "order_number": order}  # fmt: skip
            try:
                response = http.post("/v1/charges", json=body)
            except httpx.TransportError:
                time.sleep(0.01)  # the server is gone: keep knocking until told to stop
                continue
            if response.status_code == 201:
                entry = response.json()["entry"]
                acks.append(Ack(entry["id"], entry["voucher_id"], order, entry["balance_after"]))


def _verify(database_url: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", "from voucherd.cli import main; main()", "verify",
         "--database-url", database_url],
        capture_output=True,
        text=True,
        timeout=120,
        # verify opens the sealed secrets too: the servers' key-encryption key
        env={**os.environ, "VOUCHERD_SECRET_KEY": SIGNING_KEY},
    )  # fmt: skip


def test_every_acknowledged_charge_survives_sigkill(database_url: str, tmp_path: Path) -> None:
    engine: Engine = migrated(database_url)
    tenant = make_tenant(engine, "crash")
    server = ServerProcess(database_url, tmp_path / "server.log")
    acks: list[Ack] = []
    try:
        server.start()
        token = httpx.post(
            f"{server.url}/oauth/token",
            data={"grant_type": "client_credentials"},
            auth=(tenant.client_id, tenant.client_secret),
        ).json()["access_token"]
        ids = []
        for _ in range(VOUCHERS):
            created = httpx.post(
                f"{server.url}/v1/vouchers",
                json={
                    "kind": "stored_value",
                    "currency": "EUR",
                    "amount": 10_000_000,
                    "active": True,
                },
                headers={"Authorization": f"Bearer {token}"},
            )
            assert created.status_code == 201, created.text
            ids.append(created.json()["id"])
        for kill in range(KILLS):
            if kill:
                server.start()
            stop = threading.Event()
            threads = [
                threading.Thread(target=_load, args=(server.url, token, ids, stop, acks))
                for _ in range(WORKERS)
            ]
            for thread in threads:
                thread.start()
            time.sleep(random.uniform(0.8, 1.6))  # under load, at an arbitrary moment
            server.kill()
            time.sleep(0.1)
            stop.set()
            for thread in threads:
                thread.join(timeout=30)
    finally:
        server.stop()

    assert len(acks) >= 50, f"only {len(acks)} acknowledged charges: the load proved nothing"
    with engine.connect() as conn:
        rows = {
            row.id: row
            for row in conn.execute(
                select(
                    ledger_entries.c.id,
                    ledger_entries.c.kind,
                    ledger_entries.c.amount,
                    ledger_entries.c.order_number,
                    ledger_entries.c.balance_after,
                    vouchers.c.public_id,
                )
                .join(vouchers, vouchers.c.id == ledger_entries.c.voucher_id)
                .where(ledger_entries.c.tenant_id == tenant.id)
            )
        }
    missing = [a for a in acks if a.entry_id not in rows]
    assert not missing, f"{len(missing)} of {len(acks)} acknowledged charges lost: {missing[:5]}"
    wrong: list[Any] = [
        (a, rows[a.entry_id])
        for a in acks
        if (
            rows[a.entry_id].kind,
            rows[a.entry_id].amount,
            rows[a.entry_id].order_number,
            rows[a.entry_id].balance_after,
            rows[a.entry_id].public_id,
        )
        != ("charge", -1, a.order_number, a.balance_after, a.voucher_id)
    ]
    assert not wrong, f"{len(wrong)} ledger entries differ from what was acknowledged: {wrong[:3]}"
    engine.dispose()

    verified = _verify(database_url)
    assert verified.returncode == 0, verified.stdout[-3000:] + verified.stderr[-2000:]
    assert "checks passed" in verified.stderr, verified.stderr
