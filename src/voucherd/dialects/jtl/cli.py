"""``voucherd jtl ...``: issue connection PINs for JTL clients."""

from __future__ import annotations

import json
import sys
from typing import Annotated

import typer

from voucherd.config import Settings
from voucherd.db.engine import make_engine
from voucherd.dialects.jtl import pins
from voucherd.domain.errors import VoucherdError
from voucherd.domain.scopes import ALL_SCOPES, parse_scopes
from voucherd.services.unit_of_work import UnitOfWork

cli = typer.Typer(help="JTL Voucher Cloud API dialect.", no_args_is_help=True)


@cli.callback()
def main() -> None:
    """JTL Voucher Cloud API dialect (served under /jtl)."""


@cli.command("pin")
def pin(
    tenant: Annotated[int, typer.Option(help="Tenant id")],
    scopes: Annotated[str, typer.Option(help="Space-separated scopes of the client")] = " ".join(
        sorted(ALL_SCOPES)
    ),
    name: Annotated[str, typer.Option(help="Name of the client to be connected")] = "JTL client",
    type: Annotated[str, typer.Option("--type", help="Client type, e.g. pos")] = "pos",
    database_url: Annotated[
        str | None,
        typer.Option("--database-url", envvar="VOUCHERD_DATABASE_URL", help="SQLAlchemy URL"),
    ] = None,
) -> None:
    """Issue a one-time PIN (30 minutes) for POST /jtl/v1/clients/connect; prints JSON."""
    try:
        scope_set = parse_scopes(scopes)
    except ValueError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    engine = make_engine(database_url or Settings().database_url)
    try:
        with UnitOfWork(engine) as uow:
            issued = pins.issue(uow, tenant, scope_set, name=name, client_type=type)
            uow.commit()
    except VoucherdError as exc:
        typer.echo(f"error ({exc.code}): {exc.message}", err=True)
        raise typer.Exit(2) from None
    finally:
        engine.dispose()
    sys.stdout.write(
        json.dumps(
            {
                "pin": issued.pin,
                "expires_at": issued.expires_at.isoformat(),
                "tenant_id": tenant,
                "scopes": sorted(scope_set),
            }
        )
        + "\n"
    )
