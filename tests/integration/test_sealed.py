"""Secrets encrypted at rest (issue 10, item 5).

Signing keys, webhook secrets, RM server private keys and Shopee partner keys are stored sealed
(AES-GCM under the key-encryption key): the database holds no plaintext of them; ``verify``
names every one that does not open; the migration seals plaintext rows and its downgrade opens
them again; the embedded default keeps a generated key file with mode 0600.
"""

from __future__ import annotations

import stat
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import Engine, select, text, update

from tests.conftest import make_tenant
from tests.support import blank_database
from voucherd.db import migrate, sealed
from voucherd.db.engine import make_engine
from voucherd.db.tables import signing_keys, webhooks
from voucherd.dialects.revenue_monster import merchants
from voucherd.dialects.revenue_monster.tables import rm_merchants
from voucherd.dialects.shopee import accounts
from voucherd.dialects.shopee.tables import shopee_partners
from voucherd.services import keys, verify
from voucherd.services import webhooks as webhook_service
from voucherd.services.unit_of_work import UnitOfWork


@dataclass
class Stored:
    """Secrets created through the services, with their plaintext as handed out."""

    webhook_id: int
    webhook_secret: str
    partner_id: int
    partner_key: str
    tenant_id: int
    rm_private_pem: str


def _store_secrets(engine: Engine) -> Stored:
    tenant = make_tenant(engine, "sealed")
    with UnitOfWork(engine) as uow:
        hook = webhook_service.create(
            uow, tenant.actor, url="https://example.com/hook", event_types=["*"]
        )
        partner = accounts.create_partner(uow, "sealed app")
        merchant = merchants.ensure(uow, tenant.id)
        uow.commit()
    private = merchants.private_key(engine.url, merchant)
    assert "PRIVATE KEY" in private
    keys.rotate(engine, sealed.kek_for(sealed.url_of(engine.url)))
    return Stored(
        int(hook.row["id"]), hook.secret, partner.partner_id, partner.partner_key, tenant.id,
        private,
    )  # fmt: skip


def _raw(engine: Engine, stored: Stored) -> dict[str, str]:
    with engine.connect() as conn:
        return {
            "webhook": conn.execute(
                select(webhooks.c.secret).where(webhooks.c.id == stored.webhook_id)
            ).scalar_one(),
            "partner": conn.execute(
                select(shopee_partners.c.partner_key).where(
                    shopee_partners.c.partner_id == stored.partner_id
                )
            ).scalar_one(),
            "rm": conn.execute(
                select(rm_merchants.c.server_private_key_pem).where(
                    rm_merchants.c.tenant_id == stored.tenant_id
                )
            ).scalar_one(),
        }


def _check(engine: Engine) -> verify.CheckResult:
    with engine.connect() as conn:
        _count, _entries, results = verify.run(conn)
    return next(r for r in results if r.name == "secrets_decrypt")


def test_no_secret_is_stored_in_plain_text(engine: Engine) -> None:
    stored = _store_secrets(engine)
    raw = _raw(engine, stored)
    plain = {
        "webhook": stored.webhook_secret,
        "partner": stored.partner_key,
        "rm": stored.rm_private_pem,
    }
    for name, value in raw.items():
        assert value.startswith(sealed.PREFIX), name
        assert plain[name] not in value and "PRIVATE KEY" not in value, name
    with engine.connect() as conn:
        for value in conn.execute(select(signing_keys.c.secret)).scalars():
            assert value.startswith(sealed.PREFIX)
        # Nothing anywhere in the database holds the plaintext (a dump would show it).
        dump = " ".join(
            str(v)
            for table in ("webhooks", "shopee_partners", "rm_merchants", "signing_keys")
            for row in conn.execute(text(f"SELECT * FROM {table}"))
            for v in row
        )
    for secret in plain.values():
        assert secret not in dump
    assert _check(engine).ok


def test_a_sealed_value_does_not_open_in_another_row(engine: Engine) -> None:
    """The seal names its place: a value copied to another row is as bad as a corrupted one."""
    kek = sealed.kek_for(sealed.url_of(engine.url))
    value = sealed.seal(kek, "s3cret", "webhooks.secret:1")
    assert sealed.unseal(kek, value, "webhooks.secret:1") == "s3cret"
    for where, key in (("webhooks.secret:2", kek), ("webhooks.secret:1", sealed.derive(b"x"))):
        with pytest.raises(sealed.Undecryptable):
            sealed.unseal(key, value, where)
    with pytest.raises(sealed.Undecryptable):
        sealed.unseal(kek, "s3cret", "webhooks.secret:1")  # plain text is not sealed


@pytest.fixture
def blank(database_url: str) -> Iterator[tuple[str, Engine]]:
    with blank_database(database_url) as url:
        sealed.register(url, sealed.derive(b"blank-database-test-key"))
        engine = make_engine(url)
        try:
            migrate.upgrade(engine)
            yield url, engine
        finally:
            engine.dispose()


def test_verify_names_a_corrupted_or_plaintext_secret(blank: tuple[str, Engine]) -> None:
    _url, engine = blank
    stored = _store_secrets(engine)
    assert _check(engine).ok
    raw = _raw(engine, stored)
    corrupted = raw["webhook"][:-3] + ("AAA" if not raw["webhook"].endswith("AAA") else "BBB")
    with engine.begin() as conn:
        conn.execute(
            update(webhooks).where(webhooks.c.id == stored.webhook_id).values(secret=corrupted)
        )
        conn.execute(
            update(shopee_partners)
            .where(shopee_partners.c.partner_id == stored.partner_id)
            .values(partner_key=stored.partner_key)  # plaintext, as before the migration
        )
    result = _check(engine)
    assert not result.ok
    assert set(result.violations) == {
        f"webhooks.secret:{stored.webhook_id}",
        f"shopee_partners.partner_key:{stored.partner_id}",
    }
    # Under another key-encryption key nothing opens, and verify says where.
    sealed.register(str(engine.url.render_as_string(hide_password=False)), sealed.derive(b"no"))
    assert len(_check(engine).violations) >= 4


def test_the_migration_seals_and_its_downgrade_opens(blank: tuple[str, Engine]) -> None:
    _url, engine = blank
    stored = _store_secrets(engine)
    migrate.downgrade(engine, "core_0005_limits")
    raw = _raw(engine, stored)
    assert raw == {
        "webhook": stored.webhook_secret,
        "partner": stored.partner_key,
        "rm": stored.rm_private_pem,
    }
    migrate.upgrade(engine)
    raw = _raw(engine, stored)
    assert all(value.startswith(sealed.PREFIX) for value in raw.values())
    kek = sealed.kek_for(sealed.url_of(engine.url))
    assert sealed.unseal(
        kek, raw["partner"], f"shopee_partners.partner_key:{stored.partner_id}"
    ) == (stored.partner_key)
    assert _check(engine).ok


def test_the_embedded_default_keeps_a_private_key_file(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/voucherd.db"
    first = sealed.load_kek(None, None, url)
    path = tmp_path / "voucherd.db.key"
    assert path.exists() and stat.S_IMODE(path.stat().st_mode) == 0o600
    assert sealed.load_kek(None, None, url) == first  # kept, not regenerated
    assert sealed.load_kek("configured", None, url) != first
    key_file = tmp_path / "kek"
    key_file.write_text("from a file\n")
    assert sealed.load_kek(None, str(key_file), url) == sealed.derive(b"from a file")
    with pytest.raises(sealed.KeyMissing):
        sealed.load_kek(None, None, "postgresql://u@127.0.0.1:1/x")
