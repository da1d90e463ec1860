"""abuse resistance: signing keys with ids, secrets encrypted at rest (issue 10)

Reserved in the chain so that parallel work does not fork the history; filled by that work.

Revision ID: core_0006_keys
Revises: core_0005_limits
Create Date: 2026-11-30
"""

from __future__ import annotations

from collections.abc import Sequence

revision: str = "core_0006_keys"
down_revision: str | Sequence[str] | None = "core_0005_limits"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
