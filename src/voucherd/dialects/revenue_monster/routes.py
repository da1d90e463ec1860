"""The RM HTTP surface: OAuth ``/v1/token``, the signed ``/v3`` calls and the QR images."""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import Any

import orjson
import segno
from fastapi import APIRouter, Request
from sqlalchemy import select
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from voucherd.db.tables import vouchers
from voucherd.dialects.revenue_monster import auth, merchants, ops
from voucherd.dialects.revenue_monster.errors import RmError
from voucherd.dialects.revenue_monster.errors import response as error_response
from voucherd.domain import codes
from voucherd.services.unit_of_work import UnitOfWork, utcnow

router = APIRouter()
NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


def _json(body: Any, headers: dict[str, str] | None = None) -> Response:
    return Response(orjson.dumps(body), media_type="application/json", headers=headers)


def base_url(request: Request) -> str:
    """Where this face is served, e.g. ``http://host:8080/rm`` (the mount's root path)."""
    host = request.headers.get("host") or request.url.netloc
    return f"{request.url.scheme}://{host}{request.scope.get('root_path', '')}".rstrip("/")


Handler = Callable[[ops.Context, Any], dict[str, Any]]


async def _signed(request: Request, handler: Handler) -> Response:
    """Authenticate the call (token, timestamp, signature, nonce), then run ``handler``."""
    body = await request.body()

    def run() -> dict[str, Any]:
        caller = auth.authenticate(request, body, utcnow())
        ctx = ops.Context(request.app.state.engine, caller.actor, base_url(request))
        return handler(ctx, auth.parse_body(body))

    return _json(await run_in_threadpool(run))


def _item(value: Any) -> dict[str, Any]:
    return {"item": value, "code": "SUCCESS"}


def _items(result: tuple[list[dict[str, Any]], dict[str, Any]]) -> dict[str, Any]:
    return {"items": result[0], "code": "SUCCESS", "meta": result[1]}


# --- OAuth --------------------------------------------------------------------------------------


@router.post("/v1/token", summary="Get an access token (client credentials or refresh token)")
async def token(request: Request) -> Response:
    body = await request.body()
    state = request.app.state
    try:
        result = await run_in_threadpool(
            auth.issue_tokens,
            state.engine,
            state.signing_key,
            state.rm_settings,
            request.headers.get("authorization"),
            body,
        )
    except auth.OAuthError as exc:
        headers = dict(NO_STORE)
        if exc.status == 401:
            headers["WWW-Authenticate"] = 'Basic realm="rm"'
        return Response(
            orjson.dumps({"error": {"code": exc.code, "message": exc.message}}),
            status_code=exc.status,
            media_type="application/json",
            headers=headers,
        )
    return _json(result, NO_STORE)


# --- vouchers and batches -----------------------------------------------------------------------


@router.get("/v3/voucher-batches", summary="Voucher batches (cursor paging, filter)")
async def voucher_batches(request: Request) -> Response:
    q = request.query_params
    return await _signed(
        request,
        lambda ctx, _body: _items(
            ops.list_batches(ctx, q.get("cursor"), q.get("filter"), q.get("limit"))
        ),
    )


@router.get("/v3/voucher-batch/{key}", summary="One voucher batch")
async def voucher_batch(request: Request, key: str) -> Response:
    return await _signed(request, lambda ctx, _body: _item(ops.get_batch(ctx, key)))


@router.get("/v3/voucher-batch/{key}/vouchers", summary="Vouchers of a batch")
async def voucher_batch_vouchers(request: Request, key: str) -> Response:
    q = request.query_params
    return await _signed(
        request,
        lambda ctx, _body: _items(ops.batch_vouchers(ctx, key, q.get("cursor"), q.get("limit"))),
    )


@router.post("/v3/voucher-batch/{key}/issue", summary="Issue a voucher from a batch")
async def issue_voucher(request: Request, key: str) -> Response:
    return await _signed(request, lambda ctx, body: _item(ops.issue(ctx, key, body)))


@router.get("/v3/voucher/{code}", summary="Voucher by code")
async def voucher_by_code(request: Request, code: str) -> Response:
    return await _signed(request, lambda ctx, _body: _item(ops.get_voucher(ctx, code)))


@router.post("/v3/voucher/{code}", summary="Voucher by code (POST with {}, as one doc page shows)")
async def voucher_by_code_post(request: Request, code: str) -> Response:
    return await _signed(request, lambda ctx, _body: _item(ops.get_voucher(ctx, code)))


