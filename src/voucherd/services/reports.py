"""Reports computed from the ledger (the balance column is only its running sum).

Every figure here is a sum of ``ledger_entries`` rows; a voucher's *status at a moment* is
read from its event trail (each status change is an event whose ``after`` names the new
status; the creation event names the first). The definitions are in docs/decisions.md
("Reports"); in short:

- **liability as of T**: for each voucher created at or before T whose status as of T is
  inactive, active or redeemed (not void, expired or deleted), the sum of its ledger entries
  with ``created_at <= T``; by currency and campaign.
- **breakage**: the balance a voucher held at the moment it became expired (the sweep's
  ``expire`` or an ``end``), by the period of that moment.
- **aging as of T**: the liability as of T, by days from the voucher's issue to T.
- **redemptions**: charges (and the refunds of charges) by period and currency.
- **flow**: value issued (issue and recharge entries) and redeemed (charges) by period and
  currency; transfers between vouchers are neither.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from typing import Any, Final

from sqlalchemy import (
    ColumnElement,
    Connection,
    Subquery,
    and_,
    case,
    func,
    literal,
    select,
)

from voucherd.db.tables import events, ledger_entries, vouchers
from voucherd.domain import errors
from voucherd.domain.lifecycle import VoucherStatus
from voucherd.services.unit_of_work import Actor, UnitOfWork

OUTSTANDING: Final = (
    VoucherStatus.INACTIVE.value,
    VoucherStatus.ACTIVE.value,
    VoucherStatus.REDEEMED.value,
)
"""Statuses whose balance is still owed: a redeemed voucher holds what a refund puts back."""


class Period(StrEnum):
    DAY = "day"
    MONTH = "month"
    YEAR = "year"


_SQLITE_FORMAT = {Period.DAY: "%Y-%m-%d", Period.MONTH: "%Y-%m", Period.YEAR: "%Y"}
_POSTGRES_FORMAT = {Period.DAY: "YYYY-MM-DD", Period.MONTH: "YYYY-MM", Period.YEAR: "YYYY"}

AGE_BUCKETS: Final[tuple[tuple[str, int | None], ...]] = (
    ("0-30", 30),
    ("31-90", 90),
    ("91-180", 180),
    ("181-365", 365),
    (">365", None),
)
"""Age buckets by name and their last whole day since issue (None: no upper end)."""


# ---------------------------------------------------------------------------------------------
# Parameters


def parse_moment(text: str | None, field: str) -> datetime | None:
    """An ISO 8601 date or date-time; a date means the end of that day (UTC).

    A date-time without an offset is read as UTC. Raises: ValidationFailed.
    """
    if text is None or text == "":
        return None
    try:
        if len(text) == 10:
            day = date.fromisoformat(text)
            return datetime.combine(day + timedelta(days=1), time(), UTC) - timedelta(
                microseconds=1
            )
        moment = datetime.fromisoformat(text)
        moment = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    except (ValueError, OverflowError):  # 9999-12-31 has no end of day
        raise errors.ValidationFailed(
            f"{field} must be an ISO 8601 date or date-time", field=field
        ) from None
    return moment


def parse_period(text: str | None) -> Period:
    try:
        return Period(text or Period.MONTH.value)
    except ValueError:
        raise errors.ValidationFailed(
            "period must be one of: day, month, year", field="period"
        ) from None


@dataclass(frozen=True, slots=True)
class Params:
    as_of: datetime | None = None
    since: datetime | None = None  # inclusive
    until: datetime | None = None  # inclusive
    period: Period = Period.MONTH


# ---------------------------------------------------------------------------------------------
# Building blocks


def _status_expr() -> ColumnElement[str]:
    status: ColumnElement[str] = events.c.after["status"].as_string()
    return status


def _tenant(column: Any, tenant_id: int | None) -> list[ColumnElement[bool]]:
    return [] if tenant_id is None else [column == tenant_id]


def _status_then(tenant_id: int | None, as_of: datetime) -> Subquery:
    """Each voucher's status as of ``as_of``: the status named by its last such event."""
    status = _status_expr()
    ranked = (
        select(
            events.c.voucher_id,
            status.label("status"),
            func.row_number()
            .over(partition_by=events.c.voucher_id, order_by=events.c.id.desc())
            .label("rn"),
        )
        .where(
            *_tenant(events.c.tenant_id, tenant_id),
            events.c.subject == "voucher",
            events.c.voucher_id.is_not(None),
            events.c.created_at <= as_of,
            status.is_not(None),
        )
        .subquery()
    )
    return select(ranked.c.voucher_id, ranked.c.status).where(ranked.c.rn == 1).subquery()


