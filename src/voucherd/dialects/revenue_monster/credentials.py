"""Revenue Monster's credentials: API clients with the RSA public key their requests are signed
with (``voucherd rm client create`` and the dashboard both call ``register_client``).

Revoking a client revokes the engine client (no new tokens) and its refresh tokens.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from sqlalchemy import insert, select, update

from voucherd.db.tables import clients
from voucherd.dialects.revenue_monster import signing
from voucherd.dialects.revenue_monster.tables import rm_clients, rm_refresh_tokens
from voucherd.domain import errors
from voucherd.domain.scopes import ALL_SCOPES
from voucherd.faces.credentials import CredentialKind, Field, Issued, Item, required
from voucherd.services import tenants
from voucherd.services.unit_of_work import Actor, UnitOfWork

MAX_PEM = 16_384


def register_client(
    uow: UnitOfWork, tenant_id: int, public_key_pem: str, name: str = "rm", actor: str = "cli"
) -> tenants.NewClient:
    """An engine client of kind ``rm`` plus its RSA public key.

    Raises: ValueError (bad key), VoucherdError (no such tenant).
    """
    signing.load_public_key(public_key_pem)
    created = tenants.create_client(uow, tenant_id, name, ALL_SCOPES, kind="rm", actor=actor)
    uow.conn.execute(
        insert(rm_clients).values(
            tenant_id=tenant_id,
            client_id=created.client_id,
            public_key_pem=public_key_pem.strip() + "\n",
            created_at=uow.now,
        )
    )
    return created


def _items(uow: UnitOfWork, actor: Actor) -> Sequence[Item]:
    rows = uow.conn.execute(
        select(
            rm_clients.c.client_id, rm_clients.c.created_at, clients.c.name, clients.c.revoked_at
        )
        .join(
            clients,
            (clients.c.tenant_id == rm_clients.c.tenant_id)
            & (clients.c.id == rm_clients.c.client_id),
        )
        .where(rm_clients.c.tenant_id == actor.tenant_id)
        .order_by(rm_clients.c.created_at.desc())
    ).mappings()
    return [
        Item(
            r["client_id"],
            r["name"],
            f"clientId {r['client_id']}",
            r["created_at"],
            "revoked" if r["revoked_at"] is not None else "active",
            r["revoked_at"] is None,
        )
        for r in rows
    ]


def _create(uow: UnitOfWork, actor: Actor, values: Mapping[str, str]) -> Issued:
    pem = required(values, "public_key", max_length=MAX_PEM)
    try:
        created = register_client(
            uow, actor.tenant_id, pem, required(values, "name"), actor=actor.name
        )
    except ValueError as exc:
        raise errors.ValidationFailed(str(exc), field="public_key") from None
    return Issued(
        {"clientId": created.client_id, "clientSecret": created.client_secret},
        "Sign requests with the private key that belongs to the public key you gave.",
    )


def _revoke(uow: UnitOfWork, actor: Actor, item_id: str) -> None:
    found = uow.conn.execute(
        select(rm_clients.c.client_id).where(
            rm_clients.c.tenant_id == actor.tenant_id, rm_clients.c.client_id == item_id
        )
    ).first()
    if found is None:
        raise errors.NotFound("rm client", item_id)
    tenants.revoke_client(uow, item_id, by=actor)
    uow.conn.execute(
        update(rm_refresh_tokens)
        .where(
            rm_refresh_tokens.c.tenant_id == actor.tenant_id,
            rm_refresh_tokens.c.client_id == item_id,
            rm_refresh_tokens.c.revoked_at.is_(None),
        )
        .values(revoked_at=uow.now)
    )


CLIENTS = CredentialKind(
    key="rm_client",
    face="Revenue Monster",
    title="API clients (RSA keys)",
    about="A client for /rm: its requests are signed with the private key of this public key.",
    items=_items,
    create=_create,
    revoke=_revoke,
    fields=(
        Field("name", "Client name", default="rm"),
        Field("public_key", "RSA public key (PEM)", "textarea", max_length=MAX_PEM),
    ),
    create_label="Create RM client",
)

CREDENTIALS = (CLIENTS,)
