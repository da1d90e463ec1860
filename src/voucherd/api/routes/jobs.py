"""Long jobs: what a bulk generate or import above the threshold answered 202 with."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Request
from starlette.responses import Response

from voucherd.api.deps import scoped
from voucherd.api.execute import run
from voucherd.api.routes.vouchers import ERRORS
from voucherd.api.schemas import JobRead
from voucherd.domain.scopes import Scope
from voucherd.faces.fields import text_id
from voucherd.services import jobs
from voucherd.services.unit_of_work import Actor

router = APIRouter(prefix="/v1", tags=["Jobs"])
JobId = Annotated[int, text_id("job")]


@router.get("/jobs/{job_id}", response_model=JobRead, responses=ERRORS, summary="Get a job")
async def get_job(request: Request, job_id: JobId, actor: Actor = scoped(Scope.READ)) -> Response:
    return await run(
        request, actor, lambda uow: JobRead.of(jobs.get(uow, actor, job_id)), readonly=True
    )