@router.post("/v3/voucher/{code}/void", summary="Void (use) a voucher")
async def void_voucher(request: Request, code: str) -> Response:
    return await _signed(request, lambda ctx, body: _item(ops.void(ctx, code, body)))


@router.patch("/v3/voucher/{code}/reinstate", summary="Reinstate a void voucher (PIN)")
async def reinstate_voucher(request: Request, code: str) -> Response:
    return await _signed(request, lambda ctx, body: _item(ops.reinstate(ctx, code, body)))


@router.post("/v3/vouchers/redeem", summary="Redeem vouchers in bulk (all or none)")
async def redeem_vouchers(request: Request) -> Response:
    return await _signed(request, lambda ctx, body: _item(ops.bulk_redeem(ctx, body)))


# --- members ------------------------------------------------------------------------------------


@router.get("/v3/loyalty/me/vouchers", summary="A member's vouchers")
async def member_vouchers(request: Request) -> Response:
    q = request.query_params
    return await _signed(
        request,
        lambda ctx, _body: _items(
            ops.member_vouchers(
                ctx, q.get("countryCode"), q.get("phoneNumber"), q.get("cursor"), q.get("limit")
            )
        ),
    )


@router.get("/v3/loyalty/me/voucher/{code}", summary="A member's voucher by code")
async def member_voucher(request: Request, code: str) -> Response:
    q = request.query_params
    return await _signed(
        request,
        lambda ctx, _body: _item(
            ops.member_voucher(ctx, code, q.get("countryCode"), q.get("phoneNumber"))
        ),
    )


@router.post("/v3/loyalty/me/voucher/{code}/redeem", summary="A member redeems a voucher")
async def member_redeem(request: Request, code: str) -> Response:
    q = request.query_params
    return await _signed(
        request,
        lambda ctx, _body: _item(
            ops.member_redeem(ctx, code, q.get("countryCode"), q.get("phoneNumber"))
        ),
    )


@router.get(
    "/v3/loyalty/me/voucher/{code}/redeem",
    summary="A member redeems a voucher (GET, as the doc's curl sample sends it)",
)
async def member_redeem_get(request: Request, code: str) -> Response:
    return await member_redeem(request, code)


@router.get(
    "/v3/merchant/server-public-key", summary="The public key that verifies this server's callbacks"
)
async def server_public_key(request: Request) -> Response:
    def handler(ctx: ops.Context, _body: Any) -> dict[str, Any]:
        pem = merchants.server_public_key(ctx.engine, ctx.tenant_id)
        return _item({"publicKey": pem, "signType": "sha256"})

    return await _signed(request, handler)


# --- QR images ----------------------------------------------------------------------------------


def _qr(engine: Any, tenant_id: int, code: str, kind: str) -> bytes | None:
    with UnitOfWork(engine, readonly=True) as uow:
        found = uow.conn.execute(
            select(vouchers.c.code).where(
                vouchers.c.tenant_id == tenant_id,
                vouchers.c.code == codes.normalize(code),
                vouchers.c.deleted_at.is_(None),
            )
        ).scalar()
    if found is None:
        return None
    out = io.BytesIO()
    qr = segno.make(found, error="m")
    if kind == "svg":
        qr.save(out, kind="svg", scale=8, border=4, xmldecl=True)
    else:
        qr.save(out, kind="png", scale=8, border=4)
    return out.getvalue()


@router.get("/qr/{tenant_id}/voucher/{code}", summary="QR code image of a voucher (PNG or SVG)")
async def voucher_qr(request: Request, tenant_id: int, code: str) -> Response:
    kind = request.query_params.get("format", "png").lower()
    for suffix in (".png", ".svg"):
        if code.lower().endswith(suffix):
            code, kind = code[: -len(suffix)], suffix[1:]
    if kind not in ("png", "svg"):
        return error_response(RmError("VALIDATION_ERROR", "format is png or svg"))
    image = await run_in_threadpool(_qr, request.app.state.engine, tenant_id, code, kind)
    if image is None:
        return error_response(RmError("VOUCHER_NOT_FOUND"))
    media = "image/svg+xml" if kind == "svg" else "image/png"
    return Response(image, media_type=media, headers={"Cache-Control": "no-store"})
