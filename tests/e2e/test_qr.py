"""QR images without an oracle (issue 10, item 3).

The native ``GET /v1/vouchers/{id}/qr`` needs ``read-secrets``; RM's ``qrUrl`` is a signed,
expiring URL, and every way of getting it wrong (unknown code, another tenant, a bad, missing
or expired signature, an impossible tenant) answers exactly alike.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import Engine

from tests.compat.revenue_monster.conftest import RmClient, make_batch, make_key_pair, make_merchant
from tests.conftest import Api, LiveServer, TenantFixture, make_tenant
from voucherd.dialects.revenue_monster import render
from voucherd.domain.scopes import parse_scopes
from voucherd.services import keys, qr, tenants
from voucherd.services.unit_of_work import UnitOfWork, utcnow

PNG = b"\x89PNG\r\n\x1a\n"


@pytest.fixture
def api(live_server: LiveServer, tenant: TenantFixture) -> Iterator[Api]:
    client = Api(live_server.url, tenant.client_id, tenant.client_secret)
    yield client
    client.close()


def test_native_qr_png_and_svg(api: Api) -> None:
    voucher = api.create_voucher()
    path = f"/v1/vouchers/{voucher['id']}/qr"
    png = api.get(path)
    assert png.status_code == 200 and png.headers["content-type"] == "image/png"
    assert png.content.startswith(PNG) and png.headers["cache-control"] == "no-store"
    for svg in (api.get(path, params={"format": "svg"}),
                api.get(path, headers={"Accept": "image/svg+xml"})):  # fmt: skip
        assert svg.status_code == 200 and svg.headers["content-type"].startswith("image/svg+xml")
        assert b"<svg" in svg.content
    assert api.get(path, params={"format": "gif"}).status_code == 422
    refused = api.get(path, headers={"Accept": "application/json"})
    assert refused.status_code == 406 and refused.json()["code"] == "not_acceptable"
    assert api.get("/v1/vouchers/NOSUCHVOUCHER/qr").status_code == 404


def test_native_qr_needs_read_secrets_and_the_tenant(
    live_server: LiveServer, api: Api, engine: Engine, tenant: TenantFixture
) -> None:
    voucher = api.create_voucher()
    path = f"/v1/vouchers/{voucher['id']}/qr"
    stranger = make_tenant(engine, "stranger")
    other = Api(live_server.url, stranger.client_id, stranger.client_secret)
    assert other.get(path).status_code == 404  # another tenant's voucher does not exist there
    other.close()
    with UnitOfWork(engine) as uow:
        few = tenants.create_client(uow, tenant.id, "few", parse_scopes("read read-lists"))
        uow.commit()
    reader = Api(live_server.url, few.client_id, few.client_secret)
    refused = reader.get(path)
    assert refused.status_code == 403 and refused.json()["code"] == "insufficient_scope"
    assert not refused.content.startswith(PNG)
    reader.close()


@pytest.fixture
def rm(live_server: LiveServer, engine: Engine, tmp_path: Path) -> Iterator[RmClient]:
    client = RmClient(live_server, make_merchant(engine, make_key_pair(tmp_path, "qr")))
    yield client
    client.close()


def _issue(rm: RmClient, engine: Engine) -> tuple[str, str]:
    """A fresh voucher's code and its qrUrl."""
    batch = make_batch(engine, rm.merchant.tenant_id)
    item = rm.call("post", f"/v3/voucher-batch/{batch}/issue", {}).json()["item"]
    return str(item["code"]), str(item["qrUrl"])


def test_a_signed_qr_url_renders_and_every_wrong_one_answers_alike(
    rm: RmClient, engine: Engine, live_server: LiveServer
) -> None:
    code, url = _issue(rm, engine)
    tenant_id = rm.merchant.tenant_id
    http = httpx.Client(timeout=30)  # anonymous: the URL is the credential
    good = http.get(url)
    assert good.status_code == 200 and good.content.startswith(PNG)

    signer = qr.url_key(keys.kek(live_server.settings))
    now = int(utcnow().timestamp())
    base, _, query = url.partition("?")
    other = make_tenant(engine, "qr-other").id

    def signed(tenant: int | str, for_code: str, expires: int) -> str:
        return qr.signed_url(signer, rm.base, render.qr_path(tenant, for_code), expires)

    flipped = query[:-1] + ("A" if query[-1] != "A" else "B")
    wrong = {
        "unknown code, properly signed": signed(tenant_id, "NOSUCHCODE", now + 600),
        "another tenant, properly signed": signed(other, code, now + 600),
        "another tenant, this URL's signature": f"{rm.base}/qr/{other}/voucher/{code}?{query}",
        "bad signature": f"{base}?{flipped}",
        "no signature": base,
        "expired, properly signed": signed(tenant_id, code, now - 1),
        "expiry stretched": base + "?" + query.replace("exp=", "exp=9"),
        "impossible tenant": f"{rm.base}/qr/99999999999999999999999/voucher/{code}?{query}",
        "format of an unsigned URL": f"{base}?format=gif",
    }
    answers = {name: http.get(target) for name, target in wrong.items()}
    first = answers["unknown code, properly signed"]
    assert first.status_code == 404
    for name, response in answers.items():
        assert (response.status_code, response.content) == (first.status_code, first.content), name
        assert code.encode() not in response.content
    http.close()
