"""OAuth 2.0 client credentials (RFC 6749 section 4.4), shared by every face that speaks it.

The native ``POST /oauth/token`` and JTL's token endpoint both issue tokens through here; a face
adds only its route, its audience and how it reads the form.
"""

from __future__ import annotations

import base64
from typing import Any
from urllib.parse import parse_qs, unquote_plus

import orjson
from fastapi import Request
from starlette.responses import Response

from voucherd.domain.scopes import parse_scopes
from voucherd.faces import limits
from voucherd.faces.errors import TooManyAttempts
from voucherd.services import tenants, tokens
from voucherd.services.unit_of_work import UnitOfWork, utcnow

NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


def oauth_error(status: int, error: str, description: str, basic: bool = False) -> Response:
    headers = dict(NO_STORE)
    if status == 401:
        headers["WWW-Authenticate"] = 'Basic realm="voucherd"' if basic else "Bearer"
    return Response(
        orjson.dumps({"error": error, "error_description": description}),
        status_code=status,
        media_type="application/json",
        headers=headers,
    )


def too_many(exc: TooManyAttempts) -> Response:
    """429 in OAuth's error shape (``slow_down``, as RFC 8628 names it), with Retry-After."""
    response = oauth_error(429, "slow_down", "too many failed attempts; retry later")
    response.headers.update(exc.headers)
    return response


def basic_credentials(header: str | None) -> tuple[str, str] | None:
    if not header or not header.lower().startswith("basic "):
        return None
    try:
        decoded = base64.b64decode(header[6:].strip(), validate=True).decode()
    except ValueError:  # not base64 (binascii.Error), not ASCII, not UTF-8 once decoded
        return None
    if ":" not in decoded:
        return None
    user, _, password = decoded.partition(":")
    return unquote_plus(user), unquote_plus(password)


def _authenticate(request: Request, client_id: str, secret: str) -> Any:
    """The client, in a unit of work of its own, with the request's budgets settled after it."""
    engine = request.app.state.engine
    attempts = limits.for_request(request)
    try:
        with UnitOfWork(engine, readonly=True, attempts=attempts) as uow:
            return tenants.authenticate_client(uow, client_id, secret)
    finally:
        limits.settle(attempts, engine)  # a failed secret counts against the budget


def issue_token(
    request: Request,
    form: dict[str, str],
    basic: tuple[str, str] | None,
    audience: str,
    uow: UnitOfWork | None = None,
) -> tuple[int, dict[str, Any]] | Response:
    """Shared by every face that speaks standard OAuth2 client credentials.

    ``uow``: the unit of work of the runtime call this runs in, if any: the client is
    authenticated in it (no second pooled connection), and the runtime settles its budgets.
    """
    if form.get("grant_type") != "client_credentials":
        if "grant_type" not in form:
            return oauth_error(400, "invalid_request", "grant_type is required")
        return oauth_error(400, "unsupported_grant_type", "only client_credentials is supported")
    if basic and "client_id" in form:
        return oauth_error(400, "invalid_request", "send client credentials only once")
    client_id, secret = basic or (form.get("client_id", ""), form.get("client_secret", ""))
    if not client_id or not secret:
        return oauth_error(401, "invalid_client", "client authentication failed", bool(basic))
    try:
        if uow is not None:
            client = tenants.authenticate_client(uow, client_id, secret)
        else:
            client = _authenticate(request, client_id, secret)
    except TooManyAttempts as exc:
        return too_many(exc)
    if client is None or not tenants.may_take_bearer_token(client):
        # An RM client's secret is refused here like a wrong one: it signs its calls at /rm.
        return oauth_error(401, "invalid_client", "client authentication failed", bool(basic))
    granted = parse_scopes(client["scopes"])
    if "scope" in form:
        try:
            wanted = parse_scopes(form["scope"])
        except ValueError as exc:
            return oauth_error(400, "invalid_scope", str(exc))
        if not wanted <= granted:
            extra = " ".join(sorted(wanted - granted))
            return oauth_error(400, "invalid_scope", f"not granted to this client: {extra}")
        granted = wanted
    ttl = request.app.state.settings.token_ttl_seconds
    claims = tokens.Claims(
        int(client["tenant_id"]),
        client["id"],
        frozenset(granted),
        audience,
        int(utcnow().timestamp()) + ttl,
    )
    token = authority(request).issue(claims, uow.conn if uow is not None else True)
    return int(client["tenant_id"]), {
        "access_token": token,
        "token_type": "Bearer",
        "expires_in": ttl,
        "scope": " ".join(sorted(granted)),
    }


def authority(request: Request) -> tokens.Authority:
    """This process's token authority (``services/tokens.py``), set up by the app's startup."""
    value: tokens.Authority = request.app.state.tokens
    return value


def parse_form(body: bytes) -> dict[str, str] | None:
    try:
        parsed = parse_qs(body.decode(), keep_blank_values=True, strict_parsing=False)
    except UnicodeDecodeError:
        return None
    return {k: v[0] for k, v in parsed.items()}
