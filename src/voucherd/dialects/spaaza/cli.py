"""``voucherd spaaza ...``: chains, apps, users, campaigns and privileged tokens (JSON output)."""

from __future__ import annotations

from typing import Annotated

import typer

from voucherd.dialects.spaaza import store
from voucherd.faces.cli import DatabaseUrl, print_json, transaction

cli = typer.Typer(
    help="Spaaza dialect: chains, apps, users, campaigns, privileged tokens.", no_args_is_help=True
)
chain_app = typer.Typer(help="Chains (a chain is a tenant).", no_args_is_help=True)
app_app = typer.Typer(help="Apps (hostname -> chain).", no_args_is_help=True)
user_app = typer.Typer(help="Users (end users and admins).", no_args_is_help=True)
campaign_app = typer.Typer(help="Campaigns.", no_args_is_help=True)
token_app = typer.Typer(help="Privileged-authentication tokens.", no_args_is_help=True)
cli.add_typer(chain_app, name="chain")
cli.add_typer(app_app, name="app")
cli.add_typer(user_app, name="user")
cli.add_typer(campaign_app, name="campaign")
cli.add_typer(token_app, name="privileged-token")

Chain = Annotated[int, typer.Option("--chain", help="chain_id")]


@chain_app.command("create")
def chain_create(
    name: Annotated[str, typer.Option(help="Chain name")],
    currency: Annotated[str, typer.Option(help="ISO 4217 currency")] = "EUR",
    database_url: DatabaseUrl = None,
) -> None:
    """Create a chain (a tenant); prints its chain_id."""
    with transaction(database_url) as uow:
        chain_id = store.create_chain(uow, name, currency)
    print_json({"chain_id": chain_id, "name": name, "currency": currency.upper()})


@app_app.command("create")
def app_create(
    chain: Chain,
    hostname: Annotated[str, typer.Option(help="App hostname")],
    database_url: DatabaseUrl = None,
) -> None:
    """Create an app: requests with X-Spaaza-MyPrice-App-Hostname HOSTNAME act on CHAIN."""
    with transaction(database_url) as uow:
        row = store.create_app(uow, chain, hostname)
    print_json({"app_id": row["id"], "chain_id": chain, "hostname": row["hostname"]})


@user_app.command("create")
def user_create(
    chain: Chain,
    username: Annotated[str, typer.Option(help="Login name")],
    password: Annotated[str, typer.Option(help="Password (stored as an Argon2 hash)")],
    member_number: Annotated[str | None, typer.Option(help="Member (card) number")] = None,
    admin: Annotated[bool, typer.Option("--admin", help="Admin user of this chain")] = False,
    database_url: DatabaseUrl = None,
) -> None:
    """Create a user (an engine customer); prints its user_id."""
    with transaction(database_url) as uow:
        user = store.create_user(
            uow,
            chain,
            username=username,
            password=password,
            member_number=member_number,
            admin=admin,
        )
    print_json(
        {
            "user_id": user.user_id,
            "chain_id": chain,
            "username": username,
            "member_number": member_number,
            "admin": admin,
        }
    )


@campaign_app.command("create")
def campaign_create(
    chain: Chain,
    type_: Annotated[str, typer.Option("--type", help="wallet, loyalty, signup, cashback, ...")],
    title: Annotated[str, typer.Option(help="Campaign title")],
    database_url: DatabaseUrl = None,
) -> None:
    """Create a campaign (an engine campaign); prints its integer campaign_id."""
    with transaction(database_url) as uow:
        row = store.create_campaign(uow, chain, type_, title)
    print_json(
        {
            "campaign_id": row["id"],
            "chain_id": chain,
            "campaign_type": type_,
            "campaign_title": title,
        }
    )


@token_app.command("create")
def token_create(chain: Chain, database_url: DatabaseUrl = None) -> None:
    """Create a privileged token (send as Authorization: Bearer TOKEN); shown once."""
    with transaction(database_url) as uow:
        token = store.create_token(uow, chain)
    print_json({"token": token, "chain_id": chain})
