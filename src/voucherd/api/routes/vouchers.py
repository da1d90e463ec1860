"""Vouchers: create, read, look up by code, update, and lifecycle operations."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from starlette.responses import Response

from voucherd.api import pagination
from voucherd.api.deps import direct_actor, scoped
from voucherd.api.errors import NATIVE, ApiError
from voucherd.api.execute import run
from voucherd.api.schemas import (
    ClaimRequest,
    EventRead,
    LockRequest,
    Lookup,
    Page,
    Reason,
    ReinstateRequest,
    RequiredReason,
    UnclaimRequest,
    VoucherCreate,
    VoucherCreated,
    VoucherRead,
    VoucherSecret,
    VoucherUpdate,
)
from voucherd.domain.inputs import INT64_MAX
from voucherd.domain.scopes import Scope
from voucherd.domain.vouchers import ValueKind
from voucherd.faces.fields import ASCII_INT
from voucherd.faces.runtime import as_caller, call
from voucherd.services import qr, vouchers
from voucherd.services.changes import VoucherRef
from voucherd.services.unit_of_work import Actor, UnitOfWork

router = APIRouter(prefix="/v1", tags=["Vouchers"])
Limit = Annotated[int, ASCII_INT, Query(ge=1, le=500)]
# A filter by an id no row can have is refused as invalid (it is a value, not an address).
FilterId = Annotated[int, ASCII_INT, Query(ge=1, le=INT64_MAX)]
ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"description": "Missing or invalid token"},
    403: {"description": "A scope is missing"},
    404: {"description": "No such voucher in this tenant"},
    409: {"description": "The voucher's state does not allow this"},
    422: {"description": "Invalid input"},
}


def _ref(voucher_id: str) -> VoucherRef:
    return VoucherRef(public_id=voucher_id)


@router.post(
    "/vouchers",
    status_code=201,
    response_model=VoucherCreated,
    responses=ERRORS,
    summary="Create a voucher",
)
async def create_voucher(
    request: Request, body: VoucherCreate, actor: Actor = scoped(Scope.MANAGE)
) -> Response:
    def op(uow: UnitOfWork) -> VoucherCreated:
        data = body.model_dump(exclude={"id", "customer_id"})
        spec = vouchers.NewVoucher(public_id=body.id, holder_id=body.customer_id, **data)
        created = vouchers.create(uow, actor, spec)
        base = VoucherRead.of(created.voucher, uow.now).model_dump()
        return VoucherCreated(**base, code=created.voucher["code"], pin=created.pin)

    return await run(request, actor, op, status_code=201, payload=body)


@router.get(
    "/vouchers", response_model=Page[VoucherRead], responses=ERRORS, summary="List vouchers"
)
async def list_vouchers(
    request: Request,
    actor: Actor = scoped(Scope.READ_LISTS),
    limit: Limit = 50,
    cursor: str | None = None,
    status: str | None = None,
    kind: ValueKind | None = None,
    campaign_id: FilterId | None = None,
    customer_id: FilterId | None = None,
    sku: Annotated[str | None, Query(max_length=255)] = None,
    label: Annotated[str | None, Query(max_length=255)] = None,
) -> Response:
    def op(uow: UnitOfWork) -> Page[VoucherRead]:
        filters = {
            "status": status,
            "kind": kind.value if kind else None,
            "campaign_id": campaign_id,
            "holder_id": customer_id,
            "sku": sku,
            "label": label,
        }
        rows = vouchers.list_page(
            uow, actor, after_id=pagination.decode(cursor), limit=limit, filters=filters
        )
        return Page[VoucherRead](
            data=[VoucherRead.of(r, uow.now) for r in rows],
            next_cursor=pagination.next_cursor([r["id"] for r in rows], limit),
        )

    return await run(request, actor, op, readonly=True)


@router.post(
    "/vouchers/lookup",
    response_model=VoucherRead,
    responses=ERRORS,
    summary="Find a voucher by its code (sent in the body, never in a URL)",
)
async def lookup(request: Request, body: Lookup, actor: Actor = scoped(Scope.READ)) -> Response:
    return await run(
        request,
        actor,
        lambda uow: VoucherRead.of(vouchers.get(uow, actor, VoucherRef(code=body.code)), uow.now),
        readonly=True,
    )


@router.get(
    "/vouchers/{voucher_id}", response_model=VoucherRead, responses=ERRORS, summary="Get a voucher"
)
async def get_voucher(
    request: Request, voucher_id: str, actor: Actor = scoped(Scope.READ)
) -> Response:
    return await _get_voucher(request, voucher_id, actor)


async def get_voucher_direct(request: Request, params: Mapping[str, str]) -> Response | None:
    """``GET /v1/vouchers/{voucher_id}`` answered directly (``faces/direct.py``)."""
    actor = await direct_actor(request, (Scope.READ,))
    if actor is None:
        return None
    return await _get_voucher(request, params["voucher_id"], actor)


async def _get_voucher(request: Request, voucher_id: str, actor: Actor) -> Response:
    return await run(
        request,
        actor,
        lambda uow: VoucherRead.of(vouchers.get(uow, actor, _ref(voucher_id)), uow.now),
        readonly=True,
    )


@router.get(
    "/vouchers/{voucher_id}/secret",
    response_model=VoucherSecret,
    responses=ERRORS,
    summary="Reveal a voucher's code",
)
async def get_secret(
    request: Request, voucher_id: str, actor: Actor = scoped(Scope.READ_SECRETS)
) -> Response:
    def op(uow: UnitOfWork) -> VoucherSecret:
        row = vouchers.get(uow, actor, _ref(voucher_id))
        return VoucherSecret(id=row["public_id"], code=row["code"])

    return await run(request, actor, op, readonly=True)


@router.get(
    "/vouchers/{voucher_id}/qr",
    responses={
        **ERRORS,
        200: {
            "content": {"image/png": {}, "image/svg+xml": {}},
            "description": "The voucher's code as a QR image",
        },
        406: {"description": "Accept names neither image/png nor image/svg+xml"},
    },
    response_class=Response,
    summary="A voucher's code as a QR image (PNG or SVG)",
    description="PNG unless `?format=svg` (or `png`) or the Accept header asks for"
    " `image/svg+xml`. The image shows the code, so it needs the `read-secrets` scope.",
)
async def get_qr(
    request: Request,
    voucher_id: str,
    format: Annotated[str | None, Query(pattern="^(?i:png|svg)$")] = None,
    actor: Actor = scoped(Scope.READ_SECRETS),
) -> Response:
    kind = qr.negotiate(format, request.headers.get("accept"))
    if kind is None:
        raise ApiError(406, "not_acceptable", "this endpoint answers image/png or image/svg+xml")

    def op(uow: UnitOfWork) -> Response:
        body, media = qr.image(vouchers.get(uow, actor, _ref(voucher_id))["code"], kind)
        return Response(body, media_type=media, headers={"Cache-Control": "no-store"})

    return await call(
        NATIVE,
        request,
        lambda ctx: op(ctx.uow),
        authenticate=as_caller(actor),
        render=lambda response: response,
        write=False,
    )


@router.patch(
    "/vouchers/{voucher_id}",
    response_model=VoucherRead,
    responses=ERRORS,
    summary="Update a voucher's descriptive fields",
)
async def update_voucher(
    request: Request, voucher_id: str, body: VoucherUpdate, actor: Actor = scoped(Scope.UPDATE)
) -> Response:
    changes = body.model_dump(exclude_unset=True, exclude={"reason"})

    def op(uow: UnitOfWork) -> VoucherRead:
        row = vouchers.update(uow, actor, _ref(voucher_id), changes, reason=body.reason)
        return VoucherRead.of(row, uow.now)

    return await run(request, actor, op)


@router.delete(
    "/vouchers/{voucher_id}",
    status_code=204,
    responses=ERRORS,
    summary="Delete a voucher (soft; the ledger is kept)",
)
async def delete_voucher(
    request: Request, voucher_id: str, body: RequiredReason, actor: Actor = scoped(Scope.MANAGE)
) -> Response:
    def op(uow: UnitOfWork) -> None:
        vouchers.delete(uow, actor, _ref(voucher_id), body.reason)

    return await run(request, actor, op, status_code=204)


@router.get(
    "/vouchers/{voucher_id}/events",
    response_model=Page[EventRead],
    responses=ERRORS,
    summary="The voucher's audit trail",
)
async def voucher_events(
    request: Request,
    voucher_id: str,
    actor: Actor = scoped(Scope.READ),
    limit: Limit = 100,
    cursor: str | None = None,
) -> Response:
    def op(uow: UnitOfWork) -> Page[EventRead]:
        rows = vouchers.history(
            uow, actor, _ref(voucher_id), after_id=pagination.decode(cursor), limit=limit
        )
        return Page[EventRead](
            data=[EventRead.of(r) for r in rows],
            next_cursor=pagination.next_cursor([r["id"] for r in rows], limit),
        )

    return await run(request, actor, op, readonly=True)


def _lifecycle(
    name: str, scope: Scope, body_model: type[Any], call: Callable[..., Any], summary: str
) -> None:
    async def endpoint(
        request: Request,
        voucher_id: str,
        body: Any,
        actor: Actor = scoped(scope),
    ) -> Response:
        def op(uow: UnitOfWork) -> VoucherRead:
            return VoucherRead.of(call(uow, actor, _ref(voucher_id), body), uow.now)

        return await run(request, actor, op, payload=body)

    # The body model is chosen per operation, so the annotation is set at runtime.
    endpoint.__annotations__["body"] = body_model
    endpoint.__name__ = f"{name}_voucher"
    router.post(
        f"/vouchers/{{voucher_id}}/{name}",
        response_model=VoucherRead,
        responses=ERRORS,
        summary=summary,
    )(endpoint)


_lifecycle(
    "activate",
    Scope.USE,
    Reason,
    lambda uow, a, ref, b: vouchers.activate(uow, a, ref, b.reason),
    "Activate",
)
_lifecycle(
    "deactivate",
    Scope.USE,
    Reason,
    lambda uow, a, ref, b: vouchers.deactivate(uow, a, ref, b.reason),
    "Deactivate",
)
_lifecycle(
    "end",
    Scope.MANAGE,
    Reason,
    lambda uow, a, ref, b: vouchers.end(uow, a, ref, b.reason),
    "End an ongoing voucher now",
)
_lifecycle(
    "expire",
    Scope.MANAGE,
    Reason,
    lambda uow, a, ref, b: vouchers.expire(uow, a, ref, b.reason),
    "Expire now",
)
_lifecycle(
    "void",
    Scope.MANAGE,
    Reason,
    lambda uow, a, ref, b: vouchers.void(uow, a, ref, b.reason),
    "Void",
)
_lifecycle(
    "reinstate",
    Scope.MANAGE,
    ReinstateRequest,
    lambda uow, a, ref, b: vouchers.reinstate(uow, a, ref, pin=b.pin, reason=b.reason),
    "Undo a void",
)
_lifecycle(
    "claim",
    Scope.USE,
    ClaimRequest,
    lambda uow, a, ref, b: vouchers.claim(uow, a, ref, b.customer_id, b.reason),
    "Give the voucher to a customer",
)
_lifecycle(
    "unclaim",
    Scope.USE,
    UnclaimRequest,
    lambda uow, a, ref, b: vouchers.unclaim(uow, a, ref, force=b.force, reason=b.reason),
    "Take the voucher back from its customer",
)
_lifecycle(
    "lock",
    Scope.USE,
    LockRequest,
    lambda uow, a, ref, b: vouchers.lock(
        uow,
        a,
        ref,
        period=timedelta(seconds=b.lock_seconds),
        locking_code=b.locking_code,
        basket_code=b.basket_code,
    ),
    "Lock to a basket for a while",
)
_lifecycle(
    "unlock", Scope.USE, Reason, lambda uow, a, ref, b: vouchers.unlock(uow, a, ref), "Unlock"
)
