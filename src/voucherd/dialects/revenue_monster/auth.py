"""RM authentication: OAuth tokens (``/v1/token``) and signed Open API requests."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import unquote

from sqlalchemy import Engine, bindparam, delete, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from starlette.requests import Request

from voucherd.dialects.revenue_monster import parse, signing
from voucherd.dialects.revenue_monster.client_keys import ClientKeys
from voucherd.dialects.revenue_monster.errors import OAuthError, RmError
from voucherd.dialects.revenue_monster.settings import RmSettings
from voucherd.dialects.revenue_monster.tables import rm_nonces, rm_refresh_tokens
from voucherd.domain.scopes import parse_scopes
from voucherd.faces.oauth import authority, basic_credentials
from voucherd.faces.runtime import Context, Inbound
from voucherd.services import tenants, tokens
from voucherd.services.unit_of_work import Actor, UnitOfWork

AUDIENCE = "rm"
CLIENT_KIND = "rm"
MAX_NONCE_LENGTH = 128


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _new_refresh_token(
    uow: UnitOfWork, tenant_id: int, client_id: str, family: str, ttl: int
) -> str:
    token = secrets.token_urlsafe(72)
    uow.conn.execute(
        insert(rm_refresh_tokens).values(
            tenant_id=tenant_id,
            client_id=client_id,
            token_hash=_hash(token),
            family=family,
            expires_at=uow.now + timedelta(seconds=ttl),
            created_at=uow.now,
        )
    )
    return token


def _use_refresh_token(uow: UnitOfWork, tenant_id: int, client_id: str, token: str) -> str:
    """Rotate a refresh token once; returns its family. A reused token revokes the family."""
    row = (
        uow.conn.execute(
            select(rm_refresh_tokens).where(
                rm_refresh_tokens.c.tenant_id == tenant_id,
                rm_refresh_tokens.c.token_hash == _hash(token),
            )
        )
        .mappings()
        .first()
    )
    if row is None or row["client_id"] != client_id:
        raise OAuthError("InvalidGrant", "The refresh token is invalid")
    if row["revoked_at"] is not None or row["expires_at"] <= uow.now:
        raise OAuthError("InvalidGrant", "The refresh token is expired or revoked")
    rotated = uow.conn.execute(
        update(rm_refresh_tokens)
        .where(rm_refresh_tokens.c.id == row["id"], rm_refresh_tokens.c.rotated_at.is_(None))
        .values(rotated_at=uow.now)
    ).rowcount
    if rotated != 1:
        return ""  # reuse: the caller revokes the family and refuses
    return str(row["family"])


def _revoke_family(uow: UnitOfWork, tenant_id: int, token: str) -> None:
    family = uow.conn.execute(
        select(rm_refresh_tokens.c.family).where(
            rm_refresh_tokens.c.tenant_id == tenant_id,
            rm_refresh_tokens.c.token_hash == _hash(token),
        )
    ).scalar_one_or_none()
    if family is not None:
        uow.conn.execute(
            update(rm_refresh_tokens)
            .where(
                rm_refresh_tokens.c.tenant_id == tenant_id,
                rm_refresh_tokens.c.family == family,
                rm_refresh_tokens.c.revoked_at.is_(None),
            )
            .values(revoked_at=uow.now)
        )


@dataclass(frozen=True, slots=True)
class TokenClient:
    """An RM client that authenticated at ``/v1/token``, and the grant it asks for."""

    tenant_id: int
    client_id: str
    scopes: str
    form: dict[str, Any]

    @property
    def actor(self) -> Actor:
        return Actor(self.tenant_id, f"rm:{self.client_id}", self.client_id)


def _basic(header: str | None) -> tuple[str, str] | None:
    try:
        return basic_credentials(header)
    except ValueError:  # e.g. ``Basic %%%\xff``: not even base64 text
        return None


def _token_form(body: bytes) -> dict[str, Any]:
    try:
        form = parse.body(body)
    except RmError as exc:
        raise OAuthError("InvalidRequest", exc.message) from None
    if form is None:
        form = {}
    if not isinstance(form, dict):
        raise OAuthError("InvalidRequest", "The request body must be a JSON object")
    grant = form.get("grantType")
    if not grant:
        raise OAuthError("InvalidRequest", "grantType is required")
    if grant not in ("client_credentials", "refresh_token"):
        raise OAuthError("UnSupportedGrantType", "Unsupported grant type")
    return form


def token_client(inbound: Inbound, uow: UnitOfWork) -> TokenClient:
    """The authenticator of ``POST /v1/token``: Basic client credentials of an RM client.

    The header and the body are checked before the database is asked. Raises: OAuthError.
    """
    credentials = _basic(inbound.headers.get("authorization"))
    if credentials is None:
        raise OAuthError("InvalidClient", "Client authentication failed", 401)
    form = _token_form(inbound.body)
    client = tenants.authenticate_client(uow, *credentials)
    if client is None or client["kind"] != CLIENT_KIND:
        raise OAuthError("InvalidClient", "Client authentication failed", 401)
    return TokenClient(int(client["tenant_id"]), str(client["id"]), client["scopes"], form)


def issue_tokens(ctx: Context[TokenClient]) -> dict[str, Any] | OAuthError:
    """``POST /v1/token`` for an authenticated client.

    A reused refresh token revokes its family and is refused: that refusal is *returned*, so the
    revocation commits with the request's unit of work.
    """
    uow, client = ctx.uow, ctx.caller
    settings: RmSettings = ctx.inbound.request.app.state.rm_settings
    if client.form["grantType"] == "client_credentials":
        family = secrets.token_hex(16)
    else:
        refresh = client.form.get("refreshToken")
        if not isinstance(refresh, str) or not refresh:
            raise OAuthError("InvalidRequest", "refreshToken is required")
        family = _use_refresh_token(uow, client.tenant_id, client.client_id, refresh)
        if not family:
            _revoke_family(uow, client.tenant_id, refresh)
            return OAuthError("InvalidGrant", "The refresh token was already used")
    refresh_token = _new_refresh_token(
        uow, client.tenant_id, client.client_id, family, settings.refresh_token_ttl_seconds
    )
    ttl = settings.access_token_ttl_seconds
    claims = tokens.Claims(
        client.tenant_id,
        client.client_id,
        parse_scopes(client.scopes),
        AUDIENCE,
        int(uow.now.timestamp()) + ttl,
    )
    return {
        "accessToken": authority(ctx.inbound.request).issue(claims, uow.conn),
        "tokenType": "Bearer",
        "expiresIn": ttl,
        "refreshToken": refresh_token,
        "refreshTokenExpiresIn": settings.refresh_token_ttl_seconds,
    }


# --- signed Open API requests -----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Caller:
    """An RM client whose Open API call verified; ``body`` is the parsed body it signed."""

    tenant_id: int
    client_id: str
    body: Any = None

    @property
    def actor(self) -> Actor:
        return Actor(self.tenant_id, f"rm:{self.client_id}", self.client_id)


def request_urls(request: Request) -> list[str]:
    """The URL the client called, as it may have written it when signing.

    The path is taken as sent (``raw_path``) and percent-decoded; the scheme as seen and its
    other value, for a server behind a TLS-terminating proxy.
    """
    scope = request.scope
    host = request.headers.get("host") or f"{request.url.hostname}:{request.url.port}"
    raw_path = scope.get("raw_path") or scope["path"].encode()
    path = raw_path.decode("latin-1").partition("?")[0]
    query = scope.get("query_string", b"").decode("latin-1")
    suffix = f"?{query}" if query else ""
    scheme = request.url.scheme
    schemes = [scheme, "https" if scheme == "http" else "http"]
    urls: list[str] = []
    for each in schemes:
        for variant in (path, unquote(path)):
            url = f"{each}://{host}{variant}{suffix}"
            if url not in urls:
                urls.append(url)
    return urls


def _bearer(request: Request) -> str:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise RmError("UNAUTHORIZED")
    return token.strip()


def signed(inbound: Inbound, uow: UnitOfWork) -> Caller:
    """The authenticator of every ``/v3`` call: token, timestamp, nonce, body, signature.

    Everything that needs no database is checked first; the nonce is recorded in the request's
    own unit of work. Raises: RmError (UNAUTHORIZED, TOKEN_EXPIRED, TOKEN_INVALID,
    CLIENT_NOT_SET_PUBLIC_KEY, INVALID_TIMESTAMP, INVALID_REQUEST_SIGNATURE, INVALID_REQUEST).
    """
    request, now = inbound.request, uow.now
    state = request.app.state
    settings: RmSettings = state.rm_settings
    try:
        claims = authority(request).verify(_bearer(request), AUDIENCE, now, io=uow.conn)
    except tokens.TokenInvalid as exc:
        raise RmError("TOKEN_EXPIRED" if exc.reason == "expired" else "TOKEN_INVALID") from None
    timestamp = request.headers.get("x-timestamp")
    seconds = signing.parse_timestamp(timestamp)
    if seconds is None or abs(now.timestamp() - seconds) > settings.timestamp_window_seconds:
        raise RmError("INVALID_TIMESTAMP")
    assert timestamp is not None
    nonce = request.headers.get("x-nonce-str", "")
    if not nonce or len(nonce) > MAX_NONCE_LENGTH or any(c.isspace() for c in nonce):
        raise RmError("INVALID_REQUEST_SIGNATURE", "X-Nonce-Str is missing or invalid")
    signature = signing.parse_header(request.headers.get("x-signature"))
    if signature is None:
        raise RmError("INVALID_REQUEST_SIGNATURE")
    value = parse.body(inbound.body)
    keys: ClientKeys = state.rm_client_keys
    public_key = keys.key(uow.conn, claims.tenant_id, claims.client_id)
    candidates = [
        signing.plaintext(
            data=data, method=request.method, nonce_str=nonce, request_url=url, timestamp=timestamp
        )
        for data in signing.data_variants(value, inbound.body)
        for url in request_urls(request)
    ]
    if signing.verify(public_key, signature, candidates) is None:
        raise RmError("INVALID_REQUEST_SIGNATURE")
    expires_at = now + timedelta(seconds=2 * settings.timestamp_window_seconds)
    _consume_nonce(uow, claims.tenant_id, claims.client_id, nonce, expires_at)
    return Caller(claims.tenant_id, claims.client_id, value)


def _nonce_insert(dialect: str) -> Any:
    """Record a nonce unless a live one of the client has it; an expired one is replaced."""
    module = postgresql if dialect == "postgresql" else sqlite
    statement = module.insert(rm_nonces).values(
        tenant_id=bindparam("tenant_id"),
        client_id=bindparam("client_id"),
        nonce=bindparam("nonce"),
        expires_at=bindparam("expires_at"),
    )
    return statement.on_conflict_do_update(
        index_elements=[rm_nonces.c.tenant_id, rm_nonces.c.client_id, rm_nonces.c.nonce],
        set_={"expires_at": statement.excluded.expires_at},
        where=rm_nonces.c.expires_at < bindparam("now"),
    ).returning(rm_nonces.c.nonce)


# Built once per dialect: one statement per signed request (expired nonces are purged by the
# sweep, ``EXPIRING`` in ``__init__.py``, not by each request).
_NONCE_INSERT = {name: _nonce_insert(name) for name in ("postgresql", "sqlite")}


def _consume_nonce(
    uow: UnitOfWork, tenant_id: int, client_id: str, nonce: str, expires_at: datetime
) -> None:
    """Record the nonce in one statement; refused if any process has seen it in the window.

    The primary key decides: a nonce of the client that is still live is not replaced, so
    the statement writes no row (also when another transaction recorded it first and commits).
    """
    recorded = uow.conn.execute(
        _NONCE_INSERT[uow.conn.dialect.name],
        {
            "tenant_id": tenant_id,
            "client_id": client_id,
            "nonce": nonce,
            "expires_at": expires_at,
            "now": uow.now,
        },
    ).first()
    if recorded is None:
        raise RmError(
            "INVALID_REQUEST_SIGNATURE", "The nonce string was already used (replayed request)"
        )


def purge_expired_nonces(engine: Engine, now: datetime) -> int:
    """Maintenance (the callback worker runs it): drop nonces past their window everywhere."""
    with UnitOfWork(engine) as uow:
        removed = uow.conn.execute(delete(rm_nonces).where(rm_nonces.c.expires_at < now)).rowcount
        uow.commit()
    return int(removed or 0)


def revoke_refresh_tokens(engine: Engine, tenant_id: int, client_id: str) -> int:
    """Revoke every live refresh token of a client (its access tokens lapse on their own, or
    at once when the client itself is revoked)."""
    with UnitOfWork(engine) as uow:
        revoked = uow.conn.execute(
            update(rm_refresh_tokens)
            .where(
                rm_refresh_tokens.c.tenant_id == tenant_id,
                rm_refresh_tokens.c.client_id == client_id,
                rm_refresh_tokens.c.revoked_at.is_(None),
            )
            .values(revoked_at=uow.now)
        ).rowcount
        uow.commit()
    return int(revoked or 0)