def _outstanding_per_voucher(tenant_id: int | None, as_of: datetime) -> Subquery:
    """(tenant_id, voucher_id, currency, campaign_id, created_at, amount) of vouchers owed then.

    ``tenant_id`` None: every tenant's (what ``verify`` checks in one statement).
    """
    then = _status_then(tenant_id, as_of)
    return (
        select(
            ledger_entries.c.tenant_id,
            ledger_entries.c.voucher_id,
            ledger_entries.c.currency,
            vouchers.c.campaign_id,
            vouchers.c.created_at,
            func.sum(ledger_entries.c.amount).label("amount"),
        )
        .join(
            vouchers,
            and_(
                vouchers.c.tenant_id == ledger_entries.c.tenant_id,
                vouchers.c.id == ledger_entries.c.voucher_id,
            ),
        )
        .join(then, then.c.voucher_id == ledger_entries.c.voucher_id)
        .where(
            *_tenant(ledger_entries.c.tenant_id, tenant_id),
            ledger_entries.c.currency.is_not(None),
            ledger_entries.c.created_at <= as_of,
            vouchers.c.created_at <= as_of,
            then.c.status.in_(OUTSTANDING),
        )
        .group_by(
            ledger_entries.c.tenant_id,
            ledger_entries.c.voucher_id,
            ledger_entries.c.currency,
            vouchers.c.campaign_id,
            vouchers.c.created_at,
        )
        .subquery()
    )


def _period_label(conn: Connection, column: Any, period: Period) -> ColumnElement[str]:
    if conn.dialect.name == "postgresql":
        return func.to_char(func.timezone("UTC", column), _POSTGRES_FORMAT[period])
    return func.strftime(_SQLITE_FORMAT[period], column)


def _within(column: Any, params: Params) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = []
    if params.since is not None:
        conditions.append(column >= params.since)
    if params.until is not None:
        conditions.append(column <= params.until)
    return conditions


# ---------------------------------------------------------------------------------------------
# Liability


@dataclass(frozen=True, slots=True)
class Liability:
    currency: str
    amount: int  # minor units
    vouchers: int  # how many vouchers hold some of it


@dataclass(frozen=True, slots=True)
class LiabilityRow:
    currency: str
    campaign_id: int | None
    amount: int  # minor units
    vouchers: int  # how many vouchers hold some of it


def liability_by_campaign(conn: Connection, tenant_id: int, as_of: datetime) -> list[LiabilityRow]:
    per_voucher = _outstanding_per_voucher(tenant_id, as_of)
    query = (
        select(
            per_voucher.c.currency,
            per_voucher.c.campaign_id,
            func.sum(per_voucher.c.amount),
            func.count().filter(per_voucher.c.amount > 0),
        )
        .group_by(per_voucher.c.currency, per_voucher.c.campaign_id)
        .order_by(per_voucher.c.currency, per_voucher.c.campaign_id)
    )
    return [
        LiabilityRow(
            str(currency),
            None if campaign is None else int(campaign),
            int(amount or 0),
            int(n or 0),
        )
        for currency, campaign, amount, n in conn.execute(query)
    ]


def liability_report(uow: UnitOfWork, actor: Actor, params: Params) -> list[LiabilityRow]:
    """Outstanding liability by currency and campaign as of ``params.as_of`` (default now)."""
    return liability_by_campaign(uow.conn, actor.tenant_id, params.as_of or uow.now)


def liability(uow: UnitOfWork, actor: Actor, as_of: datetime | None = None) -> list[Liability]:
    """Outstanding liability by currency (the campaigns summed); currencies in order."""
    totals: dict[str, list[int]] = {}
    for row in liability_by_campaign(uow.conn, actor.tenant_id, as_of or uow.now):
        total = totals.setdefault(row.currency, [0, 0])
        total[0] += row.amount
        total[1] += row.vouchers
    return [Liability(c, a, n) for c, (a, n) in sorted(totals.items())]


