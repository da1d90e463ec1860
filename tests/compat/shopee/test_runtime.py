"""Shopee on the face runtime: Idempotency-Key, and input that can never succeed (never a 5xx)."""

from __future__ import annotations

import asyncio
import re
import time
from typing import Any

import httpx
import pytest
from pyshopee2 import Client  # type: ignore[import-untyped]

from tests.compat.shopee.conftest import Raw
from tests.compat.shopee.test_vouchers import body, ok, ongoing
from tests.conftest import LiveServer
from voucherd.config import Settings
from voucherd.db.engine import make_engine
from voucherd.dialects.shopee import create_subapp, signing

ADD = "/api/v2/voucher/add_voucher"
END = "/api/v2/voucher/end_voucher"
UPDATE = "/api/v2/voucher/update_voucher"
DELETE = "/api/v2/voucher/delete_voucher"
GET = "/api/v2/voucher/get_voucher"
LIST = "/api/v2/voucher/get_voucher_list"
TOKEN = "/api/v2/auth/token/get"


def _post(raw: Raw, path: str, data: Any, key: str | None = None, **kwargs: Any) -> httpx.Response:
    """A freshly signed POST (new timestamp and sign each time), with an Idempotency-Key."""
    headers = {"Idempotency-Key": key} if key is not None else {}
    return raw.http.post(path, json=data, params=raw.params(path, **kwargs), headers=headers)


def _refused(reply: httpx.Response, status: int, error: str) -> dict[str, Any]:
    assert reply.status_code == status, reply.text
    assert reply.headers["content-type"].startswith("application/json")
    got: dict[str, Any] = reply.json()
    assert got["error"] == error, got
    assert got["message"] and got["response"] == ""
    assert re.fullmatch(r"[0-9a-f]{32}", got["request_id"])
    return got


def _all(client: Client) -> list[dict[str, Any]]:
    listed: list[dict[str, Any]] = ok(client.voucher.get_voucher_list(status="all"))["voucher_list"]
    return listed


# --- Idempotency-Key ----------------------------------------------------------------------------


def test_add_voucher_replayed_with_the_same_key(raw: Raw, client: Client) -> None:
    data = body(voucher_code="IDEM1")
    first = _post(raw, ADD, data, key="add-1")
    assert first.status_code == 200 and first.json()["error"] == "", first.text
    # a retry is signed again (new timestamp and sign): still the same request
    again = _post(raw, ADD, data, key="add-1")
    assert again.status_code == 200
    assert again.headers["idempotent-replayed"] == "true"
    assert again.content == first.content
    assert [v["voucher_id"] for v in _all(client)] == [first.json()["response"]["voucher_id"]]
    # without the key the same body is a new request: the code is taken now
    _refused(_post(raw, ADD, data), 200, "voucher.voucher_code_duplicate_error")


def test_same_key_with_another_body_is_refused(raw: Raw, client: Client) -> None:
    assert _post(raw, ADD, body(voucher_code="IDEM2"), key="add-2").json()["error"] == ""
    other = _post(raw, ADD, body(voucher_code="IDEM3"), key="add-2")
    _refused(other, 422, "error_param")
    assert [v["voucher_code"] for v in _all(client)] == ["IDEM2"]


def test_end_voucher_applied_once_per_key(raw: Raw, client: Client) -> None:
    voucher_id = ongoing(client, voucher_code="IDEM4")
    first = _post(raw, END, {"voucher_id": voucher_id}, key="end-1")
    again = _post(raw, END, {"voucher_id": voucher_id}, key="end-1")
    assert first.json()["error"] == "" and again.content == first.content
    assert again.headers["idempotent-replayed"] == "true"
    # a new key is a new request: the voucher has ended already
    _refused(
        _post(raw, END, {"voucher_id": voucher_id}, key="end-2"),
        200,
        "voucher.update_end_voucher_error",
    )


def test_malformed_idempotency_key(raw: Raw) -> None:
    _refused(_post(raw, ADD, body(voucher_code="IDEM5"), key="k" * 256), 400, "error_param")


# --- input that can never succeed ------------------------------------------------------------

NOT_DIGITS = ["\u00b2", "\uff11\uff10", "1_0", " 1", "+1", "1.0", "\u0661"]


@pytest.mark.parametrize("value", NOT_DIGITS)
@pytest.mark.parametrize("name", ["partner_id", "timestamp", "shop_id"])
def test_common_parameters_take_ascii_digits_only(raw: Raw, name: str, value: str) -> None:
    params = raw.params(LIST)
    params[name] = value
    reply = raw.http.get(LIST, params={**params, "status": "all"})
    _refused(reply, 400, "error_param")


def test_public_call_with_a_superscript_partner_id(raw: Raw) -> None:
    params = raw.params(TOKEN, public=True)
    params["partner_id"] = "\u00b2"
    _refused(raw.http.post(TOKEN, json={"code": "x"}, params=params), 400, "error_param")


@pytest.mark.parametrize(
    ("value", "error"),
    [
        (str(2**63), "common.error_not_found"),
        (str(2**63 - 1), "common.error_not_found"),
        ("9" * 40, "common.error_not_found"),
        ("-1", "common.error_not_found"),
        ("0", "common.error_not_found"),
        ("\u00b2", "error_param"),
        ("\uff11\uff10", "error_param"),
    ],
)
def test_voucher_id_in_the_query(raw: Raw, value: str, error: str) -> None:
    _refused(raw.get(GET, {"voucher_id": value}), 200, error)


@pytest.mark.parametrize("value", ["\u00b2", "\uff11\uff10", str(2**64)])
@pytest.mark.parametrize("name", ["page_no", "page_size"])
def test_paging_parameters(raw: Raw, name: str, value: str) -> None:
    _refused(raw.get(LIST, {"status": "all", name: value}), 200, "error_param")


