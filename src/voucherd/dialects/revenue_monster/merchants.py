"""Per-merchant RM settings: callback target, server key pair, reinstate PIN."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, func, select, update

from voucherd.db import repositories as repo
from voucherd.db import sealed
from voucherd.db.tables import events
from voucherd.dialects.revenue_monster import signing
from voucherd.dialects.revenue_monster.tables import rm_merchants
from voucherd.services import hashing, tenants
from voucherd.services.unit_of_work import UnitOfWork

_UNSET: Any = object()


def ensure(uow: UnitOfWork, tenant_id: int) -> repo.Row:
    """The merchant's row, created (with a fresh server key pair) on first use."""
    row = (
        uow.conn.execute(select(rm_merchants).where(rm_merchants.c.tenant_id == tenant_id))
        .mappings()
        .first()
    )
    if row is not None:
        return row
    tenants.get_tenant(uow, tenant_id)
    private, public = signing.new_key_pair()
    last_event = uow.conn.execute(
        select(func.coalesce(func.max(events.c.id), 0)).where(events.c.tenant_id == tenant_id)
    ).scalar_one()
    uow.conn.execute(
        repo.insert_ignore(uow.conn, rm_merchants).values(
            tenant_id=tenant_id,
            server_private_key_pem=sealed.seal(
                sealed.kek_of(uow.conn), private, private_key_place(tenant_id)
            ),
            server_public_key_pem=public,
            last_event_id=int(last_event),
            created_at=uow.now,
            updated_at=uow.now,
        )
    )
    return (
        uow.conn.execute(select(rm_merchants).where(rm_merchants.c.tenant_id == tenant_id))
        .mappings()
        .one()
    )


def private_key_place(tenant_id: int) -> str:
    """Where a merchant's sealed server private key belongs (``db/sealed.py``)."""
    return f"rm_merchants.server_private_key_pem:{tenant_id}"


def private_key(engine_url: object, merchant: repo.Row) -> str:
    """The merchant's server private key (PEM). Raises: Undecryptable, KeyMissing."""
    kek = sealed.kek_for(sealed.url_of(engine_url))
    return sealed.unseal(
        kek, merchant["server_private_key_pem"], private_key_place(int(merchant["tenant_id"]))
    )


def configure(
    engine: Engine,
    tenant_id: int,
    *,
    callback_url: str | None = _UNSET,
    retry_interval_seconds: float | None = _UNSET,
    public_url: str | None = _UNSET,
    reinstate_pin: str | None = _UNSET,
) -> repo.Row:
    """Change what is given; a new callback URL starts from the tenant's next event."""
    with UnitOfWork(engine) as uow:
        row = ensure(uow, tenant_id)
        values: dict[str, Any] = {"updated_at": uow.now}
        if callback_url is not _UNSET:
            values["callback_url"] = callback_url or None
            if callback_url and callback_url != row["callback_url"]:
                values["last_event_id"] = int(
                    uow.conn.execute(
                        select(func.coalesce(func.max(events.c.id), 0)).where(
                            events.c.tenant_id == tenant_id
                        )
                    ).scalar_one()
                )
        if retry_interval_seconds is not _UNSET:
            values["retry_interval_seconds"] = retry_interval_seconds
        if public_url is not _UNSET:
            values["public_url"] = public_url.rstrip("/") if public_url else None
        if reinstate_pin is not _UNSET:
            values["reinstate_pin_hash"] = (
                hashing.hash_pin(reinstate_pin) if reinstate_pin else None
            )
        uow.conn.execute(
            update(rm_merchants).where(rm_merchants.c.tenant_id == tenant_id).values(**values)
        )
        row = (
            uow.conn.execute(select(rm_merchants).where(rm_merchants.c.tenant_id == tenant_id))
            .mappings()
            .one()
        )
        uow.commit()
    return row


def server_public_key(engine: Engine, tenant_id: int) -> str:
    with UnitOfWork(engine) as uow:
        row = ensure(uow, tenant_id)
        uow.commit()
    return str(row["server_public_key_pem"])