# ---------------------------------------------------------------------------------------------
# Aging


@dataclass(frozen=True, slots=True)
class AgingRow:
    currency: str
    bucket: str  # days since issue: 0-30, 31-90, 91-180, 181-365, >365
    amount: int
    vouchers: int


def aging_report(uow: UnitOfWork, actor: Actor, params: Params) -> list[AgingRow]:
    """Outstanding value as of ``as_of`` (default now) by whole days since the voucher's issue."""
    return aging_by_bucket(uow.conn, actor.tenant_id, params.as_of or uow.now)


def _age_bucket(per_voucher: Subquery, as_of: datetime) -> ColumnElement[str]:
    # A voucher is N whole days old when as_of - (N+1) days < created_at <= as_of - N days.
    whens = [
        (per_voucher.c.created_at > as_of - timedelta(days=high + 1), literal(name))
        for name, high in AGE_BUCKETS
        if high is not None
    ]
    bucket: ColumnElement[str] = case(*whens, else_=literal(">365"))
    return bucket


def totals_by_tenant(conn: Connection, as_of: datetime) -> dict[tuple[int, str], tuple[int, int]]:
    """(liability, sum of the aging buckets) per (tenant, currency) as of ``as_of``, for all
    tenants in two statements (what ``verify`` compares with the balances)."""
    per_voucher = _outstanding_per_voucher(None, as_of)
    liability = select(
        per_voucher.c.tenant_id, per_voucher.c.currency, func.sum(per_voucher.c.amount)
    ).group_by(per_voucher.c.tenant_id, per_voucher.c.currency)
    bucket = _age_bucket(per_voucher, as_of).label("bucket")
    by_age = (
        select(
            per_voucher.c.tenant_id,
            per_voucher.c.currency,
            bucket,
            func.sum(per_voucher.c.amount).label("amount"),
        )
        .group_by(per_voucher.c.tenant_id, per_voucher.c.currency, bucket)
        .subquery()
    )
    aging = select(by_age.c.tenant_id, by_age.c.currency, func.sum(by_age.c.amount)).group_by(
        by_age.c.tenant_id, by_age.c.currency
    )
    totals: dict[tuple[int, str], list[int]] = {}
    for index, query in enumerate((liability, aging)):
        for tenant, currency, amount in conn.execute(query):
            totals.setdefault((int(tenant), str(currency)), [0, 0])[index] = int(amount or 0)
    return {key: (a, b) for key, (a, b) in totals.items()}


def aging_by_bucket(conn: Connection, tenant_id: int, as_of: datetime) -> list[AgingRow]:
    per_voucher = _outstanding_per_voucher(tenant_id, as_of)
    bucket = _age_bucket(per_voucher, as_of).label("bucket")
    query = select(
        per_voucher.c.currency,
        bucket,
        func.sum(per_voucher.c.amount),
        func.count().filter(per_voucher.c.amount > 0),
    ).group_by(per_voucher.c.currency, bucket)
    found = {(str(c), str(b)): (int(a or 0), int(n or 0)) for c, b, a, n in conn.execute(query)}
    currencies = sorted({c for c, _ in found})
    return [
        AgingRow(c, name, *found.get((c, name), (0, 0)))
        for c in currencies
        for name, _high in AGE_BUCKETS
    ]


# ---------------------------------------------------------------------------------------------
# Breakage


@dataclass(frozen=True, slots=True)
class BreakageRow:
    period: str
    currency: str
    amount: int  # the balances the vouchers held when they expired
    vouchers: int  # how many expired with value left