@pytest.mark.parametrize("path", [END, DELETE, UPDATE])
@pytest.mark.parametrize(
    ("value", "error"),
    [
        (2**63 - 1, "common.error_not_found"),
        (2**63, "error_param"),  # no JSON integer beyond 64 bits is accepted
        (2**64 - 1, "error_param"),
        (-(2**63) - 1, "error_param"),
        (-1, "common.error_not_found"),
        (10**30, "error_param"),  # idem
        (True, "error_param"),
        ("12", "error_param"),
    ],
)
def test_voucher_id_in_the_body(raw: Raw, path: str, value: Any, error: str) -> None:
    _refused(_post(raw, path, {"voucher_id": value, "voucher_name": "x"}), 200, error)


@pytest.mark.parametrize(
    ("over", "error"),
    [
        ({"usage_quantity": 2**63}, "error_param"),
        ({"start_time": 2**63}, "error_param"),
        ({"end_time": -(2**63)}, "error_param"),
        ({"display_start_time": 2**70}, "error_param"),
        ({"display_start_time": 2**63}, "error_param"),
        ({"percentage": 2**63, "reward_type": 2}, "error_param"),
        ({"voucher_type": 2, "item_id_list": [2**63 - 1, 0]}, "voucher.voucher_item_not_exist"),
        ({"voucher_type": 2, "item_id_list": [2**63]}, "error_param"),
        ({"voucher_name": "nul\u0000"}, "error_param"),
        ({"voucher_type": 2, "item_id_list": [2**70]}, "error_param"),
        ({"min_basket_price": True}, "error_param"),
        ({"discount_amount": True}, "error_param"),
        ({"discount_amount": "2.5"}, "error_param"),
        ({"min_basket_price": 1e300, "discount_amount": 1e299}, "error_param"),
        ({"usage_quantity": True}, "error_param"),
        ({"voucher_name": [[[["deep"]]]] * 2}, "error_param"),
    ],
)
def test_add_voucher_out_of_range(
    raw: Raw, client: Client, over: dict[str, Any], error: str
) -> None:
    _refused(_post(raw, ADD, body(voucher_code="RNG", **over)), 200, error)
    assert _all(client) == []


def _nested(depth: int) -> bytes:
    return b'{"voucher_name": ' + b"[" * depth + b"]" * depth + b"}"


@pytest.mark.parametrize("path", [ADD, UPDATE, END, TOKEN])
@pytest.mark.parametrize("depth", [300, 100_000])
def test_deeply_nested_bodies(raw: Raw, path: str, depth: int) -> None:
    public = path == TOKEN
    reply = raw.http.post(
        path,
        content=_nested(depth),
        params=raw.params(path, public=public),
        headers={"content-type": "application/json"},
    )
    _refused(reply, 200, "error_data")


def test_a_100000_deep_body_with_a_bad_signature_is_refused_first(raw: Raw) -> None:
    params = raw.params(ADD)
    params["sign"] = "0" * 64
    reply = raw.http.post(ADD, content=_nested(100_000), params=params)
    _refused(reply, 403, "error_sign")


@pytest.mark.parametrize(
    ("data", "error"),
    [
        ({"code": "x", "partner_id": "\uff11\uff10"}, "error_param"),
        ({"code": "x", "partner_id": 2**63}, "error_param"),
        ({"code": "x", "partner_id": True}, "error_param"),
        ({"code": "x", "partner_id": None}, "error_param"),
    ],
)
def test_token_call_body_ids(raw: Raw, data: dict[str, Any], error: str) -> None:
    _refused(raw.post(TOKEN, data, public=True), 200, error)


def test_token_call_shop_id_in_full_width_digits(raw: Raw) -> None:
    partner = raw.shop.partner.partner_id
    data = {"code": "x", "partner_id": partner, "shop_id": "\uff11"}
    _refused(raw.post(TOKEN, data, public=True), 200, "error_param")


def test_unknown_route_and_method_stay_in_shape(live_server: LiveServer) -> None:
    reply = httpx.delete(live_server.url + "/shopee" + ADD)
    _refused(reply, 405, "error_param")


# --- database unreachable -----------------------------------------------------------------------

CLOSED = "postgresql://postgres@127.0.0.1:19601/voucherd_shopee_down"  # nothing listens there


@pytest.mark.parametrize(
    ("method", "path", "public"),
    [("POST", TOKEN, True), ("POST", "/api/v2/auth/access_token/get", True), ("GET", LIST, False)],
)
def test_database_down_is_503_in_the_envelope(method: str, path: str, public: bool) -> None:
    sub = create_subapp()
    sub.state.engine = make_engine(CLOSED)
    sub.state.settings = Settings(database_url=CLOSED)
    ts = int(time.time())
    params: dict[str, Any] = {"partner_id": 1000001, "timestamp": ts, "status": "all"}
    if public:
        params["sign"] = signing.sign("k", 1000001, path, ts)
    else:
        params.update(access_token="a" * 32, shop_id=1, sign=signing.sign("k", 1000001, path, ts))

    async def send() -> httpx.Response:
        transport = httpx.ASGITransport(app=sub)
        async with httpx.AsyncClient(transport=transport, base_url="http://shopee") as http:
            return await http.request(method, path, params=params, json={"code": "x"})

    try:
        reply = asyncio.run(send())
    finally:
        sub.state.engine.dispose()
    got = _refused(reply, 503, "error_server")
    assert got["message"] == "Something wrong. Please try later."
    assert reply.headers["retry-after"].isdigit() and int(reply.headers["retry-after"]) >= 1
