"""Real parallel HTTP requests against one voucher: never redeemed twice, never overdrawn."""

from __future__ import annotations

import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import httpx
from sqlalchemy import Engine

from tests.conftest import Api, LiveServer
from voucherd.services import verify


def _fire(server: LiveServer, token: str, bodies: list[dict[str, object]]) -> list[httpx.Response]:
    """Send every body at once: all threads wait on a barrier, then POST together."""
    barrier = threading.Barrier(len(bodies))
    limits = httpx.Limits(max_connections=len(bodies), max_keepalive_connections=len(bodies))
    with httpx.Client(
        base_url=server.url,
        timeout=120,
        limits=limits,
        headers={"Authorization": f"Bearer {token}"},
    ) as client:

        def send(body: dict[str, object]) -> httpx.Response:
            barrier.wait()
            return client.post("/v1/charges", json=body)

        with ThreadPoolExecutor(max_workers=len(bodies)) as pool:
            return list(pool.map(send, bodies))


def _verify_clean(engine: Engine) -> None:
    with engine.connect() as conn:
        _, _, results = verify.run(conn)
    assert all(r.ok for r in results), [(r.name, r.violations) for r in results if not r.ok]


def test_single_use_voucher_is_redeemed_exactly_once(api: Api, live_server: LiveServer) -> None:
    voucher = api.create_voucher(
        kind="fixed_discount", currency="EUR", amount=None, discount_amount=500
    )
    responses = _fire(live_server, api.token, [{"code": voucher["code"]}] * 50)
    statuses = Counter(r.status_code for r in responses)
    assert statuses[201] == 1, statuses
    assert statuses[409] == 49, statuses
    assert {r.json()["code"] for r in responses if r.status_code == 409} <= {
        "voucher_redeemed",
        "usage_limit_reached",
    }
    final = api.get(f"/v1/vouchers/{voucher['id']}").json()
    assert final["uses"] == 1 and final["status"] == "redeemed"
    _verify_clean(live_server.engine)


def test_balance_is_never_overdrawn(api: Api, live_server: LiveServer) -> None:
    voucher = api.create_voucher(amount=10_000)  # 100.00 EUR
    body = {"voucher_id": voucher["id"], "amount": 100, "currency": "EUR"}
    responses = _fire(live_server, api.token, [body] * 200)
    statuses = Counter(r.status_code for r in responses)
    assert statuses[201] == 100, statuses
    assert statuses[409] == 100, statuses
    refused = {r.json()["code"] for r in responses if r.status_code == 409}
    assert refused <= {"insufficient_balance", "voucher_redeemed"}, refused
    final = api.get(f"/v1/vouchers/{voucher['id']}").json()
    assert final["balance"] == 0 and final["status"] == "redeemed"
    ledger = api.get(f"/v1/vouchers/{voucher['id']}/ledger", params={"limit": 500}).json()["data"]
    assert len([e for e in ledger if e["kind"] == "charge"]) == 100
    assert sum(e["amount"] for e in ledger) == 0
    _verify_clean(live_server.engine)
