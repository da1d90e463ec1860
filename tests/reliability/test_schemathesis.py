"""Schemathesis over all five OpenAPI documents, against a real server with real credentials.

Native ``/openapi.json`` and each dialect's own document (``/jtl``, ``/shopee``, ``/spaaza``,
``/rm``). Every operation gets schema-valid and schema-invalid requests, authenticated the way
that face's clients authenticate (Shopee and RM requests signed per request; every other Shopee
and RM request keeps whatever auth parameters were generated, to fuzz the signature checks too),
plus valid requests on real objects' ids. The check: no 5xx, on any face. The one exemption is
Spaaza's documented HTTP 500 for error code 68 (``permission_denied_or_non_existent``).
Failures list every distinct 5xx (operation, status, request) and the server log holds the
tracebacks.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from pydantic import SecretStr
from schemathesis.generation import GenerationMode
from sqlalchemy import Engine

from tests.compat.jtl.conftest import connect
from tests.compat.revenue_monster.conftest import RmClient, make_batch, make_key_pair, make_merchant
from tests.compat.shopee.conftest import make_shop
from tests.compat.spaaza.conftest import make_world
from tests.conftest import TEST_SECRET_KEY, Api, LiveServer, make_tenant
from tests.reliability.server import ServerProcess
from voucherd.config import Settings
from voucherd.dialects.shopee import signing as shopee_signing

EXAMPLES = 5  # per operation and generation mode: all five documents in well under 2 minutes
REQUEST_KEYS = {"method", "url", "headers", "files", "data", "params", "auth", "cookies", "json"}

Signer = Callable[[requests.PreparedRequest, int], None]


@dataclass
class Face:
    name: str
    document: str  # path of the OpenAPI document on the server
    base: str  # base URL the operations' paths are relative to
    headers: dict[str, str]
    sign: Signer | None = None
    real: dict[str, str] = field(default_factory=dict)  # path parameter -> a real object's id
    exempt: Callable[[requests.Response], bool] = lambda _r: False


@dataclass
class Finding:
    face: str
    operation: str
    status: int
    request: str
    response: str

    def key(self) -> tuple[str, str, int, str]:
        return (self.face, self.operation, self.status, self.response[:120])


def _spaaza_code_68(response: requests.Response) -> bool:
    """Spaaza documents HTTP 500 for error 68 (permission denied or no such object)."""
    try:
        body = response.json()
    except ValueError:
        return False
    return (
        isinstance(body, dict)
        and body.get("result") == {"code": 2, "status": "error"}
        and isinstance(body.get("error"), dict)
        and body["error"].get("code") == 68
    )


def _shopee_signer(partner_id: int, partner_key: str, token: str, shop_id: int) -> Signer:
    public = ("/api/v2/auth/", "/api/v2/shop/auth_partner")

    def sign(prepared: requests.PreparedRequest, n: int) -> None:
        if n % 2:  # every other request keeps its generated common parameters
            return
        url = httpx.URL(str(prepared.url))
        path = url.path.removeprefix("/shopee")
        ts = int(time.time())
        params = dict(url.params)
        if path.startswith(public):
            params.update(
                partner_id=str(partner_id),
                timestamp=str(ts),
                sign=shopee_signing.sign(partner_key, partner_id, path, ts),
            )
        else:
            params.update(
                partner_id=str(partner_id),
                timestamp=str(ts),
                access_token=token,
                shop_id=str(shop_id),
                sign=shopee_signing.sign(partner_key, partner_id, path, ts, token, shop_id),
            )
        prepared.prepare_url(str(url.copy_with(query=None)), params)

    return sign


def _rm_signer(rm: RmClient) -> Signer:
    def sign(prepared: requests.PreparedRequest, n: int) -> None:
        if n % 2 or "/v1/token" in str(prepared.url):
            return
        raw = prepared.body or b""
        if isinstance(raw, str):
            raw = raw.encode()
        try:
            value: Any = json.loads(raw) if raw.strip() else None
        except ValueError:
            value = None
        headers = rm.signed_headers(str(prepared.method).lower(), str(prepared.url), value)
        for name, header in headers.items():
            if name != "Content-Type":
                prepared.headers[name] = header

    return sign


def _faces(server: ServerProcess, engine: Engine, keys_dir: Path) -> tuple[list[Face], list[Any]]:
    settings = Settings(database_url=server.database_url, secret_key=SecretStr(TEST_SECRET_KEY))
    live = LiveServer(server.url, engine, settings)
    closing: list[Any] = []

    tenant = make_tenant(engine, "schema")
    api = Api(server.url, tenant.client_id, tenant.client_secret)
    closing.append(api.http)
    voucher = api.create_voucher(amount=500_000)
    charge = api.post(
        "/v1/charges", {"voucher_id": voucher["id"], "amount": 100, "currency": "EUR"}
    )
    assert charge.status_code == 201, charge.text
    campaign = api.post(
        "/v1/campaigns", {"name": "schema", "kind": "stored_value", "currency": "EUR"}
    )
    native_real = {"voucher_id": voucher["id"], "entry_id": str(charge.json()["entry"]["id"])}
    if campaign.status_code == 201:
        native_real["campaign_id"] = str(campaign.json()["id"])

    jtl = connect(live, make_tenant(engine, "schema-jtl").id)
    token = jtl.login()
    closing.append(jtl.http)
    jtl_voucher = jtl.voucher(amount="99.00")

    shop = make_shop(live)
    world = make_world(live)
    closing.append(world.http)

    merchant = make_merchant(engine, make_key_pair(keys_dir, "schema-rm"))
    rm = RmClient(live, merchant)
    closing.append(rm.http)
    batch = make_batch(engine, merchant.tenant_id, quantity=50)
    issued = rm.call("post", f"/v3/voucher-batch/{batch}/issue", {})
    assert issued.status_code == 200, issued.text

    faces = [
        Face(
            "native",
            "/openapi.json",
            server.url,
            {"Authorization": f"Bearer {api.token}"},
            real=native_real,
        ),
        Face(
            "jtl",
            "/jtl/openapi.json",
            f"{server.url}/jtl",
            {"Authorization": f"Bearer {token}"},
            real={"id": jtl_voucher["id"]},
        ),
        Face(
            "shopee",
            "/shopee/openapi.json",
            f"{server.url}/shopee",
            {},
            sign=_shopee_signer(
                shop.partner.partner_id, shop.partner.partner_key, shop.access_token, shop.shop_id
            ),
        ),
        Face(
            "spaaza",
            "/spaaza/openapi.json",
            f"{server.url}/spaaza",
            world.as_admin(),
            exempt=_spaaza_code_68,
        ),
        Face(
            "rm",
            "/rm/openapi.json",
            f"{server.url}/rm",
            {},
            sign=_rm_signer(rm),
            real={
                "key": batch,
                "code": issued.json()["item"]["code"],
                "tenant_id": str(merchant.tenant_id),
            },
        ),
    ]
    return faces, closing


TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")


def _not_http(name: str, value: str) -> bool:
    return not TOKEN.fullmatch(name) or any(ord(c) < 0x20 and c != "\t" for c in value)


def _describe(prepared: requests.PreparedRequest) -> str:
    body = prepared.body
    if isinstance(body, bytes):
        body = body.decode("utf-8", "replace")
    shown = (body or "")[:300]
    return f"{prepared.method} {prepared.url} body={shown!r}"


def _fuzz(
    face: Face,
    operation: Any,
    mode: GenerationMode,
    session: requests.Session,
    findings: list[Finding],
    counter: Iterator[int],
    **fixed: Any,
) -> None:
    @given(case=operation.as_strategy(generation_mode=mode, **fixed))
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
        phases=[Phase.explicit, Phase.generate],
    )
    def run(case: Any) -> None:
        kwargs = case.as_transport_kwargs(base_url=face.base, headers=dict(face.headers))
        request = requests.Request(**{k: v for k, v in kwargs.items() if k in REQUEST_KEYS})
        prepared = session.prepare_request(request)
        if any(_not_http(name, str(value)) for name, value in prepared.headers.items()):
            return  # not HTTP (CR or LF in a value, "[" in a name): the parser drops the connection
        if face.sign is not None:
            face.sign(prepared, next(counter))
        try:
            response = session.send(prepared, timeout=30, allow_redirects=False)
        except requests.RequestException as exc:
            findings.append(Finding(face.name, operation.label, 0, _describe(prepared), repr(exc)))
            return
        if response.status_code >= 500 and not face.exempt(response):
            findings.append(
                Finding(
                    face.name,
                    operation.label,
                    response.status_code,
                    _describe(prepared),
                    response.text[:300],
                )
            )

    run()


@pytest.fixture
def server(database_url: str, engine: Engine, tmp_path: Path) -> Iterator[ServerProcess]:
    process = ServerProcess(database_url, tmp_path / "schemathesis-server.log")
    process.start()
    yield process
    process.stop()


def test_no_5xx_on_any_of_the_five_openapi_documents(
    server: ServerProcess, engine: Engine, tmp_path: Path
) -> None:
    faces, closing = _faces(server, engine, tmp_path)
    findings: list[Finding] = []
    counter = itertools.count()
    operations: dict[str, int] = {}
    try:
        with requests.Session() as session:
            for face in faces:
                schema = schemathesis.openapi.from_url(f"{server.url}{face.document}")
                for result in schema.get_all_operations():
                    operation = result.ok()  # type: ignore[union-attr]
                    operations[face.name] = operations.get(face.name, 0) + 1
                    for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
                        # Unsatisfiable: nothing in this operation can be made schema-invalid
                        with contextlib.suppress(Unsatisfiable):
                            _fuzz(face, operation, mode, session, findings, counter)
                    names = {p.name for p in operation.path_parameters}
                    if names and names <= set(face.real):
                        real = {name: face.real[name] for name in names}
                        _fuzz(
                            face,
                            operation,
                            GenerationMode.POSITIVE,
                            session,
                            findings,
                            counter,
                            path_parameters=real,
                        )
    finally:
        for http in closing:
            http.close()
    assert set(operations) == {"native", "jtl", "shopee", "spaaza", "rm"}, operations
    assert all(count >= 5 for count in operations.values()), operations
    distinct = {f.key(): f for f in findings}
    report = "\n".join(
        f"- {f.face} {f.operation} -> {f.status}: {f.request}\n    answer: {f.response}"
        for f in sorted(distinct.values(), key=lambda f: f.key())
    )
    assert not distinct, (
        f"{len(distinct)} distinct 5xx / no answer ({len(findings)} requests); server log: "
        f"{server.log_path}\n{report}"
    )
