"""Customers: a searchable list, and each customer with the vouchers they hold."""

from __future__ import annotations

from fastapi import FastAPI
from starlette.requests import Request
from starlette.responses import Response

from voucherd.domain import codes, errors
from voucherd.faces.runtime import Context
from voucherd.services import browse, staff
from voucherd.web.face import PREFIX
from voucherd.web.kit import Page, common, link, query_int, run
from voucherd.web.vouchers import voucher_url


async def customers(request: Request) -> Response:
    def op(ctx: Context[staff.StaffUser]) -> Page:
        text = ctx.inbound.query.get("q", "")
        found = browse.search_customers(
            ctx.uow, ctx.caller.actor, text, before=query_int(ctx.inbound, "before")
        )
        more = None
        if found.next_before is not None:
            more = link(f"{PREFIX}/customers", {"q": text, "before": found.next_before})
        return Page("customers.html", common(ctx, query=text, page=found, more=more))

    return await run(request, op)


async def customer(request: Request) -> Response:
    raw = request.path_params["customer_id"]

    def op(ctx: Context[staff.StaffUser]) -> Page:
        if not raw.isdigit() or len(raw) > 18:
            raise errors.NotFound("customer", raw)
        before = query_int(ctx.inbound, "before")
        found = browse.customer(ctx.uow, ctx.caller.actor, int(raw), before=before)
        more = None
        if found.vouchers.next_before is not None:
            more = link(f"{PREFIX}/customers/{raw}", {"before": found.vouchers.next_before})
        return Page(
            "customer.html",
            common(
                ctx,
                c=found.customer,
                page=found.vouchers,
                more=more,
                mask=codes.mask,
                url=voucher_url,
            ),
        )

    return await run(request, op)


def register(sub: FastAPI) -> None:
    sub.add_api_route("/customers", customers, methods=["GET"], include_in_schema=False)
    sub.add_api_route(
        "/customers/{customer_id}", customer, methods=["GET"], include_in_schema=False
    )
