"""Campaigns (batches) and customers."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from starlette.responses import Response

from voucherd.api import pagination
from voucherd.api.deps import scoped
from voucherd.api.execute import run
from voucherd.api.routes.vouchers import ERRORS
from voucherd.api.schemas import (
    CampaignCreate,
    CampaignRead,
    CustomerCreate,
    CustomerRead,
    Generated,
    GenerateRequest,
    ImportRequest,
    JobRead,
    Page,
)
from voucherd.domain import codes
from voucherd.domain.scopes import Scope
from voucherd.faces.fields import ASCII_INT, text_id
from voucherd.services import campaigns, jobs, tenants
from voucherd.services.unit_of_work import Actor, UnitOfWork
from voucherd.services.vouchers import NewVoucher

router = APIRouter(prefix="/v1", tags=["Campaigns"])
CampaignId = Annotated[int, text_id("campaign")]
CustomerId = Annotated[int, text_id("customer")]


@router.post(
    "/campaigns",
    status_code=201,
    response_model=CampaignRead,
    responses=ERRORS,
    summary="Create a campaign",
)
async def create_campaign(
    request: Request, body: CampaignCreate, actor: Actor = scoped(Scope.MANAGE)
) -> Response:
    def op(uow: UnitOfWork) -> CampaignRead:
        row = campaigns.create(
            uow,
            actor,
            name=body.name,
            key=body.key,
            template=NewVoucher(**body.template.model_dump()),
            code_spec=codes.CodeSpec(**body.codes.model_dump()),
            activate_on_create=body.activate_on_create,
            pin_protected=body.pin_protected,
        )
        return CampaignRead.of(row)

    return await run(request, actor, op, status_code=201, payload=body)


@router.get(
    "/campaigns", response_model=Page[CampaignRead], responses=ERRORS, summary="List campaigns"
)
async def list_campaigns(
    request: Request,
    actor: Actor = scoped(Scope.READ_LISTS),
    limit: Annotated[int, ASCII_INT, Query(ge=1, le=500)] = 50,
    cursor: str | None = None,
) -> Response:
    def op(uow: UnitOfWork) -> Page[CampaignRead]:
        rows = campaigns.list_page(uow, actor, after_id=pagination.decode(cursor), limit=limit)
        return Page[CampaignRead](
            data=[CampaignRead.of(r) for r in rows],
            next_cursor=pagination.next_cursor([r["id"] for r in rows], limit),
        )

    return await run(request, actor, op, readonly=True)


@router.get(
    "/campaigns/{campaign_id}",
    response_model=CampaignRead,
    responses=ERRORS,
    summary="Get a campaign",
)
async def get_campaign(
    request: Request, campaign_id: CampaignId, actor: Actor = scoped(Scope.READ)
) -> Response:
    return await run(
        request,
        actor,
        lambda uow: CampaignRead.of(campaigns.get(uow, actor, id=campaign_id)),
        readonly=True,
    )


def _threshold(request: Request) -> int:
    return int(request.app.state.settings.job_threshold)


@router.post(
    "/campaigns/{campaign_id}/generate",
    status_code=201,
    response_model=Generated,
    responses={**ERRORS, 202: {"model": JobRead, "description": "queued as a job (large count)"}},
    summary="Generate vouchers with random codes (bulk; above the job threshold: a job)",
)
async def generate(
    request: Request,
    campaign_id: CampaignId,
    body: GenerateRequest,
    actor: Actor = scoped(Scope.MANAGE),
) -> Response:
    if body.count > _threshold(request):
        return await run(
            request,
            actor,
            lambda uow: JobRead.of(jobs.queue_generate(uow, actor, campaign_id, body.count)),
            status_code=202,
            payload=body,
        )
    return await run(
        request,
        actor,
        lambda uow: Generated(
            campaign_id=campaign_id, created=campaigns.generate(uow, actor, campaign_id, body.count)
        ),
        status_code=201,
        payload=body,
    )


@router.post(
    "/campaigns/{campaign_id}/import",
    status_code=201,
    response_model=Generated,
    responses={**ERRORS, 202: {"model": JobRead, "description": "queued as a job (many codes)"}},
    summary="Create vouchers with your own codes (above the job threshold: a job)",
)
async def import_codes(
    request: Request,
    campaign_id: CampaignId,
    body: ImportRequest,
    actor: Actor = scoped(Scope.MANAGE),
) -> Response:
    if len(body.codes) > _threshold(request):
        return await run(
            request,
            actor,
            lambda uow: JobRead.of(jobs.queue_import(uow, actor, campaign_id, body.codes)),
            status_code=202,
            payload=body,
        )
    return await run(
        request,
        actor,
        lambda uow: Generated(
            campaign_id=campaign_id,
            created=campaigns.import_codes(uow, actor, campaign_id, body.codes),
        ),
        status_code=201,
        payload=body,
    )


@router.post(
    "/customers",
    status_code=201,
    response_model=CustomerRead,
    responses=ERRORS,
    tags=["Customers"],
    summary="Create a customer",
)
async def create_customer(
    request: Request, body: CustomerCreate, actor: Actor = scoped(Scope.MANAGE)
) -> Response:
    return await run(
        request,
        actor,
        lambda uow: CustomerRead.of(tenants.create_customer(uow, actor, **body.model_dump())),
        status_code=201,
        payload=body,
    )


@router.get(
    "/customers/{customer_id}",
    response_model=CustomerRead,
    responses=ERRORS,
    tags=["Customers"],
    summary="Get a customer",
)
async def get_customer(
    request: Request, customer_id: CustomerId, actor: Actor = scoped(Scope.READ)
) -> Response:
    return await run(
        request,
        actor,
        lambda uow: CustomerRead.of(tenants.get_customer(uow, actor, customer_id)),
        readonly=True,
    )