def breakage_report(uow: UnitOfWork, actor: Actor, params: Params) -> list[BreakageRow]:
    """Value that expired unused, by the period in which it expired, per currency."""
    expired = (
        select(events.c.voucher_id, events.c.created_at)
        .where(
            events.c.tenant_id == actor.tenant_id,
            events.c.subject == "voucher",
            events.c.voucher_id.is_not(None),
            _status_expr() == VoucherStatus.EXPIRED.value,
            *_within(events.c.created_at, params),
        )
        .subquery()
    )
    balance_then = (
        select(
            ledger_entries.c.voucher_id,
            ledger_entries.c.currency,
            expired.c.created_at,
            func.sum(ledger_entries.c.amount).label("amount"),
        )
        .join(
            expired,
            and_(
                ledger_entries.c.voucher_id == expired.c.voucher_id,
                ledger_entries.c.created_at <= expired.c.created_at,
            ),
        )
        .where(
            ledger_entries.c.tenant_id == actor.tenant_id, ledger_entries.c.currency.is_not(None)
        )
        .group_by(ledger_entries.c.voucher_id, ledger_entries.c.currency, expired.c.created_at)
        .subquery()
    )
    label = _period_label(uow.conn, balance_then.c.created_at, params.period).label("period")
    query = (
        select(
            label,
            balance_then.c.currency,
            func.sum(balance_then.c.amount),
            func.count().filter(balance_then.c.amount > 0),
        )
        .group_by(label, balance_then.c.currency)
        .order_by(label, balance_then.c.currency)
    )
    return [
        BreakageRow(str(p), str(c), int(a or 0), int(n or 0))
        for p, c, a, n in uow.conn.execute(query)
    ]


# ---------------------------------------------------------------------------------------------
# Redemptions


@dataclass(frozen=True, slots=True)
class RedemptionRow:
    period: str
    currency: str
    charged: int  # value taken by charges (positive)
    charges: int  # how many charges
    refunded: int  # value put back by refunds of charges (positive)
    net: int  # charged - refunded


def redemptions_report(uow: UnitOfWork, actor: Actor, params: Params) -> list[RedemptionRow]:
    """Charges and their refunds by period and currency, from the ledger."""
    is_charge = ledger_entries.c.kind == "charge"
    is_refund = ledger_entries.c.kind == "refund"
    label = _period_label(uow.conn, ledger_entries.c.created_at, params.period).label("period")
    query = (
        select(
            label,
            ledger_entries.c.currency,
            func.coalesce(func.sum(case((is_charge, -ledger_entries.c.amount), else_=0)), 0),
            func.count().filter(is_charge),
            func.coalesce(func.sum(case((is_refund, ledger_entries.c.amount), else_=0)), 0),
        )
        .where(
            ledger_entries.c.tenant_id == actor.tenant_id,
            ledger_entries.c.currency.is_not(None),
            ledger_entries.c.kind.in_(("charge", "refund")),
            *_within(ledger_entries.c.created_at, params),
        )
        .group_by(label, ledger_entries.c.currency)
        .order_by(label, ledger_entries.c.currency)
    )
    return [
        RedemptionRow(str(p), str(c), int(ch), int(n), int(rf), int(ch) - int(rf))
        for p, c, ch, n, rf in uow.conn.execute(query)
    ]


# ---------------------------------------------------------------------------------------------
# Flow: value issued and redeemed per period (the dashboard's charts)

ISSUING: Final = ("issue", "recharge")


@dataclass(frozen=True, slots=True)
class FlowRow:
    period: str
    currency: str
    issued: int  # value put on vouchers: issue and recharge entries (positive)
    redeemed: int  # value taken by charges (positive)
    refunded: int  # value put back by refunds of charges (positive)


def _flow_totals() -> tuple[Any, Any, Any]:
    """The issued, redeemed and refunded sums of the selected entries."""
    kind = ledger_entries.c.kind
    amount = ledger_entries.c.amount

    def total(condition: ColumnElement[bool], sign: int) -> Any:
        return func.coalesce(func.sum(case((condition, amount * sign), else_=0)), 0)

    return total(kind.in_(ISSUING), 1), total(kind == "charge", -1), total(kind == "refund", 1)


def _flow_where(tenant_id: int | None, params: Params) -> list[ColumnElement[bool]]:
    return [
        *_tenant(ledger_entries.c.tenant_id, tenant_id),
        ledger_entries.c.currency.is_not(None),
        ledger_entries.c.kind.in_((*ISSUING, "charge", "refund")),
        *_within(ledger_entries.c.created_at, params),
    ]


