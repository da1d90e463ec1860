"""Partners, shop authorisation, tokens and request authentication over real HTTP."""

from __future__ import annotations

import re
import threading
import time
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from typer.testing import CliRunner

from tests.compat.shopee.conftest import (
    Partner,
    Raw,
    Shop,
    authorize,
    make_partner,
    make_shop,
    pyshopee,
)
from tests.conftest import TEST_SECRET_KEY, LiveServer, make_tenant
from voucherd.dialects.shopee import signing
from voucherd.dialects.shopee.cli import cli as shopee_cli

LIST = "/api/v2/voucher/get_voucher_list"
TOKEN = "/api/v2/auth/token/get"
REFRESH = "/api/v2/auth/access_token/get"


def test_code_to_tokens_with_pyshopee(live_server: LiveServer, partner: Partner) -> None:
    tenant = make_tenant(live_server.engine, "shop")
    code = authorize(live_server.engine, tenant.id, partner.partner_id)
    client = pyshopee(live_server, partner, tenant.id, code=code)
    access, expire_in, refresh = client.get_token()
    assert re.fullmatch(r"[0-9a-f]{32}", access) and re.fullmatch(r"[0-9a-f]{32}", refresh)
    assert expire_in == 14400
    # the token works for a shop call made by the unmodified client
    listed = client.voucher.get_voucher_list(status="all")
    assert listed["error"] == "" and listed["response"] == {"more": False, "voucher_list": []}
    # the code is single-use
    with pytest.raises(KeyError):
        client.get_token()  # pyshopee indexes resp["access_token"] of the error body


def test_code_is_single_use_and_bound_to_its_shop(
    live_server: LiveServer, partner: Partner
) -> None:
    tenant = make_tenant(live_server.engine, "shop")
    other = make_tenant(live_server.engine, "other")
    code = authorize(live_server.engine, tenant.id, partner.partner_id)
    raw = Raw(live_server.url, Shop(tenant, partner, "", ""))
    wrong_shop = raw.post(
        TOKEN, {"code": code, "partner_id": partner.partner_id, "shop_id": other.id}, public=True
    )
    assert wrong_shop.status_code == 200
    assert wrong_shop.json()["error"] == "invalid_shop_id"
    first = raw.post(
        TOKEN, {"code": code, "partner_id": partner.partner_id, "shop_id": tenant.id}, public=True
    )
    body = first.json()
    assert body["error"] == "" and body["shop_id_list"] == [tenant.id]
    assert body["expire_in"] == 14400 and "response" not in body
    again = raw.post(
        TOKEN, {"code": code, "partner_id": partner.partner_id, "shop_id": tenant.id}, public=True
    ).json()
    assert again["error"] == "error_auth" and again["message"] == "Invalid code"
    garbage = raw.post(
        TOKEN, {"code": "nope", "partner_id": partner.partner_id}, public=True
    ).json()
    assert garbage["error"] == "error_auth"


def test_code_of_another_partner_is_refused(live_server: LiveServer, partner: Partner) -> None:
    tenant = make_tenant(live_server.engine, "shop")
    code = authorize(live_server.engine, tenant.id, partner.partner_id)
    intruder = make_partner(live_server.engine, "intruder")
    raw = Raw(live_server.url, Shop(tenant, intruder, "", ""))
    response = raw.post(
        TOKEN, {"code": code, "partner_id": intruder.partner_id, "shop_id": tenant.id}, public=True
    ).json()
    assert response["error"] == "error_auth"
    # the body's partner_id must be the signing partner
    mismatch = raw.post(TOKEN, {"code": code, "partner_id": partner.partner_id}, public=True).json()
    assert mismatch["error"] == "error_auth"


def test_refresh_with_pyshopee_rotates_the_refresh_token(
    live_server: LiveServer, shop: Shop
) -> None:
    client = pyshopee(live_server, shop.partner, shop.shop_id)
    access, expire_in, refresh = client.get_access_token(
        shop.shop_id, shop.partner.partner_id, shop.partner.partner_key, shop.refresh_token
    )
    assert expire_in == 14400 and access != shop.access_token and refresh != shop.refresh_token
    assert client.voucher.get_voucher_list(status="all")["error"] == ""
    # the old refresh token is spent
    raw = Raw(live_server.url, shop)
    spent = raw.post(
        REFRESH,
        {
            "refresh_token": shop.refresh_token,
            "partner_id": shop.partner.partner_id,
            "shop_id": shop.shop_id,
        },
        public=True,
    ).json()
    assert spent == {
        "error": "error_auth",
        "message": "Invalid refresh_token.",
        "request_id": spent["request_id"],
        "response": "",
    }
    # the old access token stays valid until it expires (4 hours)
    old = pyshopee(live_server, shop.partner, shop.shop_id, access_token=shop.access_token)
    assert old.voucher.get_voucher_list(status="all")["error"] == ""


