"""The database goes away under a running server, then comes back.

A private PostgreSQL cluster (initdb in a temp dir) and ``voucherd serve`` as a real process.
While the cluster is stopped, each face's typical read, write and token call answers 503 with
``Retry-After`` in that face's own error shape (docs: /work/notes/unavailable-shapes.md, the
compat docs); every request gets an HTTP answer; ``/ready`` says unavailable without naming
exception classes. When the cluster is back, every face recovers by itself within seconds, an
Idempotency-Key whose request failed during the outage runs on retry, and the server log holds
no SQL parameters or secrets.
"""

from __future__ import annotations

import itertools
import re
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import SecretStr
from sqlalchemy import Engine, func, select

from tests.compat.jtl.conftest import Jtl, connect
from tests.compat.revenue_monster.conftest import RmClient, make_batch, make_key_pair, make_merchant
from tests.compat.shopee.conftest import Raw, make_shop
from tests.compat.spaaza.conftest import World, make_world
from tests.conftest import TEST_SECRET_KEY, Api, LiveServer, make_tenant
from tests.reliability.cluster import PgCluster
from tests.reliability.conftest import migrated
from tests.reliability.server import ServerProcess
from voucherd.config import Settings
from voucherd.db.tables import ledger_entries

RECOVERY_SECONDS = 10.0  # "by itself within a few seconds"; measured 0.01-0.05 s before
CLASS_NAMES = ("OperationalError", "psycopg", "sqlalchemy", "Exception", "Error", "Traceback")


# --- each face's shape for "service unavailable" (see /work/notes/unavailable-shapes.md) -------


def _retry_after(response: httpx.Response) -> None:
    value = response.headers.get("retry-after")
    assert value is not None, f"no Retry-After: {response.status_code} {response.text[:300]}"
    assert value.isascii() and value.isdigit() and 1 <= int(value) <= 120, value


def _json(response: httpx.Response, media: str = "application/json") -> Any:
    kind = response.headers.get("content-type", "")
    assert kind.startswith(media), (response.status_code, kind, response.text[:300])
    return response.json()


def native_unavailable(response: httpx.Response) -> None:
    assert response.status_code == 503, response.text[:500]
    _retry_after(response)
    body = _json(response, "application/problem+json")
    assert body["status"] == 503 and body["code"] == "service_unavailable", body
    assert body["type"].endswith("/service_unavailable"), body
    assert isinstance(body["detail"], str) and body["detail"], body


def jtl_unavailable(response: httpx.Response) -> None:
    assert response.status_code == 503, response.text[:500]
    _retry_after(response)
    body = _json(response)
    assert set(body) == {"status", "code", "message"}, body
    assert body["status"] == 503 and body["code"] == "SERVICE_UNAVAILABLE", body
    assert isinstance(body["message"], str) and body["message"], body


def shopee_unavailable(response: httpx.Response) -> None:
    assert response.status_code == 503, response.text[:500]
    _retry_after(response)
    body = _json(response)
    assert body["error"] == "error_server", body
    assert isinstance(body["message"], str) and body["message"], body
    assert re.fullmatch(r"[0-9a-f]{32}", body["request_id"]), body


def spaaza_unavailable(response: httpx.Response) -> None:
    assert response.status_code == 503, response.text[:500]
    _retry_after(response)
    body = _json(response)
    assert set(body) == {"result", "error"}, body
    assert body["result"] == {"code": 2, "status": "error"}, body
    assert body["error"]["code"] == 921 and body["error"]["name"] == "service_unavailable", body
    assert isinstance(body["error"]["description"], str) and body["error"]["description"]


def rm_unavailable(response: httpx.Response) -> None:
    assert response.status_code == 503, response.text[:500]
    _retry_after(response)
    body = _json(response)
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message"}, body
    assert body["error"]["code"] == "TEMPORARY_UNAVAILABLE", body
    assert body["error"]["message"], body


