"""The dashboard's pages: each route is one runtime call (authenticate, one service, render)."""

from __future__ import annotations

import secrets
from collections.abc import Callable

from fastapi import FastAPI
from starlette.requests import Request
from starlette.responses import Response
from starlette.staticfiles import StaticFiles

from voucherd.domain import errors
from voucherd.faces import guard
from voucherd.faces.runtime import Context, Inbound, call
from voucherd.services import staff
from voucherd.web import (
    account,
    audit,
    campaigns,
    credentials,
    customers,
    kit,
    overview,
    transfers,
    users,
    vouchers,
    webhooks,
)
from voucherd.web.face import (
    FACE,
    HERE,
    LOGIN_CSRF_COOKIE,
    PREFIX,
    SESSION_COOKIE,
    CsrfRefused,
    Page,
    SecurityHeaders,
)
from voucherd.web.formats import Formats

# The shared helpers live in ``kit`` (the page modules import them from there); these names
# stay for the handlers below.
form = kit.form
signed_in = kit.signed_in
_secure = kit.secure
_common = kit.common


async def _page(
    request: Request, op: Callable[[Context[staff.StaffUser]], Page], *, write: bool = False
) -> Response:
    return await kit.run(request, op, write=write)


# --- signing in and out ----------------------------------------------------------------------


def _login_page(inbound: Inbound, message: str | None = None, status: int = 200) -> Page:
    token = secrets.token_urlsafe(32)
    return Page(
        "login.html",
        {"csrf": token, "message": message, "fmt": Formats.for_request(inbound.headers)},
        status=status,
        cookies={LOGIN_CSRF_COOKIE: token},
        secure=_secure(inbound),
    )


async def login_form(request: Request) -> Response:
    return _login_page(Inbound(request, b"")).response()


async def login(request: Request) -> Response:
    def op(ctx: Context[None]) -> Page:
        fields = form(ctx.inbound)
        expected = ctx.inbound.request.cookies.get(LOGIN_CSRF_COOKIE)
        presented = fields.get("csrf")
        if not expected or not presented or not secrets.compare_digest(expected, presented):
            raise CsrfRefused()
        try:
            session = staff.login(ctx.uow, fields.get("email", ""), fields.get("password", ""))
        except errors.InvalidCredentials as exc:
            # The refusal is the login page again (nothing was written but the answer).
            return _login_page(ctx.inbound, exc.message, status=401)
        return Page(
            redirect=f"{PREFIX}/",
            cookies={SESSION_COOKIE: session.token, LOGIN_CSRF_COOKIE: None},
            secure=_secure(ctx.inbound),
        )

    return await call(
        FACE,
        request,
        op,
        authenticate=lambda _inbound, _uow: None,
        render=lambda result: result.response(),
        write=True,
        idempotent=False,
    )


async def logout(request: Request) -> Response:
    everywhere = request.url.path.endswith("/everywhere")

    def op(ctx: Context[staff.StaffUser]) -> Page:
        staff.logout(ctx.uow, ctx.caller, everywhere=everywhere)
        return Page(
            redirect=f"{PREFIX}/login",
            cookies={SESSION_COOKIE: None},
            secure=_secure(ctx.inbound),
        )

    return await _page(request, op, write=True)


def build(parent: FastAPI) -> FastAPI:
    sub = FastAPI(openapi_url=None, docs_url=None, redoc_url=None)
    sub.state = parent.state
    sub.add_api_route("/login", login_form, methods=["GET"], include_in_schema=False)
    sub.add_api_route("/login", login, methods=["POST"], include_in_schema=False)
    sub.add_api_route("/logout", logout, methods=["POST"], include_in_schema=False)
    sub.add_api_route("/logout/everywhere", logout, methods=["POST"], include_in_schema=False)
    overview.register(sub)
    vouchers.register(sub)
    customers.register(sub)
    audit.register(sub)
    account.register(sub)
    credentials.register(sub)
    users.register(sub)
    webhooks.register(sub)
    campaigns.register(sub)
    transfers.register(sub)
    sub.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
    guard.install(sub, FACE)
    sub.add_middleware(SecurityHeaders)
    return sub