def test_refresh_token_of_another_shop_is_refused(live_server: LiveServer, shop: Shop) -> None:
    other = make_shop(live_server, shop.partner)
    raw = Raw(live_server.url, shop)
    response = raw.post(
        REFRESH,
        {
            "refresh_token": other.refresh_token,
            "partner_id": shop.partner.partner_id,
            "shop_id": shop.shop_id,
        },
        public=True,
    ).json()
    assert response["error"] == "error_shop_refresh_token"


def test_concurrent_refreshes_have_exactly_one_winner(live_server: LiveServer, shop: Shop) -> None:
    raw = Raw(live_server.url, shop)
    body = {
        "refresh_token": shop.refresh_token,
        "partner_id": shop.partner.partner_id,
        "shop_id": shop.shop_id,
    }
    results: list[str] = []

    def refresh() -> None:
        with httpx.Client(base_url=live_server.url + "/shopee", timeout=30) as http:
            reply = http.post(REFRESH, json=body, params=raw.params(REFRESH, public=True))
            results.append(reply.json()["error"])

    threads = [threading.Thread(target=refresh) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == [""] + ["error_auth"] * 5


def test_cli_partner_create_and_authorize(live_server: LiveServer) -> None:
    runner = CliRunner()
    url = live_server.settings.database_url
    made = runner.invoke(shopee_cli, ["partner", "create", "--name", "ERP", "--database-url", url])
    assert made.exit_code == 0, made.output
    import json

    created = json.loads(made.stdout)
    assert isinstance(created["partner_id"], int) and len(created["partner_key"]) == 64
    tenant = make_tenant(live_server.engine, "cli-shop")
    granted = runner.invoke(
        shopee_cli,
        [
            "authorize",
            "--partner",
            str(created["partner_id"]),
            "--tenant",
            str(tenant.id),
            "--currency",
            "myr",
            "--database-url",
            url,
        ],
    )
    assert granted.exit_code == 0, granted.output
    grant = json.loads(granted.stdout)
    assert grant["shop_id"] == tenant.id and re.fullmatch(r"[0-9a-f]{32}", grant["code"])
    partner = Partner(created["partner_id"], created["partner_key"])
    client = pyshopee(live_server, partner, tenant.id, code=grant["code"])
    access, _, _ = client.get_token()
    assert access
    unknown = runner.invoke(
        shopee_cli,
        ["authorize", "--partner", "1", "--tenant", str(tenant.id), "--database-url", url],
    )
    assert unknown.exit_code == 2


def test_cli_is_mounted_under_voucherd_shopee(live_server: LiveServer) -> None:
    import json
    import os
    import subprocess
    import sys

    env = {
        **os.environ,
        "VOUCHERD_DIALECTS": "shopee",
        "VOUCHERD_DATABASE_URL": live_server.settings.database_url,
        "VOUCHERD_SECRET_KEY": TEST_SECRET_KEY,  # the partner key is sealed under the server's
    }
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            "from voucherd.cli import main; main()",
            "shopee",
            "partner",
            "create",
            "--name",
            "via voucherd",
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["name"] == "via voucherd"


def test_authorisation_page_redirects_with_code_and_shop_id(
    live_server: LiveServer, partner: Partner
) -> None:
    tenant = make_tenant(live_server.engine, "page-shop")
    path = "/api/v2/shop/auth_partner"
    raw = Raw(live_server.url, Shop(tenant, partner, "", ""))
    client = pyshopee(live_server, partner, tenant.id)
    # the URL pyshopee builds for the seller (redirect appended unencoded, as it does)
    url = client.shop_authorization("https://erp.example/callback")
    page = httpx.get(url)
    assert page.status_code == 200 and "text/html" in page.headers["content-type"]
    assert "<form" in page.text and f"partner_id {partner.partner_id}" in page.text
    assert page.headers["x-frame-options"] == "DENY"
    wrong = httpx.post(url, data={"client_id": tenant.client_id, "client_secret": "x"})
    assert wrong.status_code == 401 and "Wrong client id or secret" in wrong.text
    approved = httpx.post(
        url, data={"client_id": tenant.client_id, "client_secret": tenant.client_secret}
    )
    assert approved.status_code == 303
    target = urlsplit(approved.headers["location"])
    assert f"{target.scheme}://{target.netloc}{target.path}" == "https://erp.example/callback"
    query = parse_qs(target.query)
    assert query["shop_id"] == [str(tenant.id)]
    body = raw.post(
        TOKEN,
        {"code": query["code"][0], "partner_id": partner.partner_id, "shop_id": tenant.id},
        public=True,
    ).json()
    assert body["error"] == "" and body["shop_id_list"] == [tenant.id]
    # a bad signature never shows the page
    params = raw.params(path, public=True)
    params["sign"] = "0" * 64
    refused = httpx.get(
        live_server.url + "/shopee" + path, params={**params, "redirect": "https://erp.example/cb"}
    )
    assert refused.status_code == 403 and refused.json()["error"] == "error_sign"


# --- refusals ---------------------------------------------------------------------------------


def _refused(response: httpx.Response, status: int, error: str, message: str | None = None) -> None:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["error"] == error, body
    if message is not None:
        assert body["message"] == message
    assert re.fullmatch(r"[0-9a-f]{32}", body["request_id"])


def test_tampered_signature(raw: Raw) -> None:
    params = raw.params(LIST)
    params["sign"] = ("0" if params["sign"][0] != "0" else "1") + params["sign"][1:]
    _refused(raw.get(LIST, {"status": "all"}, params=params), 403, "error_sign", "Wrong sign.")
    # signed for another path
    _refused(
        raw.get(LIST, {"status": "all"}, params=raw.params("/api/v2/voucher/get_voucher")),
        403,
        "error_sign",
    )


def test_stale_and_future_timestamps(raw: Raw) -> None:
    stale = int(time.time()) - 301
    _refused(
        raw.get(LIST, {"status": "all"}, timestamp=stale),
        400,
        "error_param",
        "Timestamp is expired.",
    )
    _refused(
        raw.get(LIST, {"status": "all"}, timestamp=int(time.time()) + 3600),
        400,
        "error_param",
        "Invalid timestamp",
    )
    assert raw.get(LIST, {"status": "all"}, timestamp=int(time.time()) - 200).json()["error"] == ""


def test_wrong_partner(live_server: LiveServer, raw: Raw, shop: Shop) -> None:
    ghost = Partner(4_000_000_000, "k" * 64)
    _refused(
        raw.get(LIST, {"status": "all"}, partner=ghost), 403, "error_auth", "partner_id is invalid"
    )
    # a real partner that the shop never authorised, signing with its own key
    stranger = make_partner(live_server.engine, "stranger")
    _refused(
        raw.get(LIST, {"status": "all"}, partner=stranger),
        403,
        "error_auth",
        "Invalid partner_id or shopid.",
    )
    # the shop's partner_id signed with another key
    forged = Partner(shop.partner.partner_id, stranger.partner_key)
    _refused(raw.get(LIST, {"status": "all"}, partner=forged), 403, "error_sign")


def test_token_of_another_shop(live_server: LiveServer, raw: Raw, shop: Shop) -> None:
    other = make_shop(live_server, shop.partner)
    _refused(
        raw.get(LIST, {"status": "all"}, access_token=other.access_token),
        403,
        "error_auth",
        "Invalid partner_id or shopid.",
    )
    _refused(raw.get(LIST, {"status": "all"}, access_token="f" * 32), 403, "invalid_acceess_token")
    # through pyshopee, which keeps only the status of a non-2xx answer
    client = pyshopee(live_server, shop.partner, shop.shop_id, access_token=other.access_token)
    assert client.voucher.get_voucher_list(status="all")["error"] == 403


@pytest.mark.parametrize(
    ("missing", "message"),
    [
        ("partner_id", "There is no partner_id in query."),
        ("timestamp", "no timestamp"),
        ("sign", "There is no sign in query."),
        ("access_token", "There is no access_token in query."),
        ("shop_id", "There is no shop_id in query."),
    ],
)
def test_each_missing_common_parameter(raw: Raw, missing: str, message: str) -> None:
    params = raw.params(LIST)
    del params[missing]
    _refused(raw.get(LIST, {"status": "all"}, params=params), 400, "error_param", message)


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        (
            "partner_id",
            "abc",
            "Partner_id is invalid, should be an integer between 0 and 4294967295.",
        ),
        ("partner_id", "4294967296", None),
        ("timestamp", "-5", "Timestamp is invalid, should be an integer between 0 and 4294967295."),
        ("shop_id", "1.5", "shop_id is invalid, should be an integer between 0 and 4294967295."),
    ],
)
def test_each_malformed_common_parameter(
    raw: Raw, name: str, value: str, message: str | None
) -> None:
    params = raw.params(LIST)
    params[name] = value
    _refused(raw.get(LIST, {"status": "all"}, params=params), 400, "error_param", message)


