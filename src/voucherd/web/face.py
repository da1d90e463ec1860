"""The dashboard as a face of the runtime: its error table, its HTML answers, its headers."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from voucherd.domain import errors
from voucherd.domain.staff import Action
from voucherd.faces.errors import ErrorTable, Internal, Refusal, TooManyAttempts, Unavailable
from voucherd.faces.runtime import Face, Inbound
from voucherd.services.idempotency import IdempotencyInFlight
from voucherd.web import formats

if TYPE_CHECKING:
    from jinja2 import Environment

PREFIX: Final = "/dashboard"
HERE = Path(__file__).resolve().parent
SESSION_COOKIE: Final = "vd_session"
LOGIN_CSRF_COOKIE: Final = "vd_login_csrf"


@cache
def templates() -> Environment:
    """The dashboard's template environment, built on the first page a worker renders: jinja2
    then stays out of the API's workers that serve no dashboard page (docs/benchmarks.md,
    "Session 5: server memory")."""
    from jinja2 import Environment, FileSystemLoader, select_autoescape

    env = Environment(
        loader=FileSystemLoader(HERE / "templates"),
        autoescape=select_autoescape(["html"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.globals["prefix"] = PREFIX
    env.globals["Action"] = Action  # base.html's nav asks the user's role
    return env


class DashboardError(Exception):
    """A refusal of the dashboard's own (session, CSRF), before any service runs."""

    status = 400
    code = "bad_request"
    message = "the request was refused"


class SignedOut(DashboardError):
    status = 401
    code = "signed_out"
    message = "sign in first"


class CsrfRefused(DashboardError):
    status = 403
    code = "csrf_refused"
    message = "the form expired or did not come from this dashboard; reload the page and retry"


STATUS: Final[Mapping[type[errors.VoucherdError], int]] = {
    errors.NotFound: 404,
    errors.ValidationFailed: 422,
    errors.InvalidAmount: 422,
    errors.CurrencyMismatch: 422,
    errors.MinimumSpendNotMet: 422,
    errors.NotSupportedForKind: 422,
    errors.CodeSpaceTooSmall: 422,
    errors.InvalidPin: 403,
    errors.Forbidden: 403,
    errors.InvalidCredentials: 401,
    IdempotencyInFlight: 409,
    errors.VoucherdError: 409,
}

MESSAGES: Final[Mapping[str, str]] = {
    "not_found": "Nothing found: check the code or id and try again.",
    "forbidden": "Your role does not allow this action.",
    "insufficient_balance": "The voucher does not hold that much.",
}


def _engine(exc: errors.VoucherdError) -> Refusal:
    status = next(STATUS[cls] for cls in type(exc).__mro__ if cls in STATUS)
    message = MESSAGES.get(exc.code, exc.message)
    if isinstance(exc, errors.ValidationFailed) and exc.field:
        message = f"{exc.message} ({exc.field})"
    return Refusal(status, exc.code, message)


TABLE: Final[ErrorTable] = {
    errors.VoucherdError: _engine,
    DashboardError: lambda e: Refusal(e.status, e.code, e.message),
    Unavailable: Refusal(
        503,
        "service_unavailable",
        "The database is unavailable; retry in a moment.",
        headers={"Retry-After": str(Unavailable.retry_after)},
    ),
    Internal: Refusal(
        500, "internal_error", "Something went wrong; it is logged with the request id."
    ),
    TooManyAttempts: lambda exc: Refusal(
        429,
        "too_many_attempts",
        f"Too many searches found nothing; retry in {exc.retry_after} seconds.",
        headers=exc.headers,
    ),
}


def page(name: str, status: int = 200, **context: Any) -> HTMLResponse:
    return HTMLResponse(templates().get_template(name).render(**context), status_code=status)


def _back(inbound: Inbound) -> str | None:
    """Where a refused form came from: its action's path less the last step (the dashboard
    sends no Referer), e.g. ``/dashboard/vouchers/X/charge`` -> ``/dashboard/vouchers/X``."""
    path = inbound.request.url.path
    if inbound.request.method != "POST" or not path.startswith(f"{PREFIX}/"):
        return None
    parent = path.rstrip("/").rsplit("/", 1)[0]
    return parent if parent.startswith(f"{PREFIX}/") else None


def render_error(refusal: Refusal, inbound: Inbound) -> Response:
    if refusal.code == SignedOut.code:
        return RedirectResponse(f"{PREFIX}/login", status_code=303)
    response = page(
        "error.html",
        status=refusal.status,
        refusal=refusal,
        request_id=inbound.request_id,
        fmt=formats.Formats.for_request(inbound.headers),
        back=_back(inbound),
    )
    response.headers.update(refusal.headers)
    return response


FACE: Final = Face(
    "dashboard",
    TABLE,
    render_error,
    media_type="text/html",
    error_media_type="text/html",
)

# No inline script or style anywhere; nothing from another origin; never framed.
CSP: Final = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
)
SECURITY_HEADERS: Final = (
    (b"content-security-policy", CSP.encode()),
    (b"x-frame-options", b"DENY"),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"cross-origin-opener-policy", b"same-origin"),
    (b"permissions-policy", b"camera=(), microphone=(), geolocation=()"),
)


class SecurityHeaders:
    """Puts the security headers on every dashboard response, pages, errors and assets."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [
                    (k, v)
                    for k, v in message.get("headers", [])
                    if k.lower() not in {name for name, _ in SECURITY_HEADERS}
                ]
                headers.extend(SECURITY_HEADERS)
                if "/static/" not in scope["path"]:
                    headers.append((b"cache-control", b"no-store"))
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, with_headers)


@dataclass(frozen=True, slots=True)
class Page:
    """What an operation of the dashboard gives back: a template to render, or a redirect."""

    template: str | None = None
    context: Mapping[str, Any] = field(default_factory=dict)
    redirect: str | None = None
    status: int = 200
    cookies: Mapping[str, str | None] = field(default_factory=dict)  # None: delete
    secure: bool = False

    def response(self) -> Response:
        response: Response
        if self.redirect is not None:
            response = RedirectResponse(self.redirect, status_code=303)
        else:
            assert self.template is not None
            response = page(self.template, status=self.status, **self.context)
        for name, value in self.cookies.items():
            if value is None:
                response.delete_cookie(
                    name, path=PREFIX, secure=self.secure, httponly=True, samesite="strict"
                )
            else:
                response.set_cookie(
                    name,
                    value,
                    path=PREFIX,
                    secure=self.secure,
                    httponly=True,
                    samesite="strict",
                )
        return response
