"""Callbacks: signed POSTs of the voucher on each status change, retried until a 200."""

from __future__ import annotations

import base64
import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from sqlalchemy import Engine, delete, insert, select, update

from tests.compat.revenue_monster.conftest import RmClient, RmMerchant, make_batch
from tests.ports import free_port
from voucherd.db.tables import deliveries, delivery_attempts, events, vouchers
from voucherd.dialects.revenue_monster import merchants, signing
from voucherd.dialects.revenue_monster.callbacks import (
    SUBSCRIBER,
    RmCallbacks,
    changes_rm_status,
    deliver_due,
)
from voucherd.dialects.revenue_monster.settings import RmSettings
from voucherd.services import outbox, webhooks
from voucherd.services import vouchers as voucher_service
from voucherd.services.changes import VoucherRef
from voucherd.services.unit_of_work import Actor, UnitOfWork


@dataclass
class Receiver:
    """A merchant's callback endpoint on 127.0.0.1 answering a scripted list of statuses."""

    statuses: list[int]
    received: list[tuple[dict[str, str], bytes, int]] = field(default_factory=list)
    url: str = ""

    def answer(self, headers: dict[str, str], body: bytes) -> int:
        status = self.statuses[min(len(self.received), len(self.statuses) - 1)]
        self.received.append((headers, body, status))
        return status


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    target = Receiver([500, 500, 200])

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            status = target.answer({k.lower(): v for k, v in self.headers.items()}, body)
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    target.url = f"http://127.0.0.1:{server.server_address[1]}/rm-callback"
    yield target
    server.shutdown()
    server.server_close()


def run_once(engine: Engine, settings: RmSettings) -> None:
    """One pass of the built-in worker's outbox part (as ``services/worker.py`` runs it)."""
    outbox.dispatch(engine, [webhooks.NativeWebhooks(), RmCallbacks(engine, settings)])
    deliver_due(engine, settings)


def _deliveries(engine: Engine, tenant_id: int) -> list[Any]:
    with engine.connect() as conn:
        return list(
            conn.execute(
                select(deliveries)
                .where(deliveries.c.tenant_id == tenant_id, deliveries.c.subscriber == SUBSCRIBER)
                .order_by(deliveries.c.id)
            ).mappings()
        )


def _wait_for(condition: Any, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.05)


def test_callback_retried_until_200_and_signed(
    rm: RmClient, merchant: RmMerchant, engine: Engine, receiver: Receiver
) -> None:
    key = make_batch(engine, merchant.tenant_id, quantity=2)
    code = rm.call("post", f"/v3/voucher-batch/{key}/issue", {}).json()["item"]["code"]
    # Configured after the issue (itself a status change, VALID -> ISSUED): a new callback URL
    # starts from the next event, so the void below is the one change to deliver. Configured
    # before, the issue and the void fall into one worker pass or two depending on timing.
    merchants.configure(
        engine, merchant.tenant_id, callback_url=receiver.url, retry_interval_seconds=0.2
    )
    assert rm.call("post", f"/v3/voucher/{code}/void", {}).status_code == 200

    _wait_for(
        lambda: [d["status"] for d in _deliveries(engine, merchant.tenant_id)] == ["delivered"]
    )
    (delivery,) = _deliveries(engine, merchant.tenant_id)
    assert delivery["attempts"] == 3 and delivery["last_status_code"] == 200
    with engine.connect() as conn:
        attempts = conn.execute(
            select(delivery_attempts.c.attempt, delivery_attempts.c.status_code)
            .where(
                delivery_attempts.c.tenant_id == merchant.tenant_id,
                delivery_attempts.c.delivery_id == delivery["id"],
            )
            .order_by(delivery_attempts.c.attempt)
        ).all()
    assert [tuple(a) for a in attempts] == [(1, 500), (2, 500), (3, 200)]
    assert [status for _, _, status in receiver.received] == [500, 500, 200]
    assert sum(1 for _, _, status in receiver.received if status == 200) == 1

    # The merchant verifies the accepted callback with the server public key it fetched.
    fetched = rm.call("get", "/v3/merchant/server-public-key").json()["item"]["publicKey"]
    public_key = signing.load_public_key(fetched)
    headers, body, _ = receiver.received[-1]
    payload = json.loads(body)
    assert payload["code"] == "SUCCESS"
    assert payload["item"]["code"] == code and payload["item"]["status"] == "VOID"
    text = signing.plaintext(
        data=base64.b64encode(body).decode(),
        method="post",
        nonce_str=headers["x-nonce-str"],
        request_url=None,
        timestamp=headers["x-timestamp"],
    )
    signature = signing.parse_header(headers["x-signature"])
    assert signature is not None
    assert signing.verify(public_key, signature, [text]) == text
    assert signing.data_base64(payload) == base64.b64encode(body).decode()  # canonical body


