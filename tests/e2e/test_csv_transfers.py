"""CSV in and out through the API and the CLI, on SQLite and PostgreSQL (issue 12).

Exports: their columns, and codes only with the read-secrets scope. Import: all or nothing,
every bad line named with its line number; 100,000 rows in bounded memory.
"""

from __future__ import annotations

import csv
import io
import tracemalloc
import uuid
from pathlib import Path

import httpx
import pytest
from sqlalchemy import Engine, Table, func, select

from tests.conftest import Api, LiveServer, TenantFixture
from tests.integration.test_cli import run
from voucherd.db.tables import events, import_rows, ledger_entries, vouchers
from voucherd.domain import errors
from voucherd.services import exports, imports
from voucherd.services.unit_of_work import UnitOfWork


def _csv(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def _count(engine: Engine, table: Table, tenant_id: int) -> int:
    with engine.connect() as conn:
        return int(
            conn.execute(
                select(func.count()).select_from(table).where(table.c.tenant_id == tenant_id)
            ).scalar_one()
        )


def test_voucher_export_has_codes_only_with_read_secrets(
    live_server: LiveServer, tenant: TenantFixture, api: Api
) -> None:
    made = api.create_voucher(code="EXPORT-ME-1", amount=2500, currency="EUR")
    charged = api.post("/v1/charges", {"voucher_id": made["id"], "amount": 500, "currency": "EUR"})
    assert charged.status_code == 201, charged.text

    full = api.get("/v1/exports/vouchers.csv")
    assert full.status_code == 200, full.text
    assert full.headers["content-type"].startswith("text/csv")
    assert "attachment" in full.headers["content-disposition"]
    rows = _csv(full.text)
    assert list(rows[0]) == list(exports.VOUCHER_COLUMNS)
    assert rows == [rows[0]] and rows[0]["code"] == "EXPORT-ME-1"
    assert rows[0]["public_id"] == made["id"]
    assert (rows[0]["balance"], rows[0]["currency"], rows[0]["status"]) == ("2000", "EUR", "active")

    lister = Api(live_server.url, tenant.client_id, tenant.client_secret, scope="read-lists")
    try:
        masked = lister.get("/v1/exports/vouchers.csv")
        assert masked.status_code == 200, masked.text
        assert "EXPORT-ME-1" not in masked.text
        header = masked.text.splitlines()[0].split(",")
        assert "code" not in header and header[0] == "public_id"
        assert _csv(masked.text)[0]["public_id"] == made["id"]
    finally:
        lister.close()

    reader = Api(live_server.url, tenant.client_id, tenant.client_secret, scope="read")
    try:
        refused = reader.get("/v1/exports/vouchers.csv")
        assert refused.status_code == 403
        assert refused.json()["code"] == "insufficient_scope"
    finally:
        reader.close()


def test_ledger_and_event_exports(api: Api) -> None:
    made = api.create_voucher(amount=1000, currency="EUR")
    charged = api.post("/v1/charges", {"voucher_id": made["id"], "amount": 300, "currency": "EUR"})
    assert charged.status_code == 201, charged.text

    ledger = api.get("/v1/exports/ledger.csv", params={"from": "2020-01-01"})
    assert ledger.status_code == 200, ledger.text
    rows = _csv(ledger.text)
    assert list(rows[0]) == list(exports.LEDGER_COLUMNS)
    assert [(r["voucher"], r["kind"], r["amount"], r["balance_after"]) for r in rows] == [
        (made["id"], "issue", "1000", "1000"),
        (made["id"], "charge", "-300", "700"),
    ]
    # A period that ended before the entries holds none of them.
    empty = api.get("/v1/exports/ledger.csv", params={"to": "2020-01-01"})
    assert empty.text.splitlines() == [",".join(exports.LEDGER_COLUMNS)]
    backwards = api.get("/v1/exports/ledger.csv", params={"from": "2030-01-01", "to": "2020-01-01"})
    assert backwards.status_code == 422
    bad = api.get("/v1/exports/ledger.csv", params={"from": "yesterday"})
    assert bad.status_code == 422 and bad.json()["code"] == "validation_failed"

    trail = api.get("/v1/exports/events.csv")
    assert trail.status_code == 200
    rows = _csv(trail.text)
    assert list(rows[0]) == list(exports.EVENT_COLUMNS)
    mine = [r for r in rows if r["subject_id"] == made["id"]]
    assert [r["operation"] for r in mine][:2] == ["create", "activate"]
    assert "charge" in [r["operation"] for r in mine]


def _import(
    api: Api, body: str, key: str | None = None, timeout: float = 60, **params: str
) -> httpx.Response:
    headers = {"Content-Type": "text/csv"}
    if key:
        headers["Idempotency-Key"] = key
    return api.http.post(
        "/v1/imports/vouchers",
        content=body.encode(),
        headers=headers,
        params=params,
        timeout=timeout,
    )


BAD_FILE = (
    "code,amount,currency,starts_at,ends_at\n"
    "GOOD-0001,2500,EUR,,2099-12-31\n"  # line 2: fine
    "GOOD-0002,abc,EUR,,\n"  # line 3: amount
    "GOOD-0003,100,EURO,,\n"  # line 4: currency
    "GOOD-0001,100,EUR,,\n"  # line 5: the code of line 2 again
    ",100,EUR,,\n"  # line 6: no code
    "GOOD-0006,100,EUR,2030-01-01,2029-01-01\n"  # line 7: ends before it starts
    "GOOD-0007,100,EUR,,\n"  # line 8: fine
    "GOOD-0008,100,EUR\n"  # line 9: a field short
)


def test_import_is_all_or_nothing_and_names_every_bad_line(
    live_server: LiveServer, tenant: TenantFixture, api: Api
) -> None:
    api.create_voucher(code="TAKEN-0001", amount=100, currency="EUR")
    before = _count(live_server.engine, vouchers, tenant.id)
    body = BAD_FILE + "taken-0001,100,EUR,,\n"  # line 10: in use (normalised)

    refused = _import(api, body)
    assert refused.status_code == 422, refused.text
    problem = refused.json()
    assert problem["code"] == "import_rejected"
    assert problem["error_count"] == 7
    assert [(e["line"], e["field"]) for e in problem["errors"]] == [
        (3, "amount"),
        (4, "currency"),
        (5, "code"),
        (6, "code"),
        (7, "ends_at"),
        (9, None),
        (10, "code"),
    ]
    assert "line 2" in problem["errors"][2]["message"]
    # Nothing was imported, and nothing stays staged.
    assert _count(live_server.engine, vouchers, tenant.id) == before
    assert _count(live_server.engine, import_rows, tenant.id) == 0

    good = "code,amount,currency,ends_at\nNEW-0001,2500,EUR,2099-12-31\nnew 0002,0,eur,\n"
    done = _import(api, good, key="imp-1")
    assert done.status_code == 201, done.text
    assert done.json()["created"] == 2
    again = _import(api, good, key="imp-1")
    assert again.headers["idempotent-replayed"] == "true"
    assert _count(live_server.engine, vouchers, tenant.id) == before + 2

    found = api.get("/v1/vouchers", params={"code": "NEW-0002"})
    assert found.status_code == 200
    rows = _csv(api.get("/v1/exports/vouchers.csv").text)
    by_code = {r["code"]: r for r in rows}
    assert by_code["NEW-0001"]["balance"] == "2500"
    assert by_code["NEW-0001"]["ends_at"].startswith("2100-01-01T00:00:00")  # through 2099-12-31
    assert by_code["NEW0002"]["status"] == "active"
    ledger = _csv(api.get("/v1/exports/ledger.csv").text)
    # An issue entry for each imported balance (none for a zero balance), as for any voucher.
    assert sorted(r["amount"] for r in ledger if r["kind"] == "issue") == ["100", "2500"]

    # The same file again: every code is now in use.
    twice = _import(api, good)
    assert twice.status_code == 422
    assert [e["line"] for e in twice.json()["errors"]] == [2, 3]


def test_import_refuses_wrong_media_type_bad_header_and_a_clerks_scope(
    live_server: LiveServer, tenant: TenantFixture, api: Api
) -> None:
    wrong = api.http.post("/v1/imports/vouchers", json={"codes": []})
    assert wrong.status_code == 415
    header = _import(api, "code,price\nA,1\n")
    assert header.status_code == 422
    assert header.json()["errors"][0]["line"] == 1
    assert "amount" in header.json()["errors"][0]["message"]
    empty = _import(api, "")
    assert empty.status_code == 422
    latin = api.http.post(
        "/v1/imports/vouchers",
        content="code,amount,currency\nCAFÉ-1,1,EUR\n".encode("latin-1"),
        headers={"Content-Type": "text/csv"},
    )
    assert latin.status_code == 422 and "UTF-8" in latin.text

    user = Api(live_server.url, tenant.client_id, tenant.client_secret, scope="read-lists use")
    try:
        refused = user.http.post(
            "/v1/imports/vouchers",
            content=b"code,amount,currency\nX-1,1,EUR\n",
            headers={"Content-Type": "text/csv"},
        )
        assert refused.status_code == 403
    finally:
        user.close()


def test_cli_export_and_import(database_url: str, engine: Engine, tmp_path: Path) -> None:
    import json

    tenant = json.loads(run(database_url, "tenant", "create", "--name", "CSV").stdout)["id"]
    bad = tmp_path / "bad.csv"
    bad.write_text(BAD_FILE, encoding="utf-8")
    ran = run(database_url, "import", "vouchers", str(bad), "--tenant", str(tenant), check=False)
    assert ran.returncode == 2
    assert [line.split(":")[0] for line in ran.stderr.splitlines()[:6]] == [
        "line 3",
        "line 4",
        "line 5",
        "line 6",
        "line 7",
        "line 9",
    ]
    assert "nothing was imported" in ran.stderr
    assert _count(engine, vouchers, tenant) == 0

    good = tmp_path / "good.csv"
    good.write_text("code,amount,currency\nCLI-0001,700,USD\nCLI-0002,800,USD\n", "utf-8")
    done = run(database_url, "import", "vouchers", str(good), "--tenant", str(tenant))
    assert json.loads(done.stdout)["created"] == 2

    plain = run(database_url, "export", "vouchers", "--tenant", str(tenant)).stdout
    assert "CLI-0001" not in plain and "code" not in plain.splitlines()[0].split(",")
    out = tmp_path / "v.csv"
    run(database_url, "export", "vouchers", "--tenant", str(tenant), "--codes", "-o", str(out))
    rows = _csv(out.read_text("utf-8"))
    assert sorted(r["code"] for r in rows) == ["CLI-0001", "CLI-0002"]
    ledger = _csv(run(database_url, "export", "ledger", "--tenant", str(tenant)).stdout)
    assert sorted(r["amount"] for r in ledger) == ["700", "800"]
    trail = _csv(
        run(
            database_url, "export", "events", "--tenant", str(tenant), "--from", "2020-01-01"
        ).stdout
    )
    assert {r["operation"] for r in trail} >= {"create", "import"}
    late = run(
        database_url, "export", "ledger", "--tenant", str(tenant), "--from", "x", check=False
    )
    assert late.returncode == 2


def _write_rows(path: Path, count: int) -> None:
    tag = uuid.uuid4().hex[:8].upper()
    with path.open("w", encoding="utf-8", newline="") as out:
        out.write("code,amount,currency,ends_at\n")
        for n in range(count):
            out.write(f"B{tag}-{n:07d},{1000 + n % 5000},EUR,2099-12-31\n")


def _peak_import(engine: Engine, tenant: TenantFixture, path: Path) -> tuple[int, int]:
    """(vouchers created, peak bytes the Python heap grew by during the import)."""
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        base = tracemalloc.get_traced_memory()[0]
        with UnitOfWork(engine) as uow, path.open(encoding="utf-8", newline="") as text:
            done = imports.import_vouchers(uow, tenant.actor, text)
            uow.commit()
        peak = tracemalloc.get_traced_memory()[1] - base
        print(f"import of {path.name}: peak Python heap {peak} bytes, file {path.stat().st_size}")
    finally:
        tracemalloc.stop()
    return done.created, peak


def test_a_100000_row_import_runs_in_bounded_memory(
    engine: Engine, tenant: TenantFixture, tmp_path: Path
) -> None:
    """The import's Python heap stays bounded: within twice the file's size (a naive import
    holding the rows as dicts needs over ten times the file), and about the same for 10,000
    rows as for 100,000 (the staging batch, not the file, sets it)."""
    small, large = tmp_path / "10k.csv", tmp_path / "100k.csv"
    _write_rows(small, 10_000)
    _write_rows(large, 100_000)
    created_small, peak_small = _peak_import(engine, tenant, small)
    created_large, peak_large = _peak_import(engine, tenant, large)
    assert (created_small, created_large) == (10_000, 100_000)
    size = large.stat().st_size
    assert size > 3_000_000
    # Measured: 2 to 4 MB for either file (a batch of staged rows, the drivers' buffers),
    # where holding the rows as dicts would take over 50 MB.
    assert peak_large < 2 * size, (peak_large, size)
    assert peak_large < 2 * peak_small + 2_000_000, (peak_small, peak_large)
    assert _count(engine, vouchers, tenant.id) == 110_000
    assert _count(engine, ledger_entries, tenant.id) == 110_000
    assert _count(engine, events, tenant.id) >= 110_000
    assert _count(engine, import_rows, tenant.id) == 0


def test_import_error_list_is_bounded_but_counts_every_bad_line(
    engine: Engine, tenant: TenantFixture
) -> None:
    lines = ["code,amount,currency"] + [f"E-{n},-1,EUR" for n in range(imports.MAX_REPORTED + 50)]
    with UnitOfWork(engine) as uow, pytest.raises(errors.ImportRejected) as refused:
        imports.import_vouchers(uow, tenant.actor, (line + "\n" for line in lines))
    assert refused.value.error_count == imports.MAX_REPORTED + 50
    assert len(refused.value.rows) == imports.MAX_REPORTED
    assert refused.value.rows[0]["line"] == 2


def test_an_import_body_may_pass_the_general_body_limit(
    live_server: LiveServer, tenant: TenantFixture, api: Api
) -> None:
    """Import bodies are spooled under their own limit, not the 1 MiB of other requests."""
    tag = uuid.uuid4().hex[:6].upper()
    # Wide rows (56-character codes, both dates) pass 1 MiB with 15,000 rows: the limit is
    # about bytes, and fewer rows keep this test quick on a loaded machine.
    pad = "X" * 40
    rows = 15_000
    body = "code,amount,currency,starts_at,ends_at\n" + "".join(
        f"BIG{tag}-{pad}-{n:06d},{n % 900 + 100},EUR,2026-01-01,2099-12-31\n" for n in range(rows)
    )
    assert len(body) > live_server.settings.max_body_bytes
    done = _import(api, body, key=f"big-{tag}", timeout=300)
    assert done.status_code == 201, done.text[:500]
    assert done.json()["created"] == rows
    other = api.http.post(
        "/v1/vouchers", content=b"{" + b" " * live_server.settings.max_body_bytes + b"}"
    )
    assert other.status_code == 413
