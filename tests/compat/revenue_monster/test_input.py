"""Input that can never succeed is a 4xx in RM's shape before any work; Idempotency-Key on writes.

Each case here answered 500 (some without any credentials) before the face moved onto the
shared runtime: integers beyond 64 bits in a path, non-ASCII digits in ``X-Timestamp``, JSON
nested 100,000 deep in a body or ``?filter=``, a Basic header that is not even base64 text.
"""

from __future__ import annotations

import base64
import secrets

import httpx
import pytest
from sqlalchemy import Engine, func, select

from tests.compat.revenue_monster.conftest import RmClient, RmMerchant, error_code, make_batch
from voucherd.db.tables import vouchers

DEEP = 100_000
FULL_WIDTH_10 = "\uff11\uff10"  # "10" in full-width digits
SUPERSCRIPT_2 = "\u00b2"


def _deep(depth: int) -> str:
    return "[" * depth + "]" * depth


def _active(engine: Engine, tenant_id: int) -> int:
    with engine.connect() as conn:
        return int(
            conn.execute(
                select(func.count())
                .select_from(vouchers)
                .where(vouchers.c.tenant_id == tenant_id, vouchers.c.status == "active")
            ).scalar_one()
        )


def _basic(merchant: RmMerchant) -> str:
    pair = f"{merchant.client_id}:{merchant.client_secret}".encode()
    return "Basic " + base64.b64encode(pair).decode()


# --- anonymous and token endpoint ---------------------------------------------------------------


@pytest.mark.parametrize(
    "tenant", ["1180591620717411303424", "9223372036854775808", SUPERSCRIPT_2, FULL_WIDTH_10, "-1"]
)
def test_qr_of_an_impossible_merchant_is_not_found(rm: RmClient, tenant: str) -> None:
    response = rm.http.get(f"{rm.base}/qr/{tenant}/voucher/ABC")
    assert response.status_code == 404, response.text
    assert error_code(response) == "VOUCHER_NOT_FOUND"


def test_qr_format_refused_in_rm_shape(rm: RmClient, merchant: RmMerchant, engine: Engine) -> None:
    batch = make_batch(engine, merchant.tenant_id)
    url = rm.call("post", f"/v3/voucher-batch/{batch}/issue", {}).json()["item"]["qrUrl"]
    response = rm.http.get(f"{url}&format=gif")
    assert response.status_code == 400 and error_code(response) == "VALIDATION_ERROR"


def test_token_with_a_deep_body_is_refused(rm: RmClient, merchant: RmMerchant) -> None:
    garbage = rm.http.post(
        f"{rm.base}/v1/token",
        content=_deep(DEEP),
        headers={"Authorization": "Basic Z2FyYmFnZTpnYXJiYWdl", "Content-Type": "application/json"},
    )
    assert 400 <= garbage.status_code < 500, garbage.text
    assert error_code(garbage) in ("InvalidClient", "InvalidRequest")
    genuine = rm.http.post(
        f"{rm.base}/v1/token",
        content='{"grantType": ' + _deep(DEEP) + "}",
        headers={"Authorization": _basic(merchant), "Content-Type": "application/json"},
    )
    assert genuine.status_code == 400, genuine.text
    assert error_code(genuine) == "InvalidRequest"


@pytest.mark.parametrize("header", [b"Basic %%%\xff", b"Basic \xc3\xa9t\xc3\xa9", b"Basic ="])
def test_token_with_a_garbage_basic_header_is_invalid_client(rm: RmClient, header: bytes) -> None:
    response = rm.http.post(
        f"{rm.base}/v1/token",
        content=b'{"grantType": "client_credentials"}',
        headers=[(b"Authorization", header), (b"Content-Type", b"application/json")],
    )
    assert response.status_code == 401, response.text
    assert error_code(response) == "InvalidClient"
    assert response.headers["www-authenticate"] == 'Basic realm="rm"'


# --- signed calls -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "stamp", [SUPERSCRIPT_2, "\uff11\uff17" + "\uff10" * 8, "1e9", "17000000000000000000000"]
)
def test_non_ascii_or_absurd_timestamp_is_invalid(rm: RmClient, stamp: str) -> None:
    sent = [
        (k.encode(), v.encode())
        for k, v in rm.signed_headers("get", f"{rm.base}/v3/voucher-batches").items()
        if k != "X-Timestamp"
    ]
    # Servers read header bytes as Latin-1: b"\xb2" arrives as U+00B2.
    raw = stamp.encode("latin-1") if stamp.isascii() or stamp == SUPERSCRIPT_2 else stamp.encode()
    response = rm.http.get(f"{rm.base}/v3/voucher-batches", headers=[*sent, (b"X-Timestamp", raw)])
    assert response.status_code == 401, response.text
    assert error_code(response) == "INVALID_TIMESTAMP"


