"""The ``voucherd`` command, run as a user runs it (a subprocess), on both databases."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, text

VOUCHERD = str(Path(sys.executable).with_name("voucherd"))


def run(database_url: str, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "VOUCHERD_DATABASE_URL": database_url}
    result = subprocess.run(
        [VOUCHERD, *args], capture_output=True, text=True, env=env, timeout=120, check=False
    )
    if check:
        assert result.returncode == 0, result.stderr
    return result


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
        database_url, "Bulk", "Spring", "1000", "--pattern", "####-####", "--active"
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
    assert "all 11 checks passed" in verify.stderr
    assert "balance_equals_ledger_sum" in verify.stdout
    sweep = json.loads(run(database_url, "sweep").stdout)
    assert set(sweep) == {
        "expired_vouchers",
        "expired_reservations",
        "purged_idempotency_keys",
        "purged",
    }
    assert {"jtl_connect_pins", "spaaza_sessions", "rm_nonces"} <= set(sweep["purged"])


def test_sweep_purges_lapsed_dialect_credentials(database_url: str, engine: Engine) -> None:
    tenant = json.loads(run(database_url, "tenant", "create", "--name", "Pins").stdout)
    pin = json.loads(run(database_url, "jtl", "pin", "--tenant", str(tenant["id"])).stdout)
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
    tenant, campaign = _campaign(database_url, "Tiny", "t", "1", "--charset", "AB", "--length", "3")
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
    finally:
        with engine.begin() as conn:
            conn.execute(
                text("UPDATE vouchers SET balance = 500 WHERE campaign_id = :c"),
                {"c": campaign["id"]},
            )
