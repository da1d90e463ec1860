"""CSV import of vouchers with your own codes, balances and validity: all or nothing.

The file is read as a stream, never held whole (a million rows import in bounded memory):

1. **Validate and stage** (one streaming pass): each row is checked on its own (code, amount,
   currency, dates) and written, a batch at a time, to the staging table ``import_rows``
   under a random import id. A bad row is remembered by its line number and the pass goes on,
   so one answer lists every bad line (the first ``MAX_REPORTED`` of them, and the count).
2. **Check across rows in SQL**: a code listed twice in the file, and a code already in use by
   the tenant, are found by the database from the staged rows (no set of a million codes in
   memory).
3. **Insert** (only when nothing was wrong): vouchers, their issue entries and their create
   events are inserted from the staged rows by ``INSERT ... SELECT``, one slice of lines per
   statement; then the staged rows are deleted.

All of it is one transaction (the caller's unit of work): a refused file, a code taken by a
concurrent writer meanwhile, or a crash leaves nothing behind, not even staged rows.
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Final

from sqlalchemy import ColumnElement, Select, and_, delete, func, insert, literal, select, text
from sqlalchemy.exc import IntegrityError

from voucherd.db.tables import events, import_rows, ledger_entries, vouchers
from voucherd.domain import codes, errors
from voucherd.domain.lifecycle import VoucherStatus
from voucherd.domain.money import MAX_MINOR_UNITS, normalize_currency
from voucherd.domain.vouchers import LedgerKind, ValueKind
from voucherd.services import campaigns, hashing
from voucherd.services.changes import record_event
from voucherd.services.unit_of_work import Actor, UnitOfWork
from voucherd.services.vouchers import NewVoucher, row_values

REQUIRED: Final = ("code", "amount", "currency")
OPTIONAL: Final = ("starts_at", "ends_at")
COLUMNS: Final = REQUIRED + OPTIONAL
MAX_REPORTED: Final = 1000  # bad lines listed in one answer (all are counted)
MAX_ROWS: Final = 10_000_000
STAGE_BATCH: Final = 2000  # staged rows written per statement (what the process holds)
INSERT_SLICE: Final = 20_000  # lines per INSERT ... SELECT
ANALYZE_STAGED: Final = 10_000  # staged lines past which the staging table is analysed
MAX_FIELD: Final = 255

Progress = Callable[[int], None]


@dataclass(frozen=True, slots=True)
class Imported:
    import_id: str
    created: int


@dataclass(frozen=True, slots=True)
class RowError:
    line: int
    field: str | None
    message: str

    def as_dict(self) -> dict[str, Any]:
        return {"line": self.line, "field": self.field, "message": self.message}


class _Errors:
    """Bad lines: the first ``MAX_REPORTED`` are kept, all are counted."""

    def __init__(self) -> None:
        self.kept: list[RowError] = []
        self.count = 0

    def add(self, line: int, field: str | None, message: str) -> None:
        self.count += 1
        if len(self.kept) < MAX_REPORTED:
            self.kept.append(RowError(line, field, message))


def _moment(text: str, field: str, *, end_of_day: bool) -> datetime | None:
    """ISO 8601 date or date-time (no offset: UTC). A date as ``ends_at`` means "valid
    through that day" (the next midnight, UTC); as ``starts_at`` its midnight."""
    if not text:
        return None
    try:
        if len(text) == 10:
            day = date.fromisoformat(text)
            start = datetime.combine(day, time(), UTC)
            return start + timedelta(days=1) if end_of_day else start
        moment = datetime.fromisoformat(text)
        moment = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    except (ValueError, OverflowError):  # 9999-12-31 has no next midnight
        raise errors.ValidationFailed(
            f"{field} must be an ISO 8601 date or date-time", field=field
        ) from None
    return moment


def _amount(text: str) -> int:
    if not text.isascii() or not text.isdigit():
        raise errors.ValidationFailed(
            "amount must be a whole number of minor units (e.g. 2500 for 25.00)", field="amount"
        )
    value = int(text)
    if value > MAX_MINOR_UNITS:
        raise errors.ValidationFailed(f"amount must be at most {MAX_MINOR_UNITS}", field="amount")
    return value


