"""Partners, shop authorisations, one-time codes and tokens (the dialect's own tables).

Secrets the server only has to recognise (codes, access and refresh tokens) are stored as
SHA-256 hashes and consumed with conditional UPDATEs checked by row count, so a code or a
refresh token is good for exactly one winner even under concurrent requests.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import insert, select, update
from sqlalchemy.exc import IntegrityError

from voucherd.db import repositories as repo
from voucherd.db import sealed
from voucherd.dialects.shopee.tables import (
    shopee_auth_codes,
    shopee_authorizations,
    shopee_partners,
    shopee_tokens,
)
from voucherd.domain import errors
from voucherd.services import tenants
from voucherd.services.changes import record_event
from voucherd.services.unit_of_work import Actor, UnitOfWork

CODE_TTL = timedelta(minutes=10)
ACCESS_TTL = timedelta(hours=4)
REFRESH_TTL = timedelta(days=30)
MAX_ID = 4294967295


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def new_secret() -> str:
    """32 lower-case hex characters, the shape of Shopee's codes and tokens."""
    return secrets.token_hex(16)


@dataclass(frozen=True, slots=True)
class NewPartner:
    partner_id: int
    partner_key: str
    name: str


def create_partner(uow: UnitOfWork, name: str) -> NewPartner:
    if not name.strip():
        raise errors.ValidationFailed("name is required", field="name")
    key = secrets.token_hex(32)
    for _attempt in range(8):
        partner_id = 1_000_000 + secrets.randbelow(8_999_999)
        savepoint = uow.conn.begin_nested()
        try:
            uow.conn.execute(
                insert(shopee_partners).values(
                    partner_id=partner_id,
                    name=name,
                    partner_key=sealed.seal(sealed.kek_of(uow.conn), key, key_place(partner_id)),
                    created_at=uow.now,
                )
            )
            savepoint.commit()
            return NewPartner(partner_id, key, name)
        except IntegrityError:
            savepoint.rollback()
    raise errors.CodeSpaceTooSmall("could not find a free partner_id")


def key_place(partner_id: int) -> str:
    """Where a partner's sealed key belongs (``db/sealed.py``)."""
    return f"shopee_partners.partner_key:{partner_id}"


def partner_key(uow: UnitOfWork, partner: repo.Row) -> str:
    """The partner's HMAC key. Raises: Undecryptable, KeyMissing."""
    kek = sealed.kek_of(uow.conn)
    return sealed.unseal(kek, partner["partner_key"], key_place(int(partner["partner_id"])))


def find_partner(uow: UnitOfWork, partner_id: int) -> repo.Row | None:
    row = (
        uow.conn.execute(select(shopee_partners).where(shopee_partners.c.partner_id == partner_id))
        .mappings()
        .first()
    )
    return row if row is not None and row["revoked_at"] is None else None


def is_linked(uow: UnitOfWork, shop_id: int, partner_id: int) -> bool:
    row = uow.conn.execute(
        select(shopee_authorizations.c.revoked_at).where(
            shopee_authorizations.c.tenant_id == shop_id,
            shopee_authorizations.c.partner_id == partner_id,
        )
    ).first()
    return row is not None and row[0] is None


def authorize(uow: UnitOfWork, shop_id: int, partner_id: int, *, by: str | None = None) -> str:
    """Record that the shop authorises the partner and return a one-time code (10 minutes).

    Raises: NotFound (tenant or partner).
    """
    tenants.get_tenant(uow, shop_id)
    if find_partner(uow, partner_id) is None:
        raise errors.NotFound("partner", partner_id)
    link = (
        shopee_authorizations.c.tenant_id == shop_id,
        shopee_authorizations.c.partner_id == partner_id,
    )
    if uow.conn.execute(select(shopee_authorizations.c.tenant_id).where(*link)).first():
        uow.conn.execute(update(shopee_authorizations).where(*link).values(revoked_at=None))
    else:
        uow.conn.execute(
            insert(shopee_authorizations).values(
                tenant_id=shop_id, partner_id=partner_id, created_at=uow.now
            )
        )
    code = new_secret()
    uow.conn.execute(
        insert(shopee_auth_codes).values(
            tenant_id=shop_id,
            code_hash=digest(code),
            partner_id=partner_id,
            created_at=uow.now,
            expires_at=uow.now + CODE_TTL,
        )
    )
    record_event(
        uow,
        Actor(shop_id, by or f"shopee:{partner_id}"),
        operation="authorize",
        subject="shopee_partner",
        subject_id=str(partner_id),
    )
    return code


