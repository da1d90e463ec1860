"""Reports through the API (JSON and CSV, scope read-lists) and the CLI."""

from __future__ import annotations

import csv
import io
import json

from typer.testing import CliRunner

from tests.conftest import Api, LiveServer, TenantFixture, make_tenant
from voucherd.cli import app
from voucherd.domain.scopes import Scope


def test_liability_in_json_and_csv(api: Api) -> None:
    first = api.create_voucher(amount=5000)
    api.create_voucher(amount=1234, currency="USD")
    voided = api.create_voucher(amount=999)
    assert api.post("/v1/charges", {"voucher_id": first["id"], "amount": 1000}).status_code == 201
    assert api.post(f"/v1/vouchers/{voided['id']}/void", {"reason": "x"}).status_code == 200
    answer = api.get("/v1/reports/liability")
    assert answer.status_code == 200, answer.text
    rows = answer.json()["rows"]
    assert {(r["currency"], r["amount"], r["vouchers"]) for r in rows} == {
        ("EUR", 4000, 1),
        ("USD", 1234, 1),
    }
    as_csv = api.get("/v1/reports/liability", headers={"Accept": "text/csv"})
    assert as_csv.headers["content-type"].startswith("text/csv")
    parsed = list(csv.DictReader(io.StringIO(as_csv.text)))
    assert [(r["currency"], r["amount"]) for r in parsed] == [("EUR", "4000"), ("USD", "1234")]
    assert api.get("/v1/reports/liability?format=csv").text == as_csv.text
    before = api.get("/v1/reports/liability?as_of=2000-01-01").json()["rows"]
    assert before == []
    redemptions = api.get("/v1/reports/redemptions?period=day").json()["rows"]
    assert [(r["currency"], r["charged"], r["charges"]) for r in redemptions] == [("EUR", 1000, 1)]
    aging = api.get("/v1/reports/aging").json()["rows"]
    assert {r["bucket"]: r["amount"] for r in aging if r["currency"] == "EUR"}["0-30"] == 4000


def test_reports_refuse_bad_input_and_need_read_lists(
    api: Api, live_server: LiveServer, engine: object
) -> None:
    assert api.get("/v1/reports/nope").status_code == 422
    bad = api.get("/v1/reports/liability?as_of=yesterday")
    assert bad.status_code == 422
    assert bad.json()["type"].endswith("/validation_failed")
    assert api.get("/v1/reports/breakage?period=week").status_code == 422
    narrow = make_tenant(live_server.engine, "narrow", frozenset({Scope.READ}))
    other = Api(live_server.url, narrow.client_id, narrow.client_secret)
    try:
        assert other.get("/v1/reports/liability").status_code == 403
    finally:
        other.close()


def test_cli_report_liability(api: Api, tenant: TenantFixture, live_server: LiveServer) -> None:
    api.create_voucher(amount=700)
    env = {"VOUCHERD_DATABASE_URL": live_server.settings.database_url}
    result = CliRunner().invoke(app, ["report", "liability", "--tenant", str(tenant.id)], env=env)
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)["rows"]
    assert [(r["currency"], r["amount"]) for r in rows] == [("EUR", 700)]
    result = CliRunner().invoke(
        app, ["report", "liability", "--tenant", str(tenant.id), "--csv"], env=env
    )
    assert result.stdout.splitlines() == ["currency,campaign_id,amount,vouchers", "EUR,,700,1"]
    result = CliRunner().invoke(
        app,
        ["report", "liability", "--tenant", str(tenant.id), "--as-of", "2000-13-01"],
        env=env,
    )
    assert result.exit_code == 2
