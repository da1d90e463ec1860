#!/usr/bin/env bash
# `make bench`: voucherd over HTTP (wrk) against raw PostgreSQL (pgbench) and the leanest Python
# server (bench/ceiling/) in the same run, plus
# bulk generation and the expiry sweep at 1,000,000 vouchers. See docs/benchmarks.md.
#
# Everything talks to 127.0.0.1 only. Tunables (environment):
#   BENCH_DB=voucherd_bench       database (dropped and recreated)
#   BENCH_DURATION=15             seconds per measured wrk / pgbench run
#   BENCH_WORKERS="2"             uvicorn worker counts to try (voucherd and the ceiling)
#   BENCH_CONNECTIONS="4 16 64"   wrk connection counts per worker count
#   BENCH_PG_CLIENTS="8 32"       pgbench client counts
#   BENCH_CODES=1000000           vouchers generated (and swept)
#   BENCH_PORT=18089              port of the benchmarked server
#   BENCH_RM_CODES=100000         vouchers for the RM face (each redeemed once)
#   BENCH_QUICK=1                 smoke test in a few minutes: small data, 3 s runs, 4 and 16
#                                 connections (explicit BENCH_* settings still win)
set -euo pipefail
cd "$(dirname "$0")/.."

# Hard ceiling for the whole run: nothing here may hang a CI job.
if [[ -z "${BENCH_UNDER_TIMEOUT:-}" ]]; then
  export BENCH_UNDER_TIMEOUT=1
  exec timeout --signal=TERM --kill-after=30 2400 bash "$PWD/bench/run.sh" "$@"
fi

log() { printf '[bench %s] %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }

# 1. wrk (the load generator: C, not Python-bound) and pgbench.
if ! command -v wrk >/dev/null 2>&1; then
  log "installing wrk"
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y -q wrk >/dev/null 2>&1 \
    || { apt-get update -q >/dev/null && apt-get install -y -q wrk >/dev/null; }
fi
command -v wrk >/dev/null || { echo "wrk is missing and could not be installed"; exit 1; }
command -v pgbench >/dev/null || { echo "pgbench is missing (postgresql-client)"; exit 1; }

# 2. PostgreSQL up (same approach as .ci/run).
pg_up() { pg_isready -h 127.0.0.1 -p 5432 -q; }
if ! pg_up; then
  log "PostgreSQL is down; starting it"
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n1)" main start || true
  for _ in $(seq 1 30); do pg_up && break; sleep 1; done
fi
pg_up || { echo "PostgreSQL did not come up"; exit 1; }

# 3. A fresh database.
DB="${BENCH_DB:-voucherd_bench}"
[[ "$DB" =~ ^[a-z_][a-z0-9_]*$ ]] || { echo "bad BENCH_DB name: $DB"; exit 1; }
psql -h 127.0.0.1 -U postgres -d postgres -v ON_ERROR_STOP=1 -q \
  -c "DROP DATABASE IF EXISTS ${DB} WITH (FORCE)" -c "CREATE DATABASE ${DB}"
export BENCH_DATABASE_URL="postgresql://postgres@127.0.0.1:5432/${DB}"

mkdir -p bench/out
# Bulk generate + sweep alone (bench/bulk.py, its own database): BENCH_ONLY=bulk make bench.
if [[ "${BENCH_ONLY:-}" == "bulk" ]]; then exec .venv/bin/python bench/bulk.py; fi
# 4. Everything else (migrate, data, pgbench, server + wrk, generate, sweep, verify, summary).
.venv/bin/python bench/bench.py || status=$?
# 5. bench.py above already times generate and sweep of its BENCH_CODES vouchers; the separate
# bulk run (own database, BENCH_BULK_N) runs with BENCH_BIG=1 (10,000,000) or BENCH_BULK=1.
if [[ -n "${BENCH_BIG:-}" || -n "${BENCH_BULK:-}" ]]; then
  .venv/bin/python bench/bulk.py || status=$?
fi
exit "${status:-0}"
