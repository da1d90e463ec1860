"""Every face's credentials as the dashboard makes them (``CREDENTIALS`` of each dialect), on
SQLite and PostgreSQL: what a create issues works where the face uses it, and stops working
once revoked; another tenant's credential cannot be revoked; each step is the user's event."""

from __future__ import annotations

from collections.abc import Mapping

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from sqlalchemy import Engine, select

from tests.conftest import TenantFixture, make_tenant
from voucherd import dialects
from voucherd.db.tables import events
from voucherd.dialects.jtl import pins
from voucherd.dialects.shopee import accounts
from voucherd.dialects.spaaza import store
from voucherd.domain import errors
from voucherd.faces.credentials import CredentialKind, Issued
from voucherd.services import tenants
from voucherd.services.unit_of_work import Actor, UnitOfWork

KINDS = {kind.key: kind for kind in dialects.credential_kinds(dialects.load())}


def _staff(tenant: TenantFixture) -> Actor:
    return Actor(tenant.id, "user:999")


def _create(engine: Engine, key: str, actor: Actor, values: Mapping[str, str]) -> Issued:
    with UnitOfWork(engine) as uow:
        issued = KINDS[key].create(uow, actor, values)
        uow.commit()
    return issued


def _revoke(engine: Engine, key: str, actor: Actor, item: str) -> None:
    with UnitOfWork(engine) as uow:
        KINDS[key].revoke(uow, actor, item)
        uow.commit()


def _state(engine: Engine, kind: CredentialKind, actor: Actor, item: str) -> str:
    with UnitOfWork(engine, readonly=True) as uow:
        return next(i.state for i in kind.items(uow, actor) if i.id == item)


def _only(engine: Engine, kind: CredentialKind, actor: Actor) -> str:
    with UnitOfWork(engine, readonly=True) as uow:
        (item,) = kind.items(uow, actor)
    return item.id


def test_every_dialect_offers_its_credentials() -> None:
    assert set(KINDS) == {"jtl_pin", "shopee_partner", "rm_client", "spaaza_app", "spaaza_token"}


def test_jtl_pin_connects_once_and_revoking_ends_the_client(
    engine: Engine, tenant: TenantFixture
) -> None:
    actor = _staff(tenant)
    values = {"name": "till 1", "type": "pos", "scopes": "read use"}
    issued = _create(engine, "jtl_pin", actor, values)
    pin_id = _only(engine, KINDS["jtl_pin"], actor)
    assert _state(engine, KINDS["jtl_pin"], actor, pin_id) == "waiting"
    with UnitOfWork(engine) as uow:
        connected = pins.connect(uow, issued.shown_once["PIN"])
        uow.commit()
    assert connected is not None and connected.client.scopes == {"read", "use"}
    assert _state(engine, KINDS["jtl_pin"], actor, pin_id) == "connected"
    _revoke(engine, "jtl_pin", actor, pin_id)
    with UnitOfWork(engine, readonly=True) as uow:
        client = connected.client
        assert tenants.authenticate_client(uow, client.client_id, client.client_secret) is None
    # An unused PIN, revoked, connects nothing.
    unused = _create(engine, "jtl_pin", actor, values)
    with UnitOfWork(engine, readonly=True) as uow:
        newest = KINDS["jtl_pin"].items(uow, actor)[0].id
    _revoke(engine, "jtl_pin", actor, newest)
    with UnitOfWork(engine) as uow:
        assert pins.connect(uow, unused.shown_once["PIN"]) is None
    with pytest.raises(errors.ValidationFailed):
        _create(engine, "jtl_pin", actor, {**values, "scopes": ""})


def test_shopee_authorisation_gives_a_code_and_revoke_unlinks(
    engine: Engine, tenant: TenantFixture
) -> None:
    with UnitOfWork(engine) as uow:
        partner = accounts.create_partner(uow, "an app")
        uow.commit()
    actor = _staff(tenant)
    issued = _create(engine, "shopee_partner", actor, {"partner_id": str(partner.partner_id)})
    with UnitOfWork(engine, readonly=True) as uow:
        assert accounts.live_code_shop(uow, issued.shown_once["code"], partner.partner_id) == (
            tenant.id
        )
        assert accounts.is_linked(uow, tenant.id, partner.partner_id)
    _revoke(engine, "shopee_partner", actor, str(partner.partner_id))
    with UnitOfWork(engine, readonly=True) as uow:
        assert not accounts.is_linked(uow, tenant.id, partner.partner_id)
    with pytest.raises(errors.NotFound):
        _create(engine, "shopee_partner", actor, {"partner_id": "1"})


def _public_key() -> str:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )


def test_rm_client_with_its_key_and_revoke(engine: Engine, tenant: TenantFixture) -> None:
    actor = _staff(tenant)
    issued = _create(engine, "rm_client", actor, {"name": "rm", "public_key": _public_key()})
    client_id, secret = issued.shown_once["clientId"], issued.shown_once["clientSecret"]
    with UnitOfWork(engine, readonly=True) as uow:
        assert tenants.authenticate_client(uow, client_id, secret) is not None
    with pytest.raises(errors.ValidationFailed):
        _create(engine, "rm_client", actor, {"name": "rm", "public_key": "not a key"})
    other = make_tenant(engine, "other")
    with pytest.raises(errors.NotFound):
        _revoke(engine, "rm_client", _staff(other), client_id)
    _revoke(engine, "rm_client", actor, client_id)
    with UnitOfWork(engine, readonly=True) as uow:
        assert tenants.authenticate_client(uow, client_id, secret) is None


def test_spaaza_app_and_privileged_token(engine: Engine, tenant: TenantFixture) -> None:
    actor = _staff(tenant)
    host = f"shop-{tenant.id}.example"
    app = _create(engine, "spaaza_app", actor, {"hostname": host.upper()})
    token = _create(engine, "spaaza_token", actor, {}).shown_once["token"]
    with UnitOfWork(engine, readonly=True) as uow:
        assert store.app_chain(uow, host) == tenant.id
        assert store.token_chain(uow, token) == tenant.id
    other = _staff(make_tenant(engine, "other"))
    token_id = _only(engine, KINDS["spaaza_token"], actor)
    for key, item in (("spaaza_app", app.shown_once["app_id"]), ("spaaza_token", token_id)):
        with pytest.raises(errors.NotFound):
            _revoke(engine, key, other, item)
        _revoke(engine, key, actor, item)
    with UnitOfWork(engine, readonly=True) as uow:
        assert store.app_chain(uow, host) is None
        assert store.token_chain(uow, token) is None
    with engine.connect() as conn:
        did = conn.execute(
            select(events.c.subject, events.c.operation).where(
                events.c.tenant_id == tenant.id, events.c.actor == "user:999"
            )
        ).all()
    assert {tuple(r) for r in did} >= {
        ("spaaza_app", "create"),
        ("spaaza_app", "delete"),
        ("spaaza_token", "create"),
        ("spaaza_token", "revoke"),
    }
