"""Shopee Open Platform v2 endpoints: voucher module, auth tokens, shop authorisation page."""

from __future__ import annotations

import html
import logging
from collections.abc import Callable
from typing import Any, TypeVar
from urllib.parse import parse_qs, urlencode, urlsplit

import orjson
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from voucherd.dialects.shopee import accounts, auth, schemas
from voucherd.dialects.shopee import errors as e
from voucherd.dialects.shopee import vouchers as shopee_vouchers
from voucherd.dialects.shopee.auth import Caller
from voucherd.dialects.shopee.errors import ShopeeError, envelope, param
from voucherd.dialects.shopee.schemas import doc
from voucherd.domain import errors
from voucherd.services import tenants
from voucherd.services.unit_of_work import UnitOfWork

log = logging.getLogger("voucherd.shopee")
router = APIRouter(prefix="/api/v2")
T = TypeVar("T")

Work = Callable[[UnitOfWork, Caller], T]


def _body(raw: bytes) -> dict[str, Any]:
    if not raw.strip():
        return {}
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise ShopeeError("error_data", "parse data failed") from None
    if not isinstance(data, dict):
        raise param("the body must be a JSON object")
    return data


async def _run(request: Request, work: Work[T], *, shop: bool = True, readonly: bool = False) -> T:
    engine = request.app.state.engine

    def job() -> T:
        with UnitOfWork(engine, readonly=readonly) as uow:
            caller = auth.authenticate(request, uow, shop=shop)
            result = work(uow, caller)
            uow.commit()
            return result

    try:
        return await run_in_threadpool(job)
    except ShopeeError:
        raise
    except errors.ConcurrentModification:
        raise ShopeeError(
            "common.error_server", "Something is wrong. Please try later.", status=409
        ) from None
    except errors.VoucherdError as exc:
        raise param(exc.message) from None
    except Exception:
        log.exception("shopee call failed request_id=%s", e.request_id(request))
        raise ShopeeError("error_server", e.SERVER, status=500) from None


def _logged(request: Request) -> str:
    rid = e.request_id(request)
    log.info("shopee %s %s -> ok request_id=%s", request.method, auth.signed_path(request), rid)
    return rid


def _ok(request: Request, response: Any) -> JSONResponse:
    _logged(request)
    return JSONResponse(envelope(request, response))


def _query_int(
    request: Request,
    name: str,
    *,
    default: int | None = None,
    low: int | None = None,
    high: int | None = None,
) -> int:
    raw = auth.common_params(request).get(name)
    if raw is None or raw == "":
        if default is None:
            raise param(f"{name} is required")
        return default
    try:
        value = int(raw)
    except ValueError:
        raise param(f"{name} must be an integer") from None
    if (low is not None and value < low) or (high is not None and value > high):
        raise param(f"{name} must be between {low} and {high}")
    return value


# --- voucher module -----------------------------------------------------------------------------


@router.post("/voucher/add_voucher", openapi_extra=doc(schemas.AddVoucher))
async def add_voucher(request: Request) -> JSONResponse:
    raw = await request.body()
    voucher_id = await _run(request, lambda uow, c: shopee_vouchers.add(uow, c.actor, _body(raw)))
    return _ok(request, {"voucher_id": voucher_id})


def _voucher_id(raw: bytes) -> int:
    body = _body(raw)
    value = body.get("voucher_id")
    if value is None:
        raise param("voucher_id is required")
    if isinstance(value, bool) or not isinstance(value, int):
        raise param("voucher_id must be an integer")
    return value


@router.post("/voucher/delete_voucher", openapi_extra=doc(schemas.VoucherId))
async def delete_voucher(request: Request) -> JSONResponse:
    raw = await request.body()
    voucher_id = await _run(
        request, lambda uow, c: shopee_vouchers.delete(uow, c.actor, _voucher_id(raw))
    )
    return _ok(request, {"voucher_id": voucher_id})


@router.post("/voucher/end_voucher", openapi_extra=doc(schemas.VoucherId))
async def end_voucher(request: Request) -> JSONResponse:
    raw = await request.body()
    voucher_id = await _run(
        request, lambda uow, c: shopee_vouchers.end(uow, c.actor, _voucher_id(raw))
    )
    return _ok(request, {"voucher_id": voucher_id})


@router.post("/voucher/update_voucher", openapi_extra=doc(schemas.UpdateVoucher))
async def update_voucher(request: Request) -> JSONResponse:
    raw = await request.body()
    voucher_id = await _run(
        request, lambda uow, c: shopee_vouchers.update(uow, c.actor, _body(raw))
    )
    return _ok(request, {"voucher_id": voucher_id})


