"""The schema, as SQLAlchemy Core tables (the hot paths use Core, not the ORM).

Every table carries ``tenant_id`` and every unique key and foreign key includes it, so the
schema can be distributed by tenant (ARCHITECTURE.md section 4).
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    UniqueConstraint,
    false,
    text,
)

from voucherd.db.types import AuditJson, BigId, Json, UtcDateTime

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_N_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)


# Partial-index predicates, the same text in the migration that creates them (core_0008).
DUE_FOR_SWEEP = "status IN ('active', 'inactive') AND ends_at IS NOT NULL"
REFUNDS_ONLY = "refund_of IS NOT NULL"


def tenant_column() -> Column[int]:
    """The ``tenant_id`` every table carries (dialect tables use it too)."""
    return Column("tenant_id", BigInteger, ForeignKey("tenants.id"), nullable=False)


tenants = Table(
    "tenants",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("name", String(255), nullable=False),
    Column("settings", Json, nullable=False, default=dict),
    Column("created_at", UtcDateTime, nullable=False),
)

clients = Table(
    "clients",
    metadata,
    Column("id", String(64), primary_key=True),
    tenant_column(),
    Column("name", String(255), nullable=False),
    Column("secret_hash", String(255), nullable=False),
    Column("scopes", String(255), nullable=False),
    Column("kind", String(32), nullable=False, default="native"),
    Column("extra", Json, nullable=False, default=dict),
    Column("created_at", UtcDateTime, nullable=False),
    Column("revoked_at", UtcDateTime),
    UniqueConstraint("tenant_id", "id"),
)

customers = Table(
    "customers",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    tenant_column(),
    Column("external_ref", String(255)),
    Column("name", String(255)),
    Column("email", String(255)),
    Column("phone", String(64)),
    Column("metadata", Json, nullable=False, default=dict),
    Column("created_at", UtcDateTime, nullable=False),
    UniqueConstraint("tenant_id", "id"),
    UniqueConstraint("tenant_id", "external_ref"),
)


# Columns shared by a campaign (the template) and each voucher (the instance).
def _value_columns() -> list[Column[object]]:
    return [
        Column("kind", String(32), nullable=False),
        Column("currency", String(3)),
        Column("discount_amount", BigInteger),
        Column("discount_bps", Integer),
        Column("discount_cap", BigInteger),
        Column("min_spend", BigInteger),
        Column("gift_description", String(255)),
        Column("cashback_bps", Integer),
        Column("max_uses", Integer),
        Column("max_uses_per_customer", Integer),
        Column("starts_at", UtcDateTime),
        Column("ends_at", UtcDateTime),
        Column("validity_value", Integer),
        Column("validity_unit", String(16)),
        Column("medium", String(16), nullable=False, default="digital"),
        Column("taxable", Boolean, nullable=False, default=False),
        Column("tax_rate_bps", Integer),
        Column("metadata", Json, nullable=False, default=dict),
    ]


campaigns = Table(
    "campaigns",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    tenant_column(),
    Column("key", String(64), nullable=False),
    Column("name", String(255), nullable=False),
    Column("amount", BigInteger),  # initial balance of stored-value vouchers
    *_value_columns(),
    Column("code_charset", String(128), nullable=False),
    Column("code_length", Integer, nullable=False),
    Column("code_prefix", String(32), nullable=False, default=""),
    Column("code_suffix", String(32), nullable=False, default=""),
    Column("code_pattern", String(64)),
    Column("code_check_char", Boolean, nullable=False, default=False),
    Column("activate_on_create", Boolean, nullable=False, default=False),
    Column("created_at", UtcDateTime, nullable=False),
    UniqueConstraint("tenant_id", "id"),
    UniqueConstraint("tenant_id", "key"),
)

vouchers = Table(
    "vouchers",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    tenant_column(),
    Column("public_id", String(255), nullable=False),
    Column("code", String(64), nullable=False),
    Column("pin_hash", String(255)),
    Column("campaign_id", BigInteger),
    *_value_columns(),
    Column("status", String(16), nullable=False),
    Column("balance", BigInteger, nullable=False, default=0),
    Column("uses", Integer, nullable=False, default=0),
    Column("activated_at", UtcDateTime),
    Column("redeemed_at", UtcDateTime),
    Column("voided_at", UtcDateTime),
    Column("last_used_at", UtcDateTime),
    Column("holder_id", BigInteger),
    Column("claimed_at", UtcDateTime),
    Column("locked_until", UtcDateTime),
    Column("locking_code", String(255)),
    Column("lock_basket_code", String(255)),
    Column("hold_id", BigInteger),
    Column("hold_amount", BigInteger, nullable=False, default=0),
    Column("hold_expires_at", UtcDateTime),
    Column("order_number", String(255)),
    Column("sku", String(255)),
    Column("label", String(255)),
    Column("created_by", String(64)),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    Column("deleted_at", UtcDateTime),
    Column("delete_reason", String(255)),
    Column("version", Integer, nullable=False, default=1),
    CheckConstraint("balance >= 0", name="balance_not_negative"),
    CheckConstraint("uses >= 0", name="uses_not_negative"),
    CheckConstraint("hold_amount >= 0 AND hold_amount <= balance", name="hold_within_balance"),
    CheckConstraint("max_uses IS NULL OR uses <= max_uses", name="uses_within_limit"),
    UniqueConstraint("tenant_id", "id"),
    UniqueConstraint("tenant_id", "code"),
    UniqueConstraint("tenant_id", "public_id"),
    ForeignKeyConstraint(["tenant_id", "campaign_id"], ["campaigns.tenant_id", "campaigns.id"]),
    ForeignKeyConstraint(["tenant_id", "holder_id"], ["customers.tenant_id", "customers.id"]),
    Index(None, "tenant_id", "campaign_id"),
    # The sweep's due vouchers: only those it can still expire (a voucher without an end, or
    # one already ended, gets no entry; core_0008_bulk_keys).
    Index(
        None,
        "ends_at",
        postgresql_where=text(DUE_FOR_SWEEP),
        sqlite_where=text(DUE_FOR_SWEEP),
    ),
)

reservations = Table(
    "reservations",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    tenant_column(),
    Column("voucher_id", BigInteger, nullable=False),
    Column("amount", BigInteger, nullable=False),
    Column("currency", String(3)),
    Column("status", String(16), nullable=False),  # open captured released expired superseded
    Column("expires_at", UtcDateTime, nullable=False),
    Column("client_id", String(64)),
    Column("created_at", UtcDateTime, nullable=False),
    Column("closed_at", UtcDateTime),
    UniqueConstraint("tenant_id", "id"),
    ForeignKeyConstraint(["tenant_id", "voucher_id"], ["vouchers.tenant_id", "vouchers.id"]),
    Index(None, "status", "expires_at"),
    Index(None, "tenant_id", "voucher_id"),
)

ledger_entries = Table(
    "ledger_entries",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    # No foreign key of its own: (tenant_id, voucher_id) names a voucher of this tenant
    # (voucher_id is NOT NULL), and the voucher's tenant_id refers to tenants (core_0008).
    Column("tenant_id", BigInteger, nullable=False),
    Column("voucher_id", BigInteger, nullable=False),
    Column("kind", String(16), nullable=False),  # issue charge refund recharge
    Column("amount", BigInteger, nullable=False),  # signed change of the balance
    Column("currency", String(3)),
    Column("balance_after", BigInteger, nullable=False),
    Column("uses_delta", Integer, nullable=False, default=0),
    Column("uses_after", Integer, nullable=False, default=0),
    Column("value", BigInteger, nullable=False, default=0),
    Column("refund_of", BigInteger),
    Column("reservation_id", BigInteger),
    Column("order_number", String(255)),
    Column("customer_id", BigInteger),
    Column("client_id", String(64)),
    Column("created_at", UtcDateTime, nullable=False),
    CheckConstraint("balance_after >= 0", name="balance_after_not_negative"),
    UniqueConstraint("tenant_id", "id"),
    ForeignKeyConstraint(["tenant_id", "voucher_id"], ["vouchers.tenant_id", "vouchers.id"]),
    ForeignKeyConstraint(
        ["tenant_id", "refund_of"], ["ledger_entries.tenant_id", "ledger_entries.id"]
    ),
    Index(None, "tenant_id", "voucher_id", "id"),
    # Only the refunds: issues and charges (nearly every entry) have no refund_of.
    Index(
        None,
        "tenant_id",
        "refund_of",
        postgresql_where=text(REFUNDS_ONLY),
        sqlite_where=text(REFUNDS_ONLY),
    ),
)

events = Table(
    "events",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    tenant_column(),
    Column("voucher_id", BigInteger),
    Column("subject", String(32), nullable=False),  # voucher campaign client reservation ...
    Column("subject_id", String(255), nullable=False),
    Column("operation", String(32), nullable=False),
    Column("actor", String(128), nullable=False),
    Column("reason", Text),
    Column("before", AuditJson),
    Column("after", AuditJson),
    Column("created_at", UtcDateTime, nullable=False),
    # The outbox mark: false until ``services.outbox.dispatch`` has handed the event to every
    # subscriber. It commits with the event itself, so an event whose transaction commits
    # late is still pending when the dispatcher next looks; nothing is skipped by id order.
    Column("dispatched", Boolean, nullable=False, default=False, server_default=false()),
    # No UNIQUE (tenant_id, id): no foreign key refers to an event, and the primary key
    # already makes id unique (core_0008_bulk_keys).
    Index(None, "tenant_id", "voucher_id", "id"),
    Index(
        "ix_events_undispatched",
        "id",
        postgresql_where=text("NOT dispatched"),
        sqlite_where=text("dispatched = 0"),
    ),
)

# Per-event delivery state of the outbox: one row per (subscriber kind, event) that a
# subscriber wants sent ("rm_callback" today; native webhooks next), claimed and retried by
# that subscriber's sender.
deliveries = Table(
    "deliveries",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    tenant_column(),
    Column("subscriber", String(32), nullable=False),
    Column("event_id", BigInteger, nullable=False),
    Column("voucher_id", BigInteger),
    Column("url", String(1024), nullable=False),
    Column("payload", Text, nullable=False),
    Column("status", String(16), nullable=False),  # pending delivering delivered failed
    Column("attempts", Integer, nullable=False, default=0),
    Column("next_attempt_at", UtcDateTime, nullable=False),
    Column("locked_until", UtcDateTime),
    Column("last_status_code", Integer),
    Column("last_error", String(255)),
    Column("created_at", UtcDateTime, nullable=False),
    Column("delivered_at", UtcDateTime),
    UniqueConstraint("tenant_id", "id"),
    UniqueConstraint("tenant_id", "subscriber", "event_id"),
    Index(None, "subscriber", "status", "next_attempt_at"),
    Index(None, "status", "next_attempt_at"),
)

delivery_attempts = Table(
    "delivery_attempts",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    tenant_column(),
    Column("delivery_id", BigInteger, nullable=False),
    Column("attempt", Integer, nullable=False),
    Column("status_code", Integer),
    Column("error", String(255)),
    Column("created_at", UtcDateTime, nullable=False),
    ForeignKeyConstraint(["tenant_id", "delivery_id"], ["deliveries.tenant_id", "deliveries.id"]),
    Index(None, "tenant_id", "delivery_id"),
)

# Native webhook subscriptions (``services/webhooks.py``): their deliveries are outbox rows
# of subscriber ``webhook:<id>``. The secret signs payloads (Standard Webhooks), so it is kept,
# sealed under the key-encryption key (``db/sealed.py``).
webhooks = Table(
    "webhooks",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    tenant_column(),
    Column("url", String(1024), nullable=False),
    Column("event_types", Json, nullable=False),
    Column("secret", String(128), nullable=False),
    Column("description", String(255)),
    Column("created_at", UtcDateTime, nullable=False),
    Column("deleted_at", UtcDateTime),
    UniqueConstraint("tenant_id", "id"),
)

# Long jobs run by the worker (``services/jobs.py``): bulk generate and import.
jobs = Table(
    "jobs",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    tenant_column(),
    Column("kind", String(32), nullable=False),  # generate | import
    Column("campaign_id", BigInteger, nullable=False),
    Column("actor", String(128), nullable=False),
    Column("client_id", String(64)),
    Column("status", String(16), nullable=False),  # queued running succeeded failed
    Column("total", Integer, nullable=False),
    Column("done", Integer, nullable=False, default=0),
    Column("params", Text, nullable=False),  # JSON text (an import's codes)
    Column("result", Json),
    Column("errors", Json),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    Column("finished_at", UtcDateTime),
    UniqueConstraint("tenant_id", "id"),
    Index(None, "status", "id"),
)

idempotency_keys = Table(
    "idempotency_keys",
    metadata,
    tenant_column(),
    Column("client_id", String(64), nullable=False),
    Column("key", String(255), nullable=False),
    Column("request_hash", String(64), nullable=False),
    Column("state", String(16), nullable=False),  # in_flight | done
    Column("status_code", Integer),
    Column("body", Text),
    Column("created_at", UtcDateTime, nullable=False),
    Column("locked_until", UtcDateTime, nullable=False),
    Column("expires_at", UtcDateTime, nullable=False),
    PrimaryKeyConstraint("tenant_id", "client_id", "key"),
    Index(None, "expires_at"),
)

# Instance-wide secrets: the one table that belongs to no tenant. Its token-signing key was
# replaced by ``signing_keys`` (migration core_0006_keys removes it); nothing else uses it yet.
instance_secrets = Table(
    "instance_secrets",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("value", String(255), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
)

# Staff accounts of the merchant's dashboard (``services/staff.py``). An address names one
# user across the instance, so the login form needs no tenant.
staff_users = Table(
    "staff_users",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    tenant_column(),
    Column("email", String(254), nullable=False),
    Column("role", String(16), nullable=False),  # owner manager clerk auditor
    Column("password_hash", String(255), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("disabled_at", UtcDateTime),
    UniqueConstraint("tenant_id", "id"),
    UniqueConstraint("email"),
)

# Server-side sessions: the cookie carries a random token; only its SHA-256 is stored.
staff_sessions = Table(
    "staff_sessions",
    metadata,
    Column("id", String(64), primary_key=True),  # sha256(token), hex
    tenant_column(),
    Column("user_id", BigInteger, nullable=False),
    Column("csrf_token", String(64), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("expires_at", UtcDateTime, nullable=False),
    Column("revoked_at", UtcDateTime),
    ForeignKeyConstraint(["tenant_id", "user_id"], ["staff_users.tenant_id", "staff_users.id"]),
    Index(None, "tenant_id", "user_id"),
    Index(None, "expires_at"),
)


# --- issue 10 (abuse resistance): signing keys with ids --------------------------------------

# Access-token signing keys (``services/keys.py``), instance-wide like ``instance_secrets``.
# A token names its key in the JWT ``kid`` header; the newest key signs, older ones verify the
# tokens they signed until those expire; a revoked key verifies nothing. ``secret`` is sealed
# (``db/sealed.py``): the database alone cannot mint a token.
signing_keys = Table(
    "signing_keys",
    metadata,
    Column("kid", String(32), primary_key=True),
    Column("algorithm", String(16), nullable=False),
    Column("secret", Text, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("retired_at", UtcDateTime),  # a newer key signs since; this one still verifies
    Column("revoked_at", UtcDateTime),  # verifies nothing any more
)


# --- abuse resistance (issue 10): rate-limit counters, PIN lockouts, code policy -------------

# The counted failures of the rate limiter (``faces/limits.py``) when they live in the
# database: one row per failure and key, until it leaves the window (``expires_at``, Unix time
# in milliseconds); the ``limits`` library's moving window counts a key's live rows. No tenant:
# the keys are hashed client addresses and credentials (``db/limit_store.py``).
rate_limit_hits = Table(
    "rate_limit_hits",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("key", String(255), nullable=False),
    Column("expires_at", BigInteger, nullable=False),
    Index(None, "key", "expires_at"),
)

# Wrong voucher PINs in a row: written outside the refused operation's transaction (which rolls
# back), cleared by a right PIN or by ``voucherd voucher unlock-pin``.
voucher_pin_failures = Table(
    "voucher_pin_failures",
    metadata,
    Column("tenant_id", BigInteger, ForeignKey("tenants.id"), nullable=False),
    Column("voucher_id", BigInteger, nullable=False),
    Column("failures", Integer, nullable=False),
    Column("locked_until", UtcDateTime),
    Column("updated_at", UtcDateTime, nullable=False),
    PrimaryKeyConstraint("tenant_id", "voucher_id"),
)

# A campaign whose code space is below the 40-bit floor only because its printed stock carries
# a PIN: the PIN, not the code, carries the entropy (domain/codes.py ``ensure_entropy``).
campaigns.append_column(
    Column("pin_protected", Boolean, nullable=False, default=False, server_default=false())
)

# --- CSV import staging (``services/imports.py``, issue 12) -----------------------------------
# The rows of one CSV import while it runs, keyed by a random import id. They are written and
# read inside the import's one transaction and deleted before it commits, so the table is
# empty outside a running import (a refused or failed import rolls its rows back with it).
# Staging lets the database, not the process, hold a million rows: duplicate codes within the
# file and codes already in use are found by SQL, and the vouchers are inserted from here.
import_rows = Table(
    "import_rows",
    metadata,
    Column("import_id", String(32), nullable=False),
    Column("line", Integer, nullable=False),
    tenant_column(),
    Column("code", String(64), nullable=False),
    Column("public_id", String(255), nullable=False),
    Column("amount", BigInteger, nullable=False),
    Column("currency", String(3), nullable=False),
    Column("starts_at", UtcDateTime),
    Column("ends_at", UtcDateTime),
    PrimaryKeyConstraint("import_id", "line"),
    Index(None, "import_id", "code"),
)
