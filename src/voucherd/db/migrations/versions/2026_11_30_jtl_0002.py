"""jtl: connect PIN attempts (issue 10)

A connect PIN dies after ``jtl_pin_max_failures`` wrong PINs while it was live.

Revision ID: jtl_0002
Revises: jtl_0001
Create Date: 2026-11-30
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "jtl_0002"
down_revision: str | Sequence[str] | None = "jtl_0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = "core_0005_limits"


def upgrade() -> None:
    with op.batch_alter_table("jtl_connect_pins") as batch:
        batch.add_column(sa.Column("failures", sa.Integer(), nullable=False, server_default="0"))


def downgrade() -> None:
    with op.batch_alter_table("jtl_connect_pins") as batch:
        batch.drop_column("failures")
