"""imports: the staging table of CSV voucher imports (issue 12)

Rows live here only inside an import's transaction (``services/imports.py``).

Revision ID: core_0007_imports
Revises: core_0006_keys
Create Date: 2026-11-30
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import voucherd.db.types

revision: str = "core_0007_imports"
down_revision: str | Sequence[str] | None = "core_0006_keys"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

Utc = voucherd.db.types.UtcDateTime


def upgrade() -> None:
    op.create_table(
        "import_rows",
        sa.Column("import_id", sa.String(length=32), nullable=False),
        sa.Column("line", sa.Integer(), nullable=False),
        sa.Column("tenant_id", sa.BigInteger(), nullable=False),
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("public_id", sa.String(length=255), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("starts_at", Utc(timezone=True), nullable=True),
        sa.Column("ends_at", Utc(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_import_rows_tenant_id_tenants")
        ),
        sa.PrimaryKeyConstraint("import_id", "line", name=op.f("pk_import_rows")),
    )
    op.create_index(
        op.f("ix_import_rows_import_id_code"), "import_rows", ["import_id", "code"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_import_rows_import_id_code"), table_name="import_rows")
    op.drop_table("import_rows")
