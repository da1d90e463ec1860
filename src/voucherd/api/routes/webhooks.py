"""Native webhook subscriptions, their delivery log and replay (scope ``manage``)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from starlette.responses import Response

from voucherd.api import pagination
from voucherd.api.deps import scoped
from voucherd.api.execute import run
from voucherd.api.routes.vouchers import ERRORS
from voucherd.api.schemas import DeliveryRead, Page, WebhookCreate, WebhookCreated, WebhookRead
from voucherd.domain.scopes import Scope
from voucherd.faces.fields import ASCII_INT, text_id
from voucherd.services import webhooks
from voucherd.services.unit_of_work import Actor, UnitOfWork

router = APIRouter(prefix="/v1", tags=["Webhooks"])
WebhookId = Annotated[int, text_id("webhook")]
DeliveryId = Annotated[int, text_id("delivery")]


@router.post(
    "/webhooks",
    status_code=201,
    response_model=WebhookCreated,
    responses=ERRORS,
    summary="Subscribe a URL to events (the secret is shown only here)",
)
async def create_webhook(
    request: Request, body: WebhookCreate, actor: Actor = scoped(Scope.MANAGE)
) -> Response:
    def op(uow: UnitOfWork) -> WebhookCreated:
        created = webhooks.create(
            uow, actor, url=body.url, event_types=body.event_types, description=body.description
        )
        return WebhookCreated(**WebhookRead.of(created.row).model_dump(), secret=created.secret)

    return await run(request, actor, op, status_code=201, payload=body)


@router.get(
    "/webhooks", response_model=Page[WebhookRead], responses=ERRORS, summary="List webhooks"
)
async def list_webhooks(request: Request, actor: Actor = scoped(Scope.MANAGE)) -> Response:
    return await run(
        request,
        actor,
        lambda uow: Page[WebhookRead](
            data=[WebhookRead.of(r) for r in webhooks.list_all(uow, actor)], next_cursor=None
        ),
        readonly=True,
    )


@router.get(
    "/webhooks/{webhook_id}", response_model=WebhookRead, responses=ERRORS, summary="Get a webhook"
)
async def get_webhook(
    request: Request, webhook_id: WebhookId, actor: Actor = scoped(Scope.MANAGE)
) -> Response:
    return await run(
        request,
        actor,
        lambda uow: WebhookRead.of(webhooks.get(uow, actor, webhook_id)),
        readonly=True,
    )


@router.delete(
    "/webhooks/{webhook_id}",
    status_code=204,
    responses=ERRORS,
    summary="Delete a webhook (its pending deliveries fail)",
)
async def delete_webhook(
    request: Request, webhook_id: WebhookId, actor: Actor = scoped(Scope.MANAGE)
) -> Response:
    return await run(
        request, actor, lambda uow: webhooks.delete(uow, actor, webhook_id), status_code=204
    )


@router.get(
    "/webhooks/{webhook_id}/deliveries",
    response_model=Page[DeliveryRead],
    responses=ERRORS,
    summary="The delivery log of a webhook, oldest first",
)
async def list_deliveries(
    request: Request,
    webhook_id: WebhookId,
    actor: Actor = scoped(Scope.MANAGE),
    limit: Annotated[int, ASCII_INT, Query(ge=1, le=500)] = 100,
    cursor: str | None = None,
) -> Response:
    def op(uow: UnitOfWork) -> Page[DeliveryRead]:
        rows = webhooks.deliveries_page(
            uow, actor, webhook_id, after_id=pagination.decode(cursor), limit=limit
        )
        return Page[DeliveryRead](
            data=[DeliveryRead.of(r) for r in rows],
            next_cursor=pagination.next_cursor([r["id"] for r in rows], limit),
        )

    return await run(request, actor, op, readonly=True)


@router.post(
    "/webhooks/{webhook_id}/deliveries/{delivery_id}/replay",
    status_code=202,
    response_model=DeliveryRead,
    responses=ERRORS,
    summary="Send a delivery once more, now",
)
async def replay_delivery(
    request: Request,
    webhook_id: WebhookId,
    delivery_id: DeliveryId,
    actor: Actor = scoped(Scope.MANAGE),
) -> Response:
    return await run(
        request,
        actor,
        lambda uow: DeliveryRead.of(webhooks.replay(uow, actor, webhook_id, delivery_id)),
        status_code=202,
    )