# --- the set-up: one server, one tenant per face with working credentials ---------------------


@dataclass
class Probe:
    face: str
    name: str
    send: Callable[[], httpx.Response]
    unavailable: Callable[[httpx.Response], None]
    ok: Callable[[httpx.Response], bool]


@dataclass
class Setup:
    cluster: PgCluster
    server: ServerProcess
    engine: Engine
    native: Api
    native_voucher: dict[str, Any]
    probes: list[Probe]
    secrets: list[str] = field(default_factory=list)


def _native_probes(api: Api, voucher: dict[str, Any], credentials: tuple[str, str]) -> list[Probe]:
    def charge() -> httpx.Response:
        return api.post(
            "/v1/charges",
            {"voucher_id": voucher["id"], "amount": 1, "currency": "EUR"},
            headers={"Idempotency-Key": uuid.uuid4().hex},
        )

    return [
        Probe(
            "native",
            "read",
            lambda: api.get(f"/v1/vouchers/{voucher['id']}"),
            native_unavailable,
            lambda r: r.status_code == 200,
        ),
        Probe("native", "write", charge, native_unavailable, lambda r: r.status_code == 201),
        Probe(
            "native",
            "list",
            lambda: api.get("/v1/vouchers", params={"limit": 5}),
            native_unavailable,
            lambda r: r.status_code == 200,
        ),
        Probe(
            "native",
            "token",
            lambda: api.http.post(
                "/oauth/token", data={"grant_type": "client_credentials"}, auth=credentials
            ),
            native_unavailable,
            lambda r: r.status_code == 200,
        ),
    ]


def _jtl_probes(jtl: Jtl, voucher: dict[str, Any]) -> list[Probe]:
    return [
        Probe(
            "jtl",
            "read",
            lambda: jtl.get(f"/vouchers/{voucher['id']}"),
            jtl_unavailable,
            lambda r: r.status_code == 200,
        ),
        Probe(
            "jtl",
            "write",
            lambda: jtl.post("/vouchers", {"amount": "5.00", "currency": "EUR"}),
            jtl_unavailable,
            lambda r: r.status_code == 201,
        ),
        Probe("jtl", "token", jtl.token, jtl_unavailable, lambda r: r.status_code == 200),
    ]


def _shopee_probes(raw: Raw, voucher_id: int) -> list[Probe]:
    codes = (f"R{n:04d}" for n in itertools.count(1))

    def add() -> httpx.Response:
        start = int(time.time()) + 3600
        body = {
            "voucher_name": "Outage",
            "voucher_code": next(codes),
            "start_time": start,
            "end_time": start + 86400,
            "voucher_type": 1,
            "reward_type": 1,
            "usage_quantity": 10,
            "min_basket_price": 20.0,
            "discount_amount": 2.5,
            "display_channel_list": [1],
        }
        return raw.post("/api/v2/voucher/add_voucher", body)

    def shopee_ok(response: httpx.Response) -> bool:
        return response.status_code == 200 and response.json().get("error") == ""

    return [
        Probe(
            "shopee",
            "read",
            lambda: raw.get("/api/v2/voucher/get_voucher", {"voucher_id": voucher_id}),
            shopee_unavailable,
            shopee_ok,
        ),
        Probe("shopee", "write", add, shopee_unavailable, shopee_ok),
    ]


def _spaaza_probes(world: World) -> list[Probe]:
    def create() -> httpx.Response:
        data = {
            "user_id": str(world.user.user_id),
            "campaign_id": str(world.campaign_id),
            "voucher_amount": "5.00",
            "set_claimed": "1",
        }
        return world.call("POST", "/create-voucher", world.as_admin(), data)

    return [
        Probe(
            "spaaza",
            "read",
            lambda: world.http.get("/get-user-vouchers", headers=world.as_user()),
            spaaza_unavailable,
            lambda r: r.status_code == 200,
        ),
        Probe(
            "spaaza",
            "admin-read",
            lambda: world.http.get(
                "/get-vouchers", headers=world.as_admin(), params={"chain_id": world.chain_id}
            ),
            spaaza_unavailable,
            lambda r: r.status_code == 200,
        ),
        Probe("spaaza", "write", create, spaaza_unavailable, lambda r: r.status_code == 200),
    ]


