"""Rate limits on the vendor faces, across two server processes: each face's own 429.

Per face, a burst of wrong codes, secrets or PINs is answered as the face answers them until
the budget is spent, then 429 with ``Retry-After`` in the face's own error shape; another
caller is still served. A JTL connect PIN dies after the configured number of wrong PINs.
"""

from __future__ import annotations

import base64
import json
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from sqlalchemy import Engine

from tests.compat.jtl.conftest import issue_pin
from tests.compat.revenue_monster.conftest import KeyPair, RmClient, RmMerchant, make_batch
from tests.compat.spaaza.conftest import make_world
from tests.conftest import LiveServer, make_tenant
from tests.e2e.limits_support import (
    BUDGET,
    JTL_PIN_DEATH,
    Client,
    assert_stopped,
    burst,
    new_address,
    wait_out,
)
from tests.support import Server
from voucherd.config import Settings
from voucherd.dialects.revenue_monster import merchants
from voucherd.dialects.revenue_monster.cli import create_client
from voucherd.dialects.shopee import accounts
from voucherd.dialects.shopee import signing as shopee_signing
from voucherd.dialects.spaaza import store
from voucherd.services.unit_of_work import UnitOfWork

Servers = tuple[Server, Server]


def _assert_429(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code == 429, response.text
    assert int(response.headers["Retry-After"]) >= 1
    assert response.headers["content-type"].startswith("application/json")
    body: dict[str, Any] = response.json()
    return body


# --- JTL -----------------------------------------------------------------------------------


def _jtl_client(servers: Servers, engine: Engine) -> tuple[Client, dict[str, Any]]:
    tenant = make_tenant(engine, "jtl")
    address = new_address()
    caller = Client(servers, address)
    connected = caller.request(
        "POST", "/jtl/v1/clients/connect", json={"pin": issue_pin(engine, tenant.id)}
    )
    assert connected.status_code == 200, connected.text
    client = connected.json()
    token = caller.request(
        "POST",
        "/jtl/oauth/token",
        data={
            "grant_type": "client_credentials",
            "client_id": client["id"],
            "client_secret": client["secret"],
        },
    )
    assert token.status_code == 200, token.text
    caller.token = token.json()["access_token"]
    return caller, client


def test_jtl_wrong_codes(limited_servers: Servers, engine: Engine) -> None:
    guesser, _ = _jtl_client(limited_servers, engine)

    def guess(i: int) -> httpx.Response:
        body = {"amount": "1.00", "currency": "EUR", "code": f"GUESS-{i:06d}"}
        return guesser.request("POST", "/jtl/v1/reservations", json=body)

    assert_stopped(burst(guess), 404)
    body = _assert_429(guess(99))
    assert body == {
        "status": 429,
        "code": "REQUEST.TOO_MANY_ATTEMPTS",
        "message": "Too many failed attempts. Please try again later.",
    }
    other, _ = _jtl_client(limited_servers, engine)
    created = other.request(
        "POST", "/jtl/v1/vouchers", json={"amount": "5.00", "currency": "EUR", "status": "active"}
    )
    assert created.status_code == 201, created.text
    code = created.json()["code"]
    held = other.request(
        "POST", "/jtl/v1/reservations", json={"amount": "1.00", "currency": "EUR", "code": code}
    )
    assert held.status_code == 201, held.text


def test_jtl_wrong_client_secrets(limited_servers: Servers, engine: Engine) -> None:
    _, client = _jtl_client(limited_servers, engine)
    stranger = Client(limited_servers, new_address())

    def attempt(i: int, secret: str | None = None) -> httpx.Response:
        form = {
            "grant_type": "client_credentials",
            "client_id": client["id"],
            "client_secret": secret or f"wrong-{i}",
        }
        return stranger.request("POST", "/jtl/oauth/token", data=form)

    assert_stopped(burst(attempt), 401)
    refused = _assert_429(attempt(99, client["secret"]))
    assert refused["error"] == "slow_down"
    assert wait_out(lambda: attempt(0, client["secret"])).status_code == 200


def test_jtl_wrong_connect_pins(limited_servers: Servers, engine: Engine) -> None:
    tenant = make_tenant(engine, "jtl-pins")
    guesser = Client(limited_servers, new_address())

    def guess(i: int) -> httpx.Response:
        return guesser.request("POST", "/jtl/v1/clients/connect", json={"pin": f"WRONG{i:03d}"})

    assert_stopped(burst(guess), 422)
    body = _assert_429(guess(99))
    assert body["code"] == "REQUEST.TOO_MANY_ATTEMPTS"
    # Another till, elsewhere, connects with its PIN.
    pin = issue_pin(engine, tenant.id)
    other = Client(limited_servers, new_address())
    assert other.request("POST", "/jtl/v1/clients/connect", json={"pin": pin}).status_code == 200


def test_a_jtl_connect_pin_dies_after_wrong_pins(limited_servers: Servers, engine: Engine) -> None:
    tenant = make_tenant(engine, "jtl-death")
    live = issue_pin(engine, tenant.id)
    # Wrong PINs from many addresses (no address budget is spent): each counts against every
    # PIN that is live.
    for i in range(JTL_PIN_DEATH):
        wrong = Client(limited_servers, new_address()).request(
            "POST", "/jtl/v1/clients/connect", json={"pin": f"NOPE{i:04d}"}
        )
        assert wrong.status_code == 422
    dead = Client(limited_servers, new_address()).request(
        "POST", "/jtl/v1/clients/connect", json={"pin": live}
    )
    assert dead.status_code == 422, dead.text
    fresh = issue_pin(engine, tenant.id)  # the operator issues a new one
    served = Client(limited_servers, new_address()).request(
        "POST", "/jtl/v1/clients/connect", json={"pin": fresh}
    )
    assert served.status_code == 200, served.text


# --- Revenue Monster -----------------------------------------------------------------------


def _rm_merchant(engine: Engine) -> RmMerchant:
    tenant = make_tenant(engine, "rm")
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    public_pem = (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    created = create_client(engine, tenant.id, public_pem)
    return RmMerchant(
        tenant.id, created["clientId"], created["clientSecret"], KeyPair(key, Path(), public_pem)
    )


def test_rm_wrong_codes(limited_servers: Servers, engine: Engine) -> None:
    merchant = _rm_merchant(engine)
    address = new_address()
    apps = [RmClient(server, merchant) for server in limited_servers]  # type: ignore[arg-type]
    for app in apps:
        app.http.headers["X-Forwarded-For"] = address

    def guess(i: int) -> httpx.Response:
        return apps[i % 2].call("GET", f"/v3/voucher/GUESS{i:07d}")

    assert_stopped(burst(guess), 404)
    body = _assert_429(guess(99))
    assert body["error"]["code"] == "TOO_MANY_REQUESTS"


def test_rm_wrong_client_secrets(limited_servers: Servers, engine: Engine) -> None:
    merchant = _rm_merchant(engine)
    stranger = Client(limited_servers, new_address())

    def attempt(i: int, secret: str | None = None) -> httpx.Response:
        credentials = f"{merchant.client_id}:{secret or f'wrong-{i}'}"
        return stranger.request(
            "POST",
            "/rm/v1/token",
            content=json.dumps({"grantType": "client_credentials"}),
            headers={
                "Content-Type": "application/json",
                "Authorization": "Basic " + base64.b64encode(credentials.encode()).decode(),
            },
        )

    assert_stopped(burst(attempt), 401)
    body = _assert_429(attempt(99, merchant.client_secret))
    assert body == {
        "error": {"code": "TOO_MANY_REQUESTS", "message": "Too many failed attempts; retry later"}
    }
    assert wait_out(lambda: attempt(0, merchant.client_secret)).status_code == 200


def test_rm_wrong_reinstate_pins(limited_servers: Servers, engine: Engine) -> None:
    merchant = _rm_merchant(engine)
    address = new_address()
    apps = [RmClient(server, merchant) for server in limited_servers]  # type: ignore[arg-type]
    for app in apps:
        app.http.headers["X-Forwarded-For"] = address
    merchants.configure(engine, merchant.tenant_id, reinstate_pin="4711")
    batch = make_batch(engine, merchant.tenant_id, quantity=1)
    issued = apps[0].call("post", f"/v3/voucher-batch/{batch}/issue", {})
    assert issued.status_code == 200, issued.text
    code = issued.json()["item"]["code"]
    assert apps[1].call("post", f"/v3/voucher/{code}/void", {}).status_code == 200

    def reinstate(i: int, pin: str | None = None) -> httpx.Response:
        body = {"pin": pin or f"{i:04d}", "reason": "limits"}
        return apps[i % 2].call("patch", f"/v3/voucher/{code}/reinstate", body)

    assert_stopped(burst(reinstate), 400)
    body = _assert_429(reinstate(99, "4711"))
    assert body["error"]["code"] == "TOO_MANY_REQUESTS"
    assert wait_out(lambda: reinstate(0, "4711")).status_code == 200


# --- Spaaza --------------------------------------------------------------------------------


def _spaaza_user(engine: Engine) -> tuple[str, str]:
    suffix = uuid.uuid4().hex[:12]
    hostname = f"limits-{suffix}.spaaza.test"
    username = f"admin-{suffix}@example.com"
    with UnitOfWork(engine) as uow:
        chain_id = store.create_chain(uow, f"chain {suffix}", "EUR")
        store.create_app(uow, chain_id, hostname)
        store.create_user(uow, chain_id, username=username, password="right-pass-1", admin=True)
        uow.commit()
    return hostname, username


def test_spaaza_wrong_passwords(limited_servers: Servers, engine: Engine) -> None:
    hostname, username = _spaaza_user(engine)
    guesser = Client(limited_servers, new_address())

    def login(i: int, password: str | None = None) -> httpx.Response:
        return guesser.request(
            "POST",
            "/spaaza/auth/login",
            data={"username": username, "password": password or f"wrong-{i}"},
            headers={"X-Spaaza-MyPrice-App-Hostname": hostname},
        )

    assert_stopped(burst(login), 401)
    body = _assert_429(login(99, "right-pass-1"))
    assert body["error"]["code"] == 925, body
    assert body["error"]["name"] == "too_many_attempts"
    # The user name's budget is spent too: another address waits as well ...
    elsewhere = Client(limited_servers, new_address()).request(
        "POST",
        "/spaaza/auth/login",
        data={"username": username, "password": "right-pass-1"},
        headers={"X-Spaaza-MyPrice-App-Hostname": hostname},
    )
    assert elsewhere.status_code == 429
    # ... while another user logs in, and the user itself after the window.
    other_host, other_user = _spaaza_user(engine)
    served = Client(limited_servers, new_address()).request(
        "POST",
        "/spaaza/auth/login",
        data={"username": other_user, "password": "right-pass-1"},
        headers={"X-Spaaza-MyPrice-App-Hostname": other_host},
    )
    assert served.status_code == 200, served.text
    assert wait_out(lambda: login(0, "right-pass-1")).status_code == 200


def test_spaaza_unknown_voucher_keys(limited_servers: Servers, engine: Engine) -> None:
    world = make_world(LiveServer(limited_servers[0].url, engine, Settings()))
    world.http.close()
    guesser = Client(limited_servers, new_address())

    def guess(i: int) -> httpx.Response:
        return guesser.request(
            "PUT",
            "/spaaza/claim-voucher",
            headers=world.as_user(),
            data={"voucher_key": f"{i:064x}"},
        )

    statuses = burst(guess)
    assert statuses[-1] == 429 and len(statuses) == BUDGET + 1, statuses
    assert len(set(statuses[:-1])) == 1 and statuses[0] != 429
    body = _assert_429(guess(99))
    assert body["error"]["code"] == 925


# --- Shopee --------------------------------------------------------------------------------


def test_shopee_wrong_authorisation_codes(limited_servers: Servers, engine: Engine) -> None:
    with UnitOfWork(engine) as uow:
        partner = accounts.create_partner(uow, "limits")
        uow.commit()
    path = "/api/v2/auth/token/get"
    guesser = Client(limited_servers, new_address())

    def attempt(i: int) -> httpx.Response:
        ts = int(time.time())
        sign = shopee_signing.sign(partner.partner_key, partner.partner_id, path, ts)
        return guesser.request(
            "POST",
            "/shopee" + path,
            params={"partner_id": partner.partner_id, "timestamp": ts, "sign": sign},
            json={"code": f"wrong{i:06d}", "partner_id": partner.partner_id},
        )

    statuses = burst(attempt)
    # Shopee answers its refusals with HTTP 403 (error_auth) on the token calls.
    assert statuses[-1] == 429 and len(statuses) == BUDGET + 1, statuses
    assert len(set(statuses[:-1])) == 1 and statuses[0] != 429
    body = _assert_429(attempt(99))
    assert body["error"] == "error_too_many_requests"
