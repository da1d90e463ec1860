"""Reports from the ledger (``services/reports.py``): JSON, or CSV with ``?format=csv``."""

from __future__ import annotations

import dataclasses
from typing import Annotated, Any, Literal

import orjson
from fastapi import APIRouter, Query, Request
from starlette.responses import Response

from voucherd.api.deps import scoped
from voucherd.api.errors import NATIVE
from voucherd.api.routes.vouchers import ERRORS
from voucherd.domain.scopes import Scope
from voucherd.faces import csvout
from voucherd.faces.runtime import Context, as_caller, call
from voucherd.services import reports
from voucherd.services.unit_of_work import Actor

router = APIRouter(prefix="/v1", tags=["Reports"])
ReportName = Literal["liability", "aging", "breakage", "redemptions", "flow"]


@router.get(
    "/reports/{name}",
    responses={
        **ERRORS,
        200: {"content": {"application/json": {}, "text/csv": {}}, "description": "The report"},
    },
    summary="Run a report (liability, aging, breakage, redemptions, flow)",
)
async def get_report(
    request: Request,
    name: ReportName,
    as_of: Annotated[str | None, Query(description="liability, aging: date or date-time")] = None,
    since: Annotated[str | None, Query(description="breakage, redemptions, flow: from")] = None,
    until: Annotated[str | None, Query(description="breakage, redemptions, flow: to")] = None,
    period: Annotated[str | None, Query(description="day, month (default) or year")] = None,
    format: Annotated[Literal["json", "csv"] | None, Query()] = None,
    actor: Actor = scoped(Scope.READ_LISTS),
) -> Response:
    as_csv = csvout.wants_csv(request.headers.get("accept"), format)
    _report, columns = reports.REPORTS[name]

    def op(ctx: Context[Any]) -> list[Any]:
        params = reports.Params(
            as_of=reports.parse_moment(as_of, "as_of"),
            since=reports.parse_moment(since, "since"),
            until=reports.parse_moment(until, "until"),
            period=reports.parse_period(period),
        )
        return reports.run(ctx.uow, actor, name, params)

    def render(rows: list[Any]) -> Response:
        if as_csv:
            body = csvout.text(columns, (dataclasses.astuple(r) for r in rows))
            return Response(body, media_type=csvout.MEDIA_TYPE)
        data = {"report": name, "rows": [dataclasses.asdict(r) for r in rows]}
        return Response(orjson.dumps(data), media_type="application/json")

    return await call(
        NATIVE, request, op, authenticate=as_caller(actor), render=render, write=False
    )
