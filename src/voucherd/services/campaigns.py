"""Campaigns (batches): a voucher template plus code settings; bulk generation and import."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import Connection, bindparam, insert, select, text
from sqlalchemy.exc import IntegrityError

from voucherd.db import repositories as repo
from voucherd.db.projections import unissued_sql
from voucherd.db.tables import campaigns, events, ledger_entries, vouchers
from voucherd.domain import codes, errors
from voucherd.domain import vouchers as rules
from voucherd.domain.lifecycle import VoucherStatus
from voucherd.domain.vouchers import ValidityUnit, ValueKind
from voucherd.services import code_policy, hashing
from voucherd.services import vouchers as voucher_service
from voucherd.services.changes import VoucherRef, record_event
from voucherd.services.unit_of_work import Actor, UnitOfWork
from voucherd.services.vouchers import NewVoucher, row_values, validate

BACKSLASH = "\\"
TEMPLATE_FIELDS = (
    "kind",
    "currency",
    "discount_amount",
    "discount_bps",
    "discount_cap",
    "min_spend",
    "gift_description",
    "cashback_bps",
    "max_uses",
    "max_uses_per_customer",
    "starts_at",
    "ends_at",
    "validity_value",
    "validity_unit",
    "medium",
    "taxable",
    "tax_rate_bps",
    "metadata",
)


def create(
    uow: UnitOfWork,
    actor: Actor,
    *,
    name: str,
    template: NewVoucher,
    code_spec: codes.CodeSpec | None = None,
    key: str | None = None,
    activate_on_create: bool = False,
    pin_protected: bool = False,
) -> repo.Row:
    """Raises: ValidationFailed, DuplicateId (key taken), CodeSpaceTooSmall (under 40 bits
    of entropy and not ``pin_protected``: printed stock whose PIN carries the entropy)."""
    validate(template)
    spec = code_spec or codes.CodeSpec()
    spec.ensure_entropy(pin_protected)
    key = key or "cmp_" + hashing.random_id(16, "0123456789abcdefghijklmnopqrstuvwxyz")
    if repo.find_campaign(uow.conn, actor.tenant_id, key=key) is not None:
        raise errors.DuplicateId("a campaign with this key exists", field="key")
    values = {name_: getattr(template, name_) for name_ in TEMPLATE_FIELDS}
    values["kind"] = template.kind.value
    values["validity_unit"] = template.validity_unit.value if template.validity_unit else None
    values["metadata"] = dict(template.metadata)
    row = (
        uow.conn.execute(
            insert(campaigns)
            .values(
                tenant_id=actor.tenant_id,
                key=key,
                name=name,
                amount=template.amount,
                code_charset=spec.charset,
                code_length=spec.length,
                code_prefix=spec.prefix,
                code_suffix=spec.suffix,
                code_pattern=spec.pattern,
                code_check_char=spec.check_char,
                activate_on_create=activate_on_create,
                pin_protected=pin_protected,
                created_at=uow.now,
                **values,
            )
            .returning(*campaigns.c)
        )
        .mappings()
        .one()
    )
    record_event(
        uow,
        actor,
        operation="create",
        subject="campaign",
        subject_id=key,
        after={"name": name, "kind": template.kind.value, "pin_protected": pin_protected},
    )
    code_policy.forget(actor.tenant_id)
    return row


def get(
    uow: UnitOfWork, actor: Actor, *, id: int | None = None, key: str | None = None
) -> repo.Row:
    row = repo.find_campaign(uow.conn, actor.tenant_id, id=id, key=key)
    if row is None:
        raise errors.NotFound("campaign", id or key)
    return row


def code_spec(row: repo.Row) -> codes.CodeSpec:
    return codes.CodeSpec(
        charset=row["code_charset"],
        length=row["code_length"],
        prefix=row["code_prefix"],
        suffix=row["code_suffix"],
        pattern=row["code_pattern"],
        check_char=row["code_check_char"],
    )


def template(row: repo.Row) -> NewVoucher:
    fields = {name: row[name] for name in TEMPLATE_FIELDS}
    fields["kind"] = ValueKind(row["kind"])
    fields["validity_unit"] = ValidityUnit(row["validity_unit"]) if row["validity_unit"] else None
    return NewVoucher(
        amount=row["amount"], campaign_id=row["id"], active=row["activate_on_create"], **fields
    )


def _base_values(row: repo.Row, actor: Actor, now: datetime) -> dict[str, Any]:
    spec = template(row)
    validate(spec)
    values = row_values(spec, actor, now)
    if spec.active:
        state = repo.voucher_state(
            {
                **values,
                "id": 0,
                "locked_until": None,
                "locking_code": None,
                "hold_id": None,
                "hold_expires_at": None,
            }
        )
        change = rules.activate(state, now)
        values.update(change.updates)
        values["status"] = VoucherStatus.ACTIVE.value
    values["status"] = str(values["status"])
    return values


Progress = Callable[[int], None]
# Vouchers written in one call (generate, CSV or custom-code import) from which statistics are
# refreshed: of ``vouchers`` before the write (``statistics_before``), of the three written
# tables before commit (``statistics_after``).
BULK_ANALYZE = 10_000


def generate(
    uow: UnitOfWork,
    actor: Actor,
    campaign_id: int,
    count: int,
    *,
    progress: Progress | None = None,
    chunk_size: int = 50_000,
) -> int:
    """Create ``count`` vouchers with fresh random codes, all in this one transaction.

    Raises: NotFound, ValidationFailed, CodeSpaceTooSmall.
    """
    if not 1 <= count <= 10_000_000:
        raise errors.ValidationFailed("count must be between 1 and 10000000", field="count")
    row = get(uow, actor, id=campaign_id)
    spec = code_spec(row)
    spec.ensure_room(count, repo.campaign_voucher_count(uow.conn, actor.tenant_id, row["id"]))
    base = _base_values(row, actor, uow.now)
    before = statistics_before(uow, count)
    generator = spec.generate(count * 4)
    created, misses = 0, 0
    while created < count:
        wanted = min(chunk_size, count - created)
        # A code drawn twice within a chunk is staged once (the fast path below would otherwise
        # fail on it); the loop draws again for whatever the chunk did not create.
        drawn = list(dict.fromkeys(next(generator) for _ in range(wanted)))
        batch = list(zip(drawn, hashing.random_ids(len(drawn)), strict=True))
        inserted = _insert_batch(uow, actor, base, batch)
        created += inserted
        misses = misses + 1 if inserted == 0 else 0
        if misses > 3:
            raise errors.CodeSpaceTooSmall("no free codes left in this campaign's code space")
        if progress:
            progress(inserted)
    statistics_after(uow, created, created if base["balance"] else 0, before)
    record_event(
        uow,
        actor,
        operation="generate",
        subject="campaign",
        subject_id=row["key"],
        after={"count": created},
    )
    return created


GENERATED_TABLES = ("vouchers", "ledger_entries", "events")
COARSE_STATISTICS_TARGET = 10  # ANALYZE samples 300 rows per unit: 3,000 rows, not 30,000


def _estimated_rows(uow: UnitOfWork) -> dict[str, float]:
    """The planner's row counts of the tables a generate writes (a table never analyzed: 0)."""
    rows = uow.conn.execute(
        text("SELECT relname, reltuples FROM pg_class WHERE oid = ANY(CAST(:names AS regclass[]))"),
        {"names": list(GENERATED_TABLES)},
    )
    return {name: max(float(count), 0.0) for name, count in rows}