def parse_row(fields: dict[str, str], now: datetime) -> dict[str, Any]:
    """One row's values, checked on their own. Raises: ValidationFailed naming the field."""
    for name, value in fields.items():
        if len(value) > MAX_FIELD:
            raise errors.ValidationFailed(f"{name} is too long", field=name)
    code = codes.validate_custom(fields.get("code", ""))
    amount = _amount(fields.get("amount", "").strip())
    currency = normalize_currency(fields.get("currency", ""))
    starts_at = _moment(fields.get("starts_at", "").strip(), "starts_at", end_of_day=False)
    ends_at = _moment(fields.get("ends_at", "").strip(), "ends_at", end_of_day=True)
    if ends_at is not None and ends_at <= now:
        raise errors.ValidationFailed("ends_at is in the past", field="ends_at")
    if starts_at is not None and ends_at is not None and starts_at >= ends_at:
        raise errors.ValidationFailed("ends_at must be after starts_at", field="ends_at")
    return {
        "code": code,
        "amount": amount,
        "currency": currency,
        "starts_at": starts_at,
        "ends_at": ends_at,
    }


def _records(lines: Iterable[str], problems: _Errors) -> Iterator[tuple[int, dict[str, str]]]:
    """(line number, fields by column) for each non-blank data row; header problems and
    unreadable text are recorded in ``problems`` (and end the file)."""
    reader = csv.reader(lines, strict=True)
    try:
        header = next(reader, None)
    except (csv.Error, UnicodeDecodeError) as exc:
        problems.add(1, None, _unreadable(exc))
        return
    if header is None:
        problems.add(1, None, "the file is empty: it needs a header line")
        return
    names = [name.strip().lower() for name in header]
    unknown = [n for n in names if n not in COLUMNS]
    missing = [n for n in REQUIRED if n not in names]
    if unknown or missing or len(set(names)) != len(names):
        parts = []
        if missing:
            parts.append("missing column(s): " + ", ".join(missing))
        if unknown:
            parts.append("unknown column(s): " + ", ".join(repr(n[:40]) for n in unknown[:5]))
        if len(set(names)) != len(names):
            parts.append("a column is named twice")
        problems.add(1, None, "; ".join(parts) + f" (columns: {', '.join(COLUMNS)})")
        return
    while True:
        try:
            row = next(reader, None)
        except (csv.Error, UnicodeDecodeError) as exc:
            problems.add(reader.line_num + 1, None, _unreadable(exc))
            return
        if row is None:
            return
        if not row or (len(row) == 1 and not row[0].strip()):
            continue  # a blank line
        if len(row) != len(names):
            problems.add(reader.line_num, None, f"expected {len(names)} fields, found {len(row)}")
            continue
        yield reader.line_num, dict(zip(names, row, strict=True))


def _unreadable(exc: Exception) -> str:
    if isinstance(exc, UnicodeDecodeError):
        return "the file is not UTF-8 text from here on"
    return f"not readable as CSV: {str(exc)[:120]}"


def import_vouchers(
    uow: UnitOfWork,
    actor: Actor,
    lines: Iterable[str],
    *,
    active: bool = True,
    campaign_key: str | None = None,
    progress: Progress | None = None,
) -> Imported:
    """Import stored-value vouchers from CSV text (an iterable of lines, e.g. an open file
    with ``newline=""``). Nothing is imported unless every row is good.

    Raises: ImportRejected (listing bad lines), NotFound (campaign), DuplicateCode (a code
    created by someone else while the import ran).
    """
    campaign_id = None
    if campaign_key:
        campaign_id = int(campaigns.get(uow, actor, key=campaign_key)["id"])
    import_id = hashing.random_id(24)
    problems = _Errors()
    staged = _stage(uow, actor, import_id, lines, problems)
    if staged == 0 and problems.count == 0:
        problems.add(2, None, "the file has no rows")
    if uow.conn.dialect.name == "postgresql" and staged >= ANALYZE_STAGED:
        # The staging table's statistics are whatever autovacuum last saw (often an empty
        # table), so the joins of passes 2 and 3 were planned for a handful of rows. ANALYZE
        # counts this transaction's own uncommitted rows.
        uow.conn.execute(text("ANALYZE import_rows"))
    _check_across_rows(uow, actor, import_id, problems)
    if problems.count:
        kept = sorted(problems.kept, key=lambda e: e.line)[:MAX_REPORTED]
        raise errors.ImportRejected(
            f"{problems.count} bad line(s): nothing was imported",
            [e.as_dict() for e in kept],
            problems.count,
        )
    before = campaigns.statistics_before(uow, staged)
    created = _insert(uow, actor, import_id, staged, active, campaign_id, progress)
    # Every imported voucher is stored value with its issue entry.
    campaigns.statistics_after(uow, created, created, before)
    uow.conn.execute(delete(import_rows).where(import_rows.c.import_id == import_id))
    record_event(
        uow,
        actor,
        operation="import",
        subject="import",
        subject_id=import_id,
        after={"count": created, "campaign_id": campaign_id},
    )
    return Imported(import_id, created)


