"""Input that can never succeed gets a 4xx on the native face, before any work (issue 9, item 2).

Ids beyond 64 bits are "not found"; integers are ASCII digits or JSON integers; every JSON value
is at most 32 levels deep and 16 KiB; and nothing one face stores can break another face's read.
"""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from sqlalchemy import text

from tests.compat.jtl.conftest import connect
from tests.conftest import Api, LiveServer, TenantFixture
from voucherd.db.types import UNREADABLE
from voucherd.domain.inputs import JSON_MAX_BYTES, JSON_MAX_DEPTH

TOO_BIG = "9223372036854775808"  # 2^63
HUGE = "1180591620717411303424"  # 2^70


def nested(depth: int) -> Any:
    value: Any = 1
    for _ in range(depth):
        value = {"a": value}
    return value


def nested_text(depth: int) -> str:
    """``nested(depth)`` as JSON text, for depths ``json.dumps`` cannot write."""
    return '{"a":' * depth + "1" + "}" * depth


def assert_problem(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body: dict[str, Any] = response.json()
    assert body["code"] == code, body
    return body


def charge_entry(api: Api) -> tuple[dict[str, Any], int]:
    voucher = api.create_voucher()
    charged = api.post("/v1/charges", {"voucher_id": voucher["id"], "amount": 100})
    assert charged.status_code == 201, charged.text
    return voucher, int(charged.json()["entry"]["id"])


# --- ids in paths ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path", "resource"),
    [
        ("GET", "/v1/charges/{id}", "charge"),
        ("POST", "/v1/charges/{id}/refund", "charge"),
        ("GET", "/v1/reservations/{id}", "reservation"),
        ("POST", "/v1/reservations/{id}/capture", "reservation"),
        ("POST", "/v1/reservations/{id}/release", "reservation"),
        ("GET", "/v1/campaigns/{id}", "campaign"),
        ("POST", "/v1/campaigns/{id}/generate", "campaign"),
        ("POST", "/v1/campaigns/{id}/import", "campaign"),
        ("GET", "/v1/customers/{id}", "customer"),
    ],
)
def test_ids_beyond_64_bits_are_not_found(
    api: Api, live_server: LiveServer, method: str, path: str, resource: str
) -> None:
    bodies = {"generate": {"count": 1}, "import": {"codes": ["ABCDEFGH"]}}
    body = next((b for name, b in bodies.items() if path.endswith(name)), {})
    for value in (TOO_BIG, HUGE, "9" * 5000, "0", "-1"):
        response = api.http.request(method, path.format(id=value), json=body)
        problem = assert_problem(response, 404, "not_found")
        assert problem["resource"] == resource
    # before any work, but not before authentication: ids are not probed anonymously
    anonymous = httpx.request(method, live_server.url + path.format(id=TOO_BIG), json=body)
    assert anonymous.status_code == 401


def test_only_ascii_digits_are_digits_in_paths(api: Api) -> None:
    _voucher, entry = charge_entry(api)
    assert api.get(f"/v1/charges/{entry}").status_code == 200
    # Python's int() and pydantic's lax mode read these as numbers; none of them is one here.
    spelled = {"²", "\uff11", "\u0663", f"{entry}_0", f"+{entry}", f" {entry}", f"{entry}.0"}
    for value in spelled:
        response = api.get(f"/v1/charges/{httpx.URL(path=value).raw_path.decode()}")
        assert_problem(response, 422, "validation_failed")


def test_integers_in_query_strings(api: Api) -> None:
    api.create_voucher()
    assert api.get("/v1/vouchers", params={"limit": "5"}).status_code == 200
    for params in (
        {"limit": "1_0"},
        {"limit": "\uff15"},
        {"limit": " 5"},
        {"campaign_id": TOO_BIG},
        {"customer_id": HUGE},
        {"campaign_id": "1_0"},
    ):
        assert_problem(api.get("/v1/vouchers", params=params), 422, "validation_failed")
    for cursor in ("aWQ6wrI", "aWQ6OTIyMzM3MjAzNjg1NDc3NTgwOA"):  # "id:²", "id:2^63"
        response = api.get("/v1/vouchers", params={"cursor": cursor})
        assert_problem(response, 422, "validation_failed")


# --- integers in bodies ------------------------------------------------------------------------


