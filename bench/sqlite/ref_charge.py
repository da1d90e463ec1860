"""Reference for the embedded default: the charge transaction in an in-process sqlite3 loop.

The same transaction as ``bench/sql/ref_charge.sql`` on the same table shapes
(``reference_schema.sql``), in one thread of one process, on a file in WAL mode with
``synchronous=NORMAL`` (voucherd's SQLite settings) and ``BEGIN IMMEDIATE``: read the balance,
update balance/version/updated_at, insert a ledger row, commit, on a voucher drawn uniformly.
What SQLite itself does per second here bounds what any server on it can do.

Usage: python ref_charge.py FILE ROWS SECONDS  ->  prints {"tps": ..., "transactions": ...}
"""

from __future__ import annotations

import json
import random
import sqlite3
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

SCHEMA = """
CREATE TABLE ref_vouchers (
    id         INTEGER PRIMARY KEY,
    tenant_id  INTEGER NOT NULL,
    public_id  TEXT NOT NULL,
    currency   TEXT NOT NULL,
    balance    INTEGER NOT NULL CHECK (balance >= 0),
    version    INTEGER NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE TABLE ref_ledger (
    id            INTEGER PRIMARY KEY,
    tenant_id     INTEGER NOT NULL,
    voucher_id    INTEGER NOT NULL,
    amount        INTEGER NOT NULL,
    balance_after INTEGER NOT NULL,
    created_at    TEXT NOT NULL
);
"""


def main() -> None:
    path, rows, seconds = Path(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3])
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=NORMAL")
    db.executescript(SCHEMA)
    now = datetime.now(UTC).isoformat()
    db.execute("BEGIN")
    db.executemany(
        "INSERT INTO ref_vouchers VALUES (?, 1, ?, 'EUR', 100000000, 1, ?)",
        ((i, f"ref_{i}", now) for i in range(1, rows + 1)),
    )
    db.execute("COMMIT")
    done = 0
    started = time.perf_counter()
    deadline = started + seconds
    while time.perf_counter() < deadline:
        voucher = random.randint(1, rows)
        db.execute("BEGIN IMMEDIATE")
        (balance,) = db.execute(
            "SELECT balance FROM ref_vouchers WHERE id = ?", (voucher,)
        ).fetchone()
        now = datetime.now(UTC).isoformat()
        db.execute(
            "UPDATE ref_vouchers SET balance = ?, version = version + 1, updated_at = ? "
            "WHERE id = ?",
            (balance - 1, now, voucher),
        )
        db.execute(
            "INSERT INTO ref_ledger (tenant_id, voucher_id, amount, balance_after, created_at) "
            "VALUES (1, ?, -1, ?, ?)",
            (voucher, balance - 1, now),
        )
        db.execute("COMMIT")
        done += 1
    elapsed = time.perf_counter() - started
    db.close()
    print(json.dumps({"tps": round(done / elapsed, 1), "transactions": done, "rows": rows}))


if __name__ == "__main__":
    main()