def statistics_before(uow: UnitOfWork, count: int) -> dict[str, float]:
    """Before ``count`` new vouchers (each with a ledger entry) are written in bulk on
    PostgreSQL: fresh statistics for ``vouchers``, which also drop the plans this connection
    cached on old ones; returns the tables' sizes, what ``statistics_after`` compares with.

    Why: the foreign-key check of every ledger entry (``(tenant_id, voucher_id) -> vouchers``)
    is planned once per connection and kept. Planned while ``vouchers`` looked empty, every
    index starting with ``tenant_id`` costs the same as the primary key, the smallest wins
    (``(tenant_id, campaign_id)``), and each check then reads all of the tenant's vouchers:
    a 100,000-row import after a 10,000-row one ran for minutes instead of seconds.
    """
    if uow.conn.dialect.name != "postgresql" or count < BULK_ANALYZE:
        return {}
    uow.conn.execute(text("ANALYZE vouchers"))
    return _estimated_rows(uow)


def statistics_after(
    uow: UnitOfWork, vouchers_written: int, entries_written: int, before: Mapping[str, float]
) -> None:
    """After a bulk write of vouchers, each with its create event (and ``entries_written``
    ledger entries): fresh statistics for the three tables, on PostgreSQL past BULK_ANALYZE."""
    if uow.conn.dialect.name != "postgresql" or vouchers_written < BULK_ANALYZE:
        return
    written = {
        "vouchers": vouchers_written,
        "ledger_entries": entries_written,
        "events": vouchers_written,
    }
    _refresh_statistics_after(uow, written, before)


