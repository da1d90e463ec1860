"""shopee dialect: partners, shop authorisations, one-time codes, tokens

Revision ID: shopee_0001
Revises: 0001
Create Date: 2026-11-22 00:30:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import voucherd.db.types

revision: str = "shopee_0001"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = ("shopee",)
depends_on: str | Sequence[str] | None = None

_ts = voucherd.db.types.UtcDateTime


def upgrade() -> None:
    op.create_table(
        "shopee_partners",
        sa.Column("partner_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("partner_key", sa.String(length=128), nullable=False),
        sa.Column("created_at", _ts(timezone=True), nullable=False),
        sa.Column("revoked_at", _ts(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("partner_id", name=op.f("pk_shopee_partners")),
    )
    op.create_table(
        "shopee_authorizations",
        sa.Column("tenant_id", sa.BigInteger(), nullable=False),
        sa.Column("partner_id", sa.BigInteger(), nullable=False),
        sa.Column("created_at", _ts(timezone=True), nullable=False),
        sa.Column("revoked_at", _ts(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"],
                                name=op.f("fk_shopee_authorizations_tenant_id_tenants")),
        sa.ForeignKeyConstraint(
            ["partner_id"], ["shopee_partners.partner_id"],
            name=op.f("fk_shopee_authorizations_partner_id_shopee_partners")),
        sa.PrimaryKeyConstraint("tenant_id", "partner_id", name=op.f("pk_shopee_authorizations")),
    )
    for table, hash_column in (("shopee_auth_codes", "code_hash"),
                               ("shopee_tokens", "token_hash")):
        extra = [sa.Column("kind", sa.String(length=16), nullable=False)] \
            if table == "shopee_tokens" else []
        op.create_table(
            table,
            sa.Column("tenant_id", sa.BigInteger(), nullable=False),
            sa.Column(hash_column, sa.String(length=64), nullable=False),
            *extra,
            sa.Column("partner_id", sa.BigInteger(), nullable=False),
            sa.Column("created_at", _ts(timezone=True), nullable=False),
            sa.Column("expires_at", _ts(timezone=True), nullable=False),
            sa.Column("used_at", _ts(timezone=True), nullable=True),
            sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"],
                                    name=op.f(f"fk_{table}_tenant_id_tenants")),
            sa.ForeignKeyConstraint(
                ["tenant_id", "partner_id"],
                ["shopee_authorizations.tenant_id", "shopee_authorizations.partner_id"],
                name=op.f(f"fk_{table}_tenant_id_partner_id_shopee_authorizations")),
            sa.PrimaryKeyConstraint("tenant_id", hash_column, name=op.f(f"pk_{table}")),
        )
        op.create_index(op.f(f"ix_{table}_{hash_column}"), table, [hash_column])


def downgrade() -> None:
    op.drop_index(op.f("ix_shopee_tokens_token_hash"), table_name="shopee_tokens")
    op.drop_table("shopee_tokens")
    op.drop_index(op.f("ix_shopee_auth_codes_code_hash"), table_name="shopee_auth_codes")
    op.drop_table("shopee_auth_codes")
    op.drop_table("shopee_authorizations")
    op.drop_table("shopee_partners")
