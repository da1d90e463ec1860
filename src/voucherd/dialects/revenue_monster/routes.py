"""The RM HTTP surface: OAuth ``/v1/token``, the signed ``/v3`` calls and the QR images.

Every route is one ``faces.runtime.call``: the face (``errors.FACE``), an authenticator
(``auth.token_client``, ``auth.signed``, or the QR image's merchant from the path), one
operation of ``ops.py`` and a renderer of ``render.py``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import Response

from voucherd.dialects.revenue_monster import auth, ops, parse, queries, render
from voucherd.dialects.revenue_monster.errors import FACE, NO_STORE, OAuthError, RmError, answer
from voucherd.faces.runtime import Context, Inbound, call
from voucherd.services import qr
from voucherd.services.unit_of_work import Actor, UnitOfWork

router = APIRouter()


async def _open_api(
    request: Request,
    operation: Callable[[ops.Ctx], Any],
    render_result: Callable[[Any], Response] = render.item,
) -> Response:
    """A signed ``/v3`` call. Every one records its nonce, so every one is a writing unit; the
    Idempotency-Key applies to the writes (POST, PATCH)."""
    return await call(
        FACE,
        request,
        operation,
        authenticate=auth.signed,
        render=render_result,
        write=True,
        idempotent=request.method != "GET",
    )


# --- OAuth --------------------------------------------------------------------------------------


def _token_answer(result: dict[str, Any] | OAuthError) -> Response:
    if isinstance(result, OAuthError):
        return answer(result)
    return render.json_response(result, NO_STORE)


@router.post("/v1/token", summary="Get an access token (client credentials or refresh token)")
async def token(request: Request) -> Response:
    # No Idempotency-Key here: a stored answer would keep the issued tokens.
    return await call(
        FACE,
        request,
        auth.issue_tokens,
        authenticate=auth.token_client,
        render=_token_answer,
        idempotent=False,
    )


# --- vouchers and batches -----------------------------------------------------------------------


@router.get("/v3/voucher-batches", summary="Voucher batches (cursor paging, filter)")
async def voucher_batches(request: Request) -> Response:
    return await _open_api(request, ops.list_batches, render.items)


@router.get("/v3/voucher-batch/{key}", summary="One voucher batch")
async def voucher_batch(request: Request, key: str) -> Response:
    return await _open_api(request, lambda ctx: ops.get_batch(ctx, key))


@router.get("/v3/voucher-batch/{key}/vouchers", summary="Vouchers of a batch")
async def voucher_batch_vouchers(request: Request, key: str) -> Response:
    return await _open_api(request, lambda ctx: ops.batch_vouchers(ctx, key), render.items)


@router.post("/v3/voucher-batch/{key}/issue", summary="Issue a voucher from a batch")
async def issue_voucher(request: Request, key: str) -> Response:
    return await _open_api(request, lambda ctx: ops.issue(ctx, key))


@router.get("/v3/voucher/{code}", summary="Voucher by code")
async def voucher_by_code(request: Request, code: str) -> Response:
    return await _open_api(request, lambda ctx: ops.get_voucher(ctx, code))


@router.post("/v3/voucher/{code}", summary="Voucher by code (POST with {}, as one doc page shows)")
async def voucher_by_code_post(request: Request, code: str) -> Response:
    return await _open_api(request, lambda ctx: ops.get_voucher(ctx, code))


@router.post("/v3/voucher/{code}/void", summary="Void (use) a voucher")
async def void_voucher(request: Request, code: str) -> Response:
    return await _open_api(request, lambda ctx: ops.void(ctx, code))


@router.patch("/v3/voucher/{code}/reinstate", summary="Reinstate a void voucher (PIN)")
async def reinstate_voucher(request: Request, code: str) -> Response:
    return await _open_api(request, lambda ctx: ops.reinstate(ctx, code))


@router.post("/v3/vouchers/redeem", summary="Redeem vouchers in bulk (all or none)")
async def redeem_vouchers(request: Request) -> Response:
    return await _open_api(request, ops.bulk_redeem)


async def redeem_vouchers_direct(request: Request, _params: Mapping[str, str]) -> Response:
    """``POST /v3/vouchers/redeem`` answered directly (``faces/direct.py``). The route verifies
    and parses inside the runtime call, so the direct answer is the route's own; declared
    ``json_only`` (``revenue_monster.direct_routes``): another body type goes to the route."""
    return await _open_api(request, ops.bulk_redeem)


# --- members ------------------------------------------------------------------------------------


@router.get("/v3/loyalty/me/vouchers", summary="A member's vouchers")
async def member_vouchers(request: Request) -> Response:
    return await _open_api(request, ops.member_vouchers, render.items)


@router.get("/v3/loyalty/me/voucher/{code}", summary="A member's voucher by code")
async def member_voucher(request: Request, code: str) -> Response:
    return await _open_api(request, lambda ctx: ops.member_voucher(ctx, code))


@router.post("/v3/loyalty/me/voucher/{code}/redeem", summary="A member redeems a voucher")
async def member_redeem(request: Request, code: str) -> Response:
    return await _open_api(request, lambda ctx: ops.member_redeem(ctx, code))


@router.get(
    "/v3/loyalty/me/voucher/{code}/redeem",
    summary="A member redeems a voucher (GET, as the doc's curl sample sends it)",
)
async def member_redeem_get(request: Request, code: str) -> Response:
    return await _open_api(request, lambda ctx: ops.member_redeem(ctx, code))


@router.get(
    "/v3/merchant/server-public-key", summary="The public key that verifies this server's callbacks"
)
async def server_public_key(request: Request) -> Response:
    return await _open_api(request, ops.server_public_key)


# --- QR images ----------------------------------------------------------------------------------


def _qr_merchant(tenant_text: str, code: str) -> Callable[[Inbound, UnitOfWork], Actor]:
    """The URL's signature is the credential (the API handed the URL out as a voucher's
    ``qrUrl``): a bad, expired or missing signature, an id no tenant can have and an unknown
    code all answer the same VOUCHER_NOT_FOUND, so the URL is no oracle for codes."""

    def authenticate(inbound: Inbound, uow: UnitOfWork) -> Actor:
        path = render.qr_path(tenant_text, _without_suffix(code)[0])
        query = inbound.query
        now = int(uow.now.timestamp())
        exp, sig = query.get("exp"), query.get("sig")
        if not any(qr.check(key, path, exp, sig, now) for key in render.qr_keys(uow.conn)):
            raise RmError("VOUCHER_NOT_FOUND")
        return Actor(parse.merchant_id(tenant_text), "rm:qr")

    return authenticate


def _without_suffix(code: str) -> tuple[str, str | None]:
    for suffix in (".png", ".svg"):
        if code.lower().endswith(suffix):
            return code[: -len(suffix)], suffix[1:]
    return code, None


def _qr_code(ctx: Context[Actor], code: str) -> tuple[str, qr.Format]:
    """The voucher's stored code and the image kind (``.png``/``.svg`` or ``?format=``)."""
    code, suffix = _without_suffix(code)
    image = qr.negotiate(suffix or ctx.inbound.query.get("format", "png"), None)
    if image is None:
        raise RmError("VALIDATION_ERROR", "format is png or svg")
    found = queries.qr_code(ctx.uow.conn, ctx.caller.tenant_id, code)
    if found is None:
        raise RmError("VOUCHER_NOT_FOUND")
    return found, image


@router.get("/qr/{tenant_id}/voucher/{code}", summary="QR code image of a voucher (PNG or SVG)")
async def voucher_qr(request: Request, tenant_id: str, code: str) -> Response:
    return await call(
        FACE,
        request,
        lambda ctx: _qr_code(ctx, code),
        authenticate=_qr_merchant(tenant_id, code),
        render=lambda found: render.qr_image(*found),
        write=False,
    )
