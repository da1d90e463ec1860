"""``/v1/vouchers``: create, list, show, complete, update, status, delete, recharge, charges.

Every route runs through the face runtime (``faces.runtime.call``): the authenticator checks the
Bearer token and its scope, the operation parses the request and makes one service call in the
runtime's unit of work, and every refusal is answered through the face's error table.
"""

from __future__ import annotations

import json as jsonlib
from math import ceil
from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import Response

from voucherd.db.projections import jtl_status
from voucherd.db.repositories import Row, voucher_state
from voucherd.dialects.jtl import parse, queries, render
from voucherd.dialects.jtl.auth import bearer, documented
from voucherd.dialects.jtl.common import created, json, no_content, stored_value
from voucherd.dialects.jtl.docs import body_doc, errors_doc, query_doc
from voucherd.dialects.jtl.errors import FACE, JtlError, Unprocessable
from voucherd.dialects.jtl.responses import (
    Charge,
    ChargePage,
    Voucher,
    VoucherPage,
    VoucherWithSecrets,
)
from voucherd.dialects.jtl.schemas import (
    DeleteRequest,
    PageQuery,
    RechargeRequest,
    StatusRequest,
    VoucherCreate,
    VoucherListQuery,
    VoucherUpdate,
)
from voucherd.domain.errors import NotAllowedByPolicy
from voucherd.domain.policies import JTL
from voucherd.domain.scopes import Scope
from voucherd.domain.vouchers import ValidityUnit, ValueKind
from voucherd.faces.runtime import Context, call
from voucherd.services import value, vouchers
from voucherd.services.changes import VoucherRef
from voucherd.services.unit_of_work import Actor

router = APIRouter(prefix="/v1", tags=["Vouchers"])
MAX_BALANCE_ERROR = ("amount", "max_balance", "The balance of the voucher may not exceed 99999.99.")


def _ref(voucher_id: str) -> VoucherRef:
    return VoucherRef(public_id=voucher_id)


def paginate(
    request: Request, rows: list[dict[str, Any]], total: int, page: int, per_page: int
) -> dict[str, Any]:
    """Laravel's paginator JSON: ``data``, ``links`` and ``meta``."""
    last = max(1, ceil(total / per_page))

    def link(number: int) -> str:
        return str(request.url.include_query_params(page=number))

    start = (page - 1) * per_page + 1
    return {
        "data": rows,
        "links": {
            "first": link(1),
            "last": link(last),
            "prev": link(page - 1) if page > 1 else None,
            "next": link(page + 1) if page < last else None,
        },
        "meta": {
            "current_page": page,
            "per_page": per_page,
            "from": start if rows else None,
            "to": start + len(rows) - 1 if rows else None,
            "last_page": last,
            "total": total,
            "path": str(request.url.replace(query="")),
        },
    }


# --- create -------------------------------------------------------------------------------


def _new_voucher(body: VoucherCreate) -> vouchers.NewVoucher:
    problems: list[tuple[str, str, str]] = []
    if body.taxable and body.tax_rate is None:
        problems.append(
            ("tax_rate", "required_if", "The tax rate field is required when taxable is true.")
        )
    tax_rate_bps = render.parse_tax_rate(body.tax_rate) if body.tax_rate is not None else None
    if tax_rate_bps is not None and tax_rate_bps > 10000:
        problems.append(("tax_rate", "max", "The tax rate may not be greater than 100."))
    if body.validity_value is not None and body.validity_interval is None:
        problems.append(
            (
                "validity_interval",
                "required_with",
                "The validity interval field is required when validity value is present.",
            )
        )
    if body.validity_interval is not None and body.validity_value is None:
        problems.append(
            (
                "validity_value",
                "required_with",
                "The validity value field is required when validity interval is present.",
            )
        )
    if problems:
        raise Unprocessable(*problems)
    return vouchers.NewVoucher(
        kind=ValueKind.STORED_VALUE,
        currency=body.currency,
        amount=render.parse_money(body.amount, body.currency),
        validity_value=body.validity_value,
        validity_unit=ValidityUnit(body.validity_interval) if body.validity_interval else None,
        medium=body.type,
        taxable=body.taxable,
        tax_rate_bps=tax_rate_bps,
        metadata=jsonlib.loads(body.data) if body.data is not None else {},
        sku=body.sku,
        label=body.batch,
        order_number=body.order_number,
        public_id=body.id,
        code=body.code,
        pin=body.pin,
        generate_pin=True,
        active=body.status == "active",
    )