def flow_report(uow: UnitOfWork, actor: Actor, params: Params) -> list[FlowRow]:
    """Value issued and redeemed by period and currency, from the ledger (periods with no
    entry are left out)."""
    label = _period_label(uow.conn, ledger_entries.c.created_at, params.period).label("period")
    query = (
        select(label, ledger_entries.c.currency, *_flow_totals())
        .where(*_flow_where(actor.tenant_id, params))
        .group_by(label, ledger_entries.c.currency)
        .order_by(label, ledger_entries.c.currency)
    )
    return [
        FlowRow(str(p), str(c), int(i), int(r), int(f)) for p, c, i, r, f in uow.conn.execute(query)
    ]


def flow_net_by_tenant(conn: Connection) -> dict[tuple[int, str], int]:
    """issued - redeemed + refunded over all time per (tenant, currency), every tenant in one
    statement: what ``verify`` compares with the balances (plus transfers)."""
    issued, redeemed, refunded = _flow_totals()
    query = (
        select(ledger_entries.c.tenant_id, ledger_entries.c.currency, issued, redeemed, refunded)
        .where(*_flow_where(None, Params()))
        .group_by(ledger_entries.c.tenant_id, ledger_entries.c.currency)
    )
    return {(int(t), str(c)): int(i) - int(r) + int(f) for t, c, i, r, f in conn.execute(query)}


@dataclass(frozen=True, slots=True)
class DailySeries:
    """One currency's flow for each of the last ``len(days)`` days (UTC), oldest first,
    days without entries as zeros."""

    currency: str
    days: list[date]
    issued: list[int]
    redeemed: list[int]


def daily_flow(uow: UnitOfWork, actor: Actor, days: int) -> list[DailySeries]:
    """The flow of the last ``days`` days including today, per currency (in order)."""
    today = uow.now.astimezone(UTC).date()
    first = today - timedelta(days=days - 1)
    since = datetime.combine(first, time(), UTC)
    rows = flow_report(uow, actor, Params(since=since, period=Period.DAY))
    span = [first + timedelta(days=n) for n in range(days)]
    index = {day.isoformat(): n for n, day in enumerate(span)}
    series: dict[str, DailySeries] = {}
    for row in rows:
        if row.period not in index:
            continue
        one = series.setdefault(
            row.currency, DailySeries(row.currency, span, [0] * days, [0] * days)
        )
        one.issued[index[row.period]] += row.issued
        one.redeemed[index[row.period]] += row.redeemed
    return [series[c] for c in sorted(series)]


Report = Callable[[UnitOfWork, Actor, Params], list[Any]]
REPORTS: Final[dict[str, tuple[Report, tuple[str, ...]]]] = {
    "liability": (liability_report, ("currency", "campaign_id", "amount", "vouchers")),
    "aging": (aging_report, ("currency", "bucket", "amount", "vouchers")),
    "breakage": (breakage_report, ("period", "currency", "amount", "vouchers")),
    "redemptions": (
        redemptions_report,
        ("period", "currency", "charged", "charges", "refunded", "net"),
    ),
    "flow": (flow_report, ("period", "currency", "issued", "redeemed", "refunded")),
}
"""Every report by name, with its columns in order (the CSV header)."""


def run(uow: UnitOfWork, actor: Actor, name: str, params: Params) -> list[Any]:
    """Raises: NotFound (no such report)."""
    try:
        report, _columns = REPORTS[name]
    except KeyError:
        raise errors.NotFound("report", name) from None
    return report(uow, actor, params)


def vouchers_by_status(uow: UnitOfWork, actor: Actor) -> dict[str, int]:
    """How many vouchers are in each status (deleted ones under ``deleted``)."""
    query = (
        select(vouchers.c.status, func.count())
        .where(vouchers.c.tenant_id == actor.tenant_id)
        .group_by(vouchers.c.status)
    )
    counts = {status.value: 0 for status in VoucherStatus}
    for status, count in uow.conn.execute(query):
        counts[str(status)] = int(count)
    return counts


@dataclass(frozen=True, slots=True)
class Overview:
    liability: list[Liability]
    by_status: dict[str, int]


def overview(uow: UnitOfWork, actor: Actor) -> Overview:
    """What the dashboard's first page shows: liability by currency and vouchers by status."""
    return Overview(liability(uow, actor), vouchers_by_status(uow, actor))
