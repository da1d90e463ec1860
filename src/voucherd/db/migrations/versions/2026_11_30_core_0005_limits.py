"""abuse resistance: rate-limit counters, PIN lockouts (issue 10)

Reserved in the chain so that parallel work does not fork the history; filled by that work.

Revision ID: core_0005_limits
Revises: core_0004_staff
Create Date: 2026-11-30
"""

from __future__ import annotations

from collections.abc import Sequence

revision: str = "core_0005_limits"
down_revision: str | Sequence[str] | None = "core_0004_staff"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