def _get_one(request: Request) -> Callable[[UnitOfWork, Caller], dict[str, Any]]:
    def work(uow: UnitOfWork, caller: Caller) -> dict[str, Any]:
        voucher_id = _query_int(request, "voucher_id")
        row = shopee_vouchers.find(uow, caller.actor, voucher_id)
        return shopee_vouchers.render(row, uow.now)

    return work


@router.get("/voucher/get_voucher", openapi_extra=doc(query=schemas.VOUCHER_ID_QUERY))
async def get_voucher(request: Request) -> JSONResponse:
    return _ok(request, await _run(request, _get_one(request), readonly=True))


@router.get("/voucher/get_voucher_detail", include_in_schema=False)
async def get_voucher_detail(request: Request) -> JSONResponse:
    """The call's name before 2022-03-29, still used by the ``pyshopee`` client."""
    return _ok(request, await _run(request, _get_one(request), readonly=True))


STATUSES = ("upcoming", "ongoing", "expired", "all")


@router.get("/voucher/get_voucher_list", openapi_extra=doc(query=schemas.LIST_QUERY))
async def get_voucher_list(request: Request) -> JSONResponse:
    def work(uow: UnitOfWork, caller: Caller) -> dict[str, Any]:
        page_no = _query_int(request, "page_no", default=1, low=1, high=5000)
        page_size = _query_int(request, "page_size", default=20, low=1, high=100)
        status = auth.common_params(request).get("status")
        if not status:
            raise param("status is required")
        if status not in STATUSES:
            raise param("status must be upcoming, ongoing, expired or all")
        rows, more = shopee_vouchers.list_page(
            uow, caller.actor.tenant_id, status, page_no, page_size
        )
        return {
            "more": more,
            "voucher_list": [shopee_vouchers.render(r, uow.now, full=False) for r in rows],
        }

    return _ok(request, await _run(request, work, readonly=True))


# --- auth -----------------------------------------------------------------------------------


def _body_id(body: dict[str, Any], name: str, *, required: bool) -> int | None:
    value = body.get(name)
    if value is None:
        if required:
            raise param(f"{name} is required")
        return None
    if isinstance(value, str) and value.isdigit():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= accounts.MAX_ID:
        raise param(f"{name} must be an integer between 0 and 4294967295")
    return value


def _same_partner(body: dict[str, Any], caller: Caller) -> None:
    partner_id = _body_id(body, "partner_id", required=True)
    if partner_id != caller.partner_id:
        raise ShopeeError("error_auth", e.PARTNER_INVALID)


@router.post("/auth/token/get", openapi_extra=doc(schemas.TokenGet, public=True))
async def token_get(request: Request) -> JSONResponse:
    raw = await request.body()

    def work(uow: UnitOfWork, caller: Caller) -> dict[str, Any]:
        body = _body(raw)
        code = body.get("code")
        if not isinstance(code, str) or not code:
            raise param("code is required")
        _same_partner(body, caller)
        if body.get("main_account_id") is not None:
            raise ShopeeError(
                "invalid_main_acount_id",
                "The code or main_accoount_id is wrong, "
                "please check the code or the main_account_id.",
            )
        shop_id = _body_id(body, "shop_id", required=False)
        won = accounts.consume_code(uow, code, caller.partner_id, shop_id)
        if won is None:
            owner = accounts.live_code_shop(uow, code, caller.partner_id)
            if shop_id is not None and owner is not None and owner != shop_id:
                raise ShopeeError(
                    "invalid_shop_id",
                    "The code or shop_id is wrong, please check the code or the shop_id.",
                )
            raise ShopeeError("error_auth", "Invalid code")
        pair = accounts.issue_tokens(uow, won, caller.partner_id)
        return {
            "shop_id_list": [won],
            "merchant_id_list": [],
            "access_token": pair.access_token,
            "refresh_token": pair.refresh_token,
            "expire_in": pair.expire_in,
        }

    result = await _run(request, work, shop=False)
    return JSONResponse({"error": "", "message": "", "request_id": _logged(request), **result})


