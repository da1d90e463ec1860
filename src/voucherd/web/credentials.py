"""The credentials page (owners only): API clients and every enabled face's credentials.

The native API's clients are one ``CredentialKind`` defined here; the dialects' kinds come from
``app.state.credential_kinds`` (collected by the app from each enabled dialect's
``CREDENTIALS``: this face does not import a dialect). A create renders the page with what is
shown once; secrets are never shown again (only their hashes are kept).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from fastapi import FastAPI
from starlette.requests import Request
from starlette.responses import Response

from voucherd.domain import errors
from voucherd.domain.scopes import Scope
from voucherd.domain.staff import Action
from voucherd.faces.credentials import CredentialKind, Field, Issued, Item, required, scopes
from voucherd.faces.runtime import Context
from voucherd.services import staff, tenants
from voucherd.services.unit_of_work import Actor, UnitOfWork
from voucherd.web.admin import attempt, fields, owner
from voucherd.web.face import PREFIX, Page
from voucherd.web.pages import _common, _page


def _clients(uow: UnitOfWork, actor: Actor) -> Sequence[Item]:
    return [
        Item(
            r["id"],
            r["name"],
            f"{r['id']} · {r['scopes']}",
            r["created_at"],
            "revoked" if r["revoked_at"] is not None else "active",
            r["revoked_at"] is None,
        )
        for r in tenants.list_clients(uow, actor.tenant_id, kind="native")
    ]


def _create_client(uow: UnitOfWork, actor: Actor, values: Mapping[str, str]) -> Issued:
    created = tenants.create_client(
        uow, actor.tenant_id, required(values, "name"), scopes(values), actor=actor.name
    )
    return Issued(
        {"client_id": created.client_id, "client_secret": created.client_secret},
        "Get tokens at POST /oauth/token (client credentials). The secret is not shown again.",
    )


def _revoke_client(uow: UnitOfWork, actor: Actor, item_id: str) -> None:
    row = tenants.find_client(uow, item_id)
    if row is None or row["kind"] != "native" or row["tenant_id"] != actor.tenant_id:
        raise errors.NotFound("client", item_id)
    tenants.revoke_client(uow, item_id, by=actor)


API_CLIENTS = CredentialKind(
    key="api_client",
    face="voucherd API",
    title="API clients",
    about="Client credentials for the native API (/v1); scopes limit what its tokens may do.",
    items=_clients,
    create=_create_client,
    revoke=_revoke_client,
    fields=(
        Field("name", "Client name"),
        Field("scopes", "Scopes", "scopes", default=" ".join(sorted(Scope))),
    ),
    create_label="Create API client",
)


def kinds(request: Request) -> tuple[CredentialKind, ...]:
    return (API_CLIENTS, *getattr(request.app.state, "credential_kinds", ()))


def _kind(request: Request, key: str) -> CredentialKind:
    for kind in kinds(request):
        if kind.key == key:
            return kind
    raise errors.NotFound("credential kind", key)


def _render(
    ctx: Context[staff.StaffUser],
    request: Request,
    *,
    status: int = 200,
    **extra: Any,
) -> Page:
    user = owner(ctx, Action.CREDENTIALS)
    sections = [(kind, kind.items(ctx.uow, user.actor)) for kind in kinds(request)]
    context = _common(ctx, sections=sections, scope_names=sorted(Scope), **extra)
    return Page("credentials.html", context, status=status)


async def page(request: Request) -> Response:
    def op(ctx: Context[staff.StaffUser]) -> Page:
        done = ctx.inbound.query.get("revoked")
        return _render(ctx, request, done="Revoked." if done else None)

    return await _page(request, op)


async def create(request: Request) -> Response:
    key = request.path_params["kind"]

    def op(ctx: Context[staff.StaffUser]) -> Page:
        user = owner(ctx, Action.CREDENTIALS)
        kind = _kind(request, key)
        values = fields(ctx.inbound)
        issued, refused = attempt(ctx, lambda: kind.create(ctx.uow, user.actor, values))
        if refused is not None:
            return _render(
                ctx, request, status=422, refused=refused, refused_kind=kind.key, values=values
            )
        return _render(ctx, request, issued=issued, issued_kind=kind)

    return await _page(request, op, write=True)


async def revoke(request: Request) -> Response:
    key = request.path_params["kind"]
    item = request.path_params["item"]

    def op(ctx: Context[staff.StaffUser]) -> Page:
        user = owner(ctx, Action.CREDENTIALS)
        _kind(request, key).revoke(ctx.uow, user.actor, item)
        return Page(redirect=f"{PREFIX}/credentials?revoked={key}#{key}")

    return await _page(request, op, write=True)


def register(sub: FastAPI) -> None:
    sub.add_api_route("/credentials", page, methods=["GET"], include_in_schema=False)
    sub.add_api_route("/credentials/{kind}", create, methods=["POST"], include_in_schema=False)
    sub.add_api_route(
        "/credentials/{kind}/{item}/revoke", revoke, methods=["POST"], include_in_schema=False
    )
