"""Cross-face reach (issue 10, item 7; the rule is in docs/decisions.md, "Cross-face reach").

Every face's credential reaches its own tenant's objects only, through that face's view, and
no face shows a code to a credential without the secret-reading permission. The checks look
for the voucher's code anywhere in the answer bodies, not only in the expected field.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine, select

from tests.compat.jtl.conftest import connect
from tests.compat.revenue_monster.conftest import RmClient, error_code, make_key_pair, make_merchant
from tests.compat.shopee.conftest import Partner, Shop, make_partner, make_shop, pyshopee
from tests.compat.spaaza.conftest import make_world
from tests.conftest import Api, LiveServer, TenantFixture, make_tenant
from voucherd.db.tables import vouchers
from voucherd.domain.scopes import ALL_SCOPES, Scope, parse_scopes
from voucherd.domain.vouchers import ValueKind
from voucherd.services import campaigns, tenants
from voucherd.services import vouchers as voucher_service
from voucherd.services.unit_of_work import UnitOfWork

READERS = frozenset({Scope.READ, Scope.READ_LISTS})


def _voucher(
    engine: Engine, tenant: TenantFixture, kind: ValueKind = ValueKind.STORED_VALUE
) -> Any:
    """A voucher made with the engine (as the native API or a campaign makes one)."""
    spec = (
        voucher_service.NewVoucher(kind=kind, currency="EUR", amount=5000, active=True)
        if kind == ValueKind.STORED_VALUE
        else voucher_service.NewVoucher(
            kind=kind,
            currency="SGD",
            discount_amount=100,
            max_uses=5,
            starts_at=datetime.now(UTC) - timedelta(minutes=1),
            ends_at=datetime.now(UTC) + timedelta(days=1),
            active=True,
        )
    )
    with UnitOfWork(engine) as uow:
        created = voucher_service.create(uow, tenant.actor, spec)
        uow.commit()
    return created.voucher


def _reader(live_server: LiveServer, engine: Engine, tenant: TenantFixture) -> Api:
    with UnitOfWork(engine) as uow:
        few = tenants.create_client(uow, tenant.id, "reader", READERS)
        uow.commit()
    return Api(live_server.url, few.client_id, few.client_secret)


def test_native_shows_codes_only_with_read_secrets(
    live_server: LiveServer, engine: Engine, tenant: TenantFixture
) -> None:
    voucher = _voucher(engine, tenant)
    code, public_id = voucher["code"], voucher["public_id"]
    reader = _reader(live_server, engine, tenant)
    for path in ("/v1/vouchers", f"/v1/vouchers/{public_id}", f"/v1/vouchers/{public_id}/events"):
        response = reader.get(path)
        assert response.status_code == 200, path
        assert code not in response.text, path
    for path in (f"/v1/vouchers/{public_id}/secret", f"/v1/vouchers/{public_id}/qr"):
        assert reader.get(path).status_code == 403, path
    reader.close()
    owner = Api(live_server.url, tenant.client_id, tenant.client_secret)
    assert owner.get(f"/v1/vouchers/{public_id}/secret").json()["code"] == code
    owner.close()


def test_jtl_shows_codes_only_with_read_secrets(
    live_server: LiveServer, engine: Engine, tenant: TenantFixture
) -> None:
    voucher = _voucher(engine, tenant)
    code, public_id = voucher["code"], voucher["public_id"]
    jtl = connect(live_server, tenant.id, READERS)
    jtl.login()
    for path in ("/vouchers", f"/vouchers/{public_id}"):
        response = jtl.get(path)
        assert response.status_code == 200, response.text
        assert code not in response.text, path
    assert jtl.get(f"/vouchers/{public_id}/complete").status_code == 403
    jtl.http.close()
    full = connect(live_server, tenant.id, ALL_SCOPES)
    full.login()
    assert full.get(f"/vouchers/{public_id}/complete").json()["code"] == code
    full.http.close()


@pytest.fixture
def rm(live_server: LiveServer, engine: Engine, tmp_path: Path) -> Iterator[RmClient]:
    client = RmClient(live_server, make_merchant(engine, make_key_pair(tmp_path, "reach")))
    yield client
    client.close()


def test_an_rm_secret_buys_no_bearer_token_elsewhere(live_server: LiveServer, rm: RmClient) -> None:
    """An RM client signs each call with its RSA key: its secret alone opens nothing else."""
    merchant = rm.merchant
    native = httpx.post(
        f"{live_server.url}/oauth/token",
        data={"grant_type": "client_credentials"},
        auth=(merchant.client_id, merchant.client_secret),
    )
    assert native.status_code == 401 and native.json()["error"] == "invalid_client"
    jtl = httpx.post(
        f"{live_server.url}/jtl/oauth/token",
        data={
            "grant_type": "client_credentials",
            "client_id": merchant.client_id,
            "client_secret": merchant.client_secret,
        },
    )
    assert jtl.status_code == 401 and jtl.json()["error"] == "invalid_client"
    assert "access_token" not in native.text + jtl.text


def test_rm_sees_its_tenants_vouchers_with_codes_and_no_others(
    rm: RmClient, engine: Engine
) -> None:
    """Deliberate: an RM client is created with every scope (read-secrets included) and RM
    shows the merchant's vouchers of every face (a native gift card is a CASH voucher)."""
    with UnitOfWork(engine) as uow:
        row = tenants.find_client(uow, rm.merchant.client_id)
    assert row is not None and Scope.READ_SECRETS in parse_scopes(row["scopes"])
    merchant_tenant = TenantFixture(rm.merchant.tenant_id, _actor(rm.merchant.tenant_id), "", "")
    own = _voucher(engine, merchant_tenant)
    got = rm.call("get", f"/v3/voucher/{own['code']}")
    assert got.status_code == 200 and got.json()["item"]["code"] == own["code"]
    stranger = _voucher(engine, make_tenant(engine, "rm-stranger"))
    other = rm.call("get", f"/v3/voucher/{stranger['code']}")
    assert other.status_code == 404 and error_code(other) == "VOUCHER_NOT_FOUND"
    assert stranger["code"] not in other.text


