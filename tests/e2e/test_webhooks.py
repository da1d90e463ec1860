"""Native webhooks end to end: a real receiver on 127.0.0.1 gets every event exactly once.

The live server runs the built-in worker (tests/conftest.py); changes come concurrently from
two faces (native and JTL); signatures are checked with the ``standardwebhooks`` library.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from standardwebhooks import Webhook

from tests.compat.jtl.conftest import connect
from tests.conftest import Api, LiveServer, TenantFixture
from voucherd.db.tables import deliveries, events

PORTS = range(20000, 20100)  # this suite's port range for receivers


@dataclass
class Receiver:
    """Answers a scripted list of statuses (the last one repeats); keeps what it got."""

    statuses: list[int]
    url: str = ""
    received: list[tuple[dict[str, str], bytes, int]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def answer(self, headers: dict[str, str], body: bytes) -> int:
        with self.lock:
            status = self.statuses[min(len(self.received), len(self.statuses) - 1)]
            self.received.append((headers, body, status))
            return status

    def accepted(self) -> list[tuple[dict[str, str], bytes]]:
        with self.lock:
            return [(h, b) for h, b, s in self.received if s == 200]


def _bind(handler: type[BaseHTTPRequestHandler]) -> ThreadingHTTPServer:
    for port in PORTS:
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                continue  # taken
        try:
            return ThreadingHTTPServer(("127.0.0.1", port), handler)
        except OSError:
            continue
    raise RuntimeError("no free port in 20000-20099")


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    target = Receiver([200])

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            status = target.answer({k.lower(): v for k, v in self.headers.items()}, body)
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = _bind(Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    target.url = f"http://127.0.0.1:{server.server_address[1]}/hooks"
    yield target
    server.shutdown()
    server.server_close()


def _wait_for(condition: Callable[[], bool], timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.1)


def _subscribe(api: Api, url: str, types: list[str] | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"url": url}
    if types is not None:
        body["event_types"] = types
    response = api.post("/v1/webhooks", body)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    assert created["secret"].startswith("whsec_")
    listed = api.get("/v1/webhooks").json()["data"]
    assert [w["id"] for w in listed] == [created["id"]]
    assert "secret" not in listed[0]  # shown once
    return created


def _voucher_events(live_server: LiveServer, tenant_id: int) -> list[Any]:
    with live_server.engine.connect() as conn:
        return list(
            conn.execute(
                select(events)
                .where(events.c.tenant_id == tenant_id, events.c.subject == "voucher")
                .order_by(events.c.id)
            )
        )


def test_concurrent_changes_from_two_faces_arrive_once_each_in_order(
    api: Api, live_server: LiveServer, tenant: TenantFixture, receiver: Receiver
) -> None:
    hook = _subscribe(api, receiver.url, ["voucher.*"])
    jtl = connect(live_server, tenant.id)
    jtl.login()
    vouchers = [api.create_voucher(amount=10_000) for _ in range(4)]

    def native_charge(voucher: dict[str, Any]) -> int:
        body = {"voucher_id": voucher["id"], "amount": 100, "currency": "EUR"}
        with httpx.Client(base_url=live_server.url, timeout=60) as http:
            headers = {"Authorization": f"Bearer {api.token}"}
            return http.post("/v1/charges", json=body, headers=headers).status_code

    def jtl_recharge(voucher: dict[str, Any], i: int) -> int:
        body = {"id": voucher["id"], "amount": "1.00", "currency": "EUR", "order_number": f"R{i}"}
        with httpx.Client(base_url=f"{live_server.url}/jtl", timeout=60) as http:
            headers = {"Authorization": jtl.http.headers["Authorization"]}
            return http.post("/v1/vouchers/recharge", json=body, headers=headers).status_code

    jobs: list[Callable[[], int]] = []
    for voucher in vouchers:
        for i in range(5):
            jobs.append(lambda v=voucher: native_charge(v))
            jobs.append(lambda v=voucher, i=i: jtl_recharge(v, i))
    with ThreadPoolExecutor(max_workers=8) as pool:
        statuses = list(pool.map(lambda job: job(), jobs))
    assert statuses.count(201) >= 30, statuses  # a lost race answers 409; most go through
    jtl.http.close()

    expected = _voucher_events(live_server, tenant.id)
    kinds = {f"voucher.{e.operation}" for e in expected}
    assert {"voucher.create", "voucher.charge", "voucher.recharge"} <= kinds
    _wait_for(lambda: len(receiver.accepted()) >= len(expected))
    time.sleep(1.0)  # anything extra (a duplicate) would arrive now

    verifier = Webhook(hook["secret"])
    got = receiver.accepted()
    ids = [headers["webhook-id"] for headers, _ in got]
    assert sorted(ids) == sorted(f"evt_{e.id}" for e in expected)  # each exactly once
    per_voucher: dict[str, list[int]] = defaultdict(list)
    for headers, body in got:
        payload = verifier.verify(body, headers)  # raises on a bad signature
        assert payload["type"] == f"voucher.{payload['data']['operation']}"
        assert "code" not in payload["data"]["after"]
        per_voucher[payload["data"]["voucher_id"]].append(int(payload["data"]["event_id"]))
    assert set(per_voucher) == {v["id"] for v in vouchers}
    for sequence in per_voucher.values():
        assert sequence == sorted(sequence)  # order per voucher kept
    with pytest.raises(Exception, match="signature"):
        headers, body = got[0]
        Webhook("whsec_" + "A" * 44).verify(body, headers)

    log = api.get(f"/v1/webhooks/{hook['id']}/deliveries", params={"limit": 500}).json()
    assert len(log["data"]) == len(expected)
    assert {d["status"] for d in log["data"]} == {"delivered"}


def test_a_failing_receiver_gets_retries_then_the_event_and_replay_resends(
    api: Api, receiver: Receiver
) -> None:
    receiver.statuses = [500, 500, 200]
    hook = _subscribe(api, receiver.url, ["voucher.create"])
    voucher = api.create_voucher()
    _wait_for(lambda: len(receiver.accepted()) == 1)
    assert [s for _, _, s in receiver.received] == [500, 500, 200]
    assert len({h["webhook-id"] for h, _, _ in receiver.received}) == 1  # the same message
    body = json.loads(receiver.received[-1][1])
    assert body["type"] == "voucher.create" and body["data"]["voucher_id"] == voucher["id"]

    log = api.get(f"/v1/webhooks/{hook['id']}/deliveries").json()["data"]
    assert [(d["status"], d["attempts"], d["last_status_code"]) for d in log] == [
        ("delivered", 3, 200)
    ]
    replayed = api.post(f"/v1/webhooks/{hook['id']}/deliveries/{log[0]['id']}/replay")
    assert replayed.status_code == 202, replayed.text
    _wait_for(lambda: len(receiver.accepted()) == 2)
    assert receiver.received[-1][0]["webhook-id"] == receiver.received[0][0]["webhook-id"]
    missing = api.post(f"/v1/webhooks/{hook['id']}/deliveries/999999999/replay")
    assert missing.status_code == 404


def test_a_receiver_that_never_succeeds_is_marked_failed_then_deleted(
    api: Api, receiver: Receiver
) -> None:
    receiver.statuses = [503]
    hook = _subscribe(api, receiver.url, ["voucher.create"])
    api.create_voucher()

    def failed() -> bool:
        log = api.get(f"/v1/webhooks/{hook['id']}/deliveries").json()["data"]
        return bool(log) and log[0]["status"] == "failed"

    _wait_for(failed)
    assert len(receiver.received) == 4  # the first try and the schedule's three retries
    assert api.delete(f"/v1/webhooks/{hook['id']}").status_code == 204
    assert api.get(f"/v1/webhooks/{hook['id']}").status_code == 404
    api.create_voucher()
    time.sleep(1.0)
    assert len(receiver.received) == 4  # a deleted subscription gets nothing


def test_webhook_input_is_checked(api: Api) -> None:
    bad_url = api.post("/v1/webhooks", {"url": "ftp://example.com/x"})
    assert bad_url.status_code == 422
    bad_type = api.post("/v1/webhooks", {"url": "http://127.0.0.1:20000/", "event_types": ["V"]})
    assert bad_type.status_code == 422
    assert api.get("/v1/webhooks/123456789").status_code == 404
    default = api.post("/v1/webhooks", {"url": "http://127.0.0.1:20000/"}).json()
    assert default["event_types"] == ["voucher.*"]


def test_adding_and_removing_endpoints_is_audited_but_never_delivered(
    api: Api, live_server: LiveServer, tenant: TenantFixture, receiver: Receiver
) -> None:
    hook = _subscribe(api, receiver.url, ["*"])  # everything, so a delivery would show
    other = api.post("/v1/webhooks", {"url": "http://127.0.0.1:20000/other"}).json()
    assert api.delete(f"/v1/webhooks/{other['id']}").status_code == 204
    voucher = api.create_voucher()

    with live_server.engine.connect() as conn:
        trail = list(
            conn.execute(
                select(events)
                .where(events.c.tenant_id == tenant.id, events.c.subject == "webhook")
                .order_by(events.c.id)
            )
        )
    assert [(e.operation, e.subject_id) for e in trail] == [
        ("create", str(hook["id"])),
        ("create", str(other["id"])),
        ("delete", str(other["id"])),
    ]
    assert all(e.actor for e in trail)  # who did it
    assert trail[0].after["url"] == receiver.url and trail[0].after["event_types"] == ["*"]
    assert trail[2].before["url"] == "http://127.0.0.1:20000/other"
    assert not any("secret" in (e.after or {}) or "whsec_" in str(e.after) for e in trail)

    # Events are offered in order: once the voucher's arrived, the earlier ones were offered.
    _wait_for(lambda: len(receiver.accepted()) >= 1)
    with live_server.engine.connect() as conn:
        offered = set(
            conn.execute(
                select(deliveries.c.event_id).where(deliveries.c.tenant_id == tenant.id)
            ).scalars()
        )
    assert not offered & {int(e.id) for e in trail}
    types = [json.loads(body)["type"] for _, body in receiver.accepted()]
    assert "voucher.create" in types and not [t for t in types if t.startswith("webhook.")]
    created = [json.loads(b) for _, b in receiver.accepted()]
    assert [c["data"]["voucher_id"] for c in created if c["type"] == "voucher.create"] == [
        voucher["id"]
    ]
