"""The dashboard's pages: each route is one runtime call (authenticate, one service, render)."""

from __future__ import annotations

import importlib
import secrets as std_secrets
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import parse_qs, quote

from fastapi import FastAPI
from starlette.requests import Request
from starlette.responses import Response
from starlette.staticfiles import StaticFiles

from voucherd.domain import codes, errors
from voucherd.domain.staff import Action
from voucherd.faces import guard
from voucherd.faces.runtime import Context, Inbound, call
from voucherd.services import lookup, reports, staff
from voucherd.services.unit_of_work import UnitOfWork
from voucherd.web.face import (
    FACE,
    HERE,
    LOGIN_CSRF_COOKIE,
    PREFIX,
    SESSION_COOKIE,
    CsrfRefused,
    Page,
    SecurityHeaders,
    SignedOut,
)
from voucherd.web.formats import Formats

MAX_FIELDS = 20


def form(inbound: Inbound) -> dict[str, str]:
    """The posted form's fields (first value of each); a malformed body gives no fields."""
    text = inbound.body.decode("utf-8", "replace")
    try:
        parsed = parse_qs(text, keep_blank_values=True, max_num_fields=MAX_FIELDS)
    except ValueError:
        return {}
    return {name: values[0] for name, values in parsed.items()}


def _secure(inbound: Inbound) -> bool:
    return inbound.request.url.scheme == "https"


def signed_in(inbound: Inbound, uow: UnitOfWork) -> staff.StaffUser:
    """The session's user; on a POST the form must carry that session's CSRF token."""
    user = staff.authenticate(uow, inbound.request.cookies.get(SESSION_COOKIE))
    if user is None:
        raise SignedOut()
    if inbound.request.method == "POST" and not staff.csrf_matches(user, form(inbound).get("csrf")):
        raise CsrfRefused()
    return user


def _common(ctx: Context[staff.StaffUser], **extra: Any) -> dict[str, Any]:
    user = ctx.caller
    return {
        "user": user,
        "csrf": user.csrf_token,
        "fmt": Formats.for_request(ctx.inbound.headers),
        "Action": Action,
        **extra,
    }


async def _page(
    request: Request, op: Callable[[Context[staff.StaffUser]], Page], *, write: bool = False
) -> Response:
    return await call(
        FACE,
        request,
        op,
        authenticate=signed_in,
        render=lambda result: result.response(),
        write=write,
        idempotent=False,
    )


# --- signing in and out ----------------------------------------------------------------------


def _login_page(inbound: Inbound, message: str | None = None, status: int = 200) -> Page:
    token = std_secrets.token_urlsafe(32)
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
        if not expected or not presented or not std_secrets.compare_digest(expected, presented):
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


# --- pages -----------------------------------------------------------------------------------


async def overview(request: Request) -> Response:
    def op(ctx: Context[staff.StaffUser]) -> Page:
        numbers = reports.overview(ctx.uow, ctx.caller.actor)
        return Page("overview.html", _common(ctx, overview=numbers))

    return await _page(request, op)


async def search(request: Request) -> Response:
    def op(ctx: Context[staff.StaffUser]) -> Page:
        query = ctx.inbound.query.get("q", "")
        if not query.strip():
            return Page("search.html", _common(ctx, query=""))
        try:
            row = lookup.search(ctx.uow, ctx.caller.actor, query)
        except errors.NotFound:
            return Page(
                "search.html",
                _common(ctx, query=query, message="No voucher has this code or id."),
                status=404,
            )
        return Page(redirect=f"{PREFIX}/vouchers/{quote(row['public_id'], safe='')}")

    return await _page(request, op)


async def voucher(request: Request) -> Response:
    public_id = request.path_params["public_id"]

    def op(ctx: Context[staff.StaffUser]) -> Page:
        found = lookup.dossier(ctx.uow, ctx.caller.actor, public_id)
        done = ctx.inbound.query.get("done")
        return Page(
            "voucher.html",
            _common(
                ctx,
                v=found.voucher,
                masked=codes.mask(found.voucher["code"]),
                ledger=found.ledger,
                events=found.events,
                done=DONE.get(done or ""),
            ),
        )

    return await _page(request, op)


DONE: Mapping[str, str] = {
    "charge": "Charged.",
    "void": "Voided.",
    "reinstate": "Reinstated.",
}


def _confirmed(fields: Mapping[str, str]) -> None:
    if fields.get("confirm") != "yes":
        raise errors.ValidationFailed("tick the box to confirm", field="confirm", rule="required")


async def action(request: Request) -> Response:
    public_id = request.path_params["public_id"]
    name = request.path_params["action"]

    def op(ctx: Context[staff.StaffUser]) -> Page:
        fields = form(ctx.inbound)
        user = ctx.caller
        if name == "charge":
            _confirmed(fields)
            staff.charge(
                ctx.uow,
                user,
                public_id,
                fields.get("amount", ""),
                order_number=fields.get("order_number"),
            )
        elif name == "void":
            staff.authorize(user, Action.VOID)
            _confirmed(fields)
            staff.void(ctx.uow, user, public_id, fields.get("reason"))
        elif name == "reinstate":
            staff.authorize(user, Action.REINSTATE)
            _confirmed(fields)
            staff.reinstate(ctx.uow, user, public_id, fields.get("reason"), fields.get("pin"))
        else:
            raise errors.NotFound("action")
        return Page(redirect=f"{PREFIX}/vouchers/{quote(public_id, safe='')}?done={name}")

    return await _page(request, op, write=True)


def build(parent: FastAPI) -> FastAPI:
    sub = FastAPI(openapi_url=None, docs_url=None, redoc_url=None)
    sub.state = parent.state
    sub.add_api_route("/login", login_form, methods=["GET"], include_in_schema=False)
    sub.add_api_route("/login", login, methods=["POST"], include_in_schema=False)
    sub.add_api_route("/logout", logout, methods=["POST"], include_in_schema=False)
    sub.add_api_route("/logout/everywhere", logout, methods=["POST"], include_in_schema=False)
    sub.add_api_route("/", overview, methods=["GET"], include_in_schema=False)
    sub.add_api_route("/vouchers", search, methods=["GET"], include_in_schema=False)
    sub.add_api_route("/vouchers/{public_id}", voucher, methods=["GET"], include_in_schema=False)
    sub.add_api_route(
        "/vouchers/{public_id}/{action}", action, methods=["POST"], include_in_schema=False
    )
    importlib.import_module("voucherd.web.campaigns").register(sub)  # campaigns, jobs (#12)
    importlib.import_module("voucherd.web.transfers").register(sub)  # CSV in and out (#12)
    sub.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
    guard.install(sub, FACE)
    sub.add_middleware(SecurityHeaders)
    return sub
