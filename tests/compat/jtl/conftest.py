"""Fixtures for the JTL dialect: a JTL client connected by PIN, talking httpx to /jtl."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine

from tests.conftest import LiveServer, TenantFixture
from voucherd.dialects.jtl import pins
from voucherd.domain.scopes import ALL_SCOPES, Scope
from voucherd.services.unit_of_work import UnitOfWork


def issue_pin(
    engine: Engine,
    tenant_id: int,
    scopes: frozenset[Scope] = ALL_SCOPES,
    name: str = "Till 1",
    client_type: str = "pos",
) -> str:
    with UnitOfWork(engine) as uow:
        issued = pins.issue(uow, tenant_id, scopes, name=name, client_type=client_type)
        uow.commit()
    return issued.pin


@dataclass
class Jtl:
    """An httpx client on /jtl of one connected JTL client."""

    http: httpx.Client
    client_id: str
    secret: str
    tenant_id: int

    def token(self, **form: str) -> httpx.Response:
        data = {
            "grant_type": "client_credentials",
            "client_id": self.client_id,
            "client_secret": self.secret,
            **form,
        }
        return self.http.post("/oauth/token", data=data)

    def login(self, **form: str) -> str:
        response = self.token(**form)
        assert response.status_code == 200, response.text
        token: str = response.json()["access_token"]
        self.http.headers["Authorization"] = f"Bearer {token}"
        return token

    def get(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.http.get(f"/v1{path}", **kwargs)

    def post(self, path: str, json: Any = None, **kwargs: Any) -> httpx.Response:
        return self.http.post(f"/v1{path}", json=json, **kwargs)

    def patch(self, path: str, json: Any = None, **kwargs: Any) -> httpx.Response:
        return self.http.patch(f"/v1{path}", json=json, **kwargs)

    def delete(self, path: str, json: Any = None, **kwargs: Any) -> httpx.Response:
        return self.http.request("DELETE", f"/v1{path}", json=json, **kwargs)

    def voucher(self, **fields: Any) -> dict[str, Any]:
        """Create an (by default active) 50.00 EUR voucher."""
        body = {"amount": "50.00", "currency": "EUR", "status": "active", **fields}
        response = self.post("/vouchers", body)
        assert response.status_code == 201, response.text
        result: dict[str, Any] = response.json()
        return result


def connect(live_server: LiveServer, tenant_id: int, scopes: frozenset[Scope] = ALL_SCOPES) -> Jtl:
    http = httpx.Client(base_url=f"{live_server.url}/jtl", timeout=60)
    response = http.post(
        "/v1/clients/connect", json={"pin": issue_pin(live_server.engine, tenant_id, scopes)}
    )
    assert response.status_code == 200, response.text
    client = response.json()
    return Jtl(http, client["id"], client["secret"], tenant_id)


@pytest.fixture
def jtl(live_server: LiveServer, tenant: TenantFixture) -> Iterator[Jtl]:
    """A connected all-scopes JTL client with a token."""
    client = connect(live_server, tenant.id)
    client.login()
    yield client
    client.http.close()


def error(status: int, code: str, message: str) -> dict[str, Any]:
    return {"status": status, "code": code, "message": message}


def invalid(prefix: str, *items: tuple[str, str, str]) -> dict[str, Any]:
    """The exact 422 body for ``(property, rule, message)`` items."""
    return {
        "status": 422,
        "code": f"{prefix}.UNPROCESSABLE_ENTITY",
        "message": "The given data was invalid.",
        "errors": [
            {
                "code": f"{prefix}.{prop.replace('[', '.').replace(']', '').upper()}."
                f"{rule.upper()}",
                "property": prop,
                "rule": rule,
                "message": message,
            }
            for prop, rule, message in items
        ],
    }
