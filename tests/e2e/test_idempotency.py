"""Idempotency-Key: replay, mismatch, and a concurrent duplicate."""

from __future__ import annotations

import threading
import uuid
from datetime import UTC, datetime, timedelta

import httpx
from sqlalchemy import update

from tests.conftest import Api, LiveServer, TenantFixture
from voucherd.db.tables import idempotency_keys


def test_same_key_and_body_replays_the_first_answer(api: Api) -> None:
    voucher = api.create_voucher(amount=1000)
    key = {"Idempotency-Key": str(uuid.uuid4())}
    body = {"voucher_id": voucher["id"], "amount": 300, "currency": "EUR"}
    first = api.post("/v1/charges", body, headers=key)
    second = api.post("/v1/charges", body, headers=key)
    assert first.status_code == second.status_code == 201
    assert second.json() == first.json()
    assert second.headers["Idempotent-Replayed"] == "true"
    assert api.get(f"/v1/vouchers/{voucher['id']}").json()["balance"] == 700  # charged once


def test_a_refusal_is_replayed_too(api: Api) -> None:
    voucher = api.create_voucher(amount=100)
    key = {"Idempotency-Key": "refused-1"}
    body = {"voucher_id": voucher["id"], "amount": 300}
    first = api.post("/v1/charges", body, headers=key)
    assert first.status_code == 409 and first.json()["code"] == "insufficient_balance"
    api.post(f"/v1/vouchers/{voucher['id']}/recharge", {"amount": 1000})
    again = api.post("/v1/charges", body, headers=key)
    assert again.status_code == 409 and again.json() == first.json()


def test_same_key_with_another_body_is_refused(api: Api) -> None:
    voucher = api.create_voucher(amount=1000)
    key = {"Idempotency-Key": "k-mismatch"}
    assert (
        api.post("/v1/charges", {"voucher_id": voucher["id"], "amount": 1}, headers=key).status_code
        == 201
    )
    other = api.post("/v1/charges", {"voucher_id": voucher["id"], "amount": 2}, headers=key)
    assert other.status_code == 422
    assert other.json()["code"] == "idempotency_key_reused"
    assert api.get(f"/v1/vouchers/{voucher['id']}").json()["balance"] == 999


def test_keys_are_scoped_per_client(
    live_server: LiveServer, api: Api, tenant: TenantFixture
) -> None:
    from tests.conftest import make_tenant

    other = make_tenant(live_server.engine, "other")
    other_api = Api(live_server.url, other.client_id, other.client_secret)
    key = {"Idempotency-Key": "shared-key"}
    mine = api.create_voucher()
    theirs = other_api.create_voucher()
    assert (
        api.post("/v1/charges", {"voucher_id": mine["id"], "amount": 1}, headers=key).status_code
        == 201
    )
    assert (
        other_api.post(
            "/v1/charges", {"voucher_id": theirs["id"], "amount": 5}, headers=key
        ).status_code
        == 201
    )
    other_api.close()


def test_concurrent_duplicate_in_flight_gets_409(api: Api, live_server: LiveServer) -> None:
    """While the first request holds its key, a duplicate is told to retry later."""
    voucher = api.create_voucher(amount=1000)
    key = "in-flight-key"
    body = {"voucher_id": voucher["id"], "amount": 100}
    # Claim the key as a first request would, then send the duplicate while it is in flight.
    first = api.post("/v1/charges", body, headers={"Idempotency-Key": key})
    assert first.status_code == 201
    with live_server.engine.begin() as conn:
        conn.execute(
            update(idempotency_keys)
            .where(idempotency_keys.c.key == key)
            .values(
                state="in_flight",
                status_code=None,
                body=None,
                locked_until=datetime.now(UTC) + timedelta(minutes=1),
            )
        )
    duplicate = api.post("/v1/charges", body, headers={"Idempotency-Key": key})
    assert duplicate.status_code == 409
    assert duplicate.json()["code"] == "idempotency_in_flight"


def test_parallel_duplicates_charge_once(api: Api, live_server: LiveServer) -> None:
    voucher = api.create_voucher(amount=1000)
    body = {"voucher_id": voucher["id"], "amount": 100}
    headers = {"Authorization": f"Bearer {api.token}", "Idempotency-Key": "parallel-key"}
    barrier = threading.Barrier(20)
    results: list[int] = []
    lock = threading.Lock()

    def send() -> None:
        with httpx.Client(base_url=live_server.url, timeout=60) as client:
            barrier.wait()
            status = client.post("/v1/charges", json=body, headers=headers).status_code
        with lock:
            results.append(status)

    threads = [threading.Thread(target=send) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert set(results) <= {201, 409} and 201 in results
    assert api.get(f"/v1/vouchers/{voucher['id']}").json()["balance"] == 900