def _refresh_statistics_after(
    uow: UnitOfWork, written: Mapping[str, int], before: Mapping[str, float]
) -> None:
    """Fresh statistics for the rows just written (ANALYZE counts this transaction's own
    uncommitted rows): without them the planner takes the new events for a handful of rows,
    and `voucherd verify`'s per-voucher checks, run before autovacuum gets there, chose a
    nested anti join that ran for minutes at 200,000.

    A table the generate at least doubled gets a coarse sample: what the planner lacked is
    its size, and autovacuum analyzes it in full soon after the commit (more than its 10% of
    the table changed). The full sample of the three tables took 0.4 s of the backend's CPU at
    200,000 and over a second waiting for pages at high load, the coarse one a tenth. A table
    that grew by less keeps its full sample: autovacuum may not come back to it for long.
    """
    conn = uow.conn
    grown = [t for t in GENERATED_TABLES if written[t] and written[t] >= before.get(t, 0.0)]
    rest = [t for t in GENERATED_TABLES if written[t] and t not in grown]
    if rest:
        conn.execute(text(f"ANALYZE {', '.join(rest)}"))
    if grown:
        target = conn.execute(text("SELECT current_setting('default_statistics_target')")).scalar()
        conn.execute(
            text("SELECT set_config('default_statistics_target', :value, true)"),
            {"value": str(COARSE_STATISTICS_TARGET)},
        )
        conn.execute(text(f"ANALYZE {', '.join(grown)}"))
        conn.execute(
            text("SELECT set_config('default_statistics_target', :value, true)"),
            {"value": str(target)},
        )


def import_codes(
    uow: UnitOfWork,
    actor: Actor,
    campaign_id: int,
    custom_codes: Iterable[str],
    *,
    progress: Progress | None = None,
) -> int:
    """Create one voucher per given code; any duplicate aborts the whole import.

    Raises: NotFound, ValidationFailed, DuplicateCode.
    """
    row = get(uow, actor, id=campaign_id)
    base = _base_values(row, actor, uow.now)
    normalized = [codes.validate_custom(code) for code in custom_codes]
    if len(set(normalized)) != len(normalized):
        raise errors.DuplicateCode("the import lists a code twice", field="codes")
    batch = list(zip(normalized, hashing.random_ids(len(normalized)), strict=True))
    before = statistics_before(uow, len(batch))
    inserted = 0
    for start in range(0, len(batch), 50_000):
        part = batch[start : start + 50_000]
        done = _insert_batch(uow, actor, base, part)
        if done != len(part):
            raise errors.DuplicateCode("some of these codes are already in use", field="codes")
        inserted += done
        if progress:
            progress(done)
    statistics_after(uow, inserted, inserted if base["balance"] else 0, before)
    record_event(
        uow,
        actor,
        operation="import",
        subject="campaign",
        subject_id=row["key"],
        after={"count": inserted},
    )
    return inserted


def _insert_batch(
    uow: UnitOfWork, actor: Actor, base: Mapping[str, Any], batch: Sequence[tuple[str, str]]
) -> int:
    if uow.conn.dialect.name == "postgresql":
        return _insert_batch_postgres(uow.conn, actor, base, batch)
    return _insert_batch_generic(uow.conn, actor, base, batch)


