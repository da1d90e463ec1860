"""Reads and writes of the Spaaza tables (chains, apps, users, sessions, tokens).

Vouchers, customers and campaigns are the engine's: they change only through services.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, insert, select

from voucherd.db import repositories as repo
from voucherd.db.tables import customers
from voucherd.dialects.spaaza.tables import (
    spaaza_apps,
    spaaza_permissions,
    spaaza_sessions,
    spaaza_tokens,
    spaaza_users,
)
from voucherd.domain import errors
from voucherd.domain.vouchers import ValueKind
from voucherd.services import campaigns, hashing, tenants
from voucherd.services.unit_of_work import Actor, UnitOfWork
from voucherd.services.vouchers import NewVoucher

SESSION_TTL = timedelta(days=30)
ADMIN_PERMISSIONS = "read write delete"
CAMPAIGN_TYPES = (
    "wallet",
    "loyalty",
    "signup",
    "cashback",
    "birthday",
    "referral",
    "basket",
    "promotion",
    "other",
)
VOUCHER_CAMPAIGN_TYPES = ("wallet", "loyalty")


def sha256(secret: str) -> str:
    """Session keys and privileged tokens carry 256 random bits: one SHA-256 suffices."""
    return "sha256$" + hashlib.sha256(secret.encode()).hexdigest()


def actor_for(chain_id: int, name: str) -> Actor:
    return Actor(chain_id, f"spaaza:{name}", None)


# --- chains, apps ------------------------------------------------------------------------------


def chain_currency(uow: UnitOfWork, chain_id: int) -> str:
    settings = tenants.get_tenant(uow, chain_id)["settings"] or {}
    return str(settings.get("spaaza_currency", "EUR"))


def create_chain(uow: UnitOfWork, name: str, currency: str = "EUR") -> int:
    from voucherd.domain.money import normalize_currency

    return tenants.create_tenant(uow, name, {"spaaza_currency": normalize_currency(currency)})


def chain_exists(uow: UnitOfWork, chain_id: int) -> bool:
    try:
        tenants.get_tenant(uow, chain_id)
    except errors.NotFound:
        return False
    return True


def create_app(uow: UnitOfWork, chain_id: int, hostname: str) -> repo.Row:
    tenants.get_tenant(uow, chain_id)
    hostname = hostname.strip().lower()
    if not hostname:
        raise errors.ValidationFailed("hostname is required", field="hostname")
    if app_chain(uow, hostname) is not None:
        raise errors.DuplicateId("an app with this hostname exists", field="hostname")
    return (
        uow.conn.execute(
            insert(spaaza_apps)
            .values(tenant_id=chain_id, hostname=hostname, created_at=uow.now)
            .returning(*spaaza_apps.c)
        )
        .mappings()
        .one()
    )


def app_chain(uow: UnitOfWork, hostname: str) -> int | None:
    row = uow.conn.execute(
        select(spaaza_apps.c.tenant_id).where(spaaza_apps.c.hostname == hostname.strip().lower())
    ).first()
    return int(row[0]) if row else None


# --- users -------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class User:
    chain_id: int
    user_id: int
    username: str | None
    member_number: str | None
    is_admin: bool


def _user(row: Any) -> User:
    return User(
        int(row["tenant_id"]),
        int(row["id"]),
        row["username"],
        row["external_ref"],
        bool(row["is_admin"]) if row["is_admin"] is not None else False,
    )


def _user_query() -> Any:
    return select(
        customers.c.tenant_id,
        customers.c.id,
        customers.c.external_ref,
        spaaza_users.c.username,
        spaaza_users.c.is_admin,
    ).select_from(
        customers.outerjoin(
            spaaza_users,
            (spaaza_users.c.tenant_id == customers.c.tenant_id)
            & (spaaza_users.c.customer_id == customers.c.id),
        )
    )


def create_user(
    uow: UnitOfWork,
    chain_id: int,
    *,
    username: str,
    password: str,
    member_number: str | None = None,
    admin: bool = False,
) -> User:
    """Raises: NotFound (chain), ValidationFailed, DuplicateId (username or member number)."""
    tenants.get_tenant(uow, chain_id)
    if not username.strip() or not password:
        raise errors.ValidationFailed("username and password are required", field="username")
    if uow.conn.execute(
        select(spaaza_users.c.customer_id).where(
            spaaza_users.c.tenant_id == chain_id, spaaza_users.c.username == username
        )
    ).first():
        raise errors.DuplicateId("a user with this username exists", field="username")
    actor = actor_for(chain_id, "cli")
    customer = tenants.create_customer(uow, actor, external_ref=member_number, email=username)
    uow.conn.execute(
        insert(spaaza_users).values(
            tenant_id=chain_id,
            customer_id=customer["id"],
            username=username,
            password_hash=hashing.hash_pin(password),
            is_admin=admin,
            created_at=uow.now,
        )
    )
    if admin:
        uow.conn.execute(
            insert(spaaza_permissions).values(
                tenant_id=chain_id,
                customer_id=customer["id"],
                chain_id=chain_id,
                permissions=ADMIN_PERMISSIONS,
                created_at=uow.now,
            )
        )
    return User(chain_id, int(customer["id"]), username, member_number, admin)


def find_user(
    uow: UnitOfWork,
    chain_id: int,
    *,
    user_id: int | None = None,
    member_number: str | None = None,
    username: str | None = None,
) -> User | None:
    query = _user_query().where(customers.c.tenant_id == chain_id)
    if user_id is not None:
        query = query.where(customers.c.id == user_id)
    elif member_number is not None:
        query = query.where(customers.c.external_ref == member_number)
    elif username is not None:
        query = query.where(spaaza_users.c.username == username)
    else:
        return None
    row = uow.conn.execute(query).mappings().first()
    return _user(row) if row else None


def user_by_id(uow: UnitOfWork, user_id: int) -> User | None:
    row = uow.conn.execute(_user_query().where(customers.c.id == user_id)).mappings().first()
    return _user(row) if row else None


def users_by_ids(uow: UnitOfWork, chain_id: int, ids: set[int]) -> dict[int, User]:
    if not ids:
        return {}
    rows = (
        uow.conn.execute(
            _user_query().where(customers.c.tenant_id == chain_id, customers.c.id.in_(sorted(ids)))
        )
        .mappings()
        .all()
    )
    return {int(r["id"]): _user(r) for r in rows}


def authenticate(
    uow: UnitOfWork, username: str, password: str, chain_id: int | None
) -> User | None:
    """The user whose password matches: in ``chain_id``, or any admin when no chain is named."""
    query = select(spaaza_users).where(spaaza_users.c.username == username)
    if chain_id is not None:
        query = query.where(spaaza_users.c.tenant_id == chain_id)
    else:
        query = query.where(spaaza_users.c.is_admin.is_(True))
    rows = uow.conn.execute(query.order_by(spaaza_users.c.tenant_id)).mappings().all()
    if not rows:
        hashing.verify_pin(_DUMMY_HASH, password)  # same work either way
        return None
    for row in rows:
        if hashing.verify_pin(row["password_hash"], password):
            return user_by_id(uow, int(row["customer_id"]))
    return None


_DUMMY_HASH = hashing.hash_pin(secrets.token_hex(8))


def permissions(uow: UnitOfWork, user: User, chain_id: int) -> frozenset[str]:
    row = uow.conn.execute(
        select(spaaza_permissions.c.permissions).where(
            spaaza_permissions.c.tenant_id == user.chain_id,
            spaaza_permissions.c.customer_id == user.user_id,
            spaaza_permissions.c.chain_id == chain_id,
        )
    ).first()
    return frozenset(row[0].split()) if row else frozenset()


# --- sessions and privileged tokens ------------------------------------------------------------


def create_session(uow: UnitOfWork, user: User) -> tuple[str, datetime]:
    key = secrets.token_hex(32)
    expires_at = uow.now + SESSION_TTL
    uow.conn.execute(
        insert(spaaza_sessions).values(
            tenant_id=user.chain_id,
            customer_id=user.user_id,
            key_hash=sha256(key),
            created_at=uow.now,
            expires_at=expires_at,
        )
    )
    return key, expires_at


def session_user(uow: UnitOfWork, user_id: int, key: str) -> User | None:
    row = uow.conn.execute(
        select(spaaza_sessions.c.expires_at).where(
            spaaza_sessions.c.customer_id == user_id, spaaza_sessions.c.key_hash == sha256(key)
        )
    ).first()
    if row is None or row[0] <= uow.now:
        return None
    return user_by_id(uow, user_id)


def end_session(uow: UnitOfWork, user_id: int, key: str) -> bool:
    result = uow.conn.execute(
        delete(spaaza_sessions).where(
            spaaza_sessions.c.customer_id == user_id, spaaza_sessions.c.key_hash == sha256(key)
        )
    )
    return bool(result.rowcount)


def create_token(uow: UnitOfWork, chain_id: int) -> str:
    tenants.get_tenant(uow, chain_id)
    token = "spz_" + secrets.token_hex(32)
    uow.conn.execute(
        insert(spaaza_tokens).values(
            tenant_id=chain_id, token_hash=sha256(token), created_at=uow.now
        )
    )
    return token


def token_chain(uow: UnitOfWork, token: str) -> int | None:
    row = uow.conn.execute(
        select(spaaza_tokens.c.tenant_id, spaaza_tokens.c.token_hash).where(
            spaaza_tokens.c.token_hash == sha256(token), spaaza_tokens.c.revoked_at.is_(None)
        )
    ).first()
    if row is None or not hmac.compare_digest(row[1], sha256(token)):
        return None
    return int(row[0])


# --- campaigns ---------------------------------------------------------------------------------


def create_campaign(uow: UnitOfWork, chain_id: int, campaign_type: str, title: str) -> repo.Row:
    if campaign_type not in CAMPAIGN_TYPES:
        raise errors.ValidationFailed(
            f"type must be one of {', '.join(CAMPAIGN_TYPES)}", field="type"
        )
    currency = chain_currency(uow, chain_id)
    template = NewVoucher(
        kind=ValueKind.STORED_VALUE,
        currency=currency,
        metadata={"spaaza_campaign_type": campaign_type},
    )
    return campaigns.create(uow, actor_for(chain_id, "cli"), name=title, template=template)
