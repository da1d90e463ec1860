"""``voucherd rm ...``: clients, batches, merchant settings."""

from __future__ import annotations

import json
from pathlib import Path

from sqlalchemy import Engine, func, select
from typer.testing import CliRunner

from tests.compat.revenue_monster.conftest import KeyPair
from tests.conftest import TenantFixture
from voucherd.db.tables import campaigns, clients, vouchers
from voucherd.dialects.revenue_monster.cli import cli
from voucherd.services import tenants
from voucherd.services.unit_of_work import UnitOfWork

runner = CliRunner()


def _url(engine: Engine) -> str:
    return engine.url.render_as_string(hide_password=False)


def test_client_create_prints_rm_credentials(
    engine: Engine, tenant: TenantFixture, rm_keys: tuple[KeyPair, KeyPair], tmp_path: Path
) -> None:
    key_file = tmp_path / "public.pem"
    key_file.write_text(rm_keys[0].public_pem)
    result = runner.invoke(
        cli,
        [
            "client",
            "create",
            "--tenant",
            str(tenant.id),
            "--public-key",
            str(key_file),
            "--database-url",
            _url(engine),
        ],
    )
    assert result.exit_code == 0, result.output
    printed = json.loads(result.stdout)
    assert set(printed) == {"clientId", "clientSecret", "tenantId"}
    with UnitOfWork(engine) as uow:
        row = tenants.authenticate_client(uow, printed["clientId"], printed["clientSecret"])
    assert row is not None and row["kind"] == "rm" and row["tenant_id"] == tenant.id

    key_file.write_text("not a key")
    bad = runner.invoke(
        cli,
        [
            "client",
            "create",
            "--tenant",
            str(tenant.id),
            "--public-key",
            str(key_file),
            "--database-url",
            _url(engine),
        ],
    )
    assert bad.exit_code == 2
    with engine.connect() as conn:
        count = conn.execute(
            select(func.count())
            .select_from(clients)
            .where(clients.c.tenant_id == tenant.id, clients.c.kind == "rm")
        ).scalar_one()
    assert count == 1


def test_batch_create_generates_the_quantity(engine: Engine, tenant: TenantFixture) -> None:
    result = runner.invoke(
        cli,
        [
            "batch",
            "create",
            "--tenant",
            str(tenant.id),
            "--label",
            "10% off",
            "--type",
            "DISCOUNT",
            "--discount-rate",
            "1000",
            "--minimum-spend",
            "2000",
            "--quantity",
            "5",
            "--expires-at",
            "2030-06-30T16:00:00Z",
            "--database-url",
            _url(engine),
        ],
    )
    assert result.exit_code == 0, result.output
    printed = json.loads(result.stdout)
    assert printed["quantity"] == 5 and printed["type"] == "DISCOUNT"
    with engine.connect() as conn:
        batch = conn.execute(
            select(campaigns).where(
                campaigns.c.tenant_id == tenant.id, campaigns.c.key == printed["key"]
            )
        ).one()
        assert (batch.kind, batch.discount_bps, batch.min_spend) == ("percent_discount", 1000, 2000)
        statuses = conn.execute(
            select(vouchers.c.status).where(
                vouchers.c.tenant_id == tenant.id, vouchers.c.campaign_id == batch.id
            )
        ).scalars()
        assert list(statuses) == ["inactive"] * 5


def test_batch_create_refuses_what_rm_would_not_have(engine: Engine, tenant: TenantFixture) -> None:
    base = [
        "batch",
        "create",
        "--tenant",
        str(tenant.id),
        "--label",
        "x",
        "--quantity",
        "1",
        "--database-url",
        _url(engine),
    ]
    for extra in (
        ["--type", "CASH"],
        ["--type", "DISCOUNT"],
        ["--type", "VIP"],
        ["--type", "GIFT", "--amount", "5"],
        ["--type", "GIFT", "--expiry-days", "3", "--expires-at", "2030-01-01T00:00Z"],
    ):
        assert runner.invoke(cli, base + extra).exit_code == 2, extra
    with engine.connect() as conn:
        assert (
            conn.execute(
                select(func.count())
                .select_from(campaigns)
                .where(campaigns.c.tenant_id == tenant.id)
            ).scalar_one()
            == 0
        )


def test_merchant_set(engine: Engine, tenant: TenantFixture) -> None:
    result = runner.invoke(
        cli,
        [
            "merchant",
            "set",
            "--tenant",
            str(tenant.id),
            "--callback-url",
            "http://127.0.0.1:9/cb",
            "--retry-interval",
            "2.5",
            "--reinstate-pin",
            "4321",
            "--database-url",
            _url(engine),
        ],
    )
    assert result.exit_code == 0, result.output
    printed = json.loads(result.stdout)
    assert printed["callbackUrl"] == "http://127.0.0.1:9/cb"
    assert printed["retryIntervalSeconds"] == 2.5 and printed["reinstatePinSet"] is True
    assert printed["serverPublicKey"].startswith("-----BEGIN PUBLIC KEY-----")
    bad = runner.invoke(
        cli,
        [
            "merchant",
            "set",
            "--tenant",
            str(tenant.id),
            "--callback-url",
            "ftp://x",
            "--database-url",
            _url(engine),
        ],
    )
    assert bad.exit_code == 2
