"""abuse resistance: signing keys with ids, secrets encrypted at rest (issue 10)

Creates ``signing_keys`` (JWT keys named by ``kid``, sealed), drops the old plaintext
token-signing key from ``instance_secrets`` (tokens signed with it stop verifying: clients
fetch a new one), and seals the stored secrets that were plain text: webhook secrets, RM's
server private keys and Shopee partner keys (the last two when their dialect's tables exist).
The downgrade opens them again and drops ``signing_keys``.

Sealing needs the key-encryption key: ``migrate.upgrade(engine, kek=...)`` passes it, else it
is read from the settings in the environment (``VOUCHERD_SECRET_KEY``, ``..._FILE``, or the
SQLite key file), and only when there is something to seal or open.

Revision ID: core_0006_keys
Revises: core_0005_limits
Create Date: 2026-11-30
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import sqlalchemy as sa
from alembic import context, op

import voucherd.db.types
from voucherd.db import sealed

revision: str = "core_0006_keys"
down_revision: str | Sequence[str] | None = "core_0005_limits"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

Utc = voucherd.db.types.UtcDateTime

# (table, key column, secret column): the place of each sealed value is "table.column:key".
SECRETS: tuple[tuple[str, str, str], ...] = (
    ("webhooks", "id", "secret"),
    ("rm_merchants", "tenant_id", "server_private_key_pem"),
    ("shopee_partners", "partner_id", "partner_key"),
)


def _kek_loader() -> Callable[[], bytes]:
    found: list[bytes] = []

    def kek() -> bytes:
        if not found:
            given = context.config.attributes.get("kek")
            if given is None:
                given = sealed.kek_for(sealed.url_of(op.get_bind().engine.url))
            found.append(given)
        return found[0]

    return kek


def _convert(seal: bool) -> None:
    bind = op.get_bind()
    present = set(sa.inspect(bind).get_table_names())
    kek = _kek_loader()
    for table_name, key_name, column_name in SECRETS:
        if table_name not in present:
            continue
        table = sa.table(table_name, sa.column(key_name), sa.column(column_name, sa.Text))
        key, column = table.c[key_name], table.c[column_name]
        for row_key, value in bind.execute(sa.select(key, column)).all():
            if value is None or sealed.is_sealed(value) == seal:
                continue
            where = f"{table_name}.{column_name}:{row_key}"
            new = sealed.seal(kek(), value, where) if seal else sealed.unseal(kek(), value, where)
            bind.execute(sa.update(table).where(key == row_key).values({column_name: new}))


def upgrade() -> None:
    op.create_table(
        "signing_keys",
        sa.Column("kid", sa.String(length=32), nullable=False),
        sa.Column("algorithm", sa.String(length=16), nullable=False),
        sa.Column("secret", sa.Text(), nullable=False),
        sa.Column("created_at", Utc(timezone=True), nullable=False),
        sa.Column("retired_at", Utc(timezone=True), nullable=True),
        sa.Column("revoked_at", Utc(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("kid", name=op.f("pk_signing_keys")),
    )
    instance_secrets = sa.table("instance_secrets", sa.column("name"))
    op.execute(sa.delete(instance_secrets).where(instance_secrets.c.name == "token_key"))
    _convert(seal=True)


def downgrade() -> None:
    _convert(seal=False)
    op.drop_table("signing_keys")