@pytest.mark.parametrize("amount", [True, "100", 100.0, "\uff11\uff10\uff10"])
def test_amounts_are_json_integers(api: Api, amount: Any) -> None:
    voucher = api.create_voucher(amount=1000)
    for path, body in (
        (f"/v1/vouchers/{voucher['id']}/recharge", {"amount": amount}),
        ("/v1/charges", {"voucher_id": voucher["id"], "amount": amount}),
        ("/v1/reservations", {"voucher_id": voucher["id"], "amount": amount}),
        ("/v1/vouchers", {"kind": "stored_value", "currency": "EUR", "amount": amount}),
    ):
        problem = assert_problem(api.post(path, body), 422, "validation_failed")
        assert problem["errors"][0]["field"] == "amount"
    assert api.get(f"/v1/vouchers/{voucher['id']}").json()["balance"] == 1000
    assert len(api.get(f"/v1/vouchers/{voucher['id']}/ledger").json()["data"]) == 1


def test_other_integers_in_bodies_are_strict_too(api: Api) -> None:
    for fields in ({"max_uses": True}, {"tax_rate_bps": "7"}, {"validity_value": 1.0}):
        body = {"kind": "stored_value", "currency": "EUR", "amount": 100, **fields}
        problem = assert_problem(api.post("/v1/vouchers", body), 422, "validation_failed")
        assert problem["errors"][0]["field"] == next(iter(fields))


def test_body_ids_beyond_64_bits_are_not_found(api: Api) -> None:
    voucher = api.create_voucher()
    claim = api.post(f"/v1/vouchers/{voucher['id']}/claim", {"customer_id": int(TOO_BIG)})
    assert assert_problem(claim, 404, "not_found")["resource"] == "customer"
    charge = api.post(
        "/v1/charges", {"voucher_id": voucher["id"], "amount": 1, "customer_id": int(HUGE)}
    )
    assert assert_problem(charge, 404, "not_found")["resource"] == "customer"
    created = api.post(
        "/v1/vouchers",
        {"kind": "stored_value", "currency": "EUR", "amount": 1, "campaign_id": -(2**64)},
    )
    assert assert_problem(created, 404, "not_found")["resource"] == "campaign"
    assert api.get(f"/v1/vouchers/{voucher['id']}").json()["balance"] == 10000


# --- JSON values -------------------------------------------------------------------------------


def test_metadata_depth_limit(api: Api) -> None:
    voucher = api.create_voucher()
    path = f"/v1/vouchers/{voucher['id']}"
    deepest = nested(JSON_MAX_DEPTH)
    assert api.patch(path, {"metadata": deepest}).status_code == 200
    assert api.get(path).json()["metadata"] == deepest
    for depth in (JSON_MAX_DEPTH + 1, 300, 900):
        problem = assert_problem(
            api.patch(path, {"metadata": nested(depth)}), 422, "validation_failed"
        )
        assert problem["errors"][0]["field"] == "metadata"
        assert problem["errors"][0]["rule"] == "json_depth"
    created = api.post(
        "/v1/vouchers",
        {"kind": "stored_value", "currency": "EUR", "amount": 1, "metadata": nested(300)},
    )
    assert_problem(created, 422, "validation_failed")
    assert api.get(path).json()["metadata"] == deepest
    assert api.get("/v1/vouchers").status_code == 200


def test_metadata_size_limit(api: Api) -> None:
    voucher = api.create_voucher()
    path = f"/v1/vouchers/{voucher['id']}"
    fits = {"a": "x" * (JSON_MAX_BYTES - 8)}  # {"a":"..."} is exactly the limit
    assert api.patch(path, {"metadata": fits}).status_code == 200
    too_big = {"a": "x" * (JSON_MAX_BYTES - 7)}
    problem = assert_problem(api.patch(path, {"metadata": too_big}), 422, "validation_failed")
    assert problem["errors"][0]["rule"] == "json_size"
    assert api.get(path).json()["metadata"] == fits


@pytest.mark.parametrize(
    "raw",
    [
        b'{"metadata": {"a\\u0000": 1}}',  # NUL in a key (PostgreSQL jsonb cannot hold it)
        b'{"metadata": {"a": "\\u0000"}}',
        b'{"metadata": {"\\ud800": 1}}',  # a lone surrogate: not UTF-8
        b'{"metadata": {"a": ["\\udfff"]}}',
        b'{"metadata": {"a": 18446744073709551616}}',  # beyond 64 bits
        b'{"metadata": {"a": NaN}}',
        b'{"metadata": {"a": -Infinity}}',
    ],
)
def test_metadata_nothing_a_database_or_renderer_cannot_hold(api: Api, raw: bytes) -> None:
    voucher = api.create_voucher(metadata={"kept": True})
    path = f"/v1/vouchers/{voucher['id']}"
    response = api.http.patch(path, content=raw, headers={"content-type": "application/json"})
    assert response.status_code in (400, 422), response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert api.get(path).json()["metadata"] == {"kept": True}
    assert api.get("/v1/vouchers").status_code == 200


