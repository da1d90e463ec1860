"""Spaaza's credentials on the dashboard: apps (hostname -> chain) and privileged tokens.

Both are made by the functions ``voucherd spaaza app create`` and ``privileged-token create``
call (``store.create_app``, ``store.create_token``). An app holds no secret (its hostname routes
requests to the chain); removing it deletes the row, so its hostname routes nowhere. A
privileged token is shown once and revoked by setting ``revoked_at``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from sqlalchemy import delete, select, update

from voucherd.dialects.spaaza import store
from voucherd.dialects.spaaza.tables import spaaza_apps, spaaza_tokens
from voucherd.domain import errors
from voucherd.faces.credentials import CredentialKind, Field, Issued, Item, integer, required
from voucherd.services.changes import record_event
from voucherd.services.unit_of_work import Actor, UnitOfWork


def _apps(uow: UnitOfWork, actor: Actor) -> Sequence[Item]:
    rows = uow.conn.execute(
        select(spaaza_apps)
        .where(spaaza_apps.c.tenant_id == actor.tenant_id)
        .order_by(spaaza_apps.c.hostname)
    ).mappings()
    return [
        Item(str(r["id"]), r["hostname"], f"app {r['id']}", r["created_at"], "active", True)
        for r in rows
    ]


def _create_app(uow: UnitOfWork, actor: Actor, values: Mapping[str, str]) -> Issued:
    row = store.create_app(uow, actor.tenant_id, required(values, "hostname"))
    record_event(
        uow,
        actor,
        operation="create",
        subject="spaaza_app",
        subject_id=str(row["id"]),
        after={"hostname": row["hostname"]},
    )
    return Issued(
        {"app_id": str(row["id"]), "chain_id": str(actor.tenant_id), "hostname": row["hostname"]},
        "Requests with X-Spaaza-MyPrice-App-Hostname set to this hostname act on this shop.",
    )


def _remove_app(uow: UnitOfWork, actor: Actor, item_id: str) -> None:
    app_id = integer({"id": item_id}, "id")
    done = uow.conn.execute(
        delete(spaaza_apps).where(
            spaaza_apps.c.tenant_id == actor.tenant_id, spaaza_apps.c.id == app_id
        )
    )
    if not done.rowcount:
        raise errors.NotFound("spaaza app", app_id)
    record_event(uow, actor, operation="delete", subject="spaaza_app", subject_id=str(app_id))


def _tokens(uow: UnitOfWork, actor: Actor) -> Sequence[Item]:
    rows = uow.conn.execute(
        select(spaaza_tokens.c.id, spaaza_tokens.c.created_at, spaaza_tokens.c.revoked_at)
        .where(spaaza_tokens.c.tenant_id == actor.tenant_id)
        .order_by(spaaza_tokens.c.id.desc())
    ).mappings()
    return [
        Item(
            str(r["id"]),
            f"token {r['id']}",
            "privileged (Authorization: Bearer)",
            r["created_at"],
            "revoked" if r["revoked_at"] is not None else "active",
            r["revoked_at"] is None,
        )
        for r in rows
    ]


def _create_token(uow: UnitOfWork, actor: Actor, values: Mapping[str, str]) -> Issued:
    token = store.create_token(uow, actor.tenant_id)
    token_id = uow.conn.execute(
        select(spaaza_tokens.c.id).where(
            spaaza_tokens.c.tenant_id == actor.tenant_id,
            spaaza_tokens.c.token_hash == store.sha256(token),
        )
    ).scalar_one()
    record_event(uow, actor, operation="create", subject="spaaza_token", subject_id=str(token_id))
    return Issued(
        {"token": token, "chain_id": str(actor.tenant_id)},
        "Send it as Authorization: Bearer TOKEN with privileged Spaaza calls.",
    )


def _revoke_token(uow: UnitOfWork, actor: Actor, item_id: str) -> None:
    token_id = integer({"id": item_id}, "id")
    done = uow.conn.execute(
        update(spaaza_tokens)
        .where(
            spaaza_tokens.c.tenant_id == actor.tenant_id,
            spaaza_tokens.c.id == token_id,
            spaaza_tokens.c.revoked_at.is_(None),
        )
        .values(revoked_at=uow.now)
    )
    if not done.rowcount:
        raise errors.NotFound("spaaza token", token_id)
    record_event(uow, actor, operation="revoke", subject="spaaza_token", subject_id=str(token_id))


APPS = CredentialKind(
    key="spaaza_app",
    face="Spaaza",
    title="Apps",
    about="An app's hostname routes Spaaza requests to this shop (chain).",
    items=_apps,
    create=_create_app,
    revoke=_remove_app,
    fields=(Field("hostname", "App hostname"),),
    create_label="Create app",
)

TOKENS = CredentialKind(
    key="spaaza_token",
    face="Spaaza",
    title="Privileged tokens",
    about="A bearer token for Spaaza's privileged (admin) calls on this shop.",
    items=_tokens,
    create=_create_token,
    revoke=_revoke_token,
    create_label="Create token",
)

CREDENTIALS = (APPS, TOKENS)
