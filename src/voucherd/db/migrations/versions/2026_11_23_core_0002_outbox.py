"""outbox: a dispatched mark on every event, and generic per-event delivery state

Revision ID: core_0002_outbox
Revises: 0001
Create Date: 2026-11-23
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import voucherd.db.types

revision: str = "core_0002_outbox"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
Utc = voucherd.db.types.UtcDateTime


def upgrade() -> None:
    with op.batch_alter_table("events") as batch_op:
        batch_op.add_column(
            sa.Column("dispatched", sa.Boolean(), nullable=False, server_default=sa.false())
        )
    # Events written before the outbox existed were handled by the old cursors (a dialect
    # branch re-opens what its cursor had not reached yet).
    op.execute(sa.text("UPDATE events SET dispatched = :yes").bindparams(yes=True))
    op.create_index(
        "ix_events_undispatched",
        "events",
        ["id"],
        postgresql_where=sa.text("NOT dispatched"),
        sqlite_where=sa.text("dispatched = 0"),
    )
    op.create_table(
        "deliveries",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("tenant_id", sa.BigInteger(), nullable=False),
        sa.Column("subscriber", sa.String(length=32), nullable=False),
        sa.Column("event_id", sa.BigInteger(), nullable=False),
        sa.Column("voucher_id", sa.BigInteger(), nullable=True),
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
            ["tenant_id"], ["tenants.id"], name=op.f("fk_deliveries_tenant_id_tenants")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_deliveries")),
        sa.UniqueConstraint("tenant_id", "id", name=op.f("uq_deliveries_tenant_id_id")),
        sa.UniqueConstraint(
            "tenant_id",
            "subscriber",
            "event_id",
            name=op.f("uq_deliveries_tenant_id_subscriber_event_id"),
        ),
    )
    op.create_index(
        op.f("ix_deliveries_subscriber_status_next_attempt_at"),
        "deliveries",
        ["subscriber", "status", "next_attempt_at"],
    )
    op.create_table(
        "delivery_attempts",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("tenant_id", sa.BigInteger(), nullable=False),
        sa.Column("delivery_id", sa.BigInteger(), nullable=False),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=True),
        sa.Column("error", sa.String(length=255), nullable=True),
        sa.Column("created_at", Utc(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_delivery_attempts_tenant_id_tenants")
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "delivery_id"],
            ["deliveries.tenant_id", "deliveries.id"],
            name=op.f("fk_delivery_attempts_tenant_id_delivery_id_deliveries"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_delivery_attempts")),
    )
    op.create_index(
        op.f("ix_delivery_attempts_tenant_id_delivery_id"),
        "delivery_attempts",
        ["tenant_id", "delivery_id"],
    )


def downgrade() -> None:
    op.drop_table("delivery_attempts")
    op.drop_table("deliveries")
    op.drop_index("ix_events_undispatched", table_name="events")
    with op.batch_alter_table("events") as batch_op:
        batch_op.drop_column("dispatched")
