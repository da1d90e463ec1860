"""The bulk benchmarks of `make bench`: `campaign generate` and `sweep` at 1,000,000 vouchers.

Run by bench/run.sh after the HTTP benchmarks (or alone: ``BENCH_ONLY=bulk make bench``), on a
database of its own that it drops and recreates. Each step is the real CLI command, timed from
the outside; each is followed by the correctness checks the targets come with (no duplicate
code or public id, one issue entry and one create event per voucher; one expire event per
swept voucher; ``voucherd verify`` clean). The load average is recorded before and after each
timed step because the machine may be shared.

Knobs (environment):
  BENCH_BULK_DB=voucherd_bench_bulk   database (dropped and recreated)
  BENCH_BULK_N=1000000                vouchers generated, then made due and swept
  BENCH_BIG=1                         also generate 10,000,000 (BENCH_BIG_N) in a fresh database
  BENCH_STRICT=1                      a missed time target fails the run (wrong results always do)
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench" / "out"
# The voucherd next to the interpreter running this script (run.sh uses the project's venv).
VOUCHERD = str(Path(sys.executable).parent / "voucherd")
HOST = "postgresql://postgres@127.0.0.1:5432"
DB = os.environ.get("BENCH_BULK_DB", "voucherd_bench_bulk")
N = int(os.environ.get("BENCH_BULK_N", "1000000"))
BIG = os.environ.get("BENCH_BIG") == "1"
BIG_N = int(os.environ.get("BENCH_BIG_N", "10000000"))
TARGETS = {"generate_s": 20.0, "sweep_s": 20.0, "generate_big_s": 200.0}


def log(message: str) -> None:
    print(f"[bulk {datetime.now(UTC):%H:%M:%S}] {message}", file=sys.stderr, flush=True)


def load() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def run(cmd: list[str], *, timeout: float, env: dict[str, str] | None = None) -> str:
    result = subprocess.run(
        cmd,
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, **(env or {})},
        check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(f"{cmd[:4]} failed ({result.returncode}):\n{result.stderr[-2000:]}")
    return result.stdout


def psql(url: str, sql: str, *, timeout: float = 900) -> str:
    return run(
        ["psql", url, "-X", "-At", "-q", "-v", "ON_ERROR_STOP=1", "-c", sql], timeout=timeout
    ).strip()


def voucherd(url: str, *args: str, timeout: float = 1800) -> str:
    return run([VOUCHERD, *args], timeout=timeout, env={"VOUCHERD_DATABASE_URL": url})


def fresh_database(name: str) -> str:
    if not re.fullmatch(r"[a-z_][a-z0-9_]*", name):
        raise SystemExit(f"bad database name: {name}")
    psql(f"{HOST}/postgres", f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
    psql(f"{HOST}/postgres", f"CREATE DATABASE {name}")
    url = f"{HOST}/{name}"
    voucherd(url, "db", "upgrade", timeout=300)
    return url


def campaign(url: str) -> tuple[int, int]:
    tenant = json.loads(voucherd(url, "tenant", "create", "--name", "bulk"))["id"]
    created = voucherd(
        url,
        "campaign",
        "create",
        "--tenant",
        str(tenant),
        "--name",
        "bulk",
        "--kind",
        "stored_value",
        "--currency",
        "EUR",
        "--amount",
        "100000000",
        "--active",
    )
    return int(tenant), int(json.loads(created)["id"])


def generate(url: str, tenant: int, campaign_id: int, count: int) -> dict[str, Any]:
    psql(url, "CHECKPOINT")
    log(f"timing `voucherd campaign generate --count {count}` (load {load()})")
    before = load()
    started = time.perf_counter()
    printed = voucherd(
        url,
        "campaign",
        "generate",
        "--tenant",
        str(tenant),
        "--campaign",
        str(campaign_id),
        "--count",
        str(count),
    )
    seconds = time.perf_counter() - started
    rows, codes, ids = psql(
        url,
        "SELECT count(*), count(DISTINCT code), count(DISTINCT public_id) FROM vouchers "
        f"WHERE tenant_id = {tenant} AND campaign_id = {campaign_id}",
    ).split("|")
    entries, issued = psql(
        url,
        "SELECT count(*), count(DISTINCT voucher_id) FROM ledger_entries "
        f"WHERE tenant_id = {tenant} AND kind = 'issue'",
    ).split("|")
    events, evented = psql(
        url,
        "SELECT count(*), count(DISTINCT voucher_id) FROM events "
        f"WHERE tenant_id = {tenant} AND operation = 'create' AND subject = 'voucher'",
    ).split("|")
    numbers = [int(x) for x in (rows, codes, ids, entries, issued, events, evented)]
    return {
        "count": count,
        "seconds": round(seconds, 2),
        "reported_created": json.loads(printed)["created"],
        "rows": int(rows),
        "duplicate_codes": int(rows) - int(codes),
        "duplicate_public_ids": int(rows) - int(ids),
        "issue_entries": int(entries),
        "create_events": int(events),
        "ok": all(n == count for n in numbers),
        "load_before": before,
        "load_after": load(),
    }


def sweep(url: str, tenant: int, campaign_id: int, count: int) -> dict[str, Any]:
    log(f"making {count} vouchers due (not timed)")
    psql(
        url,
        "UPDATE vouchers SET ends_at = now() - interval '1 minute' "
        f"WHERE tenant_id = {tenant} AND campaign_id = {campaign_id}",
    )
    psql(url, "VACUUM ANALYZE vouchers")
    psql(url, "CHECKPOINT")
    log(f"timing `voucherd sweep` (load {load()})")
    before = load()
    started = time.perf_counter()
    printed = json.loads(voucherd(url, "sweep"))
    seconds = time.perf_counter() - started
    expired = int(
        psql(
            url, f"SELECT count(*) FROM vouchers WHERE tenant_id = {tenant} AND status = 'expired'"
        )
    )
    events, evented = psql(
        url,
        "SELECT count(*), count(DISTINCT voucher_id) FROM events "
        f"WHERE tenant_id = {tenant} AND operation = 'expire' AND actor = 'system:sweep'",
    ).split("|")
    return {
        "due": count,
        "seconds": round(seconds, 2),
        "reported_expired": printed["expired_vouchers"],
        "expired_rows": expired,
        "expire_events": int(events),
        "ok": expired == int(events) == int(evented) == printed["expired_vouchers"] == count,
        "load_before": before,
        "load_after": load(),
    }


def verify(url: str) -> dict[str, Any]:
    log("running `voucherd verify`")
    started = time.perf_counter()
    result = subprocess.run(
        [VOUCHERD, "verify"],
        capture_output=True,
        text=True,
        timeout=1800,
        env={**os.environ, "VOUCHERD_DATABASE_URL": url},
        check=False,
    )
    return {
        "ok": result.returncode == 0,
        "seconds": round(time.perf_counter() - started, 1),
        "output": (result.stdout + result.stderr)[-3000:],
    }


def main() -> int:
    OUT.mkdir(parents=True, exist_ok=True)
    results: dict[str, Any] = {"started_at": datetime.now(UTC).isoformat(), "n": N}
    url = fresh_database(DB)
    tenant, campaign_id = campaign(url)
    results["generate"] = generate(url, tenant, campaign_id, N)
    log(f"  generate: {results['generate']}")
    results["sweep"] = sweep(url, tenant, campaign_id, N)
    log(f"  sweep: {results['sweep']}")
    results["verify"] = verify(url)
    checks = {
        "generate_s": results["generate"]["seconds"] <= TARGETS["generate_s"],
        "sweep_s": results["sweep"]["seconds"] <= TARGETS["sweep_s"],
    }
    correct = results["generate"]["ok"] and results["sweep"]["ok"] and results["verify"]["ok"]
    psql(f"{HOST}/postgres", f"DROP DATABASE IF EXISTS {DB} WITH (FORCE)")
    if BIG:
        big_db = f"{DB}_big"
        url = fresh_database(big_db)
        tenant, campaign_id = campaign(url)
        results["generate_big"] = generate(url, tenant, campaign_id, BIG_N)
        log(f"  generate (big): {results['generate_big']}")
        checks["generate_big_s"] = results["generate_big"]["seconds"] <= TARGETS["generate_big_s"]
        correct = correct and results["generate_big"]["ok"]
        psql(f"{HOST}/postgres", f"DROP DATABASE IF EXISTS {big_db} WITH (FORCE)")
    (OUT / "bulk.json").write_text(json.dumps(results, indent=2) + "\n")
    g, s, v = results["generate"], results["sweep"], results["verify"]
    print("\n== voucherd bulk bench ==")
    print(
        f"campaign generate {N}: {g['seconds']} s (target <= {TARGETS['generate_s']}), "
        f"duplicates {g['duplicate_codes']}, issue entries {g['issue_entries']}, "
        f"create events {g['create_events']}, load {g['load_before']} -> {g['load_after']}"
    )
    print(
        f"sweep {N} due: {s['seconds']} s (target <= {TARGETS['sweep_s']}), "
        f"expire events {s['expire_events']}, load {s['load_before']} -> {s['load_after']}"
    )
    if BIG:
        b = results["generate_big"]
        print(
            f"campaign generate {BIG_N}: {b['seconds']} s (target <= "
            f"{TARGETS['generate_big_s']}), duplicates {b['duplicate_codes']}, "
            f"load {b['load_before']} -> {b['load_after']}"
        )
    print(f"verify: {'ok' if v['ok'] else 'FAILED'} ({v['seconds']} s)")
    if not v["ok"]:
        print(v["output"])
    print(f"results: {OUT / 'bulk.json'}")
    strict = os.environ.get("BENCH_STRICT") == "1"
    return 0 if correct and (not strict or all(checks.values())) else 1


if __name__ == "__main__":
    sys.exit(main())
