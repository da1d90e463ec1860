"""jtl: connect PIN attempts (issue 10)

Reserved in the chain so that parallel work does not fork the history; filled by that work.

Revision ID: jtl_0002
Revises: jtl_0001
Create Date: 2026-11-30
"""

from __future__ import annotations

from collections.abc import Sequence

revision: str = "jtl_0002"
down_revision: str | Sequence[str] | None = "jtl_0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = 'core_0005_limits'


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
