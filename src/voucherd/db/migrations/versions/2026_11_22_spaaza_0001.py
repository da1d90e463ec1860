"""spaaza dialect: apps, users, permissions, sessions, privileged tokens

Revision ID: spaaza_0001
Revises: 0001
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import voucherd.db.types

revision: str = "spaaza_0001"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = ("spaaza",)
depends_on: str | Sequence[str] | None = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
Utc = voucherd.db.types.UtcDateTime


def upgrade() -> None:
    op.create_table(
        "spaaza_apps",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("tenant_id", sa.BigInteger(), nullable=False),
        sa.Column("hostname", sa.String(length=255), nullable=False),
        sa.Column("created_at", Utc(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"],
                                name=op.f("fk_spaaza_apps_tenant_id_tenants")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_spaaza_apps")),
        sa.UniqueConstraint("tenant_id", "id", name=op.f("uq_spaaza_apps_tenant_id_id")),
        sa.UniqueConstraint("tenant_id", "hostname",
                            name=op.f("uq_spaaza_apps_tenant_id_hostname")),
    )
    op.create_index(op.f("ix_spaaza_apps_hostname"), "spaaza_apps", ["hostname"])
    op.create_table(
        "spaaza_users",
        sa.Column("tenant_id", sa.BigInteger(), nullable=False),
        sa.Column("customer_id", sa.BigInteger(), nullable=False),
        sa.Column("username", sa.String(length=255), nullable=False),
        sa.Column("password_hash", sa.String(length=255), nullable=False),
        sa.Column("is_admin", sa.Boolean(), nullable=False),
        sa.Column("created_at", Utc(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"],
                                name=op.f("fk_spaaza_users_tenant_id_tenants")),
        sa.ForeignKeyConstraint(["tenant_id", "customer_id"],
                                ["customers.tenant_id", "customers.id"],
                                name=op.f("fk_spaaza_users_tenant_id_customer_id_customers")),
        sa.PrimaryKeyConstraint("tenant_id", "customer_id", name=op.f("pk_spaaza_users")),
        sa.UniqueConstraint("tenant_id", "username",
                            name=op.f("uq_spaaza_users_tenant_id_username")),
    )
    op.create_index(op.f("ix_spaaza_users_username"), "spaaza_users", ["username"])
    op.create_table(
        "spaaza_permissions",
        sa.Column("tenant_id", sa.BigInteger(), nullable=False),
        sa.Column("customer_id", sa.BigInteger(), nullable=False),
        sa.Column("chain_id", sa.BigInteger(), nullable=False),
        sa.Column("permissions", sa.String(length=64), nullable=False),
        sa.Column("created_at", Utc(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"],
                                name=op.f("fk_spaaza_permissions_tenant_id_tenants")),
        sa.ForeignKeyConstraint(
            ["tenant_id", "customer_id"], ["spaaza_users.tenant_id", "spaaza_users.customer_id"],
            name=op.f("fk_spaaza_permissions_tenant_id_customer_id_spaaza_users")),
        sa.PrimaryKeyConstraint("tenant_id", "customer_id", "chain_id",
                                name=op.f("pk_spaaza_permissions")),
    )
    op.create_table(
        "spaaza_sessions",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("tenant_id", sa.BigInteger(), nullable=False),
        sa.Column("customer_id", sa.BigInteger(), nullable=False),
        sa.Column("key_hash", sa.String(length=80), nullable=False),
        sa.Column("created_at", Utc(timezone=True), nullable=False),
        sa.Column("expires_at", Utc(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"],
                                name=op.f("fk_spaaza_sessions_tenant_id_tenants")),
        sa.ForeignKeyConstraint(
            ["tenant_id", "customer_id"], ["spaaza_users.tenant_id", "spaaza_users.customer_id"],
            name=op.f("fk_spaaza_sessions_tenant_id_customer_id_spaaza_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_spaaza_sessions")),
        sa.UniqueConstraint("tenant_id", "id", name=op.f("uq_spaaza_sessions_tenant_id_id")),
        sa.UniqueConstraint("tenant_id", "key_hash",
                            name=op.f("uq_spaaza_sessions_tenant_id_key_hash")),
    )
    op.create_index(op.f("ix_spaaza_sessions_customer_id_key_hash"), "spaaza_sessions",
                    ["customer_id", "key_hash"])
    op.create_table(
        "spaaza_tokens",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("tenant_id", sa.BigInteger(), nullable=False),
        sa.Column("token_hash", sa.String(length=80), nullable=False),
        sa.Column("created_at", Utc(timezone=True), nullable=False),
        sa.Column("revoked_at", Utc(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"],
                                name=op.f("fk_spaaza_tokens_tenant_id_tenants")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_spaaza_tokens")),
        sa.UniqueConstraint("tenant_id", "id", name=op.f("uq_spaaza_tokens_tenant_id_id")),
        sa.UniqueConstraint("tenant_id", "token_hash",
                            name=op.f("uq_spaaza_tokens_tenant_id_token_hash")),
    )
    op.create_index(op.f("ix_spaaza_tokens_token_hash"), "spaaza_tokens", ["token_hash"])


def downgrade() -> None:
    op.drop_index(op.f("ix_spaaza_tokens_token_hash"), table_name="spaaza_tokens")
    op.drop_table("spaaza_tokens")
    op.drop_index(op.f("ix_spaaza_sessions_customer_id_key_hash"), table_name="spaaza_sessions")
    op.drop_table("spaaza_sessions")
    op.drop_table("spaaza_permissions")
    op.drop_index(op.f("ix_spaaza_users_username"), table_name="spaaza_users")
    op.drop_table("spaaza_users")
    op.drop_index(op.f("ix_spaaza_apps_hostname"), table_name="spaaza_apps")
    op.drop_table("spaaza_apps")