def _actor(tenant_id: int) -> Any:
    from voucherd.services.unit_of_work import Actor

    return Actor(tenant_id, "test")


@pytest.fixture
def shop(live_server: LiveServer) -> Shop:
    return make_shop(live_server)


def test_shopee_lists_other_faces_vouchers_without_their_codes(
    live_server: LiveServer, engine: Engine, shop: Shop
) -> None:
    client = pyshopee(
        live_server, shop.partner, shop.shop_id, access_token=shop.access_token,
        refresh_token=shop.refresh_token,
    )  # fmt: skip
    native = _voucher(engine, shop.tenant, ValueKind.FIXED_DISCOUNT)
    with UnitOfWork(engine) as uow:
        campaign = campaigns.create(
            uow,
            shop.tenant.actor,
            name="personal codes",
            activate_on_create=True,
            template=voucher_service.NewVoucher(
                kind=ValueKind.FIXED_DISCOUNT, currency="SGD", discount_amount=100
            ),
        )
        campaigns.generate(uow, shop.tenant.actor, campaign["id"], 2)
        personal = list(
            uow.conn.execute(
                select(vouchers.c.code).where(
                    vouchers.c.tenant_id == shop.shop_id, vouchers.c.campaign_id == campaign["id"]
                )
            ).scalars()
        )
        uow.commit()
    assert len(personal) == 2
    start = int(datetime.now(UTC).timestamp()) + 3600
    added = client.voucher.add_voucher(
        voucher_name="promo", voucher_code="PROMO", start_time=start, end_time=start + 86_400,
        voucher_type=1, reward_type=1, usage_quantity=10, min_basket_price=10.0,
        discount_amount=1.0, display_channel_list=[1],
    )  # fmt: skip
    assert added["error"] == "", added
    listed = client.voucher.get_voucher_list(status="all", page_size=100)
    entries = listed["response"]["voucher_list"]
    assert len(entries) == 4  # every Shopee-kind voucher of the shop is listed ...
    codes = {entry["voucher_code"] for entry in entries}
    assert codes == {"PROMO", ""}  # ... but only the code made through this face is shown
    text = str(listed)
    assert native["code"] not in text
    for code in personal:
        assert code not in text
    detail = client.voucher.get_voucher_detail(voucher_id=native["id"])
    assert detail["response"]["voucher_code"] == "" and native["code"] not in str(detail)


def test_shopee_reaches_no_other_shop(live_server: LiveServer, engine: Engine, shop: Shop) -> None:
    stranger = make_tenant(engine, "shopee-stranger")
    foreign = _voucher(engine, stranger, ValueKind.FIXED_DISCOUNT)
    client = pyshopee(live_server, shop.partner, shop.shop_id, access_token=shop.access_token)
    detail = client.voucher.get_voucher_detail(voucher_id=foreign["id"])
    assert detail["error"] == "common.error_not_found"
    assert foreign["code"] not in str(detail)


def test_only_a_managing_bearer_client_authorises_a_shopee_app(
    live_server: LiveServer, engine: Engine
) -> None:
    partner: Partner = make_partner(engine, "reach app")
    tenant = make_tenant(engine, "reach-shop")
    url = pyshopee(live_server, partner, tenant.id).shop_authorization("https://erp.example/cb")
    with UnitOfWork(engine) as uow:
        reader = tenants.create_client(uow, tenant.id, "reader", READERS)
        uow.commit()
    refused = httpx.post(
        url, data={"client_id": reader.client_id, "client_secret": reader.client_secret}
    )
    assert refused.status_code == 401 and "may not authorise apps" in refused.text
    approved = httpx.post(
        url, data={"client_id": tenant.client_id, "client_secret": tenant.client_secret}
    )
    assert approved.status_code == 303


def test_spaaza_names_vouchers_by_key_and_shows_no_code(live_server: LiveServer) -> None:
    world = make_world(live_server)
    created = world.create()
    with world.engine.connect() as conn:
        code = conn.execute(
            select(vouchers.c.code).where(
                vouchers.c.tenant_id == world.chain_id, vouchers.c.id == created["voucher_id"]
            )
        ).scalar_one()
    answers = [
        world.call(
            "GET", "/get-vouchers", world.as_privileged(), params={"chain_id": world.chain_id}
        ),
        world.call("GET", "/get-vouchers", world.as_admin(), params={"chain_id": world.chain_id}),
    ]
    for response in answers:
        assert response.status_code == 200, response.text
        assert created["voucher_key"] in response.text and code not in response.text
    world.http.close()
