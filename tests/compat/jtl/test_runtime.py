"""JTL on the shared face runtime: Idempotency-Key, input that can never succeed, outages."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import anyio
import httpx
import jwt
from pydantic import SecretStr

from tests.compat.jtl.conftest import Jtl, error, invalid
from tests.conftest import Api
from voucherd.api.app import create_app
from voucherd.config import Settings
from voucherd.dialects.jtl.parse import MAX_DEPTH
from voucherd.services.unit_of_work import utcnow

NOT_FOUND = error(404, "VOUCHER.NOT_FOUND", "The requested Voucher was not found.")
RESERVATION_NOT_FOUND = error(
    404, "RESERVATION.NOT_FOUND", "The requested Reservation was not found."
)
CHARGE_NOT_FOUND = error(404, "CHARGE.NOT_FOUND", "The requested Charge was not found.")
TOO_BIG = ("9223372036854775808", "18446744073709551616", "-9223372036854775809")
NON_ASCII_DIGITS = ("\u00b2", "\uff11\uff10", "\u0663")  # superscript two, full-width 10, Arabic 3


def _nested(levels: int) -> str:
    """A JSON object ``levels`` deep, compact (arrays inside), so depth is what is refused."""
    return '{"a":' + "[" * (levels - 1) + "]" * (levels - 1) + "}"


# --- Idempotency-Key ------------------------------------------------------------------------


def test_recharge_sent_twice_with_one_key_books_once(jtl: Jtl) -> None:
    voucher = jtl.voucher(amount="20.00", code="IDEM-CARD")
    body = {"amount": "1.00", "currency": "EUR", "order_number": "R-1", "id": voucher["id"]}
    key = {"Idempotency-Key": "recharge-1"}
    first = jtl.post("/vouchers/recharge", body, headers=key)
    second = jtl.post("/vouchers/recharge", body, headers=key)
    assert (first.status_code, second.status_code) == (201, 201), second.text
    assert second.json() == first.json()
    assert second.headers["idempotent-replayed"] == "true"
    assert "idempotent-replayed" not in first.headers
    # Before the runtime this booked twice: 20.00 -> 22.00.
    assert jtl.get(f"/vouchers/{voucher['id']}").json()["amount"] == "21.00"
    charges = jtl.get(f"/vouchers/{voucher['id']}/charges").json()
    assert [c["type"] for c in charges["data"]] == ["recharge"]
    # Without a key, the same request is a second recharge.
    assert jtl.post("/vouchers/recharge", body).status_code == 201
    assert jtl.get(f"/vouchers/{voucher['id']}").json()["amount"] == "22.00"


def test_same_key_with_another_body_is_refused_in_jtl_shape(jtl: Jtl) -> None:
    voucher = jtl.voucher(amount="20.00", code="IDEM-OTHER")
    body = {"amount": "1.00", "currency": "EUR", "order_number": "R-1", "id": voucher["id"]}
    key = {"Idempotency-Key": "recharge-2"}
    assert jtl.post("/vouchers/recharge", body, headers=key).status_code == 201
    other = jtl.post("/vouchers/recharge", {**body, "amount": "5.00"}, headers=key)
    assert (other.status_code, other.json()) == (
        422,
        invalid(
            "VOUCHER.RECHARGE",
            (
                "Idempotency-Key",
                "same_request",
                "The Idempotency-Key was already used for a different request.",
            ),
        ),
    )
    assert jtl.get(f"/vouchers/{voucher['id']}").json()["amount"] == "21.00"
    too_long = jtl.post("/vouchers/recharge", body, headers={"Idempotency-Key": "k" * 256})
    assert too_long.status_code == 422
    assert too_long.json()["errors"][0]["property"] == "Idempotency-Key"


def test_a_refusal_is_replayed_too_and_keys_are_per_client(jtl: Jtl, api: Api) -> None:
    voucher = jtl.voucher(amount="5.00", code="IDEM-REFUSED")
    reserve = {"amount": "9.00", "currency": "EUR", "code": "IDEM-REFUSED"}
    key = {"Idempotency-Key": "reserve-1"}
    refused = jtl.post("/reservations", reserve, headers=key)
    again = jtl.post("/reservations", reserve, headers=key)
    assert refused.status_code == again.status_code == 409
    assert (
        again.json()
        == refused.json()
        == error(
            409, "VOUCHER.INSUFFICIENT_BALANCE", "The voucher balance is too low for this amount."
        )
    )
    assert again.headers["idempotent-replayed"] == "true"
    assert again.headers["content-type"] == "application/json"
    # The same key from another client of the tenant is that client's own key.
    native = api.post(
        f"/v1/vouchers/{voucher['id']}/recharge",
        {"amount": 100, "currency": "EUR"},
        headers=key,
    )
    assert native.status_code == 201, native.text
    assert "idempotent-replayed" not in native.headers


# --- input that can never succeed -------------------------------------------------------------


def test_ids_out_of_range_or_not_ascii_are_not_found(jtl: Jtl) -> None:
    for bad in (*TOO_BIG, *NON_ASCII_DIGITS):
        charge = jtl.post(f"/reservations/{bad}/charge", {"order_number": "1"})
        assert (charge.status_code, charge.json()) == (404, RESERVATION_NOT_FOUND), bad
        cancel = jtl.delete(f"/reservations/{bad}")
        assert (cancel.status_code, cancel.json()) == (404, RESERVATION_NOT_FOUND), bad
        refund = jtl.post(f"/charges/{bad}/refund", {"amount": "1.00", "currency": "EUR"})
        assert (refund.status_code, refund.json()) == (404, CHARGE_NOT_FOUND), bad
        for path in (f"/vouchers/{bad}", f"/vouchers/{bad}/complete", f"/vouchers/{bad}/charges"):
            shown = jtl.get(path)
            assert (shown.status_code, shown.json()) == (404, NOT_FOUND), path


def test_integers_out_of_range_or_not_ascii_are_validation_errors(jtl: Jtl) -> None:
    for bad in TOO_BIG:
        page = jtl.get("/vouchers", params={"page": bad})
        rule = "min" if bad.startswith("-") else "max"
        assert page.status_code == 422, bad
        assert page.json()["errors"][0]["rule"] == rule
        per_page = jtl.get("/vouchers", params={"per_page": bad})
        assert (per_page.status_code, per_page.json()["errors"][0]["property"]) == (
            422,
            "per_page",
        )
        validity = jtl.post(
            "/vouchers",
            {
                "amount": "1.00",
                "currency": "EUR",
                "validity_value": int(bad),
                "validity_interval": "days",
            },
        )
        assert validity.status_code == 422
        assert validity.json()["errors"][0]["property"] == "validity_value"
    for bad in (*NON_ASCII_DIGITS, "+1", "1_0", " 1", "1.0"):
        page = jtl.get("/vouchers", params={"page": bad})
        assert page.json() == invalid(
            "VOUCHER.LIST", ("page", "integer", "The page must be an integer.")
        )
    charges = jtl.voucher(code="PAGED")
    listed = jtl.get(f"/vouchers/{charges['id']}/charges", params={"page": "\uff12"})
    assert listed.json() == invalid(
        "VOUCHER.CHARGES", ("page", "integer", "The page must be an integer.")
    )


def test_amounts_are_strings_of_ascii_digits_never_booleans_or_numbers(jtl: Jtl) -> None:
    jtl.voucher(amount="10.00", code="AMOUNTS")
    for amount, rule in (
        (True, "string"),
        (False, "string"),
        (100, "string"),
        (9223372036854775808, "string"),
        ("\uff11\uff10.00", "regex"),
        ("\u00b2.00", "regex"),
        ("1.0\u0663", "regex"),
    ):
        response = jtl.post(
            "/reservations", {"amount": amount, "currency": "EUR", "code": "AMOUNTS"}
        )
        assert response.status_code == 422, amount
        assert response.json()["errors"][0]["property"] == "amount", amount
        assert response.json()["errors"][0]["rule"] == rule, amount
    assert jtl.get("/vouchers").json()["data"][0]["remaining_amount"] == "10.00"


def test_deeply_nested_json_is_refused(jtl: Jtl) -> None:
    deep_body = b"[" * 100_000 + b"]" * 100_000
    response = jtl.http.post(
        "/v1/vouchers", content=deep_body, headers={"Content-Type": "application/json"}
    )
    assert response.json() == invalid(
        "VOUCHER.CREATE",
        ("body", "json", f"The request body may not be nested more than {MAX_DEPTH} levels deep."),
    )
    object_body = b'{"amount": "1.00", "currency": "EUR", "x": ' + _nested(5_000).encode() + b"}"
    response = jtl.http.post(
        "/v1/vouchers", content=object_body, headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 422
    too_deep = ("data", "json", f"The data may not be nested more than {MAX_DEPTH} levels deep.")
    for levels in (5_000, 300, 252, MAX_DEPTH + 1):
        response = jtl.post(
            "/vouchers", {"amount": "1.00", "currency": "EUR", "data": _nested(levels)}
        )
        assert response.json() == invalid("VOUCHER.CREATE", too_deep), levels
    big = '{"a": "' + "x" * 16_384 + '"}'
    response = jtl.post("/vouchers", {"amount": "1.00", "currency": "EUR", "data": big})
    assert response.json() == invalid(
        "VOUCHER.CREATE", ("data", "size", "The data may not be greater than 16384 bytes.")
    )
    assert jtl.get("/vouchers").json()["meta"]["total"] == 0


def test_nothing_jtl_stores_breaks_a_native_read(jtl: Jtl, api: Api) -> None:
    deepest = _nested(MAX_DEPTH)
    created = jtl.post("/vouchers", {"amount": "1.00", "currency": "EUR", "data": deepest})
    assert created.status_code == 201, created.text
    assert json.loads(created.json()["data"]) == json.loads(deepest)
    native = api.get("/v1/vouchers")
    assert native.status_code == 200, native.text
    assert api.get(f"/v1/vouchers/{created.json()['id']}").status_code == 200
    assert jtl.get("/vouchers").status_code == 200


# --- outage ------------------------------------------------------------------------------------


async def _while_down(requests: list[tuple[str, str, dict[str, Any]]]) -> list[httpx.Response]:
    """The app on a PostgreSQL URL where nothing listens (a port of this test's own range)."""
    settings = Settings(
        database_url="postgresql://postgres@127.0.0.1:19599/nothing",
        secret_key=SecretStr("test-signing-key"),
        db_pool_size=2,
    )
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        # Well-formed, naming a key no process has read: checking it needs the database.
        claims = {"sub": "cl_x", "tid": 1, "aud": "jtl", "exp": int(utcnow().timestamp()) + 60}
        token = jwt.encode(claims, "k" * 32, algorithm="HS256", headers={"kid": "down"})
        bearer = f"Bearer {token}"
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test/jtl") as http:
            return [
                await http.request(
                    method,
                    path,
                    **{
                        **kwargs,
                        "headers": {
                            "Authorization": bearer,
                            **kwargs.get("headers", {}),
                        },
                    },
                )
                for method, path, kwargs in requests
            ]


def test_database_down_is_503_in_jtl_shape_everywhere() -> None:
    form = {"grant_type": "client_credentials", "client_id": "a", "client_secret": "b"}
    recharge = {"amount": "1.00", "currency": "EUR", "order_number": "1", "code": "X"}
    # A thread of its own: another test's synchronous Playwright may hold this thread's loop.
    with ThreadPoolExecutor(1) as thread:
        responses = thread.submit(
            anyio.run,
            _while_down,
            [
                ("POST", "/oauth/token", {"data": form, "headers": {"Authorization": ""}}),
                ("POST", "/v1/clients/connect", {"json": {"pin": "ABCDEFGH"}}),
                ("GET", "/v1/vouchers", {}),
                ("POST", "/v1/vouchers/recharge", {"json": recharge}),
                (
                    "POST",
                    "/v1/vouchers/recharge",
                    {"json": recharge, "headers": {"Idempotency-Key": "down-1"}},
                ),
            ],
        ).result()
    for response in responses:
        assert response.status_code == 503, response.text
        assert response.headers["content-type"] == "application/json"
        assert int(response.headers["retry-after"]) >= 1
        assert response.json() == error(
            503,
            "SERVICE_UNAVAILABLE",
            "The service is temporarily unavailable. Please try again later.",
        )