def _stage(
    uow: UnitOfWork, actor: Actor, import_id: str, lines: Iterable[str], problems: _Errors
) -> int:
    """Pass 1: validate every row and stage the good ones; returns the last line staged."""
    batch: list[dict[str, Any]] = []
    last_line, rows = 0, 0
    for line, fields in _records(lines, problems):
        rows += 1
        if rows > MAX_ROWS:
            problems.add(line, None, f"a file may hold at most {MAX_ROWS} rows")
            break
        try:
            values = parse_row(fields, uow.now)
        except errors.ValidationFailed as exc:
            problems.add(line, exc.field, exc.message)
            continue
        batch.append({"import_id": import_id, "line": line, "tenant_id": actor.tenant_id, **values})
        last_line = line
        if len(batch) >= STAGE_BATCH:
            _write_stage(uow, batch)
            batch = []
    if batch:
        _write_stage(uow, batch)
    return last_line


STAGE_COLUMNS: Final = tuple(column.name for column in import_rows.columns)


def _write_stage(uow: UnitOfWork, batch: list[dict[str, Any]]) -> None:
    for row, public_id in zip(batch, hashing.random_ids(len(batch)), strict=True):
        row["public_id"] = public_id
    if uow.conn.dialect.name != "postgresql":
        uow.conn.execute(insert(import_rows), batch)
        return
    # COPY: a pipelined INSERT per row spent most of a 60,000-row import waiting on the
    # database (30 of 48 s on a loaded machine). parse_row has checked every value (codes are
    # printable ASCII, amounts fit in 64 bits), which the engine's parameter backstop would.
    raw = uow.conn.connection.driver_connection
    assert raw is not None
    with (
        raw.cursor() as cursor,
        cursor.copy(f"COPY import_rows ({', '.join(STAGE_COLUMNS)}) FROM STDIN") as copy,
    ):
        for row in batch:
            copy.write_row([row[name] for name in STAGE_COLUMNS])


def _check_across_rows(uow: UnitOfWork, actor: Actor, import_id: str, problems: _Errors) -> None:
    """Pass 2, in SQL: codes listed twice, codes already in use."""
    s = import_rows.alias("s")
    # Codes listed more than once, with their first line (one pass over the (import_id, code)
    # index), then every later line of those codes: linear, where a self-join on
    # ``t.line < s.line`` is quadratic on SQLite.
    first = (
        select(import_rows.c.code, func.min(import_rows.c.line).label("first"))
        .where(import_rows.c.import_id == import_id)
        .group_by(import_rows.c.code)
        .having(func.count() > 1)
        .subquery("d")
    )
    repeated = (
        select(s.c.line, first.c.first)
        .join(first, first.c.code == s.c.code)
        .where(s.c.import_id == import_id, s.c.line > first.c.first)
    )
    found = uow.conn.execute(repeated.order_by(s.c.line).limit(MAX_REPORTED)).all()
    for line, first in found:
        problems.add(int(line), "code", f"this code is already on line {first}")
    _count_rest(uow, repeated, len(found), problems)
    taken = (
        select(s.c.line)
        .join(vouchers, and_(vouchers.c.tenant_id == actor.tenant_id, vouchers.c.code == s.c.code))
        .where(s.c.import_id == import_id)
    )
    in_use = uow.conn.execute(taken.order_by(s.c.line).limit(MAX_REPORTED)).scalars().all()
    for line in in_use:
        problems.add(int(line), "code", "this code is already in use")
    _count_rest(uow, taken, len(in_use), problems)


