"""JTL's credentials on the dashboard: connection PINs and the clients connected with them.

Issuing is ``pins.issue`` (what ``voucherd jtl pin`` calls). A PIN not yet used is ended by
setting its expiry to now (the connect's conditional UPDATE then never matches it); once used,
ending it revokes the JTL client it created (``tenants.revoke_client``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from sqlalchemy import select, update

from voucherd.db.tables import clients
from voucherd.dialects.jtl import pins
from voucherd.dialects.jtl.tables import jtl_connect_pins
from voucherd.domain import errors
from voucherd.faces.credentials import (
    CredentialKind,
    Field,
    Issued,
    Item,
    integer,
    required,
    scopes,
    scopes_field,
)
from voucherd.services import tenants
from voucherd.services.changes import record_event
from voucherd.services.unit_of_work import Actor, UnitOfWork


def _items(uow: UnitOfWork, actor: Actor) -> Sequence[Item]:
    table = jtl_connect_pins
    rows = uow.conn.execute(
        select(table, clients.c.revoked_at.label("client_revoked_at"))
        .outerjoin(
            clients,
            (clients.c.tenant_id == table.c.tenant_id) & (clients.c.id == table.c.client_id),
        )
        .where(table.c.tenant_id == actor.tenant_id)
        .order_by(table.c.id.desc())
        .limit(200)
    ).mappings()
    found = []
    for r in rows:
        if r["client_id"] is not None:
            revoked = r["client_revoked_at"] is not None
            state = "revoked" if revoked else "connected"
            detail = f"{r['client_type']}, client {r['client_id']}"
            live = not revoked
        else:
            live = r["used_at"] is None and r["expires_at"] > uow.now
            state = "waiting" if live else "expired"
            detail = f"{r['client_type']}, scopes: {r['scopes']}"
        found.append(Item(str(r["id"]), r["name"], detail, r["created_at"], state, live))
    return found


def _create(uow: UnitOfWork, actor: Actor, values: Mapping[str, str]) -> Issued:
    issued = pins.issue(
        uow,
        actor.tenant_id,
        scopes(values),
        name=required(values, "name"),
        client_type=required(values, "type", max_length=32),
        actor=actor.name,
    )
    return Issued(
        {"PIN": issued.pin, "Valid until": issued.expires_at.isoformat(timespec="seconds")},
        "Enter the PIN in the JTL client within 30 minutes (POST /jtl/v1/clients/connect).",
    )


def _revoke(uow: UnitOfWork, actor: Actor, item_id: str) -> None:
    pin_id = integer({"id": item_id}, "id")
    table = jtl_connect_pins
    row = (
        uow.conn.execute(
            select(table).where(table.c.tenant_id == actor.tenant_id, table.c.id == pin_id)
        )
        .mappings()
        .first()
    )
    if row is None:
        raise errors.NotFound("jtl pin", pin_id)
    if row["client_id"] is not None:
        tenants.revoke_client(uow, row["client_id"], by=actor)
        return
    uow.conn.execute(
        update(table)
        .where(table.c.tenant_id == actor.tenant_id, table.c.id == pin_id)
        .values(expires_at=uow.now)
    )
    record_event(uow, actor, operation="revoke", subject="jtl_pin", subject_id=str(pin_id))


PINS = CredentialKind(
    key="jtl_pin",
    face="JTL",
    title="Connection PINs",
    about="A one-time PIN (30 minutes) a JTL client exchanges for its own API credentials.",
    items=_items,
    create=_create,
    revoke=_revoke,
    fields=(
        Field("name", "Client name", default="JTL client"),
        Field("type", "Client type", default="pos", max_length=32),
        scopes_field(),
    ),
    create_label="Issue PIN",
)

CREDENTIALS = (PINS,)
