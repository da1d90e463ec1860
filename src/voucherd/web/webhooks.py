"""The webhooks page (owners only): subscriptions, their recent deliveries, create and delete.

A subscription's signing secret is shown once, when it is created. Owners only, like the
credentials page: a subscription sends the tenant's events to any URL.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from starlette.requests import Request
from starlette.responses import Response

from voucherd.domain.staff import Action
from voucherd.faces.runtime import Context
from voucherd.services import staff, webhooks
from voucherd.web.admin import attempt, fields, item_id, owner
from voucherd.web.face import PREFIX, Page
from voucherd.web.pages import _common, _page

RECENT = 10


def _render(ctx: Context[staff.StaffUser], *, status: int = 200, **extra: Any) -> Page:
    user = owner(ctx, Action.CREDENTIALS)
    subscriptions = [
        (row, webhooks.recent_deliveries(ctx.uow, user.actor, int(row["id"]), limit=RECENT))
        for row in webhooks.list_all(ctx.uow, user.actor)
    ]
    return Page("webhooks.html", _common(ctx, subscriptions=subscriptions, **extra), status=status)


async def page(request: Request) -> Response:
    def op(ctx: Context[staff.StaffUser]) -> Page:
        deleted = ctx.inbound.query.get("deleted")
        return _render(ctx, done="Webhook deleted." if deleted else None)

    return await _page(request, op)


async def create(request: Request) -> Response:
    def op(ctx: Context[staff.StaffUser]) -> Page:
        user = owner(ctx, Action.CREDENTIALS)
        values = fields(ctx.inbound)
        kinds = values.get("event_types", "").replace(",", " ").split()
        made, refused = attempt(
            ctx,
            lambda: webhooks.create(
                ctx.uow,
                user.actor,
                url=values.get("url", "").strip(),
                event_types=kinds,
                description=values.get("description", "").strip()[:255] or None,
            ),
        )
        if refused is not None:
            return _render(ctx, status=422, refused=refused, values=values)
        return _render(ctx, created=made)

    return await _page(request, op, write=True)


async def delete(request: Request) -> Response:
    target = request.path_params["webhook_id"]

    def op(ctx: Context[staff.StaffUser]) -> Page:
        user = owner(ctx, Action.CREDENTIALS)
        webhooks.delete(ctx.uow, user.actor, item_id(target, "webhook"))
        return Page(redirect=f"{PREFIX}/webhooks?deleted=1")

    return await _page(request, op, write=True)


def register(sub: FastAPI) -> None:
    sub.add_api_route("/webhooks", page, methods=["GET"], include_in_schema=False)
    sub.add_api_route("/webhooks", create, methods=["POST"], include_in_schema=False)
    sub.add_api_route(
        "/webhooks/{webhook_id}/delete", delete, methods=["POST"], include_in_schema=False
    )
