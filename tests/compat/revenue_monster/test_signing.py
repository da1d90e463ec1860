"""The signature algorithm (pure) and its enforcement on every Open API call."""

from __future__ import annotations

import base64
import json
import secrets
import time
from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine, func, select, update

from tests.compat.revenue_monster.conftest import (
    DATA,
    KeyPair,
    RmClient,
    RmMerchant,
    error_code,
    make_batch,
)
from tests.conftest import LiveServer, authority
from tests.ports import free_port
from voucherd.db.tables import vouchers
from voucherd.dialects.revenue_monster import signing
from voucherd.dialects.revenue_monster.tables import rm_nonces

# The doc's worked example (doc-v2 quickstart/signature-algorithm.md, "Use API to get
# Signature"): its body, headers, the private key it publishes, and the expected outputs.
DOC_BODY = {
    "order": {
        "title": "hello",
        "detail": "hello",
        "additionalData": "world",
        "amount": 100,
        "currencyType": "MYR",
        "id": "13234353986",
    },
    "method": [],
    "type": "WEB_PAYMENT",
    "storeId": "10946114768247530",
    "redirectUrl": "https://www.youtube.com/watch?v=k9NZYQHQ7Gg&list=RDGfcbOdIFWPE&index=13",
    "notifyUrl": "https://google.com",
    "layoutVersion": "v2",
}
DOC_SEQUENCE = (
    '{"layoutVersion":"v2","method":[],"notifyUrl":"https://google.com","order":{"additionalData"'
    ':"world","amount":100,"currencyType":"MYR","detail":"hello","id":"13234353986","title":"hell'
    'o"},"redirectUrl":"https://www.youtube.com/watch?v=k9NZYQHQ7Gg\\u0026list=RDGfcbOdIFWPE\\u00'
    '26index=13","storeId":"10946114768247530","type":"WEB_PAYMENT"}'
)
DOC_PLAINTEXT = (
    "data=eyJsYXlvdXRWZXJzaW9uIjoidjIiLCJtZXRob2QiOltdLCJub3RpZnlVcmwiOiJodHRwczovL2dvb2dsZS5jb2"
    "0iLCJvcmRlciI6eyJhZGRpdGlvbmFsRGF0YSI6IndvcmxkIiwiYW1vdW50IjoxMDAsImN1cnJlbmN5VHlwZSI6Ik1ZUi"
    "IsImRldGFpbCI6ImhlbGxvIiwiaWQiOiIxMzIzNDM1Mzk4NiIsInRpdGxlIjoiaGVsbG8ifSwicmVkaXJlY3RVcmwiOi"
    "JodHRwczovL3d3dy55b3V0dWJlLmNvbS93YXRjaD92PWs5TlpZUUhRN0dnXHUwMDI2bGlzdD1SREdmY2JPZElGV1BFXH"
    "UwMDI2aW5kZXg9MTMiLCJzdG9yZUlkIjoiMTA5NDYxMTQ3NjgyNDc1MzAiLCJ0eXBlIjoiV0VCX1BBWU1FTlQifQ==&m"
    "ethod=post&nonceStr=XAYZRZNLGCKSTURRFKBIGYALUKLCLJOG&requestUrl=https://sb-open.revenuemonste"
    "r.my/v3/payment/online&signType=sha256&timestamp=1591946239"
)
DOC_SIGNATURE = (
    "sha256 FKdep5OjChzPEZI0IxQBl4gSmIxS9HWb6cyxWPTT3X76RmX/pU6EPXj/WCzW3DFkapNllnLegMylQKgNMNhI29"
    "ylihYQhFvbrDdbPNBLHio0MJVH/oRkdf7zrl0GOi6CtEBAktj0yQKN7qjk7qa7ZAghSEKRYeq+zGvgmpxF61EjGYogtS"
    "hsxXK53+l+tnihOkNC0lgb7rY9W5Sahohrc0E7udY6mSqSTEoYVAmLq/KhYW7Ve6mp6cMRC5N/ELB2atcX8CvU6OnJ4s"
    "KPAqr0ML5cmIpKbjypVIPHv4HvvWFm2LC6wX8IMe5SgD891FAdBXfFgl3wR6nGhkpbMjg8ug=="
)