def _entry(actor: Actor, voucher_id: int, base: Mapping[str, Any]) -> dict[str, Any]:
    balance = base["balance"]
    return {
        "tenant_id": actor.tenant_id,
        "voucher_id": voucher_id,
        "kind": "issue",
        "amount": balance,
        "currency": base["currency"],
        "balance_after": balance,
        "uses_delta": 0,
        "uses_after": 0,
        "value": balance,
        "client_id": actor.client_id,
        "created_at": base["created_at"],
    }


def _event(
    actor: Actor, voucher_id: int, public_id: str, base: Mapping[str, Any]
) -> dict[str, Any]:
    return {
        "tenant_id": actor.tenant_id,
        "voucher_id": voucher_id,
        "subject": "voucher",
        "subject_id": public_id,
        "operation": "create",
        "actor": actor.name,
        "reason": None,
        "before": {},
        "after": {"status": base["status"], "campaign_id": base["campaign_id"]},
        "created_at": base["created_at"],
    }


def _insert_batch_generic(
    conn: Connection, actor: Actor, base: Mapping[str, Any], batch: Sequence[tuple[str, str]]
) -> int:
    rows = [{**base, "code": code, "public_id": public_id} for code, public_id in batch]
    conn.execute(repo.insert_ignore(conn, vouchers), rows)
    created: list[tuple[int, str]] = []
    public_ids = [public_id for _, public_id in batch]
    for start in range(0, len(public_ids), 500):
        query = select(vouchers.c.id, vouchers.c.public_id).where(
            vouchers.c.tenant_id == actor.tenant_id,
            vouchers.c.public_id.in_(public_ids[start : start + 500]),
        )
        created.extend((r.id, r.public_id) for r in conn.execute(query))
    if not created:
        return 0
    if base["balance"]:
        conn.execute(insert(ledger_entries), [_entry(actor, vid, base) for vid, _ in created])
    conn.execute(insert(events), [_event(actor, vid, pid, base) for vid, pid in created])
    return len(created)


def _insert_batch_postgres(
    conn: Connection, actor: Actor, base: Mapping[str, Any], batch: Sequence[tuple[str, str]]
) -> int:
    """COPY into a staging table, then one statement inserts vouchers, entries and events."""
    conn.execute(
        text(
            "CREATE TEMP TABLE IF NOT EXISTS voucher_stage (code text, public_id text)"
            " ON COMMIT DROP"
        )
    )
    conn.execute(text("TRUNCATE voucher_stage"))
    raw = conn.connection.driver_connection
    assert raw is not None
    with (
        raw.cursor() as cursor,
        cursor.copy("COPY voucher_stage (code, public_id) FROM STDIN") as copy,
    ):
        # One write of COPY text per chunk (row by row costs seconds per million). Codes hold
        # no white space after normalisation; a backslash is COPY's escape, so it is doubled.
        copy.write(
            "".join(
                f"{code.replace(BACKSLASH, BACKSLASH * 2)}\t{public_id}\n"
                for code, public_id in batch
            )
        )
    columns = [c for c in base if c not in ("code", "public_id")]
    params = {
        **{f"p_{c}": base[c] for c in columns},
        "client_id": actor.client_id,
        "actor": actor.name,
        "after": orjson.dumps(
            {"status": base["status"], "campaign_id": base["campaign_id"]}
        ).decode(),
    }
    # Fast path: a plain INSERT (ON CONFLICT's speculative insertion checks every unique index
    # twice: a quarter of the vouchers' cost). A code taken meanwhile (by an earlier chunk, an
    # earlier generate or a concurrent one) fails the chunk's savepoint instead; the chunk is
    # then retried with ON CONFLICT DO NOTHING and the caller draws codes for what is missing.
    savepoint = conn.begin_nested()
    try:
        inserted = conn.execute(_chunk_statement(columns, base, conflict=False), params).rowcount
        savepoint.commit()
    except IntegrityError:
        savepoint.rollback()
        inserted = conn.execute(_chunk_statement(columns, base, conflict=True), params).rowcount
    return int(inserted)