def _rm_probes(rm: RmClient, batch: str, code: str) -> list[Probe]:
    return [
        Probe(
            "rm",
            "read",
            lambda: rm.call("get", f"/v3/voucher/{code}"),
            rm_unavailable,
            lambda r: r.status_code == 200,
        ),
        Probe(
            "rm",
            "write",
            lambda: rm.call("post", f"/v3/voucher-batch/{batch}/issue", {}),
            rm_unavailable,
            lambda r: r.status_code == 200,
        ),
        Probe(
            "rm",
            "token",
            lambda: rm.token({"grantType": "client_credentials"}),
            rm_unavailable,
            lambda r: r.status_code == 200,
        ),
    ]


@pytest.fixture(scope="module")
def setup(pg_cluster: PgCluster, log_dir: Path) -> Iterator[Setup]:
    pg_cluster.create_database("voucherd")
    url = pg_cluster.database_url("voucherd")
    engine = migrated(url)
    server = ServerProcess(url, log_dir / "down.log")
    server.start()
    live = LiveServer(
        server.url, engine, Settings(database_url=url, secret_key=SecretStr(TEST_SECRET_KEY))
    )
    clients: list[Any] = []
    try:
        tenant = make_tenant(engine, "outage")
        api = Api(server.url, tenant.client_id, tenant.client_secret)
        clients.append(api)
        voucher = api.create_voucher(amount=1_000_000, code="OUTAGE-NATIVE-CODE-1")

        jtl = connect(live, make_tenant(engine, "jtl").id)
        jtl.login()
        clients.append(jtl.http)
        jtl_voucher = jtl.voucher(code="OUTAGE-JTL-CODE-1")

        shop = make_shop(live)
        raw = Raw(server.url, shop)
        clients.append(raw.http)
        start = int(time.time()) + 3600
        added = raw.post(
            "/api/v2/voucher/add_voucher",
            {
                "voucher_name": "Base",
                "voucher_code": "BASE1",
                "start_time": start,
                "end_time": start + 86400,
                "voucher_type": 1,
                "reward_type": 1,
                "usage_quantity": 10,
                "min_basket_price": 20.0,
                "discount_amount": 2.5,
                "display_channel_list": [1],
            },
        ).json()
        assert added["error"] == "", added

        world = make_world(live)
        clients.append(world.http)

        keys = make_key_pair(log_dir, "rm")
        merchant = make_merchant(engine, keys)
        rm = RmClient(live, merchant)
        clients.append(rm.http)
        batch = make_batch(engine, merchant.tenant_id, quantity=100)
        issued = rm.call("post", f"/v3/voucher-batch/{batch}/issue", {})
        assert issued.status_code == 200, issued.text
        rm_code = issued.json()["item"]["code"]

        probes = [
            *_native_probes(api, voucher, (tenant.client_id, tenant.client_secret)),
            *_jtl_probes(jtl, jtl_voucher),
            *_shopee_probes(raw, int(added["response"]["voucher_id"])),
            *_spaaza_probes(world),
            *_rm_probes(rm, batch, rm_code),
        ]
        secrets = [
            "OUTAGE-NATIVE-CODE-1",
            "OUTAGE-JTL-CODE-1",
            tenant.client_secret,
            api.token,
            jtl.secret,
            shop.access_token,
            shop.partner.partner_key,
            world.admin.key,
            world.user.key,
            world.token,
            merchant.client_secret,
            rm.tokens["accessToken"],
            rm_code,
        ]
        for probe in probes:  # everything works before the outage
            response = probe.send()
            assert probe.ok(response), (probe.face, probe.name, response.text[:500])
        yield Setup(pg_cluster, server, engine, api, voucher, probes, secrets)
    finally:
        for client in clients:
            http = getattr(client, "http", client)
            http.close()
        server.stop()
        engine.dispose()


