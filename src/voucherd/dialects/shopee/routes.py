"""Shopee Open Platform v2 voucher module routes: each one request of the face runtime."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from voucherd.dialects.shopee import auth, schemas, vouchers
from voucherd.dialects.shopee.errors import FACE
from voucherd.dialects.shopee.parse import query_params
from voucherd.dialects.shopee.render import ok
from voucherd.dialects.shopee.schemas import doc
from voucherd.faces.runtime import call

router = APIRouter(prefix="/api/v2")

# Common parameters change on every request (timestamp, sign) or name the caller (the key is
# scoped to it already): they are not part of what "the same request" means.
COMMON = frozenset({"partner_id", "timestamp", "sign", "access_token", "shop_id"})


async def fingerprint(request: Request) -> bytes:
    """What makes two writes "the same request" for Idempotency-Key: the call's own query
    parameters and the body as sent."""
    own = sorted((k, v) for k, v in query_params(request.query_params).items() if k not in COMMON)
    return repr(own).encode() + b"\n" + await request.body()


async def _voucher_call(
    request: Request, operation: Callable[[vouchers.Ctx], Any], *, write: bool
) -> Response:
    return await call(
        FACE,
        request,
        operation,
        authenticate=auth.shop_call,
        render=ok(request),
        write=write,
        fingerprint=await fingerprint(request) if write else None,
    )


@router.post("/voucher/add_voucher", openapi_extra=doc(schemas.AddVoucher))
async def add_voucher(request: Request) -> Response:
    return await _voucher_call(request, vouchers.add_voucher, write=True)


@router.post("/voucher/delete_voucher", openapi_extra=doc(schemas.VoucherId))
async def delete_voucher(request: Request) -> Response:
    return await _voucher_call(request, vouchers.delete_voucher, write=True)


@router.post("/voucher/end_voucher", openapi_extra=doc(schemas.VoucherId))
async def end_voucher(request: Request) -> Response:
    return await _voucher_call(request, vouchers.end_voucher, write=True)


@router.post("/voucher/update_voucher", openapi_extra=doc(schemas.UpdateVoucher))
async def update_voucher(request: Request) -> Response:
    return await _voucher_call(request, vouchers.update_voucher, write=True)


@router.get("/voucher/get_voucher", openapi_extra=doc(query=schemas.VOUCHER_ID_QUERY))
async def get_voucher(request: Request) -> Response:
    return await _voucher_call(request, vouchers.get_voucher, write=False)


@router.get("/voucher/get_voucher_detail", include_in_schema=False)
async def get_voucher_detail(request: Request) -> Response:
    """The call's name before 2022-03-29, still used by the ``pyshopee`` client."""
    return await _voucher_call(request, vouchers.get_voucher, write=False)


@router.get("/voucher/get_voucher_list", openapi_extra=doc(query=schemas.LIST_QUERY))
async def get_voucher_list(request: Request) -> Response:
    return await _voucher_call(request, vouchers.get_voucher_list, write=False)
