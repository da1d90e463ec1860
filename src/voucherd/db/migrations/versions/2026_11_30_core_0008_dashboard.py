"""dashboard: staff administration (issue 12)

Reserved in the chain so that parallel work does not fork the history; filled by that work.

Revision ID: core_0008_dashboard
Revises: core_0007_imports
Create Date: 2026-11-30
"""

from __future__ import annotations

from collections.abc import Sequence

revision: str = "core_0008_dashboard"
down_revision: str | Sequence[str] | None = "core_0007_imports"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