def _answer(probe: Probe) -> tuple[Probe, httpx.Response | Exception]:
    try:
        return probe, probe.send()
    except httpx.TransportError as exc:  # a dropped connection: no HTTP answer at all
        return probe, exc


def _check(problems: list[str], label: str, check: Callable[[], None]) -> None:
    try:
        check()
    except AssertionError as exc:
        first = str(exc).splitlines()[0] if str(exc) else repr(exc)
        problems.append(f"{label}: {re.sub(r'[0-9a-f]{32}', '<id>', first)[:200]}")


def test_database_down_every_face_answers_503_in_its_shape_and_recovers(setup: Setup) -> None:
    """Every problem is collected and reported together, so one run shows the whole picture."""
    cluster, server = setup.cluster, setup.server
    problems: list[str] = []
    log_before = len(server.log())
    outage_key = uuid.uuid4().hex
    outage_body = {"voucher_id": setup.native_voucher["id"], "amount": 7, "currency": "EUR"}
    cluster.stop("fast")
    try:
        # Sequential rounds (the first finds pooled connections the stop broke), then a burst.
        answers = [_answer(p) for _ in range(3) for p in setup.probes]
        with ThreadPoolExecutor(8) as pool:
            answers += list(pool.map(_answer, setup.probes * 4))
        for probe, answer in answers:
            label = f"{probe.face} {probe.name}"
            if isinstance(answer, Exception):
                problems.append(f"{label}: no HTTP answer ({answer!r})")
            elif "text/plain" in answer.headers.get("content-type", ""):
                problems.append(f"{label}: text/plain {answer.status_code} {answer.text[:80]!r}")
            else:
                _check(problems, label, lambda a=answer, p=probe: p.unavailable(a))  # type: ignore[misc]

        ready = httpx.get(f"{server.url}/ready", timeout=30)
        if ready.status_code != 503 or any(name in ready.text for name in CLASS_NAMES):
            problems.append(f"/ready while down: {ready.status_code} {ready.text[:200]}")

        # A native write with an Idempotency-Key fails while the database is away ...
        failed = setup.native.post(
            "/v1/charges", outage_body, headers={"Idempotency-Key": outage_key}
        )
        _check(problems, "native idempotent write", lambda: native_unavailable(failed))
    finally:
        cluster.start()

    # Every face recovers by itself: no restart of the server, no manual step.
    started = time.monotonic()
    pending = list(setup.probes)
    while pending and time.monotonic() - started < RECOVERY_SECONDS:
        still = []
        for probe in pending:
            _, answer = _answer(probe)
            if not (isinstance(answer, httpx.Response) and probe.ok(answer)):
                still.append(probe)
        pending = still
        if pending:
            time.sleep(0.1)
    problems += [f"{p.face} {p.name}: not recovered after {RECOVERY_SECONDS} s" for p in pending]
    ready = httpx.get(f"{server.url}/ready", timeout=30)
    if ready.status_code != 200:
        problems.append(f"/ready after recovery: {ready.status_code} {ready.text[:200]}")

    # ... and the same key + body runs after recovery: not 409 idempotency_in_flight.
    retried = setup.native.post("/v1/charges", outage_body, headers={"Idempotency-Key": outage_key})
    if retried.status_code != 201:
        problems.append(f"retried Idempotency-Key: {retried.status_code} {retried.text[:200]}")
    else:
        again = setup.native.post(
            "/v1/charges", outage_body, headers={"Idempotency-Key": outage_key}
        )
        if again.status_code != 201 or again.json() != retried.json():
            problems.append(f"replay after recovery: {again.status_code} {again.text[:200]}")

    log = server.log()[log_before:]
    if "[parameters:" in log:
        problems.append(f"SQL parameters in the server log ({log.count('[parameters:')} times)")
    leaked = [s for s in setup.secrets if s in log]
    if leaked:
        problems.append(f"{len(leaked)} of {len(setup.secrets)} secrets/codes in the server log")
    assert not problems, f"{len(problems)} problems:\n" + "\n".join(sorted(set(problems)))


