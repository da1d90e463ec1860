"""The audit feed: the tenant's events, filtered by actor, operation, voucher and time, and the
same selection as a streamed CSV."""

from __future__ import annotations

from typing import Final

from fastapi import FastAPI
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from voucherd.domain.lifecycle import Action as Operation
from voucherd.domain.staff import Action
from voucherd.faces import csvout
from voucherd.faces.runtime import Context
from voucherd.services import browse, staff
from voucherd.services.unit_of_work import Actor
from voucherd.web.face import PREFIX
from voucherd.web.kit import Page, common, link, query_int, run

FIELDS: Final = ("actor", "operation", "voucher", "since", "until")
# The choices the operation box suggests (it takes any name the trail holds).
OPERATIONS: Final = tuple(
    sorted(
        {o.value for o in Operation}
        | {"create", "extend", "login", "logout", "logout_everywhere", "issue"}
    )
)


async def feed(request: Request) -> Response:
    def op(ctx: Context[staff.StaffUser]) -> Page:
        staff.authorize(ctx.caller, Action.AUDIT)
        query = {name: ctx.inbound.query.get(name, "") for name in FIELDS}
        filters = browse.parse_audit_filters(query)
        found = browse.audit_feed(
            ctx.uow, ctx.caller.actor, filters, before=query_int(ctx.inbound, "before")
        )
        actors = browse.actor_names(ctx.uow, ctx.caller.actor, {r["actor"] for r in found.rows})
        more = None
        if found.next_before is not None:
            more = link(f"{PREFIX}/audit", {**query, "before": found.next_before})
        return Page(
            "audit.html",
            common(
                ctx,
                query=query,
                page=found,
                actors=actors,
                more=more,
                csv_link=link(f"{PREFIX}/audit.csv", query),
                operations=OPERATIONS,
            ),
        )

    return await run(request, op)


async def export(request: Request) -> Response:
    """The filtered feed as CSV, every matching event (not one page), streamed in chunks."""
    engine = request.app.state.engine

    def op(ctx: Context[staff.StaffUser]) -> tuple[Actor, browse.AuditFilters]:
        staff.authorize(ctx.caller, Action.AUDIT)
        query = {name: ctx.inbound.query.get(name, "") for name in FIELDS}
        return ctx.caller.actor, browse.parse_audit_filters(query)

    def render(chosen: tuple[Actor, browse.AuditFilters]) -> Response:
        actor, filters = chosen
        rows = browse.audit_rows(engine, actor, filters)
        return StreamingResponse(
            csvout.lines(browse.AUDIT_COLUMNS, rows),
            media_type=csvout.MEDIA_TYPE,
            headers={"content-disposition": 'attachment; filename="audit.csv"'},
        )

    return await run(request, op, render=render)


def register(sub: FastAPI) -> None:
    sub.add_api_route("/audit", feed, methods=["GET"], include_in_schema=False)
    sub.add_api_route("/audit.csv", export, methods=["GET"], include_in_schema=False)
