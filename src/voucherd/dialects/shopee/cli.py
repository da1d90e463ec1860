"""``voucherd shopee ...``: partners (apps) and shop authorisations for headless set-ups."""

from __future__ import annotations

from typing import Annotated

import typer

from voucherd.dialects.shopee import accounts
from voucherd.dialects.shopee import vouchers as shopee_vouchers
from voucherd.domain.money import normalize_currency
from voucherd.faces.cli import DatabaseUrl, print_json, transaction
from voucherd.services import tenants

cli = typer.Typer(
    help="Shopee Open Platform v2 dialect: partners and shop authorisations.", no_args_is_help=True
)
partner_app = typer.Typer(help="Partners (apps that shops authorise).", no_args_is_help=True)
cli.add_typer(partner_app, name="partner")


@partner_app.command("create")
def partner_create(
    name: Annotated[str, typer.Option(help="App name")], database_url: DatabaseUrl = None
) -> None:
    """Create a partner; prints JSON with partner_id and partner_key (keep the key secret)."""
    with transaction(database_url) as uow:
        partner = accounts.create_partner(uow, name)
    print_json(
        {"partner_id": partner.partner_id, "partner_key": partner.partner_key, "name": partner.name}
    )


@cli.command("authorize")
def authorize(
    partner: Annotated[int, typer.Option(help="partner_id")],
    tenant: Annotated[int, typer.Option(help="Tenant id (= shop_id)")],
    currency: Annotated[str | None, typer.Option(help="The shop's currency (ISO 4217)")] = None,
    database_url: DatabaseUrl = None,
) -> None:
    """The shop (tenant) authorises the partner; prints JSON with a one-time code (10 min)."""
    with transaction(database_url) as uow:
        if currency is not None:
            tenants.update_tenant_settings(
                uow, tenant, {shopee_vouchers.SETTING_CURRENCY: normalize_currency(currency)}
            )
        code = accounts.authorize(uow, tenant, partner)
    print_json(
        {
            "code": code,
            "shop_id": tenant,
            "partner_id": partner,
            "expires_in": int(accounts.CODE_TTL.total_seconds()),
        }
    )


@cli.command("revoke")
def revoke(
    partner: Annotated[int, typer.Option(help="partner_id")],
    tenant: Annotated[int, typer.Option(help="Tenant id (= shop_id)")],
    database_url: DatabaseUrl = None,
) -> None:
    """End a shop's authorisation of a partner: its tokens and refresh tokens stop working."""
    with transaction(database_url) as uow:
        revoked = accounts.revoke(uow, tenant, partner)
    print_json({"revoked": revoked, "shop_id": tenant, "partner_id": partner})
    if not revoked:
        raise typer.Exit(1)
