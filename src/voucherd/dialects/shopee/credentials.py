"""Shopee's credentials on the dashboard: the shop's authorisations of partners (apps).

A partner is created by the operator (``voucherd shopee partner create``: partners are not any
one tenant's); a shop owner authorises one here, exactly as ``voucherd shopee authorize`` does,
and gets the one-time code the partner exchanges for tokens. Revoking ends the authorisation:
the partner's tokens stop working at once.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from sqlalchemy import select

from voucherd.dialects.shopee import accounts
from voucherd.dialects.shopee.tables import shopee_authorizations, shopee_partners
from voucherd.domain import errors
from voucherd.faces.credentials import CredentialKind, Field, Issued, Item, integer
from voucherd.services.unit_of_work import Actor, UnitOfWork


def _items(uow: UnitOfWork, actor: Actor) -> Sequence[Item]:
    rows = uow.conn.execute(
        select(shopee_authorizations, shopee_partners.c.name)
        .join(shopee_partners, shopee_partners.c.partner_id == shopee_authorizations.c.partner_id)
        .where(shopee_authorizations.c.tenant_id == actor.tenant_id)
        .order_by(shopee_authorizations.c.partner_id)
    ).mappings()
    return [
        Item(
            str(r["partner_id"]),
            r["name"],
            f"partner_id {r['partner_id']}, shop_id {actor.tenant_id}",
            r["created_at"],
            "revoked" if r["revoked_at"] is not None else "authorised",
            r["revoked_at"] is None,
        )
        for r in rows
    ]


def _create(uow: UnitOfWork, actor: Actor, values: Mapping[str, str]) -> Issued:
    partner_id = integer(values, "partner_id")
    if partner_id > accounts.MAX_ID:
        raise errors.ValidationFailed("partner_id is too large", field="partner_id")
    code = accounts.authorize(uow, actor.tenant_id, partner_id, by=actor.name)
    minutes = int(accounts.CODE_TTL.total_seconds()) // 60
    return Issued(
        {"code": code, "shop_id": str(actor.tenant_id), "partner_id": str(partner_id)},
        f"Give the partner this code; it is good once, for {minutes} minutes.",
    )


def _revoke(uow: UnitOfWork, actor: Actor, item_id: str) -> None:
    partner_id = integer({"partner_id": item_id}, "partner_id")
    if not accounts.revoke(uow, actor.tenant_id, partner_id, by=actor.name):
        raise errors.NotFound("shopee authorisation", partner_id)


AUTHORISATIONS = CredentialKind(
    key="shopee_partner",
    face="Shopee",
    title="Partner authorisations",
    about="Authorise a Shopee partner (app) for this shop; it gets a one-time code.",
    items=_items,
    create=_create,
    revoke=_revoke,
    fields=(Field("partner_id", "Partner id", "number"),),
    create_label="Authorise partner",
)

CREDENTIALS = (AUTHORISATIONS,)