def _count_rest(uow: UnitOfWork, query: Select[Any], listed: int, problems: _Errors) -> None:
    """Past the listed ones, bad lines are only counted (by the database)."""
    if listed < MAX_REPORTED:
        return
    total = int(uow.conn.execute(select(func.count()).select_from(query.subquery())).scalar_one())
    problems.count += total - listed


def _const(value: Any, column: Any, name: str) -> ColumnElement[Any]:
    return literal(value, type_=column.type).label(name)


def _insert(
    uow: UnitOfWork,
    actor: Actor,
    import_id: str,
    last_line: int,
    active: bool,
    campaign_id: int | None,
    progress: Progress | None,
) -> int:
    """Pass 3: vouchers, issue entries and create events from the staged rows, by slices."""
    now = uow.now
    base = row_values(NewVoucher(kind=ValueKind.STORED_VALUE, campaign_id=campaign_id), actor, now)
    status = VoucherStatus.ACTIVE.value if active else VoucherStatus.INACTIVE.value
    base |= {"status": status, "activated_at": now if active else None}
    per_row = ("code", "public_id", "balance", "currency", "starts_at", "ends_at")
    constant = [name for name in base if name not in per_row]
    s = import_rows
    after = {"status": status, "kind": ValueKind.STORED_VALUE.value, "source": "import"}
    created = 0
    for low in range(0, last_line + 1, INSERT_SLICE):
        in_slice = and_(s.c.import_id == import_id, s.c.line >= low, s.c.line < low + INSERT_SLICE)
        voucher_select = select(
            *[_const(base[name], vouchers.c[name], name) for name in constant],
            s.c.code,
            s.c.public_id,
            s.c.amount,
            s.c.currency,
            s.c.starts_at,
            s.c.ends_at,
        ).where(in_slice)
        # Counted, not taken from the INSERT's rowcount (psycopg reports -1 for this form).
        done = int(uow.conn.execute(select(func.count()).where(in_slice)).scalar_one())
        if not done:
            continue
        try:
            uow.conn.execute(insert(vouchers).from_select([*constant, *per_row], voucher_select))
        except IntegrityError:
            # Checked in pass 2; only a concurrent writer can have taken a code since.
            raise errors.DuplicateCode(
                "a code of this file was created meanwhile; nothing was imported", field="code"
            ) from None
        joined = s.join(
            vouchers, and_(vouchers.c.tenant_id == s.c.tenant_id, vouchers.c.code == s.c.code)
        )
        v = vouchers.c
        uow.conn.execute(
            insert(ledger_entries).from_select(
                _ledger_columns(),
                select(
                    v.tenant_id,
                    v.id,
                    _const(LedgerKind.ISSUE.value, ledger_entries.c.kind, "kind"),
                    v.balance,
                    v.currency,
                    v.balance.label("balance_after"),
                    _const(0, ledger_entries.c.uses_delta, "uses_delta"),
                    _const(0, ledger_entries.c.uses_after, "uses_after"),
                    v.balance.label("value"),
                    _const(actor.client_id, ledger_entries.c.client_id, "client_id"),
                    _const(now, ledger_entries.c.created_at, "created_at"),
                )
                .select_from(joined)
                .where(in_slice, s.c.amount > 0),
            )
        )
        uow.conn.execute(
            insert(events).from_select(
                _event_columns(),
                select(
                    v.tenant_id,
                    v.id,
                    _const("voucher", events.c.subject, "subject"),
                    v.public_id,
                    _const("create", events.c.operation, "operation"),
                    _const(actor.name, events.c.actor, "actor"),
                    _const({}, events.c.before, "before"),
                    _const(after, events.c.after, "after"),
                    _const(now, events.c.created_at, "created_at"),
                )
                .select_from(joined)
                .where(in_slice),
            )
        )
        created += done
        if progress:
            progress(done)
    return created


def _ledger_columns() -> Sequence[str]:
    return (
        "tenant_id",
        "voucher_id",
        "kind",
        "amount",
        "currency",
        "balance_after",
        "uses_delta",
        "uses_after",
        "value",
        "client_id",
        "created_at",
    )


def _event_columns() -> Sequence[str]:
    return (
        "tenant_id",
        "voucher_id",
        "subject",
        "subject_id",
        "operation",
        "actor",
        "before",
        "after",
        "created_at",
    )
