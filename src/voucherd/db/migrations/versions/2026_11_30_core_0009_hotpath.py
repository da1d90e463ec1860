"""hot path: fewer indexes and triggers (issue 13)

Reserved in the chain so that parallel work does not fork the history; filled by that work.

Revision ID: core_0009_hotpath
Revises: core_0008_dashboard
Create Date: 2026-11-30
"""

from __future__ import annotations

from collections.abc import Sequence

revision: str = "core_0009_hotpath"
down_revision: str | Sequence[str] | None = "core_0008_dashboard"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
