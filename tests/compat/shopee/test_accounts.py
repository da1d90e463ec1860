"""Lifetimes and single use of codes and tokens, with a shifted clock (no sleeping)."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import Engine, select

from tests.compat.shopee.conftest import authorize, make_partner
from tests.conftest import make_tenant
from voucherd.dialects.shopee import accounts
from voucherd.dialects.shopee.tables import shopee_auth_codes, shopee_partners, shopee_tokens
from voucherd.services.unit_of_work import UnitOfWork, utcnow


def _uow(engine: Engine, delta: timedelta = timedelta(0)) -> UnitOfWork:
    def clock() -> datetime:
        return utcnow() + delta

    return UnitOfWork(engine, clock=clock)


def test_code_lives_ten_minutes_and_is_single_use(engine: Engine) -> None:
    partner = make_partner(engine)
    tenant = make_tenant(engine)
    code = authorize(engine, tenant.id, partner.partner_id)
    with _uow(engine, timedelta(minutes=10, seconds=1)) as uow:
        assert accounts.consume_code(uow, code, partner.partner_id, tenant.id) is None
    with _uow(engine, timedelta(minutes=9, seconds=50)) as uow:
        assert accounts.consume_code(uow, code, partner.partner_id, tenant.id) == tenant.id
        uow.commit()
    with _uow(engine) as uow:
        assert accounts.consume_code(uow, code, partner.partner_id, None) is None


def test_token_lifetimes_and_storage(engine: Engine) -> None:
    partner = make_partner(engine)
    tenant = make_tenant(engine)
    authorize(engine, tenant.id, partner.partner_id)
    with _uow(engine) as uow:
        pair = accounts.issue_tokens(uow, tenant.id, partner.partner_id)
        uow.commit()
    assert pair.expire_in == 4 * 3600
    with _uow(engine) as uow:
        access = accounts.find_token(uow, pair.access_token, "access")
        assert access is not None
        assert access["expires_at"] - uow.now <= timedelta(hours=4)
        assert access["expires_at"] - uow.now > timedelta(hours=3, minutes=59)
        refresh = accounts.find_token(uow, pair.refresh_token, "refresh")
        assert refresh is not None
        assert timedelta(days=29, hours=23) < refresh["expires_at"] - uow.now <= timedelta(days=30)
        # secrets are stored hashed only
        stored = {row[0] for row in uow.conn.execute(select(shopee_tokens.c.token_hash))}
        assert pair.access_token not in stored and accounts.digest(pair.access_token) in stored
        codes = {row[0] for row in uow.conn.execute(select(shopee_auth_codes.c.code_hash))}
        assert all(len(c) == 64 for c in codes)
    with _uow(engine, timedelta(days=30, seconds=1)) as uow:
        assert not accounts.consume_refresh_token(
            uow, pair.refresh_token, partner.partner_id, tenant.id
        )
    with _uow(engine, timedelta(days=29)) as uow:
        assert accounts.consume_refresh_token(
            uow, pair.refresh_token, partner.partner_id, tenant.id
        )
        uow.commit()
    with _uow(engine) as uow:
        assert not accounts.consume_refresh_token(
            uow, pair.refresh_token, partner.partner_id, tenant.id
        )


def test_partner_key_is_kept_for_hmac(engine: Engine) -> None:
    partner = make_partner(engine)
    with _uow(engine) as uow:
        row = (
            uow.conn.execute(
                select(shopee_partners).where(shopee_partners.c.partner_id == partner.partner_id)
            )
            .mappings()
            .one()
        )
        # Kept for the HMAC, sealed under the key-encryption key (issue 10).
        assert row["partner_key"] != partner.partner_key
        assert accounts.partner_key(uow, row) == partner.partner_key
        assert 1_000_000 <= partner.partner_id <= 9_999_999
