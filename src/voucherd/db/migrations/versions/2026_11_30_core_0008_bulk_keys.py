"""bulk keys: fewer index entries and foreign-key triggers per voucher, entry and event (issue 13)

Every generated voucher writes a voucher row, an issue entry and a create event; every swept
voucher rewrites its row and writes an expire event. This revision removes the per-row work
that protects nothing another key does not already protect:

- ``uq_events_tenant_id_id``: the primary key already makes ``id`` unique and no foreign key
  refers to ``(tenant_id, id)`` of an event; one index entry less for every event.
- ``fk_ledger_entries_tenant_id_tenants``: ``voucher_id`` is NOT NULL and
  ``(tenant_id, voucher_id)`` must name a voucher of that tenant, whose own ``tenant_id``
  refers to ``tenants``; one trigger less for every ledger entry. (``events.voucher_id`` may be
  NULL and has no composite key, so the events keep their tenant key.)
- ``ix_ledger_entries_tenant_id_refund_of`` only over the entries that refund another
  (``refund_of IS NOT NULL``): the lookups by ``refund_of = x`` and the foreign key's own
  check still find them; issues and charges, nearly all entries, get no entry in it.
- ``ix_vouchers_status_ends_at`` becomes ``ix_vouchers_ends_at`` over the vouchers the sweep
  can still expire (``status IN ('active', 'inactive') AND ends_at IS NOT NULL``): a voucher
  without an end, or already ended, has no entry in it (its only user is the sweep's
  selection of due vouchers, which states that condition).

Revision ID: core_0008_bulk_keys
Revises: core_0007_imports
Create Date: 2026-11-30
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "core_0008_bulk_keys"
down_revision: str | Sequence[str] | None = "core_0007_imports"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

DUE = "status IN ('active', 'inactive') AND ends_at IS NOT NULL"
REFUNDS = "refund_of IS NOT NULL"


def upgrade() -> None:
    with op.batch_alter_table("events") as batch:
        batch.drop_constraint("uq_events_tenant_id_id", type_="unique")
    with op.batch_alter_table("ledger_entries") as batch:
        batch.drop_constraint("fk_ledger_entries_tenant_id_tenants", type_="foreignkey")
        batch.drop_index("ix_ledger_entries_tenant_id_refund_of")
    op.create_index(
        "ix_ledger_entries_tenant_id_refund_of",
        "ledger_entries",
        ["tenant_id", "refund_of"],
        postgresql_where=sa.text(REFUNDS),
        sqlite_where=sa.text(REFUNDS),
    )
    op.drop_index("ix_vouchers_status_ends_at", table_name="vouchers")
    op.create_index(
        "ix_vouchers_ends_at",
        "vouchers",
        ["ends_at"],
        postgresql_where=sa.text(DUE),
        sqlite_where=sa.text(DUE),
    )


def downgrade() -> None:
    op.drop_index("ix_vouchers_ends_at", table_name="vouchers")
    op.create_index("ix_vouchers_status_ends_at", "vouchers", ["status", "ends_at"])
    op.drop_index("ix_ledger_entries_tenant_id_refund_of", table_name="ledger_entries")
    with op.batch_alter_table("ledger_entries") as batch:
        batch.create_foreign_key(
            "fk_ledger_entries_tenant_id_tenants", "tenants", ["tenant_id"], ["id"]
        )
    op.create_index(
        "ix_ledger_entries_tenant_id_refund_of", "ledger_entries", ["tenant_id", "refund_of"]
    )
    with op.batch_alter_table("events") as batch:
        batch.create_unique_constraint("uq_events_tenant_id_id", ["tenant_id", "id"])
