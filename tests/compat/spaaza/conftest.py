"""Fixtures for the Spaaza dialect: a chain with an app, an admin, users, a campaign, a token.

Each test gets a fresh chain (a tenant) with a unique app hostname, so tests never share data.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine, func, select

from tests.conftest import LiveServer
from voucherd.db.tables import events, ledger_entries, vouchers
from voucherd.dialects.spaaza import store
from voucherd.services.unit_of_work import UnitOfWork

PASSWORD = "correct horse battery"
END_USER_PASSWORD = "blablabla1234"  # the password the vendor's collection logs in with


@dataclass
class Login:
    user_id: int
    key: str
    member_number: str | None = None
    username: str | None = None


@dataclass
class World:
    """One chain and the people and things in it, plus an HTTP client on /spaaza."""

    http: httpx.Client
    engine: Engine
    chain_id: int
    hostname: str
    campaign_id: int
    wallet_campaign_id: int
    signup_campaign_id: int
    token: str
    admin: Login
    user: Login
    other: Login
    extra: dict[str, Any] = field(default_factory=dict)

    # --- authentication headers -------------------------------------------------------------

    def as_admin(self) -> dict[str, str]:
        return {
            "X-Spaaza-Session-User-Id": str(self.admin.user_id),
            "X-Spaaza-Session-Key": self.admin.key,
        }

    def as_user(self, login: Login | None = None) -> dict[str, str]:
        login = login or self.user
        return {
            "X-Spaaza-Session-User-Id": str(login.user_id),
            "X-Spaaza-Session-Key": login.key,
            "X-Spaaza-MyPrice-App-Hostname": self.hostname,
        }

    def as_privileged(self) -> dict[str, str]:
        return {
            "Authorization": f"Bearer {self.token}",
            "X-Spaaza-MyPrice-App-Hostname": self.hostname,
        }

    # --- calls --------------------------------------------------------------------------------

    def call(
        self,
        method: str,
        path: str,
        headers: dict[str, str],
        data: dict[str, Any] | None = None,
        params: dict[str, Any] | None = None,
    ) -> httpx.Response:
        return self.http.request(method, path, headers=headers, data=data, params=params)

    def create(
        self,
        *,
        claimed: bool = True,
        amount: str = "50.00",
        user: Login | None = None,
        **extra: str,
    ) -> dict[str, Any]:
        """A basket voucher for ``user`` (default: the end user), through the admin API."""
        data = {
            "user_id": str((user or self.user).user_id),
            "campaign_id": str(self.campaign_id),
            "voucher_amount": amount,
            **extra,
        }
        if claimed:
            data["set_claimed"] = "1"
        response = self.call("POST", "/create-voucher", self.as_admin(), data)
        assert response.status_code == 200, response.text
        result: dict[str, Any] = response.json()["results"]
        return result

    def snapshot(self, voucher_id: int) -> dict[str, Any]:
        """Everything stored about a voucher: its row, its ledger and its event count."""
        with self.engine.connect() as conn:
            row = (
                conn.execute(
                    select(vouchers).where(
                        vouchers.c.tenant_id == self.chain_id, vouchers.c.id == voucher_id
                    )
                )
                .mappings()
                .one()
            )
            ledger = (
                conn.execute(
                    select(ledger_entries)
                    .where(
                        ledger_entries.c.tenant_id == self.chain_id,
                        ledger_entries.c.voucher_id == voucher_id,
                    )
                    .order_by(ledger_entries.c.id)
                )
                .mappings()
                .all()
            )
            count = conn.execute(
                select(func.count()).select_from(events).where(events.c.tenant_id == self.chain_id)
            ).scalar_one()
            total = conn.execute(
                select(func.count())
                .select_from(vouchers)
                .where(vouchers.c.tenant_id == self.chain_id)
            ).scalar_one()
        return {
            "voucher": dict(row),
            "ledger": [dict(e) for e in ledger],
            "events": count,
            "vouchers_in_chain": total,
        }


def login(http: httpx.Client, username: str, password: str, hostname: str | None = None) -> Login:
    headers = {"X-Spaaza-MyPrice-App-Hostname": hostname} if hostname else {}
    response = http.post(
        "/auth/login", data={"username": username, "password": password}, headers=headers
    )
    assert response.status_code == 200, response.text
    info = response.json()["results"]["session_info"]
    return Login(int(info["session_user_id"]), info["session_key"], username=username)


def make_world(live_server: LiveServer) -> World:
    engine = live_server.engine
    suffix = uuid.uuid4().hex[:12]
    hostname = f"shop-{suffix}.spaaza.test"
    with UnitOfWork(engine) as uow:
        chain_id = store.create_chain(uow, f"chain {suffix}", "EUR")
        store.create_app(uow, chain_id, hostname)
        admin = store.create_user(
            uow, chain_id, username=f"admin-{suffix}@example.com", password=PASSWORD, admin=True
        )
        user = store.create_user(
            uow,
            chain_id,
            username="test49800020190228@example.com",
            password=END_USER_PASSWORD,
            member_number=f"M{suffix}",
        )
        other = store.create_user(
            uow,
            chain_id,
            username=f"other-{suffix}@example.com",
            password=PASSWORD,
            member_number=f"O{suffix}",
        )
        campaign = store.create_campaign(uow, chain_id, "loyalty", "ACME Loyalty Campaign")
        wallet = store.create_campaign(uow, chain_id, "wallet", "ACME Wallet")
        signup = store.create_campaign(uow, chain_id, "signup", "Earn 5 on signup")
        token = store.create_token(uow, chain_id)
        # Sessions are opened directly (test_auth.py logs in through the API): it keeps the
        # per-test set-up to the three password hashes of the users.
        admin_login, user_login, other_login = (
            Login(u.user_id, store.create_session(uow, u)[0], u.member_number, u.username)
            for u in (admin, user, other)
        )
        uow.commit()
    http = httpx.Client(base_url=f"{live_server.url}/spaaza", timeout=60)
    return World(
        http,
        engine,
        chain_id,
        hostname,
        int(campaign["id"]),
        int(wallet["id"]),
        int(signup["id"]),
        token,
        admin_login,
        user_login,
        other_login,
        {"admin_username": admin.username},
    )


@pytest.fixture
def world(live_server: LiveServer) -> Iterator[World]:
    w = make_world(live_server)
    yield w
    w.http.close()


def ok_envelope(response: httpx.Response, result_type: str) -> dict[str, Any]:
    """Assert Spaaza's success envelope and return ``results``."""
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert body["result"] == {"code": 1, "status": "ok"}, body
    assert body["results"]["result_type"] == result_type, body
    assert "error" not in body
    results: dict[str, Any] = body["results"]
    return results


def error_envelope(response: httpx.Response, status: int, code: int, name: str) -> None:
    """Assert Spaaza's error envelope exactly (code, name, HTTP status)."""
    assert response.status_code == status, response.text
    body = response.json()
    assert body["result"] == {"code": 2, "status": "error"}, body
    assert set(body) == {"result", "error"}, body
    assert body["error"]["code"] == code and body["error"]["name"] == name, body
    assert isinstance(body["error"]["description"], str) and body["error"]["description"]