def _chunk_statement(columns: Sequence[str], base: Mapping[str, Any], *, conflict: bool) -> Any:
    """Vouchers from the staged codes, with their issue entries and create events, in one
    statement (one event and, with a balance, one ledger entry per voucher)."""
    select_list = ", ".join(f":p_{c}" for c in columns)
    on_conflict = "ON CONFLICT DO NOTHING" if conflict else ""
    # Column names come from our own table definition, never from input.
    sql = f"""
        WITH ins AS (
            INSERT INTO vouchers ({", ".join(columns)}, code, public_id)
            SELECT {select_list}, s.code, s.public_id FROM voucher_stage s
            {on_conflict}
            RETURNING id, public_id, balance
        ), led AS (
            INSERT INTO ledger_entries (tenant_id, voucher_id, kind, amount, currency,
                balance_after, uses_delta, uses_after, value, client_id, created_at)
            SELECT :p_tenant_id, id, 'issue', balance, :p_currency, balance, 0, 0, balance,
                :client_id, :p_created_at FROM ins WHERE balance > 0
        )
        INSERT INTO events (tenant_id, voucher_id, subject, subject_id, operation, actor,
            before, after, created_at)
        SELECT :p_tenant_id, id, 'voucher', public_id, 'create', :actor, '{{}}'::jsonb,
            CAST(:after AS jsonb), :p_created_at FROM ins
    """  # noqa: S608
    return text(sql).bindparams(*[_bind(c, base) for c in columns])


def _bind(column: str, base: Mapping[str, Any]) -> Any:
    return bindparam(f"p_{column}", type_=vouchers.c[column].type)


def list_page(
    uow: UnitOfWork, actor: Actor, *, after_id: int | None, limit: int
) -> Sequence[repo.Row]:
    return repo.list_campaigns(uow.conn, actor.tenant_id, after_id=after_id, limit=limit)


def issue_next(
    uow: UnitOfWork,
    actor: Actor,
    campaign: repo.Row,
    *,
    holder_id: int | None = None,
    reason: str | None = None,
) -> repo.Row:
    """Issue the campaign's next unissued voucher (inactive, unheld): it is activated (a
    validity period starts now) and, with ``holder_id``, claimed for that customer.

    Race-safe: on PostgreSQL the candidate is taken ``FOR UPDATE SKIP LOCKED``, so concurrent
    issues take different vouchers without waiting; on SQLite the writing unit already holds
    the database's write lock. A candidate that changed in between is skipped all the same.

    Raises: CampaignEnded, CampaignExhausted, NotFound (customer), VoucherExpired.
    """
    if campaign["ends_at"] is not None and campaign["ends_at"] <= uow.now:
        raise errors.CampaignEnded("the campaign has ended")
    if (
        holder_id is not None
        and repo.find_customer(uow.conn, actor.tenant_id, id=holder_id) is None
    ):
        raise errors.NotFound("customer", holder_id)
    skipped: list[int] = []
    for _attempt in range(8):
        query = select(vouchers.c.id).where(
            vouchers.c.tenant_id == actor.tenant_id,
            vouchers.c.campaign_id == campaign["id"],
            unissued_sql(vouchers.c),
            vouchers.c.deleted_at.is_(None),
        )
        if skipped:
            query = query.where(vouchers.c.id.not_in(skipped))
        query = query.order_by(vouchers.c.id).limit(1)
        if uow.conn.dialect.name == "postgresql":
            query = query.with_for_update(skip_locked=True)
        candidate = uow.conn.execute(query).scalar()
        if candidate is None:
            raise errors.CampaignExhausted("the campaign has no unissued voucher left")
        ref = VoucherRef(id=int(candidate))
        savepoint = uow.conn.begin_nested()
        try:
            row = voucher_service.activate(uow, actor, ref, reason=reason)
            if holder_id is not None:
                row = voucher_service.claim(uow, actor, ref, holder_id, reason=reason)
            savepoint.commit()
            return row
        except (errors.ConcurrentModification, errors.VoucherAlreadyActive):
            savepoint.rollback()
            skipped.append(int(candidate))  # taken meanwhile: the next one
    raise errors.CampaignExhausted("could not take an unissued voucher; retry")
