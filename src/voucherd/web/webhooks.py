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
from voucherd.web import kit
from voucherd.web.admin import attempt, fields, item_id, owner
from voucherd.web.face import PREFIX, Page

RECENT = 10


def _render(ctx: Context[staff.StaffUser], *, status: int = 200, **extra: Any) -> Page:
    user = owner(ctx, Action.CREDENTIALS)
    subscriptions = [
        (row, webhooks.recent_deliveries(ctx.uow, user.actor, int(row["id"]), limit=RECENT))
        for row in webhooks.list_all(ctx.uow, user.actor)
    ]
    return Page(
        "webhooks.html", kit.common(ctx, subscriptions=subscriptions, **extra), status=status
    )


async def page(request: Request) -> Response:
    def op(ctx: Context[staff.StaffUser]) -> Page:
        query = ctx.inbound.query
        done = "Webhook deleted." if query.get("deleted") else None
        if query.get("resent"):
            done = "The delivery is sent again."
        return _render(ctx, done=done)

    return await kit.run(request, op)


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

    return await kit.run(request, op, write=True)


async def delete(request: Request) -> Response:
    target = request.path_params["webhook_id"]

    def op(ctx: Context[staff.StaffUser]) -> Page:
        user = owner(ctx, Action.CREDENTIALS)
        webhooks.delete(ctx.uow, user.actor, item_id(target, "webhook"))
        return Page(redirect=f"{PREFIX}/webhooks?deleted=1")

    return await kit.run(request, op, write=True)


async def replay(request: Request) -> Response:
    target = request.path_params["webhook_id"]
    delivery = request.path_params["delivery_id"]

    def op(ctx: Context[staff.StaffUser]) -> Page:
        user = owner(ctx, Action.CREDENTIALS)
        webhook_id = item_id(target, "webhook")
        _, refused = attempt(
            ctx,
            lambda: webhooks.replay(ctx.uow, user.actor, webhook_id, item_id(delivery, "delivery")),
        )
        if refused is not None:
            return _render(ctx, status=409, refused_delivery=refused)
        return Page(redirect=f"{PREFIX}/webhooks?resent=1#webhook-{webhook_id}")

    return await kit.run(request, op, write=True)


def register(sub: FastAPI) -> None:
    sub.add_api_route("/webhooks", page, methods=["GET"], include_in_schema=False)
    sub.add_api_route("/webhooks", create, methods=["POST"], include_in_schema=False)
    sub.add_api_route(
        "/webhooks/{webhook_id}/delete", delete, methods=["POST"], include_in_schema=False
    )
    sub.add_api_route(
        "/webhooks/{webhook_id}/deliveries/{delivery_id}/replay",
        replay,
        methods=["POST"],
        include_in_schema=False,
    )
