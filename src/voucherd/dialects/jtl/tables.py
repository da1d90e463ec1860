"""The JTL dialect's own tables: connection PINs and the client_type statistics."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Column,
    ForeignKey,
    Index,
    Integer,
    PrimaryKeyConstraint,
    String,
    Table,
    UniqueConstraint,
)

from voucherd.db.tables import metadata
from voucherd.db.types import BigId, UtcDateTime

# One-time PINs that a POS exchanges for client credentials (POST /v1/clients/connect).
# Only a SHA-256 of the PIN is kept; a PIN lives 30 minutes and is consumed by one conditional
# UPDATE (used_at IS NULL AND expires_at > now), so two racing connects cannot both win.
jtl_connect_pins = Table(
    "jtl_connect_pins",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("tenant_id", BigInteger, ForeignKey("tenants.id"), nullable=False),
    Column("pin_hash", String(64), nullable=False),
    Column("scopes", String(255), nullable=False),
    Column("name", String(255), nullable=False),
    Column("client_type", String(32), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("expires_at", UtcDateTime, nullable=False),
    Column("used_at", UtcDateTime),
    Column("client_id", String(64)),
    UniqueConstraint("tenant_id", "id"),
    UniqueConstraint("tenant_id", "pin_hash"),
    Index(None, "pin_hash"),
)

# ``client_type`` sent with token requests ("only used for internal statistics").
jtl_client_types = Table(
    "jtl_client_types",
    metadata,
    Column("tenant_id", BigInteger, ForeignKey("tenants.id"), nullable=False),
    Column("client_id", String(64), nullable=False),
    Column("client_type", String(32), nullable=False),
    Column("tokens", Integer, nullable=False, default=0),
    Column("first_seen_at", UtcDateTime, nullable=False),
    Column("last_seen_at", UtcDateTime, nullable=False),
    PrimaryKeyConstraint("tenant_id", "client_id", "client_type"),
)

# Wrong connect PINs while this PIN was live (issue 10): a PIN dies after
# ``jtl_pin_max_failures`` of them (``pins.connect``).
jtl_connect_pins.append_column(
    Column("failures", Integer, nullable=False, default=0, server_default="0")
)
