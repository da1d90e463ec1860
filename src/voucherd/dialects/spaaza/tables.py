"""Spaaza's own records: apps, user logins, admin permissions, sessions, privileged tokens.

A chain is a tenant (``chain_id`` = ``tenants.id``); a Spaaza user is an engine customer
(``user_id`` = ``customers.id``, ``member_number`` = ``customers.external_ref``). Secrets
(passwords, session keys, privileged tokens) are stored hashed only.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    ForeignKeyConstraint,
    Index,
    PrimaryKeyConstraint,
    String,
    Table,
    UniqueConstraint,
)

from voucherd.db.tables import metadata, tenant_column
from voucherd.db.types import BigId, UtcDateTime

spaaza_apps = Table(
    "spaaza_apps",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    tenant_column(),
    Column("hostname", String(255), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    UniqueConstraint("tenant_id", "id"),
    UniqueConstraint("tenant_id", "hostname"),
    Index(None, "hostname"),
)

spaaza_users = Table(
    "spaaza_users",
    metadata,
    tenant_column(),
    Column("customer_id", BigInteger, nullable=False),  # the Spaaza user_id
    Column("username", String(255), nullable=False),
    Column("password_hash", String(255), nullable=False),
    Column("is_admin", Boolean, nullable=False, default=False),
    Column("created_at", UtcDateTime, nullable=False),
    PrimaryKeyConstraint("tenant_id", "customer_id"),
    UniqueConstraint("tenant_id", "username"),
    ForeignKeyConstraint(["tenant_id", "customer_id"], ["customers.tenant_id", "customers.id"]),
    Index(None, "username"),
)

# What an admin user may do on a chain: a space-separated subset of "read write delete".
spaaza_permissions = Table(
    "spaaza_permissions",
    metadata,
    tenant_column(),
    Column("customer_id", BigInteger, nullable=False),
    Column("chain_id", BigInteger, nullable=False),
    Column("permissions", String(64), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    PrimaryKeyConstraint("tenant_id", "customer_id", "chain_id"),
    ForeignKeyConstraint(
        ["tenant_id", "customer_id"], ["spaaza_users.tenant_id", "spaaza_users.customer_id"]
    ),
)

spaaza_sessions = Table(
    "spaaza_sessions",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    tenant_column(),
    Column("customer_id", BigInteger, nullable=False),
    Column("key_hash", String(80), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("expires_at", UtcDateTime, nullable=False),
    UniqueConstraint("tenant_id", "id"),
    UniqueConstraint("tenant_id", "key_hash"),
    ForeignKeyConstraint(
        ["tenant_id", "customer_id"], ["spaaza_users.tenant_id", "spaaza_users.customer_id"]
    ),
    Index(None, "customer_id", "key_hash"),
)

spaaza_tokens = Table(
    "spaaza_tokens",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    tenant_column(),
    Column("token_hash", String(80), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("revoked_at", UtcDateTime),
    UniqueConstraint("tenant_id", "id"),
    UniqueConstraint("tenant_id", "token_hash"),
    Index(None, "token_hash"),
)