@pytest.mark.parametrize("depth", [300, DEEP])
def test_deep_redeem_body_is_refused_before_any_work(
    rm: RmClient, merchant: RmMerchant, engine: Engine, depth: int
) -> None:
    body = '{"codes": ' + _deep(depth) + "}"
    headers = rm.signed_headers("post", f"{rm.base}/v3/vouchers/redeem", {"codes": ["X"]})
    response = rm.http.post(f"{rm.base}/v3/vouchers/redeem", content=body.encode(), headers=headers)
    assert response.status_code == 400, response.text
    assert error_code(response) == "INVALID_REQUEST"
    assert "deep" in response.json()["error"]["message"]


@pytest.mark.parametrize("depth", [300, 5_000])
def test_deep_filter_is_a_validation_error(rm: RmClient, depth: int) -> None:
    response = rm.call("get", f"/v3/voucher-batches?filter={_deep(depth)}")
    assert response.status_code == 400, response.text
    assert error_code(response) == "VALIDATION_ERROR"


@pytest.mark.parametrize(
    "query",
    [
        "limit=" + FULL_WIDTH_10,
        "limit=" + SUPERSCRIPT_2,
        "limit=99999999999999999999999",
        "cursor=" + base64.urlsafe_b64encode(b"18446744073709551616").decode().rstrip("="),
        "cursor=" + base64.urlsafe_b64encode(FULL_WIDTH_10.encode()).decode().rstrip("="),
    ],
)
def test_non_ascii_or_huge_paging_is_a_validation_error(rm: RmClient, query: str) -> None:
    response = rm.call("get", f"/v3/voucher-batches?{query}")
    assert response.status_code == 400, response.text
    assert error_code(response) == "VALIDATION_ERROR"


def test_full_width_member_number_is_a_validation_error(rm: RmClient) -> None:
    response = rm.call(
        "get", "/v3/loyalty/me/vouchers?countryCode=\uff16\uff10&phoneNumber=187824152"
    )
    assert response.status_code == 400 and error_code(response) == "VALIDATION_ERROR"


def test_huge_voucher_code_is_not_found(rm: RmClient) -> None:
    response = rm.call("get", "/v3/voucher/1180591620717411303424")
    assert response.status_code == 404 and error_code(response) == "VOUCHER_NOT_FOUND"


# --- Idempotency-Key ----------------------------------------------------------------------------


def _issue_with_key(rm: RmClient, key: str, idempotency_key: str, body: object) -> httpx.Response:
    path = f"/v3/voucher-batch/{key}/issue"
    headers = rm.signed_headers("post", f"{rm.base}{path}", body)  # a fresh nonce each time
    headers["Idempotency-Key"] = idempotency_key
    return rm.call("post", path, body, headers=headers)


def test_idempotency_key_replays_an_issue_once(
    rm: RmClient, merchant: RmMerchant, engine: Engine
) -> None:
    key = make_batch(engine, merchant.tenant_id, quantity=3)
    idem = secrets.token_hex(8)
    first = _issue_with_key(rm, key, idem, {})
    assert first.status_code == 200, first.text
    again = _issue_with_key(rm, key, idem, {})
    assert again.status_code == 200, again.text
    assert again.headers["idempotent-replayed"] == "true"
    assert again.json() == first.json()
    assert _active(engine, merchant.tenant_id) == 1


def test_idempotency_key_with_another_body_is_refused(
    rm: RmClient, merchant: RmMerchant, engine: Engine
) -> None:
    key = make_batch(engine, merchant.tenant_id, quantity=3)
    idem = secrets.token_hex(8)
    assert _issue_with_key(rm, key, idem, {}).status_code == 200
    other = _issue_with_key(rm, key, idem, {"countryCode": "60", "phoneNumber": "187824152"})
    assert other.status_code == 422, other.text
    assert error_code(other) == "IDEMPOTENCY_KEY_REUSED"
    assert _active(engine, merchant.tenant_id) == 1


def test_idempotency_key_keeps_a_refusal(
    rm: RmClient, merchant: RmMerchant, engine: Engine
) -> None:
    key = make_batch(engine, merchant.tenant_id, quantity=1)
    code = rm.call("post", f"/v3/voucher-batch/{key}/issue", {}).json()["item"]["code"]
    assert rm.call("post", f"/v3/voucher/{code}/void", {}).status_code == 200
    idem = secrets.token_hex(8)
    path = f"/v3/voucher/{code}/void"
    for _ in range(2):
        headers = {**rm.signed_headers("post", f"{rm.base}{path}", {}), "Idempotency-Key": idem}
        refused = rm.call("post", path, {}, headers=headers)
        assert refused.status_code == 400 and error_code(refused) == "VOUCHER_NOT_ALLOW_VOID"
    assert refused.headers.get("idempotent-replayed") == "true"
