"""Services the owner's pages added (SQLite and PostgreSQL): a tenant's clients without their
secret hashes, revoking only one's own tenant's client, a subscription's newest deliveries."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine

from tests.conftest import TenantFixture, make_tenant
from voucherd.domain import errors
from voucherd.domain.scopes import ALL_SCOPES
from voucherd.services import outbox, tenants, webhooks
from voucherd.services.unit_of_work import Actor, UnitOfWork


def test_clients_are_listed_without_secrets_and_revoked_only_by_their_tenant(
    engine: Engine, tenant: TenantFixture
) -> None:
    other = make_tenant(engine, "other")
    with UnitOfWork(engine) as uow:
        jtl = tenants.create_client(uow, tenant.id, "jtl one", ALL_SCOPES, kind="jtl")
        uow.commit()
    with UnitOfWork(engine, readonly=True) as uow:
        listed = tenants.list_clients(uow, tenant.id)
        native = tenants.list_clients(uow, tenant.id, kind="native")
    assert {r["id"] for r in listed} == {tenant.client_id, jtl.client_id}
    assert [r["id"] for r in native] == [tenant.client_id]
    assert all("secret_hash" not in r for r in listed)
    by_other = Actor(other.id, "user:1")
    with UnitOfWork(engine) as uow, pytest.raises(errors.NotFound):
        tenants.revoke_client(uow, tenant.client_id, by=by_other)
    with UnitOfWork(engine) as uow:
        tenants.revoke_client(uow, jtl.client_id, by=Actor(tenant.id, "user:7"))
        uow.commit()
    with UnitOfWork(engine, readonly=True) as uow:
        states = {r["id"]: r["revoked_at"] for r in tenants.list_clients(uow, tenant.id)}
        assert states[jtl.client_id] is not None and states[tenant.client_id] is None
        assert tenants.authenticate_client(uow, tenant.client_id, tenant.client_secret)


def test_recent_deliveries_newest_first_and_only_the_tenants(
    engine: Engine, tenant: TenantFixture
) -> None:
    actor = Actor(tenant.id, "user:1")
    with UnitOfWork(engine) as uow:
        hook = webhooks.create(uow, actor, url="http://127.0.0.1:9/", event_types=["*"]).row
        for event_id in range(1, 16):
            outbox.enqueue(
                uow,
                subscriber=webhooks.subscriber(int(hook["id"])),
                tenant_id=tenant.id,
                event_id=1_000_000 + event_id,
                url=hook["url"],
                payload="{}",
            )
        uow.commit()
    try:
        with UnitOfWork(engine, readonly=True) as uow:
            recent = webhooks.recent_deliveries(uow, actor, int(hook["id"]), limit=10)
            other = Actor(make_tenant(engine, "x").id, "user:2")
            with pytest.raises(errors.NotFound):
                webhooks.recent_deliveries(uow, other, int(hook["id"]))
        assert [r["event_id"] for r in recent] == [1_000_000 + n for n in range(15, 5, -1)]
    finally:
        with UnitOfWork(engine) as uow:  # its pending deliveries end with it
            webhooks.delete(uow, actor, int(hook["id"]))
            uow.commit()
