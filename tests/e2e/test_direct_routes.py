"""The native charge and lookup answered directly (``faces/direct.py``) answer as their routes do.

A request the direct path takes (a plain ``application/json`` body, a good token) and one it
leaves to FastAPI (the same body sent as ``application/json; charset=utf-8``, which FastAPI
parses the same way) must get the same answer; refusals (no token, a missing scope, a body that
does not validate, a voucher that is not there) keep the native problem shape.
"""

from __future__ import annotations

from typing import Any

import httpx
import orjson

from tests.conftest import Api, LiveServer, TenantFixture
from voucherd.faces.direct import DirectRoute, route_for

DIRECT = {"Content-Type": "application/json"}
FRAMEWORK = {"Content-Type": "application/json; charset=utf-8"}


def _charge(api: Api, body: dict[str, Any], headers: dict[str, str]) -> httpx.Response:
    return api.http.post("/v1/charges", content=orjson.dumps(body), headers=headers)


def _without_ids(answer: dict[str, Any]) -> dict[str, Any]:
    entry = {
        k: v for k, v in answer["entry"].items() if k not in ("id", "voucher_id", "created_at")
    }
    voucher = {
        k: v
        for k, v in answer["voucher"].items()
        if k not in ("id", "number", "created_at", "updated_at", "activated_at")
    }
    return {"entry": entry, "voucher": voucher}


def test_a_direct_charge_answers_as_the_route_does(api: Api) -> None:
    first = api.create_voucher(amount=5000)
    second = api.create_voucher(amount=5000)
    direct = _charge(api, {"voucher_id": first["id"], "amount": 1250, "currency": "EUR"}, DIRECT)
    routed = _charge(
        api, {"voucher_id": second["id"], "amount": 1250, "currency": "EUR"}, FRAMEWORK
    )
    assert direct.status_code == routed.status_code == 201, (direct.text, routed.text)
    assert direct.headers["content-type"] == routed.headers["content-type"]
    assert direct.json()["voucher"]["balance"] == 3750
    assert direct.json()["entry"]["voucher_id"] == first["id"]
    assert _without_ids(direct.json()) == _without_ids(routed.json())


def test_a_direct_lookup_answers_as_the_charge_left_it(api: Api) -> None:
    voucher = api.create_voucher(amount=5000)
    charged = _charge(api, {"code": voucher["code"], "amount": 100}, DIRECT)
    assert charged.status_code == 201, charged.text
    got = api.get(f"/v1/vouchers/{voucher['id']}")
    assert got.status_code == 200, got.text
    assert got.json()["balance"] == 4900 and got.json()["id"] == voucher["id"]
    assert got.json() == charged.json()["voucher"] | {"updated_at": got.json()["updated_at"]}


def test_refusals_keep_the_native_shape(api: Api, live_server: LiveServer) -> None:
    voucher = api.create_voucher(amount=5000)
    body = {"voucher_id": voucher["id"], "amount": 1}
    anonymous = httpx.post(
        f"{live_server.url}/v1/charges", content=orjson.dumps(body), headers=DIRECT, timeout=30
    )
    assert anonymous.status_code == 401
    assert anonymous.json()["code"] == "unauthorized"
    assert anonymous.headers["content-type"] == "application/problem+json"
    assert anonymous.headers["www-authenticate"] == 'Bearer realm="voucherd"'

    for bad in (
        orjson.dumps({"voucher_id": voucher["id"], "amount": 0}),
        orjson.dumps({"voucher_id": voucher["id"], "amount": 1, "unknown": 1}),
        orjson.dumps([1]),
        b'{"amount": 1',
        b'{"amount": NaN}',
    ):
        direct = api.http.post("/v1/charges", content=bad, headers=DIRECT)
        routed = api.http.post("/v1/charges", content=bad, headers=FRAMEWORK)
        assert direct.status_code in (400, 422), direct.text
        assert direct.headers["content-type"] == "application/problem+json"
        assert (direct.status_code, direct.json()["code"]) == (
            routed.status_code,
            routed.json()["code"],
        )

    missing = _charge(api, {"voucher_id": "NO-SUCH-VOUCHER", "amount": 1}, DIRECT)
    assert missing.status_code == 404
    assert missing.json()["code"] == "not_found"
    assert api.get("/v1/vouchers/NO-SUCH-VOUCHER").json()["code"] == "not_found"
    assert api.get(f"/v1/vouchers/{voucher['id']}").json()["balance"] == 5000


def test_a_token_without_the_scope_is_refused(
    live_server: LiveServer, tenant: TenantFixture
) -> None:
    reader = Api(live_server.url, tenant.client_id, tenant.client_secret, scope="read")
    try:
        refused = reader.http.post(
            "/v1/charges", content=orjson.dumps({"code": "X", "amount": 1}), headers=DIRECT
        )
        assert refused.status_code == 403
        assert refused.json()["code"] == "insufficient_scope"
    finally:
        reader.close()


async def _nothing(*_args: object) -> None:
    return None


def test_route_for_leaves_earlier_literal_routes_their_paths() -> None:
    from starlette.routing import Mount, Route

    async def endpoint(_request: object) -> None:  # pragma: no cover - never called
        return None

    routes = [
        Route("/v1/things/export", endpoint, methods=["GET"]),
        Route("/v1/things/{thing_id}", endpoint, methods=["GET"]),
        Route("/v1/things/later", endpoint, methods=["GET"]),
    ]
    direct = route_for(routes, "GET", "/v1/things/{thing_id}", _nothing)
    assert isinstance(direct, DirectRoute)
    assert direct.route is routes[1]
    assert direct.shadowed == frozenset({"export"})

    covered = [Route("/v1/things/{other}", endpoint, methods=["GET"]), *routes]
    try:
        route_for(covered, "GET", "/v1/things/{thing_id}", _nothing)
    except ValueError as exc:
        assert "answers every request" in str(exc)
    else:
        raise AssertionError("a route covered by an earlier one was accepted")

    mounted = [Mount("/v1", routes=[]), *routes]
    try:
        route_for(mounted, "GET", "/v1/things/{thing_id}", _nothing)
    except ValueError as exc:
        assert "under the mount" in str(exc)
    else:
        raise AssertionError("a route under a mount was accepted")
