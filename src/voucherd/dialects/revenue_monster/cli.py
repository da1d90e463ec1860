"""``voucherd rm ...``: clients, batches, merchant settings and the callback worker."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from sqlalchemy import Engine

from voucherd.dialects.revenue_monster import auth, batches, credentials, merchants
from voucherd.faces.cli import DatabaseUrl, database, fail, print_json
from voucherd.services.unit_of_work import UnitOfWork

cli = typer.Typer(help="Revenue Monster Open API v3 (vouchers) under /rm.", no_args_is_help=True)
client_app = typer.Typer(help="RM API clients.", no_args_is_help=True)
batch_app = typer.Typer(help="RM voucher batches.", no_args_is_help=True)
merchant_app = typer.Typer(
    help="RM merchant settings (callbacks, reinstate PIN).", no_args_is_help=True
)
cli.add_typer(client_app, name="client")
cli.add_typer(batch_app, name="batch")
cli.add_typer(merchant_app, name="merchant")


def create_client(
    engine: Engine, tenant_id: int, public_key_pem: str, name: str = "rm"
) -> dict[str, str]:
    """An engine client of kind ``rm`` plus its RSA public key, in one transaction.

    Raises: ValueError (bad key), VoucherdError (no such tenant).
    """
    with UnitOfWork(engine) as uow:
        created = credentials.register_client(uow, tenant_id, public_key_pem, name)
        uow.commit()
    return {"clientId": created.client_id, "clientSecret": created.client_secret}


@client_app.command("create")
def client_create(
    tenant: Annotated[int, typer.Option(help="Tenant id")],
    public_key: Annotated[
        Path,
        typer.Option(
            "--public-key",
            help="PEM file of the client's RSA public key",
            exists=True,
            dir_okay=False,
        ),
    ],
    name: Annotated[str, typer.Option(help="Client name")] = "rm",
    database_url: DatabaseUrl = None,
) -> None:
    """Create an RM client; prints JSON with clientId and clientSecret (shown once)."""
    with database(database_url) as engine:
        try:
            result = create_client(engine, tenant, public_key.read_text(), name)
        except ValueError as exc:
            fail(str(exc))
    print_json({**result, "tenantId": tenant})


@client_app.command("revoke-tokens")
def client_revoke_tokens(
    tenant: Annotated[int, typer.Option(help="Tenant id")],
    client: Annotated[str, typer.Option(help="Client id")],
    database_url: DatabaseUrl = None,
) -> None:
    """Revoke all refresh tokens of an RM client; prints how many."""
    with database(database_url) as engine:
        revoked = auth.revoke_refresh_tokens(engine, tenant, client)
    print_json({"tenantId": tenant, "clientId": client, "revokedRefreshTokens": revoked})


def _iso(text: str) -> datetime:
    try:
        value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise typer.BadParameter("expected an ISO 8601 date-time") from None
    if value.tzinfo is None:
        raise typer.BadParameter("give a time zone (e.g. 2027-01-01T00:00:00Z)")
    return value.astimezone(UTC)


@batch_app.command("create")
def batch_create(
    tenant: Annotated[int, typer.Option(help="Tenant id")],
    label: Annotated[str, typer.Option(help="Batch label")],
    type: Annotated[str, typer.Option("--type", help="CASH, DISCOUNT or GIFT")],
    quantity: Annotated[int, typer.Option(help="How many vouchers to generate")],
    amount: Annotated[int | None, typer.Option(help="Cents: CASH value or fixed discount")] = None,
    discount_rate: Annotated[int | None, typer.Option(help="Basis points (1% = 100)")] = None,
    minimum_spend: Annotated[int | None, typer.Option(help="Cents")] = None,
    expiry_days: Annotated[int | None, typer.Option(help="DYNAMIC: days from issue")] = None,
    expires_at: Annotated[str | None, typer.Option(help="FIXED: ISO 8601 date-time")] = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Create a voucher batch and its vouchers; prints JSON with the batch key."""
    kind = type.upper()
    if kind not in ("CASH", "DISCOUNT", "GIFT"):
        fail("--type is CASH, DISCOUNT or GIFT")
    spec = batches.NewBatch(
        label=label,
        type=kind,  # type: ignore[arg-type]  # checked just above
        quantity=quantity,
        amount=amount,
        discount_rate=discount_rate,
        minimum_spend=minimum_spend,
        expiry_days=expiry_days,
        expires_at=_iso(expires_at) if expires_at else None,
    )
    with database(database_url) as engine:
        try:
            result = batches.create(engine, tenant, spec)
        except ValueError as exc:
            fail(str(exc))
    print_json(result)


@merchant_app.command("set")
def merchant_set(
    tenant: Annotated[int, typer.Option(help="Tenant id")],
    callback_url: Annotated[
        str | None, typer.Option(help="Where status changes are POSTed ('' to stop)")
    ] = None,
    retry_interval: Annotated[
        float | None, typer.Option(help="Seconds between callback attempts")
    ] = None,
    public_url: Annotated[
        str | None,
        typer.Option(help="Base of qrUrl in callbacks, e.g. https://vouchers.example/rm"),
    ] = None,
    reinstate_pin: Annotated[str | None, typer.Option(help="PIN that authorises reinstate")] = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Set what is given; prints the merchant's settings and server public key."""
    changes: dict[str, Any] = {}
    if callback_url is not None:
        if callback_url and not callback_url.lower().startswith(("http://", "https://")):
            fail("--callback-url must be an http(s) URL")
        changes["callback_url"] = callback_url
    if retry_interval is not None:
        if retry_interval <= 0:
            fail("--retry-interval must be positive")
        changes["retry_interval_seconds"] = retry_interval
    if public_url is not None:
        changes["public_url"] = public_url
    if reinstate_pin is not None:
        changes["reinstate_pin"] = reinstate_pin
    with database(database_url) as engine:
        row = merchants.configure(engine, tenant, **changes)
    print_json(
        {
            "tenantId": tenant,
            "callbackUrl": row["callback_url"],
            "retryIntervalSeconds": row["retry_interval_seconds"],
            "publicUrl": row["public_url"],
            "reinstatePinSet": row["reinstate_pin_hash"] is not None,
            "serverPublicKey": row["server_public_key_pem"],
        }
    )
