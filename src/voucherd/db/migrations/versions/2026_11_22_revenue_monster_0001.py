"""revenue_monster dialect tables

Revision ID: revenue_monster_0001
Revises: 0001
Create Date: 2026-11-22
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import voucherd.db.types

revision: str = "revenue_monster_0001"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = ("revenue_monster",)
depends_on: str | Sequence[str] | None = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
Utc = voucherd.db.types.UtcDateTime


def upgrade() -> None:
    op.create_table(
        "rm_clients",
        sa.Column("tenant_id", sa.BigInteger(), nullable=False),
        sa.Column("client_id", sa.String(length=64), nullable=False),
        sa.Column("public_key_pem", sa.Text(), nullable=False),
        sa.Column("created_at", Utc(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_rm_clients_tenant_id_tenants")
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "client_id"],
            ["clients.tenant_id", "clients.id"],
            name=op.f("fk_rm_clients_tenant_id_client_id_clients"),
        ),
        sa.PrimaryKeyConstraint("tenant_id", "client_id", name=op.f("pk_rm_clients")),
    )
    op.create_table(
        "rm_refresh_tokens",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("tenant_id", sa.BigInteger(), nullable=False),
        sa.Column("client_id", sa.String(length=64), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("family", sa.String(length=32), nullable=False),
        sa.Column("expires_at", Utc(timezone=True), nullable=False),
        sa.Column("created_at", Utc(timezone=True), nullable=False),
        sa.Column("rotated_at", Utc(timezone=True), nullable=True),
        sa.Column("revoked_at", Utc(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_rm_refresh_tokens_tenant_id_tenants")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rm_refresh_tokens")),
        sa.UniqueConstraint(
            "tenant_id", "token_hash", name=op.f("uq_rm_refresh_tokens_tenant_id_token_hash")
        ),
    )
    op.create_index(
        op.f("ix_rm_refresh_tokens_tenant_id_family"), "rm_refresh_tokens", ["tenant_id", "family"]
    )
    op.create_table(
        "rm_nonces",
        sa.Column("tenant_id", sa.BigInteger(), nullable=False),
        sa.Column("client_id", sa.String(length=64), nullable=False),
        sa.Column("nonce", sa.String(length=128), nullable=False),
        sa.Column("expires_at", Utc(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_rm_nonces_tenant_id_tenants")
        ),
        sa.PrimaryKeyConstraint("tenant_id", "client_id", "nonce", name=op.f("pk_rm_nonces")),
    )
    op.create_index(
        op.f("ix_rm_nonces_tenant_id_client_id_expires_at"),
        "rm_nonces",
        ["tenant_id", "client_id", "expires_at"],
    )
    op.create_table(
        "rm_merchants",
        sa.Column("tenant_id", sa.BigInteger(), nullable=False),
        sa.Column("callback_url", sa.String(length=1024), nullable=True),
        sa.Column("retry_interval_seconds", sa.Float(), nullable=True),
        sa.Column("public_url", sa.String(length=1024), nullable=True),
        sa.Column("server_private_key_pem", sa.Text(), nullable=False),
        sa.Column("server_public_key_pem", sa.Text(), nullable=False),
        sa.Column("reinstate_pin_hash", sa.String(length=255), nullable=True),
        sa.Column("last_event_id", sa.BigInteger(), nullable=False),
        sa.Column("created_at", Utc(timezone=True), nullable=False),
        sa.Column("updated_at", Utc(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_rm_merchants_tenant_id_tenants")
        ),
        sa.PrimaryKeyConstraint("tenant_id", name=op.f("pk_rm_merchants")),
    )
    op.create_table(
        "rm_deliveries",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("tenant_id", sa.BigInteger(), nullable=False),
        sa.Column("event_id", sa.BigInteger(), nullable=False),
        sa.Column("voucher_id", sa.BigInteger(), nullable=False),
        sa.Column("url", sa.String(length=1024), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", Utc(timezone=True), nullable=False),
        sa.Column("locked_until", Utc(timezone=True), nullable=True),
        sa.Column("last_status_code", sa.Integer(), nullable=True),
        sa.Column("last_error", sa.String(length=255), nullable=True),
        sa.Column("created_at", Utc(timezone=True), nullable=False),
        sa.Column("delivered_at", Utc(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_rm_deliveries_tenant_id_tenants")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rm_deliveries")),
        sa.UniqueConstraint("tenant_id", "id", name=op.f("uq_rm_deliveries_tenant_id_id")),
        sa.UniqueConstraint(
            "tenant_id", "event_id", name=op.f("uq_rm_deliveries_tenant_id_event_id")
        ),
    )
    op.create_index(
        op.f("ix_rm_deliveries_status_next_attempt_at"),
        "rm_deliveries",
        ["status", "next_attempt_at"],
    )
    op.create_table(
        "rm_delivery_attempts",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("tenant_id", sa.BigInteger(), nullable=False),
        sa.Column("delivery_id", sa.BigInteger(), nullable=False),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=True),
        sa.Column("error", sa.String(length=255), nullable=True),
        sa.Column("created_at", Utc(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_rm_delivery_attempts_tenant_id_tenants")
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "delivery_id"],
            ["rm_deliveries.tenant_id", "rm_deliveries.id"],
            name=op.f("fk_rm_delivery_attempts_tenant_id_delivery_id_rm_deliveries"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rm_delivery_attempts")),
    )
    op.create_index(
        op.f("ix_rm_delivery_attempts_tenant_id_delivery_id"),
        "rm_delivery_attempts",
        ["tenant_id", "delivery_id"],
    )


def downgrade() -> None:
    op.drop_table("rm_delivery_attempts")
    op.drop_table("rm_deliveries")
    op.drop_table("rm_merchants")
    op.drop_table("rm_nonces")
    op.drop_table("rm_refresh_tokens")
    op.drop_table("rm_clients")