def test_common_parameter_names_are_case_insensitive(raw: Raw) -> None:
    params = raw.params(LIST)
    mixed = {
        "Partner_id": params["partner_id"],
        "TIMESTAMP": params["timestamp"],
        "Access_Token": params["access_token"],
        "Shop_id": params["shop_id"],
        "Sign": params["sign"],
    }
    reply = raw.get(LIST, {"Status": "all"}, params=mixed)
    assert reply.status_code == 200 and reply.json()["error"] == ""


def test_unknown_path_and_bad_json(raw: Raw) -> None:
    path = "/api/v2/voucher/no_such_call"
    _refused(raw.get(path), 404, "error_param")
    add = "/api/v2/voucher/add_voucher"
    reply = raw.http.post(
        add,
        content=b"{not json",
        params=raw.params(add),
        headers={"content-type": "application/json"},
    )
    _refused(reply, 200, "error_data", "parse data failed")


def test_signature_is_checked_before_the_body(raw: Raw) -> None:
    add = "/api/v2/voucher/add_voucher"
    params = raw.params(add)
    params["sign"] = "0" * 64
    _refused(raw.post(add, {"voucher_code": "!!"}, params=params), 403, "error_sign")


def test_sign_helper_matches_pyshopee(live_server: LiveServer, shop: Shop) -> None:
    client = pyshopee(live_server, shop.partner, shop.shop_id, access_token=shop.access_token)
    assert client._api_sign(LIST, 1610000000) == signing.sign(
        shop.partner.partner_key,
        shop.partner.partner_id,
        LIST,
        1610000000,
        shop.access_token,
        shop.shop_id,
    )


