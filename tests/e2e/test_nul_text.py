"""Text with NUL characters is refused as bad input on every face, never a server error."""

from __future__ import annotations

import httpx

from tests.conftest import Api, LiveServer, TenantFixture


def test_native_api_refuses_nul_text(
    api: Api, live_server: LiveServer, tenant: TenantFixture
) -> None:
    voucher = api.create_voucher()
    assert api.get("/v1/vouchers/A%00B").status_code == 422
    assert api.post("/v1/vouchers/lookup", {"code": "AB\u0000C"}).status_code == 422
    patched = api.patch(f"/v1/vouchers/{voucher['id']}", {"metadata": {"note": "a\u0000b"}})
    assert patched.status_code == 422 and patched.json()["code"] == "validation_failed"
    token = httpx.post(
        f"{live_server.url}/oauth/token",
        data={"grant_type": "client_credentials", "client_id": "a\x00", "client_secret": "b"},
    )
    assert token.status_code == 401 and token.json()["error"] == "invalid_client"
    assert api.get(f"/v1/vouchers/{voucher['id']}").json()["metadata"] == {}


def test_every_dialect_answers_nul_with_a_client_error(live_server: LiveServer) -> None:
    probes = [
        (
            "POST",
            "/jtl/oauth/token",
            {
                "data": {
                    "grant_type": "client_credentials",
                    "client_id": "x\x00",
                    "client_secret": "y",
                }
            },
        ),
        ("POST", "/jtl/v1/clients/connect", {"json": {"pin": "AB\u0000"}}),
        ("GET", "/shopee/api/v2/voucher/get_voucher?partner_id=1&timestamp=1&sign=a%00", {}),
        ("POST", "/spaaza/auth/login", {"data": {"username": "a\x00", "password": "b"}}),
        (
            "POST",
            "/rm/v1/token",
            {
                "json": {"grantType": "client_credentials"},
                "headers": {"Authorization": "Basic YQBiOmM="},
            },
        ),
    ]
    for method, path, kwargs in probes:
        response = httpx.request(method, f"{live_server.url}{path}", timeout=30, **kwargs)  # type: ignore[arg-type]
        assert response.status_code < 500, (path, response.status_code, response.text)


def test_rm_voucher_path_with_nul_is_a_client_error(live_server: LiveServer) -> None:
    # Unsigned, so it is refused before any lookup; what matters is that it is not a 5xx.
    response = httpx.get(f"{live_server.url}/rm/v3/voucher/AB%00C", timeout=30)
    assert 400 <= response.status_code < 500


def test_a_newline_in_a_path_stays_with_its_dialect(live_server: LiveServer) -> None:
    for prefix in ("/jtl/v1/vouchers", "/shopee/api/v2/voucher", "/spaaza", "/rm/v3/voucher"):
        response = httpx.get(f"{live_server.url}{prefix}/A%0AB", timeout=30)
        assert response.status_code < 500, (prefix, response.text)
        # the native API's 404 is problem+json; each dialect answers in its own shape
        assert response.headers["content-type"] != "application/problem+json", prefix
