"""The Shopee dialect's own tables: partners (apps), shop authorisations, codes and tokens.

A shop is a tenant and its ``shop_id`` is the tenant id. Partners are global (an app that many
shops authorise, as on Shopee), so ``shopee_partners`` is the one table without a tenant; every
other table carries ``tenant_id`` (= shop_id) in its key. Codes and tokens are stored as
SHA-256 hashes; the partner key is the HMAC key every request is verified with, so it is kept,
sealed under the key-encryption key (``db/sealed.py``; 64 hex characters seal to 128).
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Column,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    PrimaryKeyConstraint,
    String,
    Table,
)

from voucherd.db.tables import metadata
from voucherd.db.types import UtcDateTime

shopee_partners = Table(
    "shopee_partners",
    metadata,
    Column("partner_id", BigInteger, primary_key=True, autoincrement=False),
    Column("name", String(255), nullable=False),
    Column("partner_key", String(128), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("revoked_at", UtcDateTime),
)

shopee_authorizations = Table(
    "shopee_authorizations",
    metadata,
    Column("tenant_id", BigInteger, ForeignKey("tenants.id"), nullable=False),
    Column("partner_id", BigInteger, ForeignKey("shopee_partners.partner_id"), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("revoked_at", UtcDateTime),
    PrimaryKeyConstraint("tenant_id", "partner_id"),
)

shopee_auth_codes = Table(
    "shopee_auth_codes",
    metadata,
    Column("tenant_id", BigInteger, ForeignKey("tenants.id"), nullable=False),
    Column("code_hash", String(64), nullable=False),
    Column("partner_id", BigInteger, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("expires_at", UtcDateTime, nullable=False),
    Column("used_at", UtcDateTime),
    PrimaryKeyConstraint("tenant_id", "code_hash"),
    ForeignKeyConstraint(
        ["tenant_id", "partner_id"],
        ["shopee_authorizations.tenant_id", "shopee_authorizations.partner_id"],
    ),
    Index(None, "code_hash"),
)

# kind: "access" (4 hours, many uses) or "refresh" (30 days, one use)
shopee_tokens = Table(
    "shopee_tokens",
    metadata,
    Column("tenant_id", BigInteger, ForeignKey("tenants.id"), nullable=False),
    Column("token_hash", String(64), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("partner_id", BigInteger, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("expires_at", UtcDateTime, nullable=False),
    Column("used_at", UtcDateTime),
    PrimaryKeyConstraint("tenant_id", "token_hash"),
    ForeignKeyConstraint(
        ["tenant_id", "partner_id"],
        ["shopee_authorizations.tenant_id", "shopee_authorizations.partner_id"],
    ),
    Index(None, "token_hash"),
)