@pytest.mark.parametrize(
    ("method", "path"),
    [("POST", "/v1/charges"), ("PATCH", "/v1/vouchers/X"), ("POST", "/v1/vouchers")],
)
def test_bodies_nested_100000_deep_are_a_client_error(api: Api, method: str, path: str) -> None:
    for body in (b"[" * 100_000 + b"]" * 100_000, b'{"metadata":' + b"[" * 100_000):
        response = api.http.request(
            method, path, content=body, headers={"content-type": "application/json"}
        )
        assert response.status_code == 400, response.text
        assert response.headers["content-type"] == "application/problem+json"


# --- OAuth -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "header",
    [b"Basic %%%\xff", b"Basic \xff\xfe", b"Basic //79", b"Basic " + b"[" * 100_000],
)
def test_garbage_basic_credentials_are_invalid_client(
    live_server: LiveServer, header: bytes
) -> None:
    response = httpx.post(
        f"{live_server.url}/oauth/token",
        data={"grant_type": "client_credentials"},
        headers={"Authorization": header},
        timeout=30,
    )
    assert response.status_code == 401, response.text
    assert response.json()["error"] == "invalid_client"


def test_token_request_nested_100000_deep_is_a_client_error(live_server: LiveServer) -> None:
    response = httpx.post(
        f"{live_server.url}/oauth/token",
        content=b"[" * 100_000 + b"]" * 100_000,
        headers={"Authorization": "Basic %%%", "content-type": "application/json"},
        timeout=30,
    )
    assert response.status_code == 400, response.text
    assert response.json()["error"] == "invalid_request"


# --- nothing one face stores can break another face's read ----------------------------------


def test_jtl_data_too_deep_is_refused_and_the_native_list_stays_readable(
    api: Api, live_server: LiveServer, tenant: TenantFixture
) -> None:
    api.create_voucher()
    jtl = connect(live_server, tenant.id)
    jtl.login()
    try:
        # Refused at the database boundary even before JTL checks it itself: a 4xx in JTL's
        # shape. (Deeper than Python's parser, ~1,000 levels, is for JTL's own parse to catch.)
        created = jtl.post(
            "/vouchers", {"amount": "1.00", "currency": "EUR", "data": nested_text(252)}
        )
        assert created.status_code == 422, created.text
        assert created.json()["status"] == 422
        assert jtl.get("/vouchers").json()["meta"]["total"] == 1
    finally:
        jtl.http.close()
    assert api.get("/v1/vouchers").status_code == 200


def test_a_value_stored_before_the_limits_reads_as_unreadable_on_every_face(
    api: Api, live_server: LiveServer, tenant: TenantFixture
) -> None:
    """A voucher whose metadata was stored 252 deep (by an older version) once made every
    native list of its tenant answer 500. Now it reads as a placeholder, everywhere."""
    poisoned = api.create_voucher(metadata={"before": 1})
    healthy = api.create_voucher(metadata={"ok": True})
    engine = live_server.engine
    cast = "CAST(:m AS jsonb)" if engine.dialect.name == "postgresql" else ":m"
    with engine.begin() as conn:  # straight to the table, as an older version would have
        conn.execute(
            text(f"UPDATE vouchers SET metadata = {cast} WHERE tenant_id = :t AND public_id = :p"),
            {"m": json.dumps(nested(252)), "t": tenant.id, "p": poisoned["id"]},
        )
    listed = api.get("/v1/vouchers")
    assert listed.status_code == 200, listed.text
    by_id = {v["id"]: v["metadata"] for v in listed.json()["data"]}
    assert list(by_id[poisoned["id"]]) == [UNREADABLE]
    assert by_id[healthy["id"]] == {"ok": True}
    assert api.get(f"/v1/vouchers/{poisoned['id']}").status_code == 200
    jtl = connect(live_server, tenant.id)
    jtl.login()
    try:
        assert jtl.get("/vouchers").status_code == 200
        assert jtl.get(f"/vouchers/{poisoned['id']}").status_code == 200
    finally:
        jtl.http.close()
    # and writing a value within the limits replaces it
    fixed = api.patch(f"/v1/vouchers/{poisoned['id']}", {"metadata": {"after": 2}})
    assert fixed.status_code == 200 and fixed.json()["metadata"] == {"after": 2}