def test_request_id_is_logged_and_openapi_is_own(
    live_server: LiveServer, raw: Raw, caplog: pytest.LogCaptureFixture
) -> None:
    import logging

    caplog.set_level(logging.INFO, logger="voucherd.shopee")
    good = raw.get(LIST, {"status": "all"}).json()
    bad = raw.get(LIST, {"status": "nope"}).json()
    assert bad["error"] == "error_param" and bad["response"] == ""
    for reply in (good, bad):
        assert reply["request_id"] in caplog.text
    assert raw.shop.access_token not in caplog.text
    spec = httpx.get(live_server.url + "/shopee/openapi.json").json()
    assert "/api/v2/voucher/add_voucher" in spec["paths"]
    add = spec["paths"]["/api/v2/voucher/add_voucher"]["post"]
    assert (
        "voucher_code" in add["requestBody"]["content"]["application/json"]["schema"]["properties"]
    )
    assert {p["name"] for p in add["parameters"]} == {
        "partner_id",
        "timestamp",
        "access_token",
        "shop_id",
        "sign",
    }
    assert not any(path.startswith("/v1") for path in spec["paths"])


def test_revoked_authorisation_stops_tokens(live_server: LiveServer, shop: Shop, raw: Raw) -> None:
    import json

    url = live_server.settings.database_url
    args = [
        "revoke",
        "--partner",
        str(shop.partner.partner_id),
        "--tenant",
        str(shop.shop_id),
        "--database-url",
        url,
    ]
    done = CliRunner().invoke(shopee_cli, args)
    assert done.exit_code == 0 and json.loads(done.stdout)["revoked"] is True
    assert CliRunner().invoke(shopee_cli, args).exit_code == 1  # already revoked
    _refused(
        raw.get(LIST, {"status": "all"}), 403, "shop_no_linked", "Partner and shop has no linked."
    )
    body = {
        "refresh_token": shop.refresh_token,
        "partner_id": shop.partner.partner_id,
        "shop_id": shop.shop_id,
    }
    refused = raw.post(REFRESH, body, public=True).json()
    assert refused["error"] == "shop_access_expired"
    # authorising again brings the shop back; the refresh token was not spent by the refusal
    authorize(live_server.engine, shop.shop_id, shop.partner.partner_id)
    assert raw.post(REFRESH, body, public=True).json()["error"] == ""
