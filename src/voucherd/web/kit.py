"""What every dashboard page shares: the signed-in caller, the posted form, the page context,
and the one way a page runs (one runtime call: authenticate, one service, render)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import parse_qs, urlencode

from starlette.requests import Request
from starlette.responses import Response

from voucherd.domain.staff import Action
from voucherd.faces.runtime import Context, Inbound, call
from voucherd.services import staff
from voucherd.services.unit_of_work import UnitOfWork
from voucherd.web.face import FACE, SESSION_COOKIE, CsrfRefused, Page, SignedOut
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


def secure(inbound: Inbound) -> bool:
    return inbound.request.url.scheme == "https"


def signed_in(inbound: Inbound, uow: UnitOfWork) -> staff.StaffUser:
    """The session's user; on a POST the form must carry that session's CSRF token."""
    user = staff.authenticate(uow, inbound.request.cookies.get(SESSION_COOKIE))
    if user is None:
        raise SignedOut()
    if inbound.request.method == "POST" and not staff.csrf_matches(user, form(inbound).get("csrf")):
        raise CsrfRefused()
    return user


def common(ctx: Context[staff.StaffUser], **extra: Any) -> dict[str, Any]:
    user = ctx.caller
    return {
        "user": user,
        "csrf": user.csrf_token,
        "fmt": Formats.for_request(ctx.inbound.headers),
        "Action": Action,
        **extra,
    }


def query_int(inbound: Inbound, name: str) -> int | None:
    """A positive whole number from the query string; anything else counts as absent."""
    text = inbound.query.get(name, "")
    return int(text) if text.isdigit() and len(text) < 19 else None


def link(path: str, params: Mapping[str, Any]) -> str:
    """``path`` with the non-empty ``params`` as its query string."""
    kept = {k: v for k, v in params.items() if v not in (None, "")}
    return f"{path}?{urlencode(kept)}" if kept else path


async def run(
    request: Request,
    op: Callable[[Context[staff.StaffUser]], Any],
    *,
    write: bool = False,
    render: Callable[[Any], Response] | None = None,
) -> Response:
    """One dashboard request through the runtime; ``op`` returns a ``Page`` unless a
    ``render`` of its own is given (a CSV export)."""
    return await call(
        FACE,
        request,
        op,
        authenticate=signed_in,
        render=render or (lambda result: result.response()),
        write=write,
        idempotent=False,
    )


__all__ = ["Page", "common", "form", "link", "query_int", "run", "secure", "signed_in"]
