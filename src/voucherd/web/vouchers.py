"""Vouchers: search by combinable filters, one voucher's page, its QR code, and its actions."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Final
from urllib.parse import quote

from fastapi import FastAPI
from starlette.requests import Request
from starlette.responses import Response

from voucherd.db import projections
from voucherd.db import repositories as repo
from voucherd.domain import codes, errors
from voucherd.domain.staff import Action
from voucherd.faces.runtime import Context
from voucherd.services import browse, lookup, qr, staff, staff_actions
from voucherd.services.unit_of_work import UnitOfWork
from voucherd.web.face import PREFIX
from voucherd.web.kit import Page, common, form, link, query_int, run


def voucher_url(public_id: str) -> str:
    return f"{PREFIX}/vouchers/{quote(public_id, safe='')}"


async def search(request: Request) -> Response:
    def op(ctx: Context[staff.StaffUser]) -> Page:
        query = dict(ctx.inbound.query)
        filters = browse.parse_voucher_filters(query)
        before = query_int(ctx.inbound, "before")
        context = {
            "filters": filters,
            "query": filters.q or "",
            "statuses": browse.STATUSES,
            "kinds": browse.KINDS,
        }
        if not filters.any:
            return Page("search.html", common(ctx, **context, page=None))
        found = browse.search_vouchers(ctx.uow, ctx.caller.actor, filters, before=before)
        only_code = filters.q is not None and not any(
            (filters.customer, filters.campaign, filters.status, filters.kind)
        )
        if only_code and len(found.rows) == 1 and before is None:
            # The till's case: one box, one code, straight to the voucher.
            return Page(redirect=voucher_url(found.rows[0]["public_id"]))
        if only_code and not found.rows:
            return Page(
                "search.html",
                common(ctx, **context, page=None, message="No voucher has this code or id."),
                status=404,
            )
        names = browse.campaign_names(
            ctx.uow, ctx.caller.actor, {r["campaign_id"] for r in found.rows if r["campaign_id"]}
        )
        more = None
        if found.next_before is not None:
            params = {
                "q": filters.q,
                "customer": filters.customer,
                "campaign": filters.campaign,
                "status": filters.status,
                "kind": filters.kind,
                "before": found.next_before,
            }
            more = link(f"{PREFIX}/vouchers", params)
        return Page(
            "search.html",
            common(
                ctx,
                **context,
                page=found,
                more=more,
                campaigns=names,
                mask=codes.mask,
                url=voucher_url,
            ),
        )

    return await run(request, op)


def vendor_statuses(row: repo.Row, uow: UnitOfWork) -> list[tuple[str, str]]:
    """The voucher's status as each vendor face shows it (``db/projections.py``)."""
    state = repo.voucher_state(row)
    return [
        ("Native API", str(row["status"])),
        ("JTL", projections.jtl_status(state)),
        ("Shopee", projections.shopee_status(state, uow.now)),
        ("Spaaza", projections.spaaza_status(state)),
        ("Revenue Monster", projections.rm_status(state, uow.now)),
    ]


@dataclass(frozen=True, slots=True)
class Hold:
    id: int
    amount: int
    expires_at: datetime | None


def open_hold(row: repo.Row, uow: UnitOfWork) -> Hold | None:
    """The voucher's reservation that can still be charged or cancelled, if any."""
    state = repo.voucher_state(row)
    if state.hold_id is None or not state.hold_active(uow.now):
        return None
    return Hold(state.hold_id, state.hold_amount, state.hold_expires_at)


async def voucher(request: Request) -> Response:
    public_id = request.path_params["public_id"]

    def op(ctx: Context[staff.StaffUser]) -> Page:
        found = lookup.dossier(ctx.uow, ctx.caller.actor, public_id)
        row = found.voucher
        done = ctx.inbound.query.get("done")
        charges = [e for e in found.ledger if e["kind"] == "charge"]
        actors = browse.actor_names(ctx.uow, ctx.caller.actor, {e["actor"] for e in found.events})
        campaign = None
        if row["campaign_id"] is not None:
            names = browse.campaign_names(ctx.uow, ctx.caller.actor, {int(row["campaign_id"])})
            campaign = names.get(int(row["campaign_id"]))
        return Page(
            "voucher.html",
            common(
                ctx,
                v=row,
                masked=codes.mask(row["code"]),
                ledger=found.ledger,
                events=found.events,
                actors=actors,
                campaign=campaign,
                charges=charges,
                vendors=vendor_statuses(row, ctx.uow),
                hold=open_hold(row, ctx.uow),
                done=DONE.get(done or ""),
                url=voucher_url(row["public_id"]),
            ),
        )

    return await run(request, op)


