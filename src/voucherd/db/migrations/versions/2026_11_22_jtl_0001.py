"""jtl dialect: connection PINs and client_type statistics

Revision ID: jtl_0001
Revises: 0001
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import voucherd.db.types

revision: str = "jtl_0001"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = ("jtl",)
depends_on: str | Sequence[str] | None = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
Utc = voucherd.db.types.UtcDateTime


def upgrade() -> None:
    op.create_table(
        "jtl_connect_pins",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("tenant_id", sa.BigInteger(), nullable=False),
        sa.Column("pin_hash", sa.String(length=64), nullable=False),
        sa.Column("scopes", sa.String(length=255), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("client_type", sa.String(length=32), nullable=False),
        sa.Column("created_at", Utc(timezone=True), nullable=False),
        sa.Column("expires_at", Utc(timezone=True), nullable=False),
        sa.Column("used_at", Utc(timezone=True), nullable=True),
        sa.Column("client_id", sa.String(length=64), nullable=True),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"],
                                name=op.f("fk_jtl_connect_pins_tenant_id_tenants")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_jtl_connect_pins")),
        sa.UniqueConstraint("tenant_id", "id", name=op.f("uq_jtl_connect_pins_tenant_id_id")),
        sa.UniqueConstraint("tenant_id", "pin_hash",
                            name=op.f("uq_jtl_connect_pins_tenant_id_pin_hash")),
    )
    op.create_index(op.f("ix_jtl_connect_pins_pin_hash"), "jtl_connect_pins", ["pin_hash"])
    op.create_table(
        "jtl_client_types",
        sa.Column("tenant_id", sa.BigInteger(), nullable=False),
        sa.Column("client_id", sa.String(length=64), nullable=False),
        sa.Column("client_type", sa.String(length=32), nullable=False),
        sa.Column("tokens", sa.Integer(), nullable=False),
        sa.Column("first_seen_at", Utc(timezone=True), nullable=False),
        sa.Column("last_seen_at", Utc(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"],
                                name=op.f("fk_jtl_client_types_tenant_id_tenants")),
        sa.PrimaryKeyConstraint("tenant_id", "client_id", "client_type",
                                name=op.f("pk_jtl_client_types")),
    )


def downgrade() -> None:
    op.drop_table("jtl_client_types")
    op.drop_index(op.f("ix_jtl_connect_pins_pin_hash"), table_name="jtl_connect_pins")
    op.drop_table("jtl_connect_pins")
