"""``/v1/vouchers``: create, list, show, complete, update, status, delete, recharge, charges."""

from __future__ import annotations

import json as jsonlib
from datetime import UTC, datetime
from math import ceil
from typing import Annotated, Any

from fastapi import APIRouter, Body, Query, Request
from starlette.responses import Response

from voucherd.db.projections import jtl_status
from voucherd.db.repositories import Row, voucher_state
from voucherd.dialects.jtl import queries, render
from voucherd.dialects.jtl.common import engine, errors_doc, json, scoped, stored_value
from voucherd.dialects.jtl.errors import JtlError, unprocessable
from voucherd.dialects.jtl.schemas import (
    Charge,
    ChargePage,
    DeleteRequest,
    RechargeRequest,
    Status,
    StatusRequest,
    Voucher,
    VoucherCreate,
    VoucherPage,
    VoucherType,
    VoucherUpdate,
    VoucherWithSecrets,
    storable,
)
from voucherd.domain.errors import NotAllowedByPolicy
from voucherd.domain.policies import JTL
from voucherd.domain.scopes import Scope
from voucherd.domain.vouchers import ValidityUnit, ValueKind
from voucherd.services import value, vouchers
from voucherd.services.changes import VoucherRef
from voucherd.services.unit_of_work import Actor, UnitOfWork

router = APIRouter(prefix="/v1", tags=["Vouchers"])
Page = Annotated[int, Query(ge=1, le=1_000_000, description="Page number")]
PerPage = Annotated[int, Query(ge=1, le=100, description="Entries per page (at most 100)")]
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
        raise unprocessable("VOUCHER.CREATE", *problems)
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
)
def create_voucher(
    request: Request, body: VoucherCreate, actor: Actor = scoped(Scope.MANAGE)
) -> Response:
    spec = _new_voucher(body)
    with UnitOfWork(engine(request)) as uow:
        created = vouchers.create(uow, actor, spec)
        uow.commit()
    pin = body.pin if body.pin is not None else created.pin
    return json(render.with_secrets(created.voucher, pin), 201)


# --- read -----------------------------------------------------------------------------------


def _aware(value: datetime | None, prop: str) -> datetime | None:
    if value is None:
        return None
    try:
        return (value if value.tzinfo else value.replace(tzinfo=UTC)).astimezone(UTC)
    except (OverflowError, ValueError):
        raise unprocessable("VOUCHER.LIST", (prop, "date", "The date is out of range.")) from None


@router.get(
    "/vouchers",
    operation_id="listVouchers",
    response_model=VoucherPage,
    responses=errors_doc(401, 403, 422),
    summary="Get a list of vouchers",
    description="Oldest first. List items add `remaining_amount` (the balance not held by a"
    " live reservation) and `deletable` (false for an active voucher that still has"
    " value: deactivate it first).",
)
def list_vouchers(
    request: Request,
    actor: Actor = scoped(Scope.READ_LISTS),
    page: Page = 1,
    per_page: PerPage = 25,
    created_from: Annotated[
        datetime | None,
        Query(alias="filter[created_from]", description="Entries created at or after (RFC 3339)"),
    ] = None,
    created_to: Annotated[
        datetime | None,
        Query(alias="filter[created_to]", description="Entries created at or before (RFC 3339)"),
    ] = None,
    status: Annotated[Status | None, Query(alias="filter[status]")] = None,
    batch: Annotated[str | None, Query(alias="filter[batch]", max_length=30)] = None,
    sku: Annotated[str | None, Query(alias="filter[sku]", max_length=255)] = None,
    type: Annotated[VoucherType | None, Query(alias="filter[type]")] = None,
    order_number: Annotated[str | None, Query(alias="filter[order_number]", max_length=255)] = None,
) -> Response:
    for prop, text in (
        ("filter[batch]", batch),
        ("filter[sku]", sku),
        ("filter[order_number]", order_number),
    ):
        if text is not None and not storable(text):
            raise unprocessable(
                "VOUCHER.LIST",
                (prop, "utf8", "The value must be UTF-8 text without NUL characters."),
            )
    where = queries.VoucherFilter(
        status=status,
        batch=batch,
        sku=sku,
        type=type,
        order_number=order_number,
        created_from=_aware(created_from, "filter[created_from]"),
        created_to=_aware(created_to, "filter[created_to]"),
    )
    with UnitOfWork(engine(request), readonly=True) as uow:
        rows, total = queries.voucher_page(uow.conn, actor.tenant_id, where, page, per_page)
        items = [render.list_item(row, uow.now) for row in rows]
    return json(paginate(request, items, total, page, per_page))


@router.get(
    "/vouchers/{id}",
    operation_id="getVoucher",
    response_model=Voucher,
    responses=errors_doc(401, 403, 404),
    summary="Get a voucher",
    description="Without secrets; use `/vouchers/{id}/complete` for the code.",
)
def get_voucher(request: Request, id: str, actor: Actor = scoped(Scope.READ)) -> Response:
    with UnitOfWork(engine(request), readonly=True) as uow:
        row = stored_value(uow, actor, _ref(id))
    return json(render.voucher(row))


