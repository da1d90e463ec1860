"""Shopee's public calls: the token calls and the shop authorisation page.

Token calls are writes without Idempotency-Key (docs/compat/shopee.md): their answers carry
fresh tokens, which voucherd keeps only as hashes, and the code or refresh token they spend is
single-use already, so a retried call is refused, never applied twice.
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from voucherd.db import repositories as repo
from voucherd.dialects.shopee import accounts, auth, parse, schemas
from voucherd.dialects.shopee import messages as m
from voucherd.dialects.shopee.auth import Caller
from voucherd.dialects.shopee.errors import FACE, ShopeeError, param
from voucherd.dialects.shopee.render import top_level
from voucherd.dialects.shopee.schemas import doc
from voucherd.faces.runtime import Context, call
from voucherd.services import tenants
from voucherd.services.attempts import Budget

router = APIRouter(prefix="/api/v2")
Ctx = Context[Caller]


def _same_partner(data: dict[str, Any], caller: Caller) -> None:
    if parse.body_uint(data, "partner_id", required=True) != caller.partner_id:
        raise ShopeeError("error_auth", m.PARTNER_INVALID)


def token_get(ctx: Ctx) -> dict[str, Any]:
    uow, caller = ctx.uow, ctx.caller
    data = parse.body(ctx.inbound.body)
    code = data.get("code")
    if not isinstance(code, str) or not code:
        raise param("code is required")
    _same_partner(data, caller)
    if data.get("main_account_id") is not None:
        raise ShopeeError(
            "invalid_main_acount_id",
            "The code or main_accoount_id is wrong, please check the code or the main_account_id.",
        )
    shop_id = parse.body_uint(data, "shop_id", required=False)
    # An authorisation code is a secret: a wrong one spends the partner's and the address's
    # authentication budget.
    subject = f"shopee-partner:{caller.partner_id}"
    uow.attempts.guard(Budget.AUTH, subject)
    won = accounts.consume_code(uow, code, caller.partner_id, shop_id)
    if won is None:
        uow.attempts.failed(Budget.AUTH, subject)
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


def access_token_get(ctx: Ctx) -> dict[str, Any]:
    uow, caller = ctx.uow, ctx.caller
    data = parse.body(ctx.inbound.body)
    token = data.get("refresh_token")
    if not isinstance(token, str) or not token:
        raise param("refresh_token is required")
    _same_partner(data, caller)
    shop_id = parse.body_uint(data, "shop_id", required=False)
    if shop_id is None:
        for other in ("merchant_id", "supplier_id", "user_id", "principal_id"):
            if data.get(other) is not None:
                raise param(f"{other} is not supported: only shops exist here")
        raise param("shop_id is required")
    subject = f"shopee-partner:{caller.partner_id}"
    uow.attempts.guard(Budget.AUTH, subject)
    if not accounts.consume_refresh_token(uow, token, caller.partner_id, shop_id):
        uow.attempts.failed(Budget.AUTH, subject)
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


@router.post("/auth/token/get", openapi_extra=doc(schemas.TokenGet, public=True))
async def token_get_route(request: Request) -> Response:
    return await call(
        FACE,
        request,
        token_get,
        authenticate=auth.public_call,
        render=top_level(request),
        idempotent=False,
    )


@router.post("/auth/access_token/get", openapi_extra=doc(schemas.AccessTokenGet, public=True))
async def access_token_get_route(request: Request) -> Response:
    return await call(
        FACE,
        request,
        access_token_get,
        authenticate=auth.public_call,
        render=top_level(request),
        idempotent=False,
    )


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


@dataclass(frozen=True, slots=True)
class Page:
    """The page to show, or (``code`` set) where to send the approved operator."""

    partner: repo.Row
    redirect: str
    shop_id: int | None = None
    code: str | None = None
    problem: str = ""


def _redirect_target(ctx: Ctx) -> str:
    target = parse.query_params(ctx.inbound.query).get("redirect", "")
    parts = urlsplit(target)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise param("redirect must be an absolute http(s) URL")
    return target


def _partner(ctx: Ctx) -> repo.Row:
    partner = accounts.find_partner(ctx.uow, ctx.caller.partner_id)
    assert partner is not None  # the authenticator found it a moment ago, in this transaction
    return partner


def show_page(ctx: Ctx) -> Page:
    return Page(_partner(ctx), _redirect_target(ctx))


def approve(ctx: Ctx) -> Page:
    """The operator's approval: signed URL as for the page, plus the shop's client credentials."""
    form = parse_qs(ctx.inbound.body.decode("utf-8", "replace"))
    client_id = form.get("client_id", [""])[0]
    secret = form.get("client_secret", [""])[0]
    partner, redirect = _partner(ctx), _redirect_target(ctx)
    client = tenants.authenticate_client(ctx.uow, client_id, secret)
    if client is None:
        return Page(partner, redirect, problem="Wrong client id or secret.")
    if not tenants.may_authorise_apps(client):
        return Page(partner, redirect, problem="This client may not authorise apps (scope manage).")
    shop_id = int(client["tenant_id"])
    code = accounts.authorize(ctx.uow, shop_id, ctx.caller.partner_id)
    return Page(partner, redirect, shop_id, code)


def render_page(page: Page) -> Response:
    if page.code is not None:
        joiner = "&" if urlsplit(page.redirect).query else "?"
        target = page.redirect + joiner + urlencode({"code": page.code, "shop_id": page.shop_id})
        return RedirectResponse(target, status_code=303)
    shown = f'<p style="color:#b00">{html.escape(page.problem)}</p>' if page.problem else ""
    return HTMLResponse(
        _PAGE.format(
            partner=html.escape(page.partner["name"]),
            partner_id=page.partner["partner_id"],
            redirect=html.escape(page.redirect),
            problem=shown,
        ),
        status_code=401 if page.problem else 200,
        headers=_PAGE_HEADERS,
    )


@router.get(
    "/shop/auth_partner",
    response_model=None,
    openapi_extra=doc(public=True, query=schemas.AUTH_PAGE_QUERY),
)
async def auth_partner_page(request: Request) -> Response:
    return await call(FACE, request, show_page, authenticate=auth.public_call, render=render_page)


@router.post(
    "/shop/auth_partner",
    response_model=None,
    openapi_extra=doc(public=True, query=schemas.AUTH_PAGE_QUERY),
)
async def auth_partner_approve(request: Request) -> Response:
    return await call(
        FACE,
        request,
        approve,
        authenticate=auth.public_call,
        render=render_page,
        idempotent=False,
    )