def test_doc_worked_example_byte_for_byte() -> None:
    key = signing.load_private_key((DATA / "doc_example_private_key.pem").read_bytes())
    assert signing.canonical_json(DOC_BODY) == DOC_SEQUENCE
    text = signing.plaintext(
        data=signing.data_base64(DOC_BODY),
        method="POST",
        nonce_str="XAYZRZNLGCKSTURRFKBIGYALUKLCLJOG",
        request_url="https://sb-open.revenuemonster.my/v3/payment/online",
        timestamp="1591946239",
    )
    assert text == DOC_PLAINTEXT
    assert signing.header_value(signing.sign(key, text)) == DOC_SIGNATURE
    signature = signing.parse_header(DOC_SIGNATURE)
    assert signature is not None
    assert signing.verify(key.public_key(), signature, ["other", text]) == text


def test_empty_bodies_omit_data_and_callbacks_omit_request_url() -> None:
    empties: tuple[object, ...] = (None, {})
    for empty in empties:
        assert signing.data_base64(empty) is None
    text = signing.plaintext(
        data=None, method="GET", nonce_str="n", request_url=None, timestamp="1"
    )
    assert text == "method=get&nonceStr=n&signType=sha256&timestamp=1"


def test_sdk_serialisations_are_accepted_variants() -> None:
    body = {"b": [{"z": 1, "a": "<é&>"}], "a": "x'y"}
    raw = json.dumps(body).encode()
    variants = signing.data_variants(body, raw)

    def b64(text: str) -> str:
        return base64.b64encode(text.encode()).decode()

    go = '{"a":"x\'y","b":[{"a":"\\u003cé\\u0026\\u003e","z":1}]}'
    python_sdk = '{"a":"x\'y","b":[{"z":1,"a":"<\\u00e9&>"}]}'  # rmsdk: arrays not sorted
    php = '{"a":"x\\u0027y","b":[{"a":"<é&>","z":1}]}'
    for text in (go, python_sdk, php, raw.decode()):
        assert b64(text) in variants
    assert signing.data_variants({}, b"") == [None, ""]


def test_timestamps_of_every_sdk() -> None:
    assert signing.parse_timestamp("1591946239") == 1591946239
    assert signing.parse_timestamp("1591946239.25") == 1591946239.25  # Python SDK
    assert signing.parse_timestamp("1591946239123") == 1591946239.123  # JS SDK, milliseconds
    for bad in (None, "", "abc", "-5", "1e9", "1591946239."):
        assert signing.parse_timestamp(bad) is None


# --- enforcement ---------------------------------------------------------------------------------


def _count(engine: Engine, tenant_id: int, status: str) -> int:
    with engine.connect() as conn:
        return int(
            conn.execute(
                select(func.count())
                .select_from(vouchers)
                .where(vouchers.c.tenant_id == tenant_id, vouchers.c.status == status)
            ).scalar_one()
        )


def test_replayed_nonce_is_refused(rm: RmClient, merchant: RmMerchant, engine: Engine) -> None:
    key = make_batch(engine, merchant.tenant_id, quantity=3)
    url = f"{rm.base}/v3/voucher-batch/{key}/issue"
    headers = rm.signed_headers("post", url, {})
    first = rm.call("post", f"/v3/voucher-batch/{key}/issue", {}, headers=headers)
    assert first.status_code == 200, first.text
    replay = rm.call("post", f"/v3/voucher-batch/{key}/issue", {}, headers=headers)
    assert replay.status_code == 401
    assert error_code(replay) == "INVALID_REQUEST_SIGNATURE"
    assert "nonce" in replay.json()["error"]["message"]
    assert _count(engine, merchant.tenant_id, "active") == 1


def test_a_nonce_is_taken_again_once_its_window_has_passed(
    rm: RmClient, merchant: RmMerchant, engine: Engine
) -> None:
    """One statement records a nonce: a live one refuses the request, an expired one (not yet
    purged by the sweep) is replaced."""
    nonce = secrets.token_hex(16)
    assert rm.call("get", "/v3/voucher-batches", nonce=nonce).status_code == 200
    with engine.begin() as conn:
        passed = conn.execute(
            update(rm_nonces)
            .where(rm_nonces.c.tenant_id == merchant.tenant_id, rm_nonces.c.nonce == nonce)
            .values(expires_at=datetime.now(UTC) - timedelta(seconds=1))
        ).rowcount
    assert passed == 1
    assert rm.call("get", "/v3/voucher-batches", nonce=nonce).status_code == 200
    again = rm.call("get", "/v3/voucher-batches", nonce=nonce)
    assert again.status_code == 401 and "nonce" in again.json()["error"]["message"]


def test_stale_or_future_timestamp_is_refused(rm: RmClient) -> None:
    for offset in (-121, 121):
        response = rm.call("get", "/v3/voucher-batches", timestamp=str(int(time.time()) + offset))
        assert response.status_code == 401
        assert error_code(response) == "INVALID_TIMESTAMP"
    fresh = rm.call("get", "/v3/voucher-batches", timestamp=f"{time.time() - 60:.6f}")
    assert fresh.status_code == 200, fresh.text