@router.get(
    "/vouchers/{id}/complete",
    operation_id="getCompleteVoucher",
    response_model=VoucherWithSecrets,
    responses=errors_doc(401, 403, 404),
    summary="Get a voucher with its code",
    description="Adds `code` and `pin`. PINs are stored hashed, so `pin` is always null here:"
    " it is shown once, in the response that created the voucher.",
)
def get_complete(request: Request, id: str, actor: Actor = scoped(Scope.READ_SECRETS)) -> Response:
    with UnitOfWork(engine(request), readonly=True) as uow:
        row = stored_value(uow, actor, _ref(id))
    return json(render.with_secrets(row, None))


# --- change ---------------------------------------------------------------------------------


@router.patch(
    "/vouchers/{id}",
    operation_id="updateVoucher",
    response_model=Voucher,
    responses=errors_doc(401, 403, 404, 409, 422),
    summary="Update a voucher",
    description="Changes `sku` and/or `batch`; `null` clears a field.",
)
def update_voucher(
    request: Request, id: str, body: VoucherUpdate, actor: Actor = scoped(Scope.UPDATE)
) -> Response:
    names = {"sku": "sku", "batch": "label"}
    changes = {names[k]: getattr(body, k) for k in sorted(body.model_fields_set)}
    with UnitOfWork(engine(request)) as uow:
        row = stored_value(uow, actor, _ref(id), for_update=True)
        if changes:
            row = vouchers.update(uow, actor, _ref(id), changes)
        uow.commit()
    return json(render.voucher(row))


@router.patch(
    "/vouchers/{id}/status",
    operation_id="setVoucherStatus",
    response_model=Voucher,
    responses=errors_doc(401, 403, 404, 409, 422),
    summary="Set the status for a voucher",
    description="Activates or deactivates a voucher; activation fixes `valid_until` from"
    " `validity_value` + `validity_interval`. Setting the current status again"
    " changes nothing.",
)
def set_status(
    request: Request, id: str, body: StatusRequest, actor: Actor = scoped(Scope.USE)
) -> Response:
    with UnitOfWork(engine(request)) as uow:
        row = stored_value(uow, actor, _ref(id), for_update=True)
        if jtl_status(voucher_state(row)) != body.status:
            change = vouchers.activate if body.status == "active" else vouchers.deactivate
            row = change(uow, actor, _ref(id), reason=body.comment)
        uow.commit()
    return json(render.voucher(row))


@router.delete(
    "/vouchers/{id}",
    status_code=204,
    operation_id="deleteVoucher",
    responses={204: {"description": "No Content"}, **errors_doc(401, 403, 404, 409, 422)},
    summary="Delete a voucher",
    description="Inactive and used-up vouchers can be deleted (VOUCHER.NOT_DELETABLE otherwise);"
    " `comment` is required.",
)
def delete_voucher(
    request: Request,
    id: str,
    body: Annotated[DeleteRequest, Body()],
    actor: Actor = scoped(Scope.MANAGE),
) -> Response:
    with UnitOfWork(engine(request)) as uow:
        stored_value(uow, actor, _ref(id), for_update=True)
        try:
            vouchers.delete(uow, actor, _ref(id), body.comment, policies=JTL)
        except NotAllowedByPolicy:  # DELETE_ONLY_INACTIVE
            raise JtlError(
                409,
                "VOUCHER.NOT_DELETABLE",
                "An active voucher cannot be deleted. Deactivate it first.",
            ) from None
        uow.commit()
    return Response(status_code=204)


# --- value ---------------------------------------------------------------------------------


@router.post(
    "/vouchers/recharge",
    status_code=201,
    operation_id="rechargeVoucher",
    response_model=Charge,
    responses=errors_doc(401, 403, 404, 409, 422),
    summary="Recharge a voucher",
    description="Adds value to a voucher named by `id` or, if no `id` is given, by `code`.",
)
def recharge(
    request: Request, body: RechargeRequest, actor: Actor = scoped(Scope.RECHARGE)
) -> Response:
    if body.id is None and body.code is None:
        raise unprocessable(
            "VOUCHER.RECHARGE",
            ("code", "required_without", "The code field is required when id is not present."),
        )
    ref = _ref(body.id) if body.id is not None else VoucherRef(code=body.code)
    amount = render.parse_money(body.amount, body.currency)
    with UnitOfWork(engine(request)) as uow:
        stored_value(uow, actor, ref, for_update=True)
        charged = value.recharge(
            uow, actor, ref, amount=amount, currency=body.currency, order_number=body.order_number
        )
        if not render.fits(charged.voucher["balance"], charged.voucher["currency"]):
            raise unprocessable("VOUCHER.RECHARGE", MAX_BALANCE_ERROR)
        uow.commit()
    return json(render.charge(charged.entry, charged.voucher["public_id"]), 201)


@router.get(
    "/vouchers/{id}/charges",
    operation_id="listVoucherCharges",
    response_model=ChargePage,
    responses=errors_doc(401, 403, 404, 422),
    summary="Get a list of voucher charges",
    description="Charges, recharges and refunds of one voucher, oldest first.",
)
def list_charges(
    request: Request,
    id: str,
    actor: Actor = scoped(Scope.READ),
    page: Page = 1,
    per_page: PerPage = 25,
) -> Response:
    with UnitOfWork(engine(request), readonly=True) as uow:
        row: Row = stored_value(uow, actor, _ref(id))
        entries, total = queries.charge_page(
            uow.conn, actor.tenant_id, row["id"], render.CHARGE_TYPES, page, per_page
        )
    items = [render.charge(entry, row["public_id"]) for entry in entries]
    return json(paginate(request, items, total, page, per_page))
