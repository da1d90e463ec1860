"""worker: native webhook subscriptions, long jobs, deliveries due by status

Revision ID: core_0003_worker
Revises: core_0002_outbox
Create Date: 2026-11-24
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import voucherd.db.types

revision: str = "core_0003_worker"
down_revision: str | Sequence[str] | None = "core_0002_outbox"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
Utc = voucherd.db.types.UtcDateTime
Json = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def upgrade() -> None:
    op.create_table(
        "webhooks",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("tenant_id", sa.BigInteger(), nullable=False),
        sa.Column("url", sa.String(length=1024), nullable=False),
        sa.Column("event_types", Json, nullable=False),
        sa.Column("secret", sa.String(length=128), nullable=False),
        sa.Column("description", sa.String(length=255), nullable=True),
        sa.Column("created_at", Utc(timezone=True), nullable=False),
        sa.Column("deleted_at", Utc(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_webhooks_tenant_id_tenants")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webhooks")),
        sa.UniqueConstraint("tenant_id", "id", name=op.f("uq_webhooks_tenant_id_id")),
    )
    op.create_table(
        "jobs",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("tenant_id", sa.BigInteger(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("campaign_id", sa.BigInteger(), nullable=False),
        sa.Column("actor", sa.String(length=128), nullable=False),
        sa.Column("client_id", sa.String(length=64), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("total", sa.Integer(), nullable=False),
        sa.Column("done", sa.Integer(), nullable=False),
        sa.Column("params", sa.Text(), nullable=False),
        sa.Column("result", Json, nullable=True),
        sa.Column("errors", Json, nullable=True),
        sa.Column("created_at", Utc(timezone=True), nullable=False),
        sa.Column("updated_at", Utc(timezone=True), nullable=False),
        sa.Column("finished_at", Utc(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_jobs_tenant_id_tenants")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_jobs")),
        sa.UniqueConstraint("tenant_id", "id", name=op.f("uq_jobs_tenant_id_id")),
    )
    op.create_index(op.f("ix_jobs_status_id"), "jobs", ["status", "id"])
    op.create_index(
        op.f("ix_deliveries_status_next_attempt_at"), "deliveries", ["status", "next_attempt_at"]
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_deliveries_status_next_attempt_at"), table_name="deliveries")
    op.drop_table("jobs")
    op.drop_table("webhooks")
