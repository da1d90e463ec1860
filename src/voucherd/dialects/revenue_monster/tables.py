"""The dialect's own tables (on the shared metadata); every one carries ``tenant_id``."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Column,
    Float,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from voucherd.db.tables import metadata, tenant_column
from voucherd.db.types import BigId, UtcDateTime

# An RM client: an engine client (kind "rm") plus the RSA public key that verifies its requests.
rm_clients = Table(
    "rm_clients",
    metadata,
    tenant_column(),
    Column("client_id", String(64), nullable=False),
    Column("public_key_pem", Text, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    PrimaryKeyConstraint("tenant_id", "client_id"),
    ForeignKeyConstraint(["tenant_id", "client_id"], ["clients.tenant_id", "clients.id"]),
)

# Refresh tokens, stored as SHA-256 of the token; each use rotates it (``rotated_at``), and a
# second use of a rotated token revokes its whole family.
rm_refresh_tokens = Table(
    "rm_refresh_tokens",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    tenant_column(),
    Column("client_id", String(64), nullable=False),
    Column("token_hash", String(64), nullable=False),
    Column("family", String(32), nullable=False),
    Column("expires_at", UtcDateTime, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("rotated_at", UtcDateTime),
    Column("revoked_at", UtcDateTime),
    UniqueConstraint("tenant_id", "token_hash"),
    Index(None, "tenant_id", "family"),
)

# Seen request nonces: the primary key refuses a replay in any process on this database.
rm_nonces = Table(
    "rm_nonces",
    metadata,
    tenant_column(),
    Column("client_id", String(64), nullable=False),
    Column("nonce", String(128), nullable=False),
    Column("expires_at", UtcDateTime, nullable=False),
    PrimaryKeyConstraint("tenant_id", "client_id", "nonce"),
    Index(None, "tenant_id", "client_id", "expires_at"),
)

# Per-merchant RM settings: callback target, the server key that signs callbacks, the PIN that
# authorises a reinstate, and the event its callback subscription starts after.
rm_merchants = Table(
    "rm_merchants",
    metadata,
    Column("tenant_id", BigInteger, ForeignKey("tenants.id"), primary_key=True),
    Column("callback_url", String(1024)),
    Column("retry_interval_seconds", Float),
    Column("public_url", String(1024)),
    Column("server_private_key_pem", Text, nullable=False),
    Column("server_public_key_pem", Text, nullable=False),
    Column("reinstate_pin_hash", String(255)),
    Column("last_event_id", BigInteger, nullable=False, default=0),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
)

# Callbacks are deliveries of the engine's outbox (``db.tables.deliveries``, subscriber
# ``rm_callback``); ``rm_merchants.last_event_id`` is where a merchant's subscription starts.
