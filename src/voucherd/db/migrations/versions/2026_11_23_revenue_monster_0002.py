"""revenue_monster: callbacks move to the engine's generic outbox deliveries

Revision ID: revenue_monster_0002
Revises: revenue_monster_0001
Create Date: 2026-11-23

``rm_deliveries`` and ``rm_delivery_attempts`` become rows of ``deliveries`` /
``delivery_attempts`` with subscriber ``rm_callback`` (ids kept); events the merchant's cursor
had not reached yet are marked undispatched so the new dispatcher delivers them.
``rm_merchants.last_event_id`` stays: it now means "subscribed after this event".
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import voucherd.db.types

revision: str = "revenue_monster_0002"
down_revision: str | Sequence[str] | None = "revenue_monster_0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = "core_0002_outbox"

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
Utc = voucherd.db.types.UtcDateTime

DELIVERY_COLUMNS = (
    "id, tenant_id, event_id, voucher_id, url, payload, status, attempts, next_attempt_at,"
    " locked_until, last_status_code, last_error, created_at, delivered_at"
)
ATTEMPT_COLUMNS = "id, tenant_id, delivery_id, attempt, status_code, error, created_at"


def _advance_sequence(table: str) -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            sa.text(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'),"  # noqa: S608
                f" COALESCE((SELECT max(id) FROM {table}), 0) + 1, false)"
            )
        )


def upgrade() -> None:
    op.execute(
        sa.text(
            "UPDATE events SET dispatched = :no WHERE EXISTS (SELECT 1 FROM rm_merchants m"
            " WHERE m.tenant_id = events.tenant_id AND m.callback_url IS NOT NULL"
            " AND events.id > m.last_event_id)"
        ).bindparams(no=False)
    )
    op.execute(
        f"INSERT INTO deliveries (subscriber, {DELIVERY_COLUMNS})"  # noqa: S608
        f" SELECT 'rm_callback', {DELIVERY_COLUMNS} FROM rm_deliveries"
    )
    op.execute(
        f"INSERT INTO delivery_attempts ({ATTEMPT_COLUMNS})"  # noqa: S608
        f" SELECT {ATTEMPT_COLUMNS} FROM rm_delivery_attempts"
    )
    _advance_sequence("deliveries")
    _advance_sequence("delivery_attempts")
    op.drop_table("rm_delivery_attempts")
    op.drop_table("rm_deliveries")


def downgrade() -> None:
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
    op.execute(
        f"INSERT INTO rm_deliveries ({DELIVERY_COLUMNS})"  # noqa: S608
        f" SELECT {DELIVERY_COLUMNS} FROM deliveries WHERE subscriber = 'rm_callback'"
        " AND voucher_id IS NOT NULL"
    )
    op.execute(
        f"INSERT INTO rm_delivery_attempts ({ATTEMPT_COLUMNS})"  # noqa: S608
        f" SELECT {ATTEMPT_COLUMNS} FROM delivery_attempts WHERE delivery_id IN"
        " (SELECT id FROM rm_deliveries)"
    )
    op.execute(
        "DELETE FROM delivery_attempts WHERE delivery_id IN (SELECT id FROM deliveries"
        " WHERE subscriber = 'rm_callback')"
    )
    op.execute("DELETE FROM deliveries WHERE subscriber = 'rm_callback'")
    _advance_sequence("rm_deliveries")
    _advance_sequence("rm_delivery_attempts")
    # The old scanner resumes after the last event the dispatcher had handled.
    op.execute(
        sa.text(
            "UPDATE rm_merchants SET last_event_id = COALESCE((SELECT max(e.id) FROM events e"
            " WHERE e.tenant_id = rm_merchants.tenant_id AND e.dispatched = :yes),"
            " last_event_id)"
        ).bindparams(yes=True)
    )
