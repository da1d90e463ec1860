"""The ``voucherd`` command on both databases.

The commands run in-process (Typer's test runner: same parsing, exit codes, stdout and stderr);
one smoke test runs the installed ``voucherd`` executable as a user would, dialect commands
included.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import typer
from sqlalchemy import Engine, text
from typer.testing import CliRunner

from voucherd.cli import app
from voucherd.dialects.jtl.cli import cli as jtl_cli

VOUCHERD = str(Path(sys.executable).with_name("voucherd"))


@dataclass(frozen=True)
class Ran:
    returncode: int
    stdout: str
    stderr: str


def run(database_url: str, *args: str, check: bool = True, command: typer.Typer = app) -> Ran:
    """``voucherd ARGS`` (or the given sub-command's ARGS) with the database in the environment."""
    result = CliRunner().invoke(command, list(args), env={"VOUCHERD_DATABASE_URL": database_url})
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    ran = Ran(result.exit_code, result.stdout, result.stderr)
    if check:
        assert ran.returncode == 0, ran.stderr
    return ran


def test_admin_commands_print_json(database_url: str, engine: Engine) -> None:
    run(database_url, "db", "upgrade")
    tenant = json.loads(run(database_url, "tenant", "create", "--name", "Shop").stdout)
    client = json.loads(
        run(
            database_url,
            "client",
            "create",
            "--tenant",
            str(tenant["id"]),
            "--name",
            "pos",
            "--scopes",
            "read use",
        ).stdout
    )
    assert client["client_id"].startswith("cl_") and len(client["client_secret"]) >= 32
    assert client["scopes"] == ["read", "use"]
    with engine.connect() as conn:
        stored = conn.execute(
            text("SELECT secret_hash FROM clients WHERE id = :id"), {"id": client["client_id"]}
        ).scalar_one()
    assert client["client_secret"] not in stored
    bad = run(
        database_url,
        "client",
        "create",
        "--tenant",
        str(tenant["id"]),
        "--name",
        "x",
        "--scopes",
        "read fly",
        check=False,
    )
    assert bad.returncode == 2 and "fly" in bad.stderr


def _campaign(
    database_url: str, tenant_name: str, name: str, amount: str, *options: str
) -> tuple[dict[str, Any], dict[str, Any]]:
    """A new tenant and one EUR stored-value campaign of it, made through the CLI."""
    tenant = json.loads(run(database_url, "tenant", "create", "--name", tenant_name).stdout)
    campaign = json.loads(
        run(database_url, "campaign", "create", "--tenant", str(tenant["id"]), "--name", name,
            "--currency", "EUR", "--amount", amount, *options).stdout
    )  # fmt: skip
    return tenant, campaign


@pytest.mark.usefixtures("engine")  # the database is migrated
def test_generate_verify_and_sweep(database_url: str) -> None:
    tenant, campaign = _campaign(
        database_url, "Bulk", "Spring", "1000", "--pattern", "#####-#####", "--active"
    )
    generated = run(
        database_url,
        "campaign",
        "generate",
        "--tenant",
        str(tenant["id"]),
        "--campaign",
        str(campaign["id"]),
        "--count",
        "3000",
    )
    assert json.loads(generated.stdout)["created"] == 3000
    assert "3000/3000" in generated.stderr  # the Rich progress bar reached the end
    verify = run(database_url, "verify")
    assert "all 14 checks passed" in verify.stderr
    assert "balance_equals_ledger_sum" in verify.stdout
    as_json = json.loads(run(database_url, "verify", "--json").stdout)
    assert as_json["passed"] is True and as_json["vouchers"] >= 3000
    assert len(as_json["checks"]) == 14 and all(c["ok"] for c in as_json["checks"])
    assert {"name", "rule", "ok", "violations"} == set(as_json["checks"][0])
    sweep = json.loads(run(database_url, "sweep").stdout)
    assert set(sweep) == {
        "expired_vouchers",
        "expired_reservations",
        "purged_idempotency_keys",
        "purged",
    }
    assert {"jtl_connect_pins", "spaaza_sessions", "rm_nonces"} <= set(sweep["purged"])
    assert "rate_limit_hits" in sweep["purged"]


def test_sweep_purges_lapsed_dialect_credentials(database_url: str, engine: Engine) -> None:
    tenant = json.loads(run(database_url, "tenant", "create", "--name", "Pins").stdout)
    pin = json.loads(
        run(database_url, "pin", "--tenant", str(tenant["id"]), command=jtl_cli).stdout
    )
    assert pin["pin"]
    count = "SELECT COUNT(*) FROM jtl_connect_pins WHERE tenant_id = :t"
    with engine.begin() as conn:
        assert conn.execute(text(count), {"t": tenant["id"]}).scalar_one() == 1
        conn.execute(
            text("UPDATE jtl_connect_pins SET expires_at = :past WHERE tenant_id = :t"),
            {"past": datetime.now(UTC) - timedelta(minutes=1), "t": tenant["id"]},
        )
    swept = json.loads(run(database_url, "sweep").stdout)
    assert swept["purged"]["jtl_connect_pins"] >= 1
    with engine.connect() as conn:
        assert conn.execute(text(count), {"t": tenant["id"]}).scalar_one() == 0


@pytest.mark.usefixtures("engine")  # the database is migrated
def test_code_space_refusal_is_a_clear_error(database_url: str) -> None:
    tenant, campaign = _campaign(
        database_url, "Tiny", "t", "1", "--charset", "AB", "--length", "3", "--pin-protected"
    )
    result = run(
        database_url,
        "campaign",
        "generate",
        "--tenant",
        str(tenant["id"]),
        "--campaign",
        str(campaign["id"]),
        "--count",
        "5",
        check=False,
    )
    assert result.returncode == 2 and "code_space_too_small" in result.stderr


def test_verify_fails_on_a_broken_ledger(database_url: str, engine: Engine) -> None:
    tenant, campaign = _campaign(database_url, "Broken", "b", "500")
    run(
        database_url,
        "campaign",
        "generate",
        "--tenant",
        str(tenant["id"]),
        "--campaign",
        str(campaign["id"]),
        "--count",
        "1",
    )
    with engine.begin() as conn:
        conn.execute(
            text("UPDATE vouchers SET balance = 499 WHERE campaign_id = :c"), {"c": campaign["id"]}
        )
    try:
        result = run(database_url, "verify", check=False)
        assert result.returncode == 1 and "FAILED" in result.stdout
        as_json = run(database_url, "verify", "--json", check=False)
        assert as_json.returncode == 1
        report = json.loads(as_json.stdout)
        broken = next(c for c in report["checks"] if c["name"] == "balance_equals_ledger_sum")
        assert report["passed"] is False and broken["ok"] is False
        with engine.connect() as conn:
            voucher_id = conn.execute(
                text("SELECT id FROM vouchers WHERE campaign_id = :c"), {"c": campaign["id"]}
            ).scalar_one()
        assert voucher_id in broken["violations"]
    finally:
        with engine.begin() as conn:
            conn.execute(
                text("UPDATE vouchers SET balance = 500 WHERE campaign_id = :c"),
                {"c": campaign["id"]},
            )


def test_the_installed_command_runs_core_and_dialect_commands(
    database_url: str, engine: Engine
) -> None:
    """Smoke: the ``voucherd`` executable, in its own process, with the dialects mounted."""
    env = {**os.environ, "VOUCHERD_DATABASE_URL": database_url}

    def voucherd(*args: str) -> Any:
        done = subprocess.run(
            [VOUCHERD, *args], capture_output=True, text=True, env=env, timeout=120, check=False
        )
        assert done.returncode == 0, done.stderr
        return json.loads(done.stdout)

    tenant = voucherd("tenant", "create", "--name", "Smoke")
    pin = voucherd("jtl", "pin", "--tenant", str(tenant["id"]), "--scopes", "read")
    assert pin["tenant_id"] == tenant["id"] and pin["scopes"] == ["read"]
    with engine.connect() as conn:
        name = conn.execute(
            text("SELECT name FROM tenants WHERE id = :id"), {"id": tenant["id"]}
        ).scalar_one()
        pins = conn.execute(
            text("SELECT COUNT(*) FROM jtl_connect_pins WHERE tenant_id = :t"), {"t": tenant["id"]}
        ).scalar_one()
    assert (name, pins) == ("Smoke", 1)