@router.post(
    "/vouchers",
    status_code=201,
    operation_id="createVoucher",
    response_model=VoucherWithSecrets,
    responses=errors_doc(401, 403, 409, 422),
    summary="Create a new voucher",
    description="Creates a stored-value voucher, inactive unless `status` is `active`. The"
    " response is the only one that shows the PIN.",
    dependencies=documented(Scope.MANAGE),
    openapi_extra=body_doc(VoucherCreate),
)
async def create_voucher(request: Request) -> Response:
    def create(ctx: Context[Actor]) -> dict[str, Any]:
        body = parse.body(VoucherCreate, ctx.inbound)
        created = vouchers.create(ctx.uow, ctx.caller, _new_voucher(body))
        pin = body.pin if body.pin is not None else created.pin
        return render.with_secrets(created.voucher, pin)

    return await call(FACE, request, create, authenticate=bearer(Scope.MANAGE), render=created)


# --- read -----------------------------------------------------------------------------------


@router.get(
    "/vouchers",
    operation_id="listVouchers",
    response_model=VoucherPage,
    responses=errors_doc(401, 403, 422),
    summary="Get a list of vouchers",
    description="Oldest first. List items add `remaining_amount` (the balance not held by a"
    " live reservation) and `deletable` (false for an active voucher that still has"
    " value: deactivate it first).",
    dependencies=documented(Scope.READ_LISTS),
    openapi_extra=query_doc(VoucherListQuery),
)
async def list_vouchers(request: Request) -> Response:
    def page(ctx: Context[Actor]) -> dict[str, Any]:
        q = parse.query(VoucherListQuery, ctx.inbound)
        where = queries.VoucherFilter(
            status=q.status,
            batch=q.batch,
            sku=q.sku,
            type=q.type,
            order_number=q.order_number,
            created_from=q.created_from,
            created_to=q.created_to,
        )
        rows, total = queries.voucher_page(
            ctx.uow.conn, ctx.caller.tenant_id, where, q.page, q.per_page
        )
        items = [render.list_item(row, ctx.uow.now) for row in rows]
        return paginate(request, items, total, q.page, q.per_page)

    return await call(FACE, request, page, authenticate=bearer(Scope.READ_LISTS), render=json)


@router.get(
    "/vouchers/{id}",
    operation_id="getVoucher",
    response_model=Voucher,
    responses=errors_doc(401, 403, 404),
    summary="Get a voucher",
    description="Without secrets; use `/vouchers/{id}/complete` for the code.",
    dependencies=documented(Scope.READ),
)
async def get_voucher(request: Request, id: str) -> Response:
    def show(ctx: Context[Actor]) -> dict[str, Any]:
        return render.voucher(stored_value(ctx.uow, ctx.caller, _ref(id)))

    return await call(FACE, request, show, authenticate=bearer(Scope.READ), render=json)


@router.get(
    "/vouchers/{id}/complete",
    operation_id="getCompleteVoucher",
    response_model=VoucherWithSecrets,
    responses=errors_doc(401, 403, 404),
    summary="Get a voucher with its code",
    description="Adds `code` and `pin`. PINs are stored hashed, so `pin` is always null here:"
    " it is shown once, in the response that created the voucher.",
    dependencies=documented(Scope.READ_SECRETS),
)
async def get_complete(request: Request, id: str) -> Response:
    def show(ctx: Context[Actor]) -> dict[str, Any]:
        return render.with_secrets(stored_value(ctx.uow, ctx.caller, _ref(id)), None)

    return await call(FACE, request, show, authenticate=bearer(Scope.READ_SECRETS), render=json)


# --- change ---------------------------------------------------------------------------------


@router.patch(
    "/vouchers/{id}",
    operation_id="updateVoucher",
    response_model=Voucher,
    responses=errors_doc(401, 403, 404, 409, 422),
    summary="Update a voucher",
    description="Changes `sku` and/or `batch`; `null` clears a field.",
    dependencies=documented(Scope.UPDATE),
    openapi_extra=body_doc(VoucherUpdate),
)
async def update_voucher(request: Request, id: str) -> Response:
    names = {"sku": "sku", "batch": "label"}

    def update(ctx: Context[Actor]) -> dict[str, Any]:
        body = parse.body(VoucherUpdate, ctx.inbound)
        changes = {names[k]: getattr(body, k) for k in sorted(body.model_fields_set)}
        row = stored_value(ctx.uow, ctx.caller, _ref(id), for_update=True)
        if changes:
            row = vouchers.update(ctx.uow, ctx.caller, _ref(id), changes)
        return render.voucher(row)

    return await call(FACE, request, update, authenticate=bearer(Scope.UPDATE), render=json)


