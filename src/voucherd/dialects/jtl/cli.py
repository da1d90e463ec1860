"""``voucherd jtl ...``: issue connection PINs for JTL clients."""

from __future__ import annotations

from typing import Annotated

import typer

from voucherd.dialects.jtl import pins
from voucherd.domain.scopes import ALL_SCOPES, parse_scopes
from voucherd.faces.cli import DatabaseUrl, fail, print_json, transaction

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
    database_url: DatabaseUrl = None,
) -> None:
    """Issue a one-time PIN (30 minutes) for POST /jtl/v1/clients/connect; prints JSON."""
    try:
        scope_set = parse_scopes(scopes)
    except ValueError as exc:
        fail(str(exc))
    with transaction(database_url) as uow:
        issued = pins.issue(uow, tenant, scope_set, name=name, client_type=type)
    print_json(
        {
            "pin": issued.pin,
            "expires_at": issued.expires_at.isoformat(),
            "tenant_id": tenant,
            "scopes": sorted(scope_set),
        }
    )
