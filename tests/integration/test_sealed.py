"""Secrets encrypted at rest (issue 10, item 5).

Signing keys, webhook secrets, RM server private keys and Shopee partner keys are stored sealed
(AES-GCM under the key-encryption key): the database holds no plaintext of them; ``verify``
names every one that does not open; the migration seals plaintext rows and its downgrade opens
them again; the embedded default keeps a generated key file with mode 0600.
"""

from __future__ import annotations

import json
import stat
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import Result
from sqlalchemy import Engine, select, text, update
from typer.testing import CliRunner

from tests.conftest import make_tenant
from tests.support import blank_database
from voucherd.cli import app
from voucherd.db import migrate, sealed
from voucherd.db.engine import make_engine
from voucherd.db.tables import signing_keys, webhooks
from voucherd.dialects.revenue_monster import merchants
from voucherd.dialects.revenue_monster import render as rm_render
from voucherd.dialects.revenue_monster.tables import rm_merchants
from voucherd.dialects.shopee import accounts
from voucherd.dialects.shopee.tables import shopee_partners
from voucherd.services import keys, qr, verify
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


# --- a change of key-encryption key (``voucherd keys reseal``) ----------------------------------

OLD_KEY = "blank-database-test-key"  # what the ``blank`` fixture registers (derive(OLD_KEY))


def _reseal(url: str, **env: str) -> Result:
    """``voucherd keys reseal`` in-process, with only the given key settings."""
    settings = {"VOUCHERD_DATABASE_URL": url, **env}
    return CliRunner().invoke(app, ["keys", "reseal"], env=settings)


def _all_sealed(engine: Engine) -> dict[str, str]:
    found: dict[str, str] = {}
    with engine.connect() as conn:
        for table, key, column in sealed.COLUMNS:
            for place_key, value in conn.execute(text(f"SELECT {key}, {column} FROM {table}")):
                found[sealed.place(table, column, place_key)] = value
    return found


def test_changing_the_key_encryption_key(blank: tuple[str, Engine]) -> None:
    """New key plus the previous one: everything opens; reseal moves every value to the new
    key in one go; then the new key alone opens everything and the old one nothing."""
    url, engine = blank
    stored = _store_secrets(engine)
    before = _all_sealed(engine)
    assert len(before) == 4  # webhook, Shopee partner, RM key, signing key

    # The new key alone opens nothing: reseal refuses, names every place, changes nothing.
    refused = _reseal(url, VOUCHERD_SECRET_KEY="the-new-key")
    assert refused.exit_code == 2
    assert f"webhooks.secret:{stored.webhook_id}" in refused.output
    assert stored.webhook_secret not in refused.output
    assert _all_sealed(engine) == before

    ring = {"VOUCHERD_SECRET_KEY": "the-new-key", "VOUCHERD_PREVIOUS_SECRET_KEY": OLD_KEY}
    done = _reseal(url, **ring)
    assert done.exit_code == 0, done.output
    assert json.loads(done.stdout) == {"resealed": len(before), "already_current": 0}
    after = _all_sealed(engine)
    assert after.keys() == before.keys()
    assert all(after[p] != before[p] and after[p].startswith(sealed.PREFIX) for p in after)

    new = sealed.derive(b"the-new-key")
    place = accounts.key_place(stored.partner_id)
    for where, value in after.items():
        sealed.unseal(new, value, where)  # raises if it does not open
        with pytest.raises(sealed.Undecryptable):
            sealed.unseal(sealed.derive(OLD_KEY.encode()), value, where)
    sealed.register(url, new)
    assert _check(engine).ok
    with UnitOfWork(engine) as uow:  # the services read them under the new key
        partner = {"partner_id": stored.partner_id, "partner_key": after[place]}
        assert accounts.partner_key(uow, partner) == stored.partner_key
        assert keys.load(uow.conn, new)  # the signing key opens: its tokens keep verifying

    again = _reseal(url, **ring)
    assert again.exit_code == 0, again.output
    assert json.loads(again.stdout) == {"resealed": 0, "already_current": len(before)}
    assert _all_sealed(engine) == after


def test_reseal_is_all_or_nothing(blank: tuple[str, Engine]) -> None:
    """One value that opens under neither key stops the reseal before anything is written."""
    url, engine = blank
    stored = _store_secrets(engine)
    place = f"shopee_partners.partner_key:{stored.partner_id}"
    foreign = sealed.seal(sealed.derive(b"a third key"), "x", place)
    with engine.begin() as conn:
        conn.execute(
            update(shopee_partners)
            .where(shopee_partners.c.partner_id == stored.partner_id)
            .values(partner_key=foreign)
        )
    before = _all_sealed(engine)
    refused = _reseal(url, VOUCHERD_SECRET_KEY="the-new-key", VOUCHERD_PREVIOUS_SECRET_KEY=OLD_KEY)
    assert refused.exit_code == 2
    assert place in refused.output
    assert f"webhooks.secret:{stored.webhook_id}" not in refused.output
    assert _all_sealed(engine) == before


def test_a_key_ring_seals_under_the_new_key_and_opens_under_both() -> None:
    old, new = sealed.derive(b"old"), sealed.derive(b"new")
    ring = sealed.KeyRing(new, (old,))
    under_old = sealed.seal(old, "secret", "webhooks.secret:1")
    assert sealed.unseal(ring, under_old, "webhooks.secret:1") == "secret"
    assert not sealed.opens_under_current(ring, under_old, "webhooks.secret:1")
    under_ring = sealed.seal(ring, "secret", "webhooks.secret:1")
    assert sealed.unseal(new, under_ring, "webhooks.secret:1") == "secret"
    with pytest.raises(sealed.Undecryptable):
        sealed.unseal(old, under_ring, "webhooks.secret:1")
    with pytest.raises(sealed.Undecryptable):
        sealed.unseal(ring, under_old, "webhooks.secret:2")  # the place still binds


def test_qr_urls_signed_before_a_change_of_key_open_until_the_previous_key_goes(
    blank: tuple[str, Engine],
) -> None:
    url, engine = blank
    old, new = sealed.derive(OLD_KEY.encode()), sealed.derive(b"the-new-key")
    path = rm_render.qr_path(1, "CODE")
    expires = 4_000_000_000
    signed = qr.sign(qr.url_key(old), path, expires)
    sig = signed.split("sig=")[1]

    def opens() -> bool:
        with engine.connect() as conn:
            keys_now = rm_render.qr_keys(conn)
        return any(qr.check(key, path, str(expires), sig, 0) for key in keys_now)

    assert opens()  # the old key alone
    sealed.register(url, sealed.KeyRing(new, (old,)))
    assert opens()  # during the change
    sealed.register(url, new)
    assert not opens()  # after it