async def qr_code(request: Request) -> Response:
    """The QR code of the voucher's code (``services/qr.py``, as every face draws it): it
    carries the secret, so only roles that may read codes (export) get it; never cached."""
    public_id = request.path_params["public_id"]

    def op(ctx: Context[staff.StaffUser]) -> bytes:
        staff.authorize(ctx.caller, Action.EXPORT)
        row = lookup.dossier(ctx.uow, ctx.caller.actor, public_id).voucher
        return qr.svg(str(row["code"]), scale=4)

    return await run(request, op, render=lambda body: Response(body, media_type="image/svg+xml"))


DONE: Final[Mapping[str, str]] = {
    "charge": "Charged.",
    "void": "Voided.",
    "reinstate": "Reinstated.",
    "activate": "Activated.",
    "deactivate": "Deactivated.",
    "end": "Ended.",
    "extend": "Validity extended.",
    "recharge": "Recharged.",
    "refund": "Refunded.",
    "reserve": "Reserved.",
    "capture": "Reservation charged.",
    "release": "Reservation cancelled.",
}


@dataclass(frozen=True, slots=True)
class VoucherAction:
    permission: Action
    perform: Callable[[UnitOfWork, staff.StaffUser, str, Mapping[str, str]], object]


ACTIONS: Final[Mapping[str, VoucherAction]] = {
    "charge": VoucherAction(
        Action.CHARGE,
        lambda uow, u, pid, f: staff.charge(
            uow, u, pid, f.get("amount", ""), order_number=f.get("order_number")
        ),
    ),
    "void": VoucherAction(
        Action.VOID, lambda uow, u, pid, f: staff.void(uow, u, pid, f.get("reason"))
    ),
    "reinstate": VoucherAction(
        Action.REINSTATE,
        lambda uow, u, pid, f: staff.reinstate(uow, u, pid, f.get("reason"), f.get("pin")),
    ),
    "activate": VoucherAction(
        Action.CHANGE_STATE,
        lambda uow, u, pid, f: staff_actions.activate(uow, u, pid, f.get("reason")),
    ),
    "deactivate": VoucherAction(
        Action.CHANGE_STATE,
        lambda uow, u, pid, f: staff_actions.deactivate(uow, u, pid, f.get("reason")),
    ),
    "end": VoucherAction(
        Action.CHANGE_STATE, lambda uow, u, pid, f: staff_actions.end(uow, u, pid, f.get("reason"))
    ),
    "extend": VoucherAction(
        Action.CHANGE_STATE,
        lambda uow, u, pid, f: staff_actions.extend(
            uow, u, pid, f.get("ends_at", ""), f.get("reason")
        ),
    ),
    "recharge": VoucherAction(
        Action.RECHARGE,
        lambda uow, u, pid, f: staff_actions.recharge(
            uow, u, pid, f.get("amount", ""), f.get("reason")
        ),
    ),
    "refund": VoucherAction(
        Action.REFUND,
        lambda uow, u, pid, f: staff_actions.refund(
            uow, u, pid, f.get("entry", ""), f.get("amount", ""), f.get("reason")
        ),
    ),
    "reserve": VoucherAction(
        Action.RESERVE,
        lambda uow, u, pid, f: staff_actions.reserve(
            uow, u, pid, f.get("amount", ""), f.get("minutes")
        ),
    ),
    "capture": VoucherAction(
        Action.CHARGE,
        lambda uow, u, pid, f: staff_actions.capture(
            uow, u, pid, f.get("reservation", ""), f.get("order_number")
        ),
    ),
    "release": VoucherAction(
        Action.RESERVE,
        lambda uow, u, pid, f: staff_actions.release(uow, u, pid, f.get("reservation", "")),
    ),
}
"""Every action of the voucher page: the permission checked first (before anything is read)
and the service that checks it again and does the work."""


def _confirmed(fields: Mapping[str, str]) -> None:
    if fields.get("confirm") != "yes":
        raise errors.ValidationFailed("tick the box to confirm", field="confirm", rule="required")


async def act(request: Request) -> Response:
    public_id = request.path_params["public_id"]
    name = request.path_params["action"]

    def op(ctx: Context[staff.StaffUser]) -> Page:
        chosen = ACTIONS.get(name)
        if chosen is None:
            raise errors.NotFound("action", name)
        staff.authorize(ctx.caller, chosen.permission)
        fields = form(ctx.inbound)
        _confirmed(fields)
        chosen.perform(ctx.uow, ctx.caller, public_id, fields)
        return Page(redirect=f"{voucher_url(public_id)}?done={name}")

    return await run(request, op, write=True)


def register(sub: FastAPI) -> None:
    sub.add_api_route("/vouchers", search, methods=["GET"], include_in_schema=False)
    sub.add_api_route("/vouchers/{public_id}", voucher, methods=["GET"], include_in_schema=False)
    sub.add_api_route(
        "/vouchers/{public_id}/qr.svg", qr_code, methods=["GET"], include_in_schema=False
    )
    sub.add_api_route(
        "/vouchers/{public_id}/{action}", act, methods=["POST"], include_in_schema=False
    )