def revoke(uow: UnitOfWork, shop_id: int, partner_id: int, *, by: str = "cli") -> bool:
    """End the shop's authorisation of the partner; its tokens stop working at once."""
    done = uow.conn.execute(
        update(shopee_authorizations)
        .where(
            shopee_authorizations.c.tenant_id == shop_id,
            shopee_authorizations.c.partner_id == partner_id,
            shopee_authorizations.c.revoked_at.is_(None),
        )
        .values(revoked_at=uow.now)
        .returning(shopee_authorizations.c.tenant_id)
    ).first()
    if done is not None:
        record_event(
            uow,
            Actor(shop_id, by),
            operation="revoke",
            subject="shopee_partner",
            subject_id=str(partner_id),
        )
    return done is not None


def consume_code(uow: UnitOfWork, code: str, partner_id: int, shop_id: int | None) -> int | None:
    """Use up a code issued to ``partner_id`` (for ``shop_id`` when given); the shop or None."""
    conditions = [
        shopee_auth_codes.c.code_hash == digest(code),
        shopee_auth_codes.c.partner_id == partner_id,
        shopee_auth_codes.c.used_at.is_(None),
        shopee_auth_codes.c.expires_at > uow.now,
    ]
    if shop_id is not None:
        conditions.append(shopee_auth_codes.c.tenant_id == shop_id)
    row = uow.conn.execute(
        update(shopee_auth_codes)
        .where(*conditions)
        .values(used_at=uow.now)
        .returning(shopee_auth_codes.c.tenant_id)
    ).first()
    return int(row[0]) if row is not None else None


def live_code_shop(uow: UnitOfWork, code: str, partner_id: int) -> int | None:
    """The shop of a usable (unused, unexpired) code of this partner, if there is one."""
    row = uow.conn.execute(
        select(shopee_auth_codes.c.tenant_id).where(
            shopee_auth_codes.c.code_hash == digest(code),
            shopee_auth_codes.c.partner_id == partner_id,
            shopee_auth_codes.c.used_at.is_(None),
            shopee_auth_codes.c.expires_at > uow.now,
        )
    ).first()
    return int(row[0]) if row is not None else None


@dataclass(frozen=True, slots=True)
class TokenPair:
    access_token: str
    refresh_token: str
    expire_in: int


def issue_tokens(uow: UnitOfWork, shop_id: int, partner_id: int) -> TokenPair:
    access, refresh = new_secret(), new_secret()
    for kind, token, ttl in (("access", access, ACCESS_TTL), ("refresh", refresh, REFRESH_TTL)):
        uow.conn.execute(
            insert(shopee_tokens).values(
                tenant_id=shop_id,
                token_hash=digest(token),
                kind=kind,
                partner_id=partner_id,
                created_at=uow.now,
                expires_at=uow.now + ttl,
            )
        )
    return TokenPair(access, refresh, int(ACCESS_TTL.total_seconds()))


def consume_refresh_token(uow: UnitOfWork, token: str, partner_id: int, shop_id: int) -> bool:
    """Use up a refresh token of this partner and shop; True if this call won it."""
    row = uow.conn.execute(
        update(shopee_tokens)
        .where(
            shopee_tokens.c.tenant_id == shop_id,
            shopee_tokens.c.token_hash == digest(token),
            shopee_tokens.c.kind == "refresh",
            shopee_tokens.c.partner_id == partner_id,
            shopee_tokens.c.used_at.is_(None),
            shopee_tokens.c.expires_at > uow.now,
        )
        .values(used_at=uow.now)
        .returning(shopee_tokens.c.tenant_id)
    ).first()
    return row is not None


def find_token(uow: UnitOfWork, token: str, kind: str) -> repo.Row | None:
    """The token's row (any shop, any partner) or None; callers check owner and expiry."""
    return (
        uow.conn.execute(
            select(shopee_tokens).where(
                shopee_tokens.c.token_hash == digest(token),
                shopee_tokens.c.kind == kind,
            )
        )
        .mappings()
        .first()
    )
