"""The overview: liability by currency, vouchers by status, value issued and redeemed per day."""

from __future__ import annotations

from typing import Final

from fastapi import FastAPI
from starlette.requests import Request
from starlette.responses import Response

from voucherd.faces.runtime import Context
from voucherd.services import reports, staff
from voucherd.web import charts
from voucherd.web.formats import Formats
from voucherd.web.kit import Page, common, run

SPANS: Final = (30, 90)


async def overview(request: Request) -> Response:
    def op(ctx: Context[staff.StaffUser]) -> Page:
        days = SPANS[1] if ctx.inbound.query.get("days") == str(SPANS[1]) else SPANS[0]
        fmt = Formats.for_request(ctx.inbound.headers)
        numbers = reports.overview(ctx.uow, ctx.caller.actor)
        flows = [charts.chart(s, fmt) for s in reports.daily_flow(ctx.uow, ctx.caller.actor, days)]
        return Page(
            "overview.html", common(ctx, overview=numbers, charts=flows, days=days, spans=SPANS)
        )

    return await run(request, op)


def register(sub: FastAPI) -> None:
    sub.add_api_route("/", overview, methods=["GET"], include_in_schema=False)