@router.post("/auth/access_token/get", openapi_extra=doc(schemas.AccessTokenGet, public=True))
async def access_token_get(request: Request) -> JSONResponse:
    raw = await request.body()

    def work(uow: UnitOfWork, caller: Caller) -> dict[str, Any]:
        body = _body(raw)
        token = body.get("refresh_token")
        if not isinstance(token, str) or not token:
            raise param("refresh_token is required")
        _same_partner(body, caller)
        shop_id = _body_id(body, "shop_id", required=False)
        if shop_id is None:
            for other in ("merchant_id", "supplier_id", "user_id", "principal_id"):
                if body.get(other) is not None:
                    raise param(f"{other} is not supported: only shops exist here")
            raise param("shop_id is required")
        if not accounts.consume_refresh_token(uow, token, caller.partner_id, shop_id):
            row = accounts.find_token(uow, token, "refresh")
            if row is not None and row["used_at"] is None and row["expires_at"] <= uow.now:
                raise ShopeeError("refresh_token_expired", "Your refresh_token expired.")
            if row is not None and (
                row["tenant_id"] != shop_id or row["partner_id"] != caller.partner_id
            ):
                raise ShopeeError(
                    "error_shop_refresh_token",
                    "Your refresh token is error ,please check refresh token or shopid.",
                )
            raise ShopeeError("error_auth", "Invalid refresh_token.")
        if not accounts.is_linked(uow, shop_id, caller.partner_id):
            raise ShopeeError("shop_access_expired", "Your access to shop has expired.")
        pair = accounts.issue_tokens(uow, shop_id, caller.partner_id)
        return {
            "partner_id": caller.partner_id,
            "shop_id": shop_id,
            "access_token": pair.access_token,
            "refresh_token": pair.refresh_token,
            "expire_in": pair.expire_in,
        }

    result = await _run(request, work, shop=False)
    return JSONResponse({"error": "", "message": "", "request_id": _logged(request), **result})


# --- shop authorisation page -------------------------------------------------------------------

_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Authorise {partner}</title></head>
<body style="font-family:sans-serif;max-width:32em;margin:3em auto">
<h1>Authorise &ldquo;{partner}&rdquo;</h1>
<p>The app <strong>{partner}</strong> (partner_id {partner_id}) asks to manage your shop's
vouchers. Sign in with your shop's voucherd API client to approve it.</p>
{problem}
<form method="post">
<input type="hidden" name="redirect" value="{redirect}">
<p><label>Client id<br><input name="client_id" required></label></p>
<p><label>Client secret<br><input name="client_secret" type="password" required></label></p>
<p><button type="submit">Authorise</button></p>
</form></body></html>
"""


_PAGE_HEADERS = {
    "X-Frame-Options": "DENY",
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; "
    "frame-ancestors 'none'",
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",
}


def _redirect_target(request: Request) -> str:
    target = auth.common_params(request).get("redirect", "")
    parts = urlsplit(target)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise param("redirect must be an absolute http(s) URL")
    return target


def _page(partner: Any, redirect: str, problem: str = "", status: int = 200) -> HTMLResponse:
    shown = f'<p style="color:#b00">{html.escape(problem)}</p>' if problem else ""
    return HTMLResponse(
        _PAGE.format(
            partner=html.escape(partner["name"]),
            partner_id=partner["partner_id"],
            redirect=html.escape(redirect),
            problem=shown,
        ),
        status_code=status,
        headers=_PAGE_HEADERS,
    )


@router.get(
    "/shop/auth_partner",
    response_model=None,
    openapi_extra=doc(public=True, query=schemas.AUTH_PAGE_QUERY),
)
async def auth_partner_page(request: Request) -> Response:
    def work(uow: UnitOfWork, caller: Caller) -> tuple[Any, str]:
        partner = accounts.find_partner(uow, caller.partner_id)
        return partner, _redirect_target(request)

    partner, redirect = await _run(request, work, shop=False, readonly=True)
    return _page(partner, redirect)


@router.post(
    "/shop/auth_partner",
    response_model=None,
    openapi_extra=doc(public=True, query=schemas.AUTH_PAGE_QUERY),
)
async def auth_partner_approve(request: Request) -> Response:
    """The operator's approval: signed URL as for the page, plus the shop's client credentials."""
    form = parse_qs((await request.body()).decode("utf-8", "replace"))
    client_id = form.get("client_id", [""])[0]
    secret = form.get("client_secret", [""])[0]

    def work(uow: UnitOfWork, caller: Caller) -> tuple[Any, str, int | None, str | None]:
        partner = accounts.find_partner(uow, caller.partner_id)
        redirect = _redirect_target(request)
        client = tenants.authenticate_client(uow, client_id, secret)
        if client is None:
            return partner, redirect, None, None
        shop_id = int(client["tenant_id"])
        return partner, redirect, shop_id, accounts.authorize(uow, shop_id, caller.partner_id)

    partner, redirect, shop_id, code = await _run(request, work, shop=False)
    if code is None:
        return _page(partner, redirect, "Wrong client id or secret.", status=401)
    joiner = "&" if urlsplit(redirect).query else "?"
    return RedirectResponse(
        redirect + joiner + urlencode({"code": code, "shop_id": shop_id}), status_code=303
    )
