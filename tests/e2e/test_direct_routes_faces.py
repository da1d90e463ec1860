"""The JTL reserve and charge and the RM redeem answered directly (``faces/direct.py``, before
the main router) answer as their routes do.

As for the native routes (``test_direct_routes.py``): a request the direct path takes (a body
sent as ``application/json``) and one it leaves to the framework (the same body as
``application/json; charset=utf-8``, which both faces parse the same way) must get the same
answer, refusals included, in the vendor's error shape; and the access line and metrics name
the route's template, as through the mount.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from typing import Any

import httpx
import orjson
import pytest
from sqlalchemy import Engine

from tests.compat.jtl.conftest import Jtl, connect
from tests.compat.revenue_monster.conftest import (
    KeyPair,
    RmClient,
    RmMerchant,
    make_batch,
    make_key_pair,
    make_merchant,
)
from tests.conftest import LiveServer, TenantFixture

DIRECT = "application/json"
FRAMEWORK = "application/json; charset=utf-8"


@pytest.fixture
def jtl(live_server: LiveServer, tenant: TenantFixture) -> Iterator[Jtl]:
    client = connect(live_server, tenant.id)
    client.login()
    yield client
    client.http.close()


def _jtl_post(jtl: Jtl, path: str, body: bytes, kind: str) -> httpx.Response:
    return jtl.http.post(f"/v1{path}", content=body, headers={"Content-Type": kind})


def _reserve(jtl: Jtl, code: str, kind: str, amount: str = "5.00") -> httpx.Response:
    body = orjson.dumps({"amount": amount, "currency": "EUR", "code": code})
    return _jtl_post(jtl, "/reservations", body, kind)


def _without(answer: dict[str, Any], *keys: str) -> dict[str, Any]:
    return {k: v for k, v in answer.items() if k not in keys}


def _same(direct: httpx.Response, routed: httpx.Response, *varying: str) -> None:
    assert direct.status_code == routed.status_code, (direct.text, routed.text)
    assert direct.headers["content-type"] == routed.headers["content-type"]
    assert _without(direct.json(), *varying) == _without(routed.json(), *varying)


def test_a_direct_jtl_reserve_and_charge_answer_as_the_routes_do(jtl: Jtl) -> None:
    first, second = jtl.voucher()["code"], jtl.voucher()["code"]
    reserved = {
        kind: _reserve(jtl, code, kind) for kind, code in ((DIRECT, first), (FRAMEWORK, second))
    }
    assert reserved[DIRECT].status_code == 201, reserved[DIRECT].text
    times = ("created_at", "updated_at", "expires_at", "valid_until")
    _same(reserved[DIRECT], reserved[FRAMEWORK], "id", "voucher_id", *times)

    order = orjson.dumps({"order_number": "ORDER-1"})
    charged = {
        kind: _jtl_post(jtl, f"/reservations/{answer.json()['id']}/charge", order, kind)
        for kind, answer in reserved.items()
    }
    assert charged[DIRECT].status_code == 201, charged[DIRECT].text
    assert charged[DIRECT].json()["amount"] == "5.00"
    _same(charged[DIRECT], charged[FRAMEWORK], "id", "voucher_id", *times)

    # The same reservation again: refused alike (it was charged).
    again = {
        kind: _jtl_post(jtl, f"/reservations/{answer.json()['id']}/charge", order, kind)
        for kind, answer in reserved.items()
    }
    assert again[DIRECT].status_code == 409, again[DIRECT].text
    _same(again[DIRECT], again[FRAMEWORK])


def test_jtl_refusals_keep_the_jtl_shape(jtl: Jtl, live_server: LiveServer) -> None:
    code = jtl.voucher()["code"]
    cases: list[tuple[str, bytes]] = [
        ("/reservations", orjson.dumps({"amount": "5.00", "currency": "EUR", "code": "NO-SUCH"})),
        ("/reservations", orjson.dumps({"amount": "500.00", "currency": "EUR", "code": code})),
        ("/reservations", orjson.dumps({"amount": "x", "currency": "EUR", "code": code})),
        ("/reservations", orjson.dumps({"currency": "EUR"})),
        ("/reservations", b'{"amount": '),
        ("/reservations", orjson.dumps([1])),
        ("/reservations/999999999/charge", orjson.dumps({"order_number": "O"})),
        ("/reservations/not-a-number/charge", orjson.dumps({"order_number": "O"})),
        ("/reservations/1/charge", b"{"),
    ]
    for path, body in cases:
        direct = _jtl_post(jtl, path, body, DIRECT)
        routed = _jtl_post(jtl, path, body, FRAMEWORK)
        assert direct.status_code in (404, 409, 422), (path, body, direct.text)
        assert set(direct.json()) >= {"status", "code", "message"}, direct.text
        _same(direct, routed)

    anonymous = httpx.Client(base_url=f"{live_server.url}/jtl", timeout=30)
    try:
        body = orjson.dumps({"amount": "5.00", "currency": "EUR", "code": code})
        direct = _jtl_post(Jtl(anonymous, "", "", 0), "/reservations", body, DIRECT)
        routed = _jtl_post(Jtl(anonymous, "", "", 0), "/reservations", body, FRAMEWORK)
    finally:
        anonymous.close()
    assert direct.status_code == 401
    assert direct.json()["code"] == "AUTH.UNAUTHENTICATED"
    assert direct.headers["www-authenticate"] == routed.headers["www-authenticate"]
    _same(direct, routed)


@pytest.fixture(scope="module")
def rm_key(tmp_path_factory: pytest.TempPathFactory) -> KeyPair:
    return make_key_pair(tmp_path_factory.mktemp("rm_direct"), "direct")


@pytest.fixture
def merchant(engine: Engine, rm_key: KeyPair) -> RmMerchant:
    return make_merchant(engine, rm_key)


@pytest.fixture
def rm(live_server: LiveServer, merchant: RmMerchant) -> Iterator[RmClient]:
    client = RmClient(live_server, merchant)
    yield client
    client.close()


def _issue(rm: RmClient, key: str) -> str:
    response = rm.call("post", f"/v3/voucher-batch/{key}/issue", {})
    assert response.status_code == 200, response.text
    return str(response.json()["item"]["code"])


def _redeem(rm: RmClient, body: Any, kind: str, **sign: Any) -> httpx.Response:
    url = f"{rm.base}/v3/vouchers/redeem"
    headers = rm.signed_headers("post", url, body, **sign) | {"Content-Type": kind}
    return rm.call("post", "/v3/vouchers/redeem", body, headers=headers)


VOUCHER_VARYING = ("key", "code", "qrUrl", "assignedAt", "createdAt", "updatedAt", "redeemedAt")


def test_a_direct_rm_redeem_answers_as_the_route_does(
    rm: RmClient, merchant: RmMerchant, engine: Engine
) -> None:
    key = make_batch(engine, merchant.tenant_id, type="CASH", amount=1000, quantity=4)
    codes = [_issue(rm, key) for _ in range(4)]
    direct = _redeem(rm, {"codes": codes[:2]}, DIRECT)
    routed = _redeem(rm, {"codes": codes[2:]}, FRAMEWORK)
    assert direct.status_code == routed.status_code == 200, (direct.text, routed.text)
    assert direct.headers["content-type"] == routed.headers["content-type"]
    items = [
        [_without(item, *VOUCHER_VARYING) for item in answer.json()["item"]]
        for answer in (direct, routed)
    ]
    assert items[0] == items[1]
    assert [item["status"] for item in items[0]] == ["REDEEMED", "REDEEMED"]
    assert items[0][0]["voucherBatchKey"] == key and items[0][0]["amount"] == 1000
    assert [item["code"] for item in direct.json()["item"]] == codes[:2]
    # The face's base URL is the mount's, as the route sees it.
    for answer in (direct, routed):
        assert answer.json()["item"][0]["qrUrl"].startswith(f"{rm.base}/qr/"), answer.text

    # Redeemed already: refused alike.
    again = [_redeem(rm, {"codes": codes[:1]}, kind) for kind in (DIRECT, FRAMEWORK)]
    assert again[0].json()["error"]["code"] == "VOUCHER_REDEEMED"
    _same(*again)


def test_rm_refusals_keep_the_rm_shape(rm: RmClient, merchant: RmMerchant, engine: Engine) -> None:
    key = make_batch(engine, merchant.tenant_id, type="CASH", amount=100, quantity=3)
    code, *others = (_issue(rm, key) for _ in range(3))
    # A nonce already used (by a request one path answered) is refused by the other path.
    for first, second, other in ((DIRECT, FRAMEWORK, others[0]), (FRAMEWORK, DIRECT, others[1])):
        nonce = secrets.token_hex(16)
        assert _redeem(rm, {"codes": [other]}, first, nonce=nonce).status_code == 200
        replayed = _redeem(rm, {"codes": [other]}, second, nonce=nonce)
        assert replayed.json()["error"]["code"] == "INVALID_REQUEST_SIGNATURE", replayed.text

    url = f"{rm.base}/v3/vouchers/redeem"
    for body, change in (
        ({"codes": []}, {}),
        ({"codes": ["NOSUCHCODE"]}, {}),
        ({"codes": [code]}, {"X-Signature": "sha256 AAAA"}),
        ({"codes": [code]}, {"X-Timestamp": "1"}),
        ({"codes": [code]}, {"Authorization": "Bearer nonsense"}),
        ({"codes": [code]}, {"Authorization": ""}),
    ):
        answers = []
        for kind in (DIRECT, FRAMEWORK):
            headers = rm.signed_headers("post", url, body) | {"Content-Type": kind, **change}
            answers.append(rm.call("post", "/v3/vouchers/redeem", body, headers=headers))
        assert answers[0].status_code >= 400, answers[0].text
        assert set(answers[0].json()) == {"error"}, answers[0].text
        _same(*answers)
    # Nothing above redeemed it.
    done = _redeem(rm, {"codes": [code]}, DIRECT)
    assert done.status_code == 200, done.text


def test_the_faces_declare_their_direct_routes(live_server: LiveServer) -> None:
    """The answers above came through the direct path: the app declares these routes."""
    from voucherd.api.app import create_app
    from voucherd.faces.direct import DirectRoutes

    app = create_app(live_server.settings)
    declared = {
        (route.method, route.path, route.mount, getattr(route.face, "name", None))
        for middleware in app.user_middleware
        if middleware.cls is DirectRoutes
        for route in middleware.kwargs["routes"]
    }
    assert {
        ("POST", "/jtl/v1/reservations", "/jtl", "jtl"),
        ("POST", "/jtl/v1/reservations/{id}/charge", "/jtl", "jtl"),
        ("POST", "/rm/v3/vouchers/redeem", "/rm", "revenue_monster"),
    } <= declared
