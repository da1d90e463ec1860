"""Tenants, their API clients, and customers."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import insert, select, update

from voucherd.db import repositories as repo
from voucherd.db.tables import clients, tenants
from voucherd.domain import errors
from voucherd.domain.scopes import Scope
from voucherd.services import hashing
from voucherd.services.attempts import Budget
from voucherd.services.changes import record_event
from voucherd.services.unit_of_work import Actor, UnitOfWork


def create_tenant(uow: UnitOfWork, name: str, settings: Mapping[str, Any] | None = None) -> int:
    if not name.strip():
        raise errors.ValidationFailed("name is required", field="name")
    tenant_id = uow.conn.execute(
        insert(tenants)
        .values(name=name, settings=dict(settings or {}), created_at=uow.now)
        .returning(tenants.c.id)
    ).scalar_one()
    record_event(
        uow,
        Actor(tenant_id, "cli"),
        operation="create",
        subject="tenant",
        subject_id=str(tenant_id),
        after={"name": name},
    )
    return int(tenant_id)


def get_tenant(uow: UnitOfWork, tenant_id: int) -> repo.Row:
    row = uow.conn.execute(select(tenants).where(tenants.c.id == tenant_id)).mappings().first()
    if row is None:
        raise errors.NotFound("tenant", tenant_id)
    return row


def lock_tenant(uow: UnitOfWork, tenant_id: int) -> None:
    """Serialise a tenant-wide check-then-act (e.g. a quota) until this transaction ends.

    PostgreSQL locks the tenant row; SQLite's writers are serialised already (BEGIN IMMEDIATE).
    """
    uow.conn.execute(select(tenants.c.id).where(tenants.c.id == tenant_id).with_for_update())


def update_tenant_settings(uow: UnitOfWork, tenant_id: int, settings: Mapping[str, Any]) -> None:
    current = dict(get_tenant(uow, tenant_id)["settings"] or {})
    current.update(settings)
    uow.conn.execute(update(tenants).where(tenants.c.id == tenant_id).values(settings=current))


@dataclass(frozen=True, slots=True)
class NewClient:
    client_id: str
    client_secret: str  # shown once; only its hash is stored
    tenant_id: int
    scopes: frozenset[Scope]


def create_client(
    uow: UnitOfWork,
    tenant_id: int,
    name: str,
    scopes: Iterable[Scope],
    *,
    kind: str = "native",
    extra: Mapping[str, Any] | None = None,
    actor: str = "cli",
) -> NewClient:
    get_tenant(uow, tenant_id)
    scope_set = frozenset(scopes)
    client_id = "cl_" + hashing.random_id(20, "0123456789abcdefghijklmnopqrstuvwxyz")
    secret = hashing.new_client_secret()
    uow.conn.execute(
        insert(clients).values(
            id=client_id,
            tenant_id=tenant_id,
            name=name,
            secret_hash=hashing.hash_client_secret(secret),
            scopes=" ".join(sorted(scope_set)),
            kind=kind,
            extra=dict(extra or {}),
            created_at=uow.now,
        )
    )
    record_event(
        uow,
        Actor(tenant_id, actor),
        operation="create",
        subject="client",
        subject_id=client_id,
        after={"name": name, "scopes": sorted(scope_set)},
    )
    return NewClient(client_id, secret, tenant_id, scope_set)


def authenticate_client(uow: UnitOfWork, client_id: str, secret: str) -> repo.Row | None:
    """The client row if the secret matches and the client is not revoked.

    A failure counts against the caller's authentication budget (and the client id's);
    raises TooManyAttempts (from the request's budgets) once it is spent.
    """
    uow.attempts.guard(Budget.AUTH, "client:" + client_id)
    row = _authenticated(uow, client_id, secret)
    if row is None:
        uow.attempts.failed(Budget.AUTH, "client:" + client_id)
    return row


def _authenticated(uow: UnitOfWork, client_id: str, secret: str) -> repo.Row | None:
    if "\x00" in client_id:  # no such id can exist; do not send it to the database
        row = None
    else:
        row = uow.conn.execute(select(clients).where(clients.c.id == client_id)).mappings().first()
    if row is None or row["revoked_at"] is not None:
        hashing.verify_client_secret("sha256$", secret)  # same work either way
        return None
    return row if hashing.verify_client_secret(row["secret_hash"], secret) else None


# Client kinds whose id and secret alone are the credential, so they may take bearer tokens at
# the native and JTL token endpoints (docs/decisions.md, "Cross-face reach"). An RM client
# (kind ``rm``) signs every call with its RSA key as well: its secret alone must not buy a
# bearer token that skips the signature, so it gets tokens at ``/rm/v1/token`` only.
BEARER_KINDS = frozenset({"native", "jtl"})


def may_take_bearer_token(client: repo.Row) -> bool:
    return str(client["kind"]) in BEARER_KINDS


def may_authorise_apps(client: repo.Row) -> bool:
    """Whether a client may let a third-party app (a Shopee partner) manage the tenant's
    vouchers: a bearer client that may manage them itself."""
    return may_take_bearer_token(client) and Scope.MANAGE.value in str(client["scopes"]).split()


def revoke_client(uow: UnitOfWork, client_id: str, *, by: Actor | None = None) -> None:
    """Revoke a client; ``by`` (a staff user) may only revoke its own tenant's. Raises: NotFound."""
    row = find_client(uow, client_id)
    if row is None or (by is not None and row["tenant_id"] != by.tenant_id):
        raise errors.NotFound("client", client_id)
    uow.conn.execute(update(clients).where(clients.c.id == client_id).values(revoked_at=uow.now))
    record_event(
        uow,
        by or Actor(row["tenant_id"], "cli"),
        operation="revoke",
        subject="client",
        subject_id=client_id,
    )


def find_client(uow: UnitOfWork, client_id: str) -> repo.Row | None:
    return uow.conn.execute(select(clients).where(clients.c.id == client_id)).mappings().first()


def list_clients(uow: UnitOfWork, tenant_id: int, kind: str | None = None) -> list[repo.Row]:
    """A tenant's clients (without their secret hashes), newest first."""
    query = select(*(c for c in clients.c if c.name != "secret_hash")).where(
        clients.c.tenant_id == tenant_id
    )
    if kind is not None:
        query = query.where(clients.c.kind == kind)
    return list(uow.conn.execute(query.order_by(clients.c.created_at.desc())).mappings())


def list_tenants(uow: UnitOfWork) -> list[repo.Row]:
    return list(uow.conn.execute(select(tenants).order_by(tenants.c.id)).mappings().all())


def create_customer(
    uow: UnitOfWork,
    actor: Actor,
    *,
    external_ref: str | None = None,
    name: str | None = None,
    email: str | None = None,
    phone: str | None = None,
    metadata: Mapping[str, Any] | None = None,
) -> repo.Row:
    """Raises: DuplicateId when ``external_ref`` is taken in this tenant."""
    if external_ref is not None and repo.find_customer(
        uow.conn, actor.tenant_id, external_ref=external_ref
    ):
        raise errors.DuplicateId("a customer with this reference exists", field="external_ref")
    row = repo.insert_customer(
        uow.conn,
        {
            "tenant_id": actor.tenant_id,
            "external_ref": external_ref,
            "name": name,
            "email": email,
            "phone": phone,
            "metadata": dict(metadata or {}),
            "created_at": uow.now,
        },
    )
    record_event(
        uow,
        actor,
        operation="create",
        subject="customer",
        subject_id=str(row["id"]),
        after={"external_ref": external_ref},
    )
    return row


def get_customer(uow: UnitOfWork, actor: Actor, customer_id: int) -> repo.Row:
    row = repo.find_customer(uow.conn, actor.tenant_id, id=customer_id)
    if row is None:
        raise errors.NotFound("customer", customer_id)
    return row


def customer_by_ref(uow: UnitOfWork, actor: Actor, external_ref: str) -> repo.Row | None:
    return repo.find_customer(uow.conn, actor.tenant_id, external_ref=external_ref)
