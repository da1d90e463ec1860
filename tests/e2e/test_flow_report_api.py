"""The flow report (value issued and redeemed per period) through the API and the CLI."""

from __future__ import annotations

import csv
import io
import json

from typer.testing import CliRunner

from tests.conftest import Api, LiveServer, TenantFixture
from voucherd.cli import app


def test_flow_in_json_csv_and_the_cli(
    api: Api, tenant: TenantFixture, live_server: LiveServer
) -> None:
    first = api.create_voucher(amount=5_000)
    api.create_voucher(amount=1_234, currency="USD")
    charged = api.post("/v1/charges", {"voucher_id": first["id"], "amount": 1_500})
    assert charged.status_code == 201, charged.text
    assert api.post(f"/v1/vouchers/{first['id']}/recharge", {"amount": 250}).status_code == 201
    answer = api.get("/v1/reports/flow?period=day")
    assert answer.status_code == 200, answer.text
    rows = answer.json()["rows"]
    assert [(r["currency"], r["issued"], r["redeemed"], r["refunded"]) for r in rows] == [
        ("EUR", 5_250, 1_500, 0),
        ("USD", 1_234, 0, 0),
    ]
    assert len({r["period"] for r in rows}) == 1 and len(rows[0]["period"]) == 10
    as_csv = list(csv.DictReader(io.StringIO(api.get("/v1/reports/flow?format=csv").text)))
    assert [(r["currency"], r["issued"], r["redeemed"]) for r in as_csv] == [
        ("EUR", "5250", "1500"),
        ("USD", "1234", "0"),
    ]
    assert api.get("/v1/reports/flow?since=2000-01-01&until=2000-12-31").json()["rows"] == []
    assert api.get("/v1/reports/flow?since=soon").status_code == 422

    env = {"VOUCHERD_DATABASE_URL": live_server.settings.database_url}
    result = CliRunner().invoke(app, ["report", "flow", "--tenant", str(tenant.id)], env=env)
    assert result.exit_code == 0, result.output
    cli_rows = json.loads(result.stdout)["rows"]
    assert cli_rows == rows  # the CLI groups by day by default, like the dashboard