def test_writes_cut_by_the_outage_run_on_retry_with_their_key(setup: Setup) -> None:
    """Native charges stream while the database stops and starts again: each key whose request
    did not get its 201 gets it on retry after recovery, and the ledger holds exactly one charge
    per key (no double booking, no key left "in flight")."""
    api, voucher = setup.native, setup.native_voucher
    with setup.engine.connect() as conn:
        before = conn.execute(
            select(func.count()).where(ledger_entries.c.voucher_id == _internal_id(setup))
        ).scalar_one()
    sent: list[tuple[str, httpx.Response | Exception]] = []
    stop = threading.Event()

    def stream() -> None:
        http = httpx.Client(
            base_url=str(api.http.base_url), headers=dict(api.http.headers), timeout=30
        )
        with http:
            while not stop.is_set():
                key = uuid.uuid4().hex
                body = {"voucher_id": voucher["id"], "amount": 3, "currency": "EUR"}
                try:
                    answer: httpx.Response | Exception = http.post(
                        "/v1/charges", json=body, headers={"Idempotency-Key": key}
                    )
                except httpx.TransportError as exc:
                    answer = exc
                sent.append((key, answer))

    workers = [threading.Thread(target=stream) for _ in range(4)]
    for worker in workers:
        worker.start()
    try:
        time.sleep(0.5)
        setup.cluster.stop("fast")
        time.sleep(1.0)
        setup.cluster.start()
        time.sleep(1.5)
    finally:
        stop.set()
        for worker in workers:
            worker.join(timeout=60)
        if not setup.cluster.running():
            setup.cluster.start()

    problems: list[str] = []
    dropped = [key for key, answer in sent if isinstance(answer, Exception)]
    if dropped:
        problems.append(f"{len(dropped)} of {len(sent)} requests got no HTTP answer")
    statuses = sorted({a.status_code for _, a in sent if isinstance(a, httpx.Response)})
    if not set(statuses) <= {201, 503}:
        problems.append(f"statuses during the outage: {statuses} (only 201 and 503 allowed)")
    cut = [
        key
        for key, answer in sent
        if not (isinstance(answer, httpx.Response) and answer.status_code == 201)
    ]
    assert cut, "the outage cut no request: the test proved nothing"
    body = {"voucher_id": voucher["id"], "amount": 3, "currency": "EUR"}
    retries = {key: api.post("/v1/charges", body, headers={"Idempotency-Key": key}) for key in cut}
    refused = sorted(
        {f"{r.status_code} {r.text[:120]}" for r in retries.values() if r.status_code != 201}
    )
    refused_count = sum(1 for r in retries.values() if r.status_code != 201)
    if refused:
        problems.append(f"{refused_count} of {len(cut)} retried keys refused: {refused}")
    with setup.engine.connect() as conn:
        after = conn.execute(
            select(func.count()).where(ledger_entries.c.voucher_id == _internal_id(setup))
        ).scalar_one()
    booked_keys = len(sent) - refused_count
    if after - before != booked_keys:
        problems.append(f"{after - before} charges booked for {booked_keys} acknowledged keys")
    assert not problems, f"{len(problems)} problems:\n" + "\n".join(problems)


def _internal_id(setup: Setup) -> int:
    from voucherd.db.tables import vouchers

    with setup.engine.connect() as conn:
        return int(
            conn.execute(
                select(vouchers.c.id).where(vouchers.c.public_id == setup.native_voucher["id"])
            ).scalar_one()
        )