@router.patch(
    "/vouchers/{id}/status",
    operation_id="setVoucherStatus",
    response_model=Voucher,
    responses=errors_doc(401, 403, 404, 409, 422),
    summary="Set the status for a voucher",
    description="Activates or deactivates a voucher; activation fixes `valid_until` from"
    " `validity_value` + `validity_interval`. Setting the current status again"
    " changes nothing.",
    dependencies=documented(Scope.USE),
    openapi_extra=body_doc(StatusRequest),
)
async def set_status(request: Request, id: str) -> Response:
    def status(ctx: Context[Actor]) -> dict[str, Any]:
        body = parse.body(StatusRequest, ctx.inbound)
        row = stored_value(ctx.uow, ctx.caller, _ref(id), for_update=True)
        if jtl_status(voucher_state(row)) != body.status:
            change = vouchers.activate if body.status == "active" else vouchers.deactivate
            row = change(ctx.uow, ctx.caller, _ref(id), reason=body.comment)
        return render.voucher(row)

    return await call(FACE, request, status, authenticate=bearer(Scope.USE), render=json)


NOT_DELETABLE = JtlError(
    409, "VOUCHER.NOT_DELETABLE", "An active voucher cannot be deleted. Deactivate it first."
)


@router.delete(
    "/vouchers/{id}",
    status_code=204,
    operation_id="deleteVoucher",
    responses={204: {"description": "No Content"}, **errors_doc(401, 403, 404, 409, 422)},
    summary="Delete a voucher",
    description="Inactive and used-up vouchers can be deleted (VOUCHER.NOT_DELETABLE otherwise);"
    " `comment` is required.",
    dependencies=documented(Scope.MANAGE),
    openapi_extra=body_doc(DeleteRequest),
)
async def delete_voucher(request: Request, id: str) -> Response:
    def delete(ctx: Context[Actor]) -> None:
        body = parse.body(DeleteRequest, ctx.inbound)
        stored_value(ctx.uow, ctx.caller, _ref(id), for_update=True)
        try:
            vouchers.delete(ctx.uow, ctx.caller, _ref(id), body.comment, policies=JTL)
        except NotAllowedByPolicy:  # DELETE_ONLY_INACTIVE, decided on the locked row
            raise NOT_DELETABLE from None

    return await call(FACE, request, delete, authenticate=bearer(Scope.MANAGE), render=no_content)


# --- value ---------------------------------------------------------------------------------


@router.post(
    "/vouchers/recharge",
    status_code=201,
    operation_id="rechargeVoucher",
    response_model=Charge,
    responses=errors_doc(401, 403, 404, 409, 422),
    summary="Recharge a voucher",
    description="Adds value to a voucher named by `id` or, if no `id` is given, by `code`.",
    dependencies=documented(Scope.RECHARGE),
    openapi_extra=body_doc(RechargeRequest),
)
async def recharge(request: Request) -> Response:
    def recharge(ctx: Context[Actor]) -> dict[str, Any]:
        body = parse.body(RechargeRequest, ctx.inbound)
        if body.id is None and body.code is None:
            raise Unprocessable(
                ("code", "required_without", "The code field is required when id is not present.")
            )
        ref = _ref(body.id) if body.id is not None else VoucherRef(code=body.code)
        amount = render.parse_money(body.amount, body.currency)
        stored_value(ctx.uow, ctx.caller, ref, for_update=True)
        charged = value.recharge(
            ctx.uow,
            ctx.caller,
            ref,
            amount=amount,
            currency=body.currency,
            order_number=body.order_number,
        )
        if not render.fits(charged.voucher["balance"], charged.voucher["currency"]):
            raise Unprocessable(MAX_BALANCE_ERROR)  # rolls the recharge back
        return render.charge(charged.entry, charged.voucher["public_id"])

    return await call(FACE, request, recharge, authenticate=bearer(Scope.RECHARGE), render=created)


@router.get(
    "/vouchers/{id}/charges",
    operation_id="listVoucherCharges",
    response_model=ChargePage,
    responses=errors_doc(401, 403, 404, 422),
    summary="Get a list of voucher charges",
    description="Charges, recharges and refunds of one voucher, oldest first.",
    dependencies=documented(Scope.READ),
    openapi_extra=query_doc(PageQuery),
)
async def list_charges(request: Request, id: str) -> Response:
    def page(ctx: Context[Actor]) -> dict[str, Any]:
        q = parse.query(PageQuery, ctx.inbound)
        row: Row = stored_value(ctx.uow, ctx.caller, _ref(id))
        entries, total = queries.charge_page(
            ctx.uow.conn, ctx.caller.tenant_id, row["id"], render.CHARGE_TYPES, q.page, q.per_page
        )
        items = [render.charge(entry, row["public_id"]) for entry in entries]
        return paginate(request, items, total, q.page, q.per_page)

    return await call(FACE, request, page, authenticate=bearer(Scope.READ), render=json)
