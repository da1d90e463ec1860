"""Fixtures for the Shopee dialect: partners, authorised shops, the unmodified pyshopee client."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from pyshopee2 import Client  # type: ignore[import-untyped]
from sqlalchemy import Engine

from tests.conftest import LiveServer, TenantFixture, make_tenant
from voucherd.dialects.shopee import accounts, signing
from voucherd.services.unit_of_work import UnitOfWork


@dataclass
class Partner:
    partner_id: int
    partner_key: str


@dataclass
class Shop:
    tenant: TenantFixture
    partner: Partner
    access_token: str
    refresh_token: str

    @property
    def shop_id(self) -> int:
        return self.tenant.id


def make_partner(engine: Engine, name: str = "app") -> Partner:
    with UnitOfWork(engine) as uow:
        created = accounts.create_partner(uow, name)
        uow.commit()
    return Partner(created.partner_id, created.partner_key)


def authorize(engine: Engine, shop_id: int, partner_id: int) -> str:
    with UnitOfWork(engine) as uow:
        code = accounts.authorize(uow, shop_id, partner_id)
        uow.commit()
    return code


def pyshopee(live_server: LiveServer, partner: Partner, shop_id: int, **kwargs: Any) -> Client:
    client = Client(
        shop_id, partner.partner_id, partner.partner_key, "http://127.0.0.1/callback", **kwargs
    )
    client.host = live_server.url + "/shopee"
    return client


def make_shop(live_server: LiveServer, partner: Partner | None = None) -> Shop:
    """A fresh tenant that authorised a partner, with tokens obtained through pyshopee."""
    engine = live_server.engine
    partner = partner or make_partner(engine)
    tenant = make_tenant(engine, "shop")
    code = authorize(engine, tenant.id, partner.partner_id)
    client = pyshopee(live_server, partner, tenant.id, code=code)
    access, _expire, refresh = client.get_token()
    return Shop(tenant, partner, access, refresh)


@pytest.fixture
def partner(live_server: LiveServer) -> Partner:
    return make_partner(live_server.engine)


@pytest.fixture
def shop(live_server: LiveServer, partner: Partner) -> Shop:
    return make_shop(live_server, partner)


@pytest.fixture
def client(live_server: LiveServer, shop: Shop) -> Client:
    """pyshopee2.Client of ``shop``, unmodified, pointed at the live server."""
    return pyshopee(
        live_server,
        shop.partner,
        shop.shop_id,
        access_token=shop.access_token,
        refresh_token=shop.refresh_token,
    )


class Raw:
    """Hand-signed requests, for what pyshopee cannot show (non-2xx bodies, bad signatures)."""

    def __init__(self, base_url: str, shop: Shop) -> None:
        self.http = httpx.Client(base_url=base_url + "/shopee", timeout=30)
        self.shop = shop

    def params(
        self,
        path: str,
        *,
        timestamp: int | None = None,
        shop_id: int | None = None,
        access_token: str | None = None,
        partner: Partner | None = None,
        public: bool = False,
    ) -> dict[str, Any]:
        partner = partner or self.shop.partner
        ts = int(time.time()) if timestamp is None else timestamp
        if public:
            sign = signing.sign(partner.partner_key, partner.partner_id, path, ts)
            return {"partner_id": partner.partner_id, "timestamp": ts, "sign": sign}
        shop_id = self.shop.shop_id if shop_id is None else shop_id
        token = self.shop.access_token if access_token is None else access_token
        sign = signing.sign(partner.partner_key, partner.partner_id, path, ts, token, shop_id)
        return {
            "partner_id": partner.partner_id,
            "timestamp": ts,
            "access_token": token,
            "shop_id": shop_id,
            "sign": sign,
        }

    def post(
        self, path: str, body: Any, params: dict[str, Any] | None = None, **kwargs: Any
    ) -> httpx.Response:
        return self.http.post(path, json=body, params=params or self.params(path, **kwargs))

    def get(
        self,
        path: str,
        query: dict[str, Any] | None = None,
        params: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> httpx.Response:
        return self.http.get(
            path, params={**(params or self.params(path, **kwargs)), **(query or {})}
        )


@pytest.fixture
def raw(live_server: LiveServer, shop: Shop) -> Iterator[Raw]:
    client = Raw(live_server.url, shop)
    yield client
    client.http.close()
