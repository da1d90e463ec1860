"""abuse resistance: rate-limit hits, PIN lockouts, PIN-protected campaigns (issue 10)

Revision ID: core_0005_limits
Revises: core_0004_staff
Create Date: 2026-11-30
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import voucherd.db.types

revision: str = "core_0005_limits"
down_revision: str | Sequence[str] | None = "core_0004_staff"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
Utc = voucherd.db.types.UtcDateTime


def upgrade() -> None:
    op.create_table(
        "rate_limit_hits",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("key", sa.String(length=255), nullable=False),
        sa.Column("expires_at", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rate_limit_hits")),
    )
    op.create_index(
        op.f("ix_rate_limit_hits_key_expires_at"), "rate_limit_hits", ["key", "expires_at"]
    )
    op.create_table(
        "voucher_pin_failures",
        sa.Column("tenant_id", sa.BigInteger(), nullable=False),
        sa.Column("voucher_id", sa.BigInteger(), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("locked_until", Utc(timezone=True), nullable=True),
        sa.Column("updated_at", Utc(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_voucher_pin_failures_tenant_id_tenants")
        ),
        sa.PrimaryKeyConstraint("tenant_id", "voucher_id", name=op.f("pk_voucher_pin_failures")),
    )
    with op.batch_alter_table("campaigns") as batch:
        batch.add_column(
            sa.Column("pin_protected", sa.Boolean(), nullable=False, server_default=sa.false())
        )


def downgrade() -> None:
    with op.batch_alter_table("campaigns") as batch:
        batch.drop_column("pin_protected")
    op.drop_table("voucher_pin_failures")
    op.drop_index(op.f("ix_rate_limit_hits_key_expires_at"), table_name="rate_limit_hits")
    op.drop_table("rate_limit_hits")