def test_deliveries_survive_a_restart_and_are_sent_once(
    merchant: RmMerchant, engine: Engine, receiver: Receiver
) -> None:
    """A delivery left 'delivering' by a worker that died is taken over, by exactly one of
    several workers racing for it (two here, plus the app's own thread)."""
    receiver.statuses = [200]
    merchants.configure(engine, merchant.tenant_id, callback_url=receiver.url)
    now = datetime.now(UTC)
    with engine.begin() as conn:
        conn.execute(
            insert(deliveries).values(
                tenant_id=merchant.tenant_id,
                subscriber=SUBSCRIBER,
                event_id=-1,
                voucher_id=0,
                url=receiver.url,
                payload='{"code":"SUCCESS","item":{}}',
                status="delivering",
                attempts=1,
                next_attempt_at=now - timedelta(minutes=2),
                locked_until=now - timedelta(seconds=1),
                created_at=now - timedelta(minutes=2),
            )
        )
    settings = RmSettings()
    threads = [threading.Thread(target=run_once, args=(engine, settings)) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    _wait_for(lambda: _deliveries(engine, merchant.tenant_id)[0]["status"] == "delivered")
    assert len(receiver.received) == 1
    (delivery,) = _deliveries(engine, merchant.tenant_id)
    assert delivery["attempts"] == 2


def test_gives_up_after_the_configured_attempts(
    merchant: RmMerchant, engine: Engine, receiver: Receiver
) -> None:
    receiver.statuses = [503]
    merchants.configure(
        engine, merchant.tenant_id, callback_url=receiver.url, retry_interval_seconds=0.05
    )
    now = datetime.now(UTC)
    with engine.begin() as conn:
        conn.execute(
            insert(deliveries).values(
                tenant_id=merchant.tenant_id,
                subscriber=SUBSCRIBER,
                event_id=-2,
                voucher_id=0,
                url=receiver.url,
                payload="{}",
                status="pending",
                attempts=4,
                next_attempt_at=now,
                created_at=now,
            )
        )
    _wait_for(lambda: _deliveries(engine, merchant.tenant_id)[0]["status"] == "failed")
    assert len(receiver.received) == 1  # the fifth and last attempt
    with engine.begin() as conn:  # a failed delivery is never picked up again
        conn.execute(
            update(deliveries)
            .where(deliveries.c.tenant_id == merchant.tenant_id)
            .values(next_attempt_at=now)
        )
    run_once(engine, RmSettings())
    assert len(receiver.received) == 1


@dataclass
class _Event:
    subject: str = "voucher"
    voucher_id: int | None = 1
    operation: str = "void"
    before: dict[str, Any] = field(default_factory=dict)
    after: dict[str, Any] = field(default_factory=dict)


def test_which_events_change_the_rm_status() -> None:
    assert changes_rm_status(_Event(before={"status": "active"}, after={"status": "void"}))
    assert not changes_rm_status(_Event(operation="claim", after={"holder_id": 4}))
    assert changes_rm_status(  # issuing a batch voucher: VALID -> ISSUED
        _Event(operation="activate", before={"status": "inactive"}, after={"status": "active"})
    )
    assert not changes_rm_status(  # both EXPIRED for RM
        _Event(operation="delete", before={"status": "expired"}, after={"status": "deleted"})
    )
    assert not changes_rm_status(_Event(operation="create", after={"status": "inactive"}))
    assert not changes_rm_status(_Event(operation="charge", after={"uses": 1}))


def test_issuing_is_a_status_change_with_its_own_callback(
    rm: RmClient, merchant: RmMerchant, engine: Engine, receiver: Receiver
) -> None:
    receiver.statuses = [200]
    merchants.configure(engine, merchant.tenant_id, callback_url=receiver.url)
    key = make_batch(engine, merchant.tenant_id, quantity=1)
    code = rm.call("post", f"/v3/voucher-batch/{key}/issue", {}).json()["item"]["code"]
    _wait_for(
        lambda: [d["status"] for d in _deliveries(engine, merchant.tenant_id)] == ["delivered"]
    )
    payload = json.loads(receiver.received[-1][1])
    assert payload["item"]["code"] == code and payload["item"]["status"] == "ISSUED"


def test_an_event_committed_after_a_later_one_is_still_delivered(
    rm: RmClient, merchant: RmMerchant, engine: Engine, receiver: Receiver
) -> None:
    """Event ids are taken at INSERT, visible at COMMIT: an event with a lower id can appear
    after the dispatcher has handled a higher one. It must still be delivered."""
    receiver.statuses = [200]
    key = make_batch(engine, merchant.tenant_id, quantity=2)
    first, second = (
        rm.call("post", f"/v3/voucher-batch/{key}/issue", {}).json()["item"]["code"]
        for _ in range(2)
    )
    merchants.configure(engine, merchant.tenant_id, callback_url=receiver.url)
    now = datetime.now(UTC)
    with engine.begin() as conn:  # an id taken now by a transaction that commits later
        late_id = conn.execute(
            insert(events)
            .values(
                tenant_id=merchant.tenant_id,
                subject="placeholder",
                subject_id="-",
                operation="placeholder",
                actor="test",
                created_at=now,
                dispatched=True,
            )
            .returning(events.c.id)
        ).scalar_one()
    assert rm.call("post", f"/v3/voucher/{second}/void", {}).status_code == 200
    _wait_for(
        lambda: [d["status"] for d in _deliveries(engine, merchant.tenant_id)] == ["delivered"]
    )
    (early,) = _deliveries(engine, merchant.tenant_id)
    assert early["event_id"] > late_id  # the dispatcher has passed the late id
    with engine.begin() as conn:  # ... whose transaction commits only now: a void of `first`
        voucher_id = conn.execute(
            select(vouchers.c.id).where(
                vouchers.c.tenant_id == merchant.tenant_id, vouchers.c.code == first
            )
        ).scalar_one()
        conn.execute(delete(events).where(events.c.id == late_id))
        conn.execute(
            insert(events).values(
                id=late_id,
                tenant_id=merchant.tenant_id,
                voucher_id=voucher_id,
                subject="voucher",
                subject_id="late",
                operation="void",
                actor="test",
                before={"status": "active"},
                after={"status": "void"},
                created_at=now,
            )
        )
    _wait_for(
        lambda: (
            [(d["event_id"], d["status"]) for d in _deliveries(engine, merchant.tenant_id)]
            == [(early["event_id"], "delivered"), (late_id, "delivered")]
        )
    )
    assert [json.loads(body)["item"]["code"] for _, body, _ in receiver.received] == [
        second,
        first,
    ]


def test_a_transaction_open_across_a_dispatch_is_delivered_on_postgresql(
    rm: RmClient, merchant: RmMerchant, engine: Engine, receiver: Receiver, backend: str
) -> None:
    """The same with real concurrent transactions (SQLite has one writer, so its ids commit
    in order and the race cannot happen there)."""
    if backend != "postgresql":
        pytest.skip("needs concurrent writers")
    receiver.statuses = [200]
    key = make_batch(engine, merchant.tenant_id, quantity=2)
    first, second = (
        rm.call("post", f"/v3/voucher-batch/{key}/issue", {}).json()["item"]["code"]
        for _ in range(2)
    )
    merchants.configure(engine, merchant.tenant_id, callback_url=receiver.url)
    actor = Actor(merchant.tenant_id, "test")
    with UnitOfWork(engine) as slow:
        voucher_service.void(slow, actor, VoucherRef(code=first))  # its event id is taken now
        assert rm.call("post", f"/v3/voucher/{second}/void", {}).status_code == 200
        _wait_for(
            lambda: [d["status"] for d in _deliveries(engine, merchant.tenant_id)] == ["delivered"]
        )
        time.sleep(1.5)  # longer than the old cursor's lag: it would have moved past us
        slow.commit()
    _wait_for(
        lambda: (
            [d["status"] for d in _deliveries(engine, merchant.tenant_id)]
            == ["delivered", "delivered"]
        )
    )
    codes = [json.loads(body)["item"]["code"] for _, body, _ in receiver.received]
    assert codes == [second, first]
