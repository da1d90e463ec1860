"""CSV out and in: exports of vouchers, ledger entries and events; import of vouchers.

Exports stream (``services/exports.py``: a page per short read transaction); the import's body
is spooled to disk as it arrives and imported all or nothing (``services/imports.py``).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import IO, Annotated, Any, Final

import orjson
from fastapi import APIRouter, Depends, Query, Request
from sqlalchemy import Engine
from starlette.responses import Response, StreamingResponse

from voucherd.api.deps import Principal, principal, scoped
from voucherd.api.errors import NATIVE, problem
from voucherd.api.routes.vouchers import ERRORS
from voucherd.domain.scopes import Scope
from voucherd.faces import csvout, upload
from voucherd.faces.runtime import Context, as_caller, call
from voucherd.services import exports, imports, reports
from voucherd.services.unit_of_work import Actor

router = APIRouter(prefix="/v1", tags=["CSV"])
IMPORT_PATH: Final = "/v1/imports/vouchers"
CSV_RESPONSE: Final[dict[int | str, dict[str, Any]]] = {
    **ERRORS,
    200: {"content": {"text/csv": {}}, "description": "CSV, streamed (docs/api.md lists columns)"},
}
From = Annotated[
    str | None, Query(alias="from", description="date or date-time (a date: its end), UTC")
]
To = Annotated[str | None, Query(alias="to", description="date or date-time (a date: its end)")]


def stream(engine: Engine, export: exports.Export) -> StreamingResponse:
    """The export as a streamed CSV download (a sync iterator: Starlette pulls each page in
    the thread pool, so no page is read on the event loop)."""
    lines: Iterator[str] = csvout.lines(export.header, exports.rows(engine, export))
    return StreamingResponse(
        (line.encode() for line in lines),
        media_type=csvout.MEDIA_TYPE,
        headers={"Content-Disposition": f'attachment; filename="{export.filename}"'},
    )


async def _export(request: Request, actor: Actor, plan: Any) -> Response:
    engine: Engine = request.app.state.engine
    return await call(
        NATIVE,
        request,
        lambda ctx: plan(ctx),
        authenticate=as_caller(actor),
        render=lambda export: stream(engine, export),
        write=False,
    )


@router.get(
    "/exports/vouchers.csv",
    responses=CSV_RESPONSE,
    summary="Export vouchers as CSV (codes only with the read-secrets scope)",
)
async def export_vouchers(
    request: Request,
    who: Annotated[Principal, Depends(principal)],
    campaign_id: Annotated[int | None, Query(ge=1, le=2**63 - 1)] = None,
    actor: Actor = scoped(Scope.READ_LISTS),
) -> Response:
    with_codes = Scope.READ_SECRETS in who.scopes

    def plan(ctx: Context[Actor]) -> exports.Export:
        return exports.plan_vouchers(ctx.uow, actor, with_codes=with_codes, campaign_id=campaign_id)

    return await _export(request, actor, plan)


@router.get(
    "/exports/ledger.csv", responses=CSV_RESPONSE, summary="Export ledger entries of a period"
)
async def export_ledger(
    request: Request,
    since: From = None,
    until: To = None,
    actor: Actor = scoped(Scope.READ_LISTS),
) -> Response:
    def plan(ctx: Context[Actor]) -> exports.Export:
        return exports.plan_ledger(
            ctx.uow,
            actor,
            since=reports.parse_moment(since, "from"),
            until=reports.parse_moment(until, "to"),
        )

    return await _export(request, actor, plan)


@router.get("/exports/events.csv", responses=CSV_RESPONSE, summary="Export events of a period")
async def export_events(
    request: Request,
    since: From = None,
    until: To = None,
    actor: Actor = scoped(Scope.READ_LISTS),
) -> Response:
    def plan(ctx: Context[Actor]) -> exports.Export:
        return exports.plan_events(
            ctx.uow,
            actor,
            since=reports.parse_moment(since, "from"),
            until=reports.parse_moment(until, "to"),
        )

    return await _export(request, actor, plan)


@router.post(
    "/imports/vouchers",
    status_code=201,
    responses={
        **ERRORS,
        201: {"description": "Imported: {import_id, created}"},
        413: {"description": "The body passed max_import_bytes"},
    },
    openapi_extra={
        "requestBody": {"required": True, "content": {"text/csv": {"schema": {"type": "string"}}}}
    },
    summary="Import vouchers from CSV (all or nothing; every bad line listed)",
)
async def import_vouchers(
    request: Request,
    active: bool = True,
    campaign: Annotated[str | None, Query(max_length=64)] = None,
    actor: Actor = scoped(Scope.MANAGE),
) -> Response:
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media not in ("text/csv", "application/csv"):
        return problem(415, "unsupported_media_type", "send the file as text/csv")
    limit = int(request.app.state.settings.max_import_bytes)
    try:
        file, digest = await upload.spool(request.stream(), limit)
    except upload.BodyTooLarge as exc:
        return problem(413, "body_too_large", str(exc))

    def op(ctx: Context[Actor], body: IO[bytes]) -> imports.Imported:
        return imports.import_vouchers(
            ctx.uow, actor, upload.text_lines(body), active=active, campaign_key=campaign
        )

    return await upload.call_with_file(
        NATIVE,
        request,
        file,
        digest,
        op,
        authenticate=as_caller(actor),
        render=lambda done: Response(
            orjson.dumps({"import_id": done.import_id, "created": done.created}),
            status_code=201,
            media_type="application/json",
        ),
    )


__all__ = ["IMPORT_PATH", "router"]
