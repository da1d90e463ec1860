"""``voucherd spaaza ...``: chains, apps, users, campaigns and privileged tokens (JSON output)."""

from __future__ import annotations

import json
import sys
from typing import Annotated, Any

import typer
from sqlalchemy import Engine

from voucherd.config import Settings
from voucherd.db.engine import make_engine
from voucherd.dialects.spaaza import store
from voucherd.domain.errors import VoucherdError
from voucherd.services.unit_of_work import UnitOfWork

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

DatabaseUrl = Annotated[
    str | None,
    typer.Option(
        "--database-url",
        envvar="VOUCHERD_DATABASE_URL",
        help="SQLAlchemy URL; default ./voucherd.db",
    ),
]
Chain = Annotated[int, typer.Option("--chain", help="chain_id")]


def _engine(url: str | None) -> Engine:
    return make_engine(url or Settings().database_url)


def _emit(data: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(data, indent=2, default=str) + "\n")


def _fail(exc: VoucherdError) -> None:
    sys.stderr.write(json.dumps({"error": exc.code, "message": exc.message}) + "\n")
    raise typer.Exit(2)


@chain_app.command("create")
def chain_create(
    name: Annotated[str, typer.Option(help="Chain name")],
    currency: Annotated[str, typer.Option(help="ISO 4217 currency")] = "EUR",
    database_url: DatabaseUrl = None,
) -> None:
    """Create a chain (a tenant); prints its chain_id."""
    try:
        with UnitOfWork(_engine(database_url)) as uow:
            chain_id = store.create_chain(uow, name, currency)
            uow.commit()
    except VoucherdError as exc:
        _fail(exc)
    _emit({"chain_id": chain_id, "name": name, "currency": currency.upper()})


@app_app.command("create")
def app_create(
    chain: Chain,
    hostname: Annotated[str, typer.Option(help="App hostname")],
    database_url: DatabaseUrl = None,
) -> None:
    """Create an app: requests with X-Spaaza-MyPrice-App-Hostname HOSTNAME act on CHAIN."""
    try:
        with UnitOfWork(_engine(database_url)) as uow:
            row = store.create_app(uow, chain, hostname)
            uow.commit()
    except VoucherdError as exc:
        _fail(exc)
    _emit({"app_id": row["id"], "chain_id": chain, "hostname": row["hostname"]})


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
    try:
        with UnitOfWork(_engine(database_url)) as uow:
            user = store.create_user(
                uow,
                chain,
                username=username,
                password=password,
                member_number=member_number,
                admin=admin,
            )
            uow.commit()
    except VoucherdError as exc:
        _fail(exc)
    _emit(
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
    try:
        with UnitOfWork(_engine(database_url)) as uow:
            row = store.create_campaign(uow, chain, type_, title)
            uow.commit()
    except VoucherdError as exc:
        _fail(exc)
    _emit(
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
    try:
        with UnitOfWork(_engine(database_url)) as uow:
            token = store.create_token(uow, chain)
            uow.commit()
    except VoucherdError as exc:
        _fail(exc)
    _emit({"token": token, "chain_id": chain})
