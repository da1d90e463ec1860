"""Whole-database invariant checks behind ``voucherd verify``.

Each check is one SQL query that returns the violating rows, so it runs at database speed
over millions of vouchers and says exactly which voucher breaks which rule.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy import Connection, func, select, text

from voucherd.db import sealed
from voucherd.db.tables import ledger_entries, vouchers
from voucherd.services import reports

# The report queries are checked as of a moment after every recorded one (tests and imports
# may write with clocks ahead of the wall clock): the whole ledger, each voucher's last status.
END_OF_HISTORY = datetime(9999, 1, 1, tzinfo=UTC)

CHECKS: dict[str, tuple[str, str]] = {
    "balance_equals_ledger_sum": (
        "every voucher's balance equals the sum of its ledger entries",
        """SELECT v.id FROM vouchers v
           LEFT JOIN (SELECT tenant_id, voucher_id, SUM(amount) AS total
                      FROM ledger_entries GROUP BY tenant_id, voucher_id) l
             ON l.tenant_id = v.tenant_id AND l.voucher_id = v.id
           WHERE v.balance <> COALESCE(l.total, 0)""",
    ),
    "uses_equal_ledger_uses": (
        "every voucher's use count equals the sum of its ledger use deltas",
        """SELECT v.id FROM vouchers v
           LEFT JOIN (SELECT tenant_id, voucher_id, SUM(uses_delta) AS total
                      FROM ledger_entries GROUP BY tenant_id, voucher_id) l
             ON l.tenant_id = v.tenant_id AND l.voucher_id = v.id
           WHERE v.uses <> COALESCE(l.total, 0)""",
    ),
    "running_balance_chain": (
        "each ledger entry's balance_after is the running sum of the voucher's entries",
        """SELECT id FROM (
             SELECT id, balance_after,
                    SUM(amount) OVER (PARTITION BY tenant_id, voucher_id ORDER BY id
                                      ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS run
             FROM ledger_entries) t
           WHERE balance_after <> run""",
    ),
    "refunds_within_charge": (
        "no charge is refunded for more than it charged",
        """SELECT c.id FROM ledger_entries c
           JOIN ledger_entries r ON r.tenant_id = c.tenant_id AND r.refund_of = c.id
           WHERE c.kind = 'charge' AND c.amount < 0
           GROUP BY c.id, c.amount HAVING SUM(r.amount) > -c.amount""",
    ),
    "balances_not_negative": (
        "no balance, hold or use count is negative, and no hold exceeds its balance",
        """SELECT id FROM vouchers
           WHERE balance < 0 OR uses < 0 OR hold_amount < 0 OR hold_amount > balance""",
    ),
    "uses_within_limit": (
        "no voucher is used more often than its limit",
        "SELECT id FROM vouchers WHERE max_uses IS NOT NULL AND uses > max_uses",
    ),
    "redeemed_means_used_up": (
        "a redeemed voucher has no balance or no uses left",
        """SELECT id FROM vouchers WHERE status = 'redeemed'
           AND NOT ((kind = 'stored_value' AND balance = 0)
                    OR (max_uses IS NOT NULL AND uses >= max_uses))""",
    ),
    "hold_points_to_open_reservation": (
        "every hold on a voucher is an open reservation of that voucher",
        """SELECT v.id FROM vouchers v
           LEFT JOIN reservations r ON r.tenant_id = v.tenant_id AND r.id = v.hold_id
           WHERE v.hold_id IS NOT NULL
             AND (r.id IS NULL OR r.voucher_id <> v.id OR r.status <> 'open')""",
    ),
    "ledger_currency_matches": (
        "every ledger entry is in its voucher's currency",
        """SELECT l.id FROM ledger_entries l
           JOIN vouchers v ON v.tenant_id = l.tenant_id AND v.id = l.voucher_id
           WHERE l.currency IS DISTINCT FROM v.currency""",
    ),
    "every_voucher_has_creation_event": (
        "every voucher has its creation event",
        """SELECT v.id FROM vouchers v WHERE NOT EXISTS (
             SELECT 1 FROM events e WHERE e.tenant_id = v.tenant_id AND e.voucher_id = v.id
             AND e.operation = 'create')""",
    ),
    "codes_normalized": (
        "every stored code is in normal form (upper case, no white space)",
        "SELECT id FROM vouchers WHERE code <> UPPER(code) OR code LIKE '% %' OR code = ''",
    ),
}


@dataclass(slots=True)
class CheckResult:
    name: str
    description: str
    violations: list[int | str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.violations


def run(conn: Connection, *, sample: int = 20) -> tuple[int, int, list[CheckResult]]:
    """Return (vouchers checked, ledger entries checked, one result per check)."""
    count = int(conn.execute(text("SELECT COUNT(*) FROM vouchers")).scalar_one())
    entries = int(conn.execute(text("SELECT COUNT(*) FROM ledger_entries")).scalar_one())
    results = []
    for name, (description, query) in CHECKS.items():
        if conn.dialect.name == "sqlite":
            query = query.replace("IS DISTINCT FROM", "IS NOT")
        # The queries are the fixed CHECKS above; only the integer limit is formatted in.
        statement = text(f"SELECT * FROM ({query}) q LIMIT {int(sample) + 1}")  # noqa: S608
        rows = conn.execute(statement).all()
        results.append(CheckResult(name, description, [int(r[0]) for r in rows]))  # ids
    results.append(_reports_match_balances(conn, sample))
    results.append(_flow_matches_balances(conn, sample))
    results.append(_secrets_decrypt(conn, sample))
    return count, entries, results


def _secrets_decrypt(conn: Connection, sample: int) -> CheckResult:
    """Every sealed secret opens under this instance's key-encryption key (``db/sealed.py``).

    A violation names the secret's place (``table.column:key``), never the secret; a value
    stored in plain text is one too."""
    bad: list[int | str] = []
    try:
        kek = sealed.kek_of(conn)
    except (sealed.KeyMissing, OSError):
        kek = None
    for item in sealed.stored_values(conn):
        try:
            if kek is None:
                raise sealed.Undecryptable(item.where)
            sealed.unseal(kek, item.value, item.where)
        except sealed.Undecryptable:
            bad.append(item.where)
    return CheckResult(
        "secrets_decrypt",
        "every stored secret is sealed and opens with the key-encryption key",
        bad[: sample + 1],
    )


def _reports_match_balances(conn: Connection, sample: int) -> CheckResult:
    """The liability and aging reports (from ledger and event trail) against the balances.

    Per tenant and currency: liability = the sum of the balances of vouchers whose status is
    inactive, active or redeemed, and the aging buckets add up to the same. Violations are
    tenant ids.
    """
    balances: dict[tuple[int, str], int] = defaultdict(int)
    query = (
        select(vouchers.c.tenant_id, vouchers.c.currency, func.sum(vouchers.c.balance))
        .where(vouchers.c.status.in_(reports.OUTSTANDING), vouchers.c.currency.is_not(None))
        .group_by(vouchers.c.tenant_id, vouchers.c.currency)
    )
    for tenant_id, currency, amount in conn.execute(query):
        balances[(int(tenant_id), str(currency))] += int(amount or 0)
    totals = reports.totals_by_tenant(conn, END_OF_HISTORY)
    bad = sorted(
        {
            tenant
            for tenant, currency in {*balances, *totals}
            if totals.get((tenant, currency), (0, 0)) != (balances.get((tenant, currency), 0),) * 2
        }
    )[: sample + 1]
    return CheckResult(
        "reports_match_balances",
        "the liability and aging reports equal the balances of the vouchers still owed",
        list(bad),
    )


def _flow_matches_balances(conn: Connection, sample: int) -> CheckResult:
    """The flow report's sums (what the dashboard charts) against the balances.

    Per tenant and currency, over all time: issued - redeemed + refunded, plus the transfers
    the report leaves out, equals the sum of every voucher's balance. Violations are tenant ids.
    """
    balances: dict[tuple[int, str], int] = defaultdict(int)
    query = (
        select(vouchers.c.tenant_id, vouchers.c.currency, func.sum(vouchers.c.balance))
        .where(vouchers.c.currency.is_not(None))
        .group_by(vouchers.c.tenant_id, vouchers.c.currency)
    )
    for tenant_id, currency, amount in conn.execute(query):
        balances[(int(tenant_id), str(currency))] += int(amount or 0)
    moved = defaultdict(int, reports.flow_net_by_tenant(conn))
    transfers = (
        select(
            ledger_entries.c.tenant_id, ledger_entries.c.currency, func.sum(ledger_entries.c.amount)
        )
        .where(ledger_entries.c.kind == "transfer", ledger_entries.c.currency.is_not(None))
        .group_by(ledger_entries.c.tenant_id, ledger_entries.c.currency)
    )
    for tenant_id, currency, amount in conn.execute(transfers):
        moved[(int(tenant_id), str(currency))] += int(amount or 0)
    bad = sorted(
        {t for t, c in {*balances, *moved} if moved.get((t, c), 0) != balances.get((t, c), 0)}
    )[: sample + 1]
    return CheckResult(
        "flow_matches_balances",
        "value issued - redeemed + refunded (+ transfers) equals the sum of the balances",
        list[int | str](bad),
    )