def test_body_changed_after_signing_is_refused(
    rm: RmClient, merchant: RmMerchant, engine: Engine
) -> None:
    key = make_batch(engine, merchant.tenant_id, quantity=2)
    issued = rm.call("post", f"/v3/voucher-batch/{key}/issue", {}).json()["item"]["code"]
    rm.call("post", f"/v3/voucher/{issued}/void", {})
    from voucherd.dialects.revenue_monster import merchants

    merchants.configure(engine, merchant.tenant_id, reinstate_pin="1111")
    path = f"/v3/voucher/{issued}/reinstate"
    headers = rm.signed_headers("patch", f"{rm.base}{path}", {"pin": "0000"})
    tampered = rm.call("patch", path, send=b'{"pin":"1111"}', headers=headers)
    assert tampered.status_code == 401
    assert error_code(tampered) == "INVALID_REQUEST_SIGNATURE"
    assert _count(engine, merchant.tenant_id, "void") == 1
    # The same body bytes, signed as sent, pass (the raw body is one accepted form).
    raw = b'{ "pin" : "1111" }'
    nonce, stamp = secrets.token_hex(8), str(int(time.time()))
    text = signing.plaintext(
        data=base64.b64encode(raw).decode(),
        method="patch",
        nonce_str=nonce,
        request_url=f"{rm.base}{path}",
        timestamp=stamp,
    )
    headers = {
        **headers,
        "X-Nonce-Str": nonce,
        "X-Timestamp": stamp,
        "X-Signature": signing.header_value(signing.sign(rm.key, text)),
    }
    assert rm.call("patch", path, send=raw, headers=headers).status_code == 200


def test_other_url_or_method_than_signed_is_refused(rm: RmClient) -> None:
    headers = rm.signed_headers("get", f"{rm.base}/v3/voucher-batches?limit=1")
    assert error_code(rm.call("get", "/v3/voucher-batches?limit=2", headers=headers)) == (
        "INVALID_REQUEST_SIGNATURE"
    )
    headers = rm.signed_headers("post", f"{rm.base}/v3/voucher-batches")
    assert error_code(rm.call("get", "/v3/voucher-batches", headers=headers)) == (
        "INVALID_REQUEST_SIGNATURE"
    )


def test_key_of_another_client_is_refused(rm: RmClient, rm_keys: tuple[KeyPair, KeyPair]) -> None:
    response = rm.call("get", "/v3/voucher-batches", key=rm_keys[1].private)
    assert response.status_code == 401
    assert error_code(response) == "INVALID_REQUEST_SIGNATURE"


def test_missing_or_bad_token_and_headers(rm: RmClient) -> None:
    headers = rm.signed_headers("get", f"{rm.base}/v3/voucher-batches")
    assert (
        error_code(
            rm.call(
                "get",
                "/v3/voucher-batches",
                headers={k: v for k, v in headers.items() if k != "Authorization"},
            )
        )
        == "UNAUTHORIZED"
    )
    bad = {**headers, "Authorization": "Bearer vd1.e30.AAAA"}
    assert error_code(rm.call("get", "/v3/voucher-batches", headers=bad)) == "TOKEN_INVALID"
    no_signature = {k: v for k, v in headers.items() if k != "X-Signature"}
    assert error_code(rm.call("get", "/v3/voucher-batches", headers=no_signature)) == (
        "INVALID_REQUEST_SIGNATURE"
    )
    spaced = rm.signed_headers("get", f"{rm.base}/v3/voucher-batches", nonce="a b")
    assert error_code(rm.call("get", "/v3/voucher-batches", headers=spaced)) == (
        "INVALID_REQUEST_SIGNATURE"
    )


def test_expired_token(rm: RmClient, live_server: LiveServer) -> None:
    from voucherd.domain.scopes import ALL_SCOPES
    from voucherd.services import tokens

    key = authority(live_server)
    expired = key.issue(
        tokens.Claims(
            rm.merchant.tenant_id, rm.merchant.client_id, ALL_SCOPES, "rm", int(time.time()) - 5
        ),
    )
    headers = {
        **rm.signed_headers("get", f"{rm.base}/v3/voucher-batches"),
        "Authorization": f"Bearer {expired}",
    }
    response = rm.call("get", "/v3/voucher-batches", headers=headers)
    assert response.status_code == 401 and error_code(response) == "TOKEN_EXPIRED"
    native = key.issue(
        tokens.Claims(
            rm.merchant.tenant_id,
            rm.merchant.client_id,
            ALL_SCOPES,
            "native",
            int(time.time()) + 60,
        ),
    )
    headers["Authorization"] = f"Bearer {native}"
    assert error_code(rm.call("get", "/v3/voucher-batches", headers=headers)) == "TOKEN_INVALID"


# --- tokens --------------------------------------------------------------------------------------


def test_token_shape_and_refresh_rotation(rm: RmClient) -> None:
    first = rm.tokens
    assert set(first) == {
        "accessToken",
        "tokenType",
        "expiresIn",
        "refreshToken",
        "refreshTokenExpiresIn",
    }
    assert first["tokenType"] == "Bearer" and first["expiresIn"] == 2591999
    assert first["refreshTokenExpiresIn"] == 1576799999
    refreshed = rm.token({"grantType": "refresh_token", "refreshToken": first["refreshToken"]})
    assert refreshed.status_code == 200, refreshed.text
    second = refreshed.json()
    assert second["refreshToken"] != first["refreshToken"]
    rm.tokens = second
    assert rm.call("get", "/v3/voucher-batches").status_code == 200
    # The rotated token is spent; presenting it again revokes its whole family.
    reused = rm.token({"grantType": "refresh_token", "refreshToken": first["refreshToken"]})
    assert reused.status_code == 400 and reused.json()["error"]["code"] == "InvalidGrant"
    revoked = rm.token({"grantType": "refresh_token", "refreshToken": second["refreshToken"]})
    assert revoked.json()["error"]["code"] == "InvalidGrant"


def test_token_errors_in_rm_shape(rm: RmClient) -> None:
    wrong = rm.token({"grantType": "client_credentials"}, secret="wrong")
    assert wrong.status_code == 401
    assert wrong.json() == {
        "error": {"code": "InvalidClient", "message": "Client authentication failed"}
    }
    assert rm.token({"grantType": "password"}).json()["error"]["code"] == "UnSupportedGrantType"
    assert rm.token({}).json()["error"]["code"] == "InvalidRequest"
    garbage = rm.token({"grantType": "refresh_token", "refreshToken": "nope"})
    assert garbage.json()["error"]["code"] == "InvalidGrant"


def test_nonce_is_refused_by_another_server_on_the_same_database(
    rm: RmClient, live_server: LiveServer
) -> None:
    """Nonces live in the database, so a second server process refuses a replay too."""
    import threading

    import uvicorn

    from voucherd.api.app import create_app
    from voucherd.config import Settings

    nonce = secrets.token_hex(16)
    assert rm.call("get", "/v3/voucher-batches", nonce=nonce).status_code == 200
    settings = Settings(
        database_url=live_server.settings.database_url, secret_key="test-signing-key"
    )
    config = uvicorn.Config(
        create_app(settings),
        host="127.0.0.1",
        port=free_port(),
        log_level="warning",
        access_log=False,
        lifespan="on",
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 20
        while not server.started:
            assert time.monotonic() < deadline and thread.is_alive()
            time.sleep(0.02)
        port = server.servers[0].sockets[0].getsockname()[1]
        url = f"http://127.0.0.1:{port}/rm/v3/voucher-batches"
        replay = rm.http.get(url, headers=rm.signed_headers("get", url, nonce=nonce))
        assert replay.status_code == 401
        assert error_code(replay) == "INVALID_REQUEST_SIGNATURE"
        fresh = rm.http.get(url, headers=rm.signed_headers("get", url))
        assert fresh.status_code == 200, fresh.text
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def test_revoked_refresh_tokens_are_refused(rm: RmClient, engine: Engine) -> None:
    from typer.testing import CliRunner

    from voucherd.dialects.revenue_monster.cli import cli

    result = CliRunner().invoke(
        cli,
        [
            "client",
            "revoke-tokens",
            "--tenant",
            str(rm.merchant.tenant_id),
            "--client",
            rm.merchant.client_id,
            "--database-url",
            engine.url.render_as_string(hide_password=False),
        ],
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["revokedRefreshTokens"] == 1
    refused = rm.token({"grantType": "refresh_token", "refreshToken": rm.tokens["refreshToken"]})
    assert refused.status_code == 400 and refused.json()["error"]["code"] == "InvalidGrant"


def test_a_native_client_gets_no_rm_token(rm: RmClient, engine: Engine) -> None:
    from tests.conftest import make_tenant

    native = make_tenant(engine, "native-only")
    rm.merchant = type(rm.merchant)(
        native.id, native.client_id, native.client_secret, rm.merchant.key
    )
    response = rm.token({"grantType": "client_credentials"})
    assert response.status_code == 401 and response.json()["error"]["code"] == "InvalidClient"
