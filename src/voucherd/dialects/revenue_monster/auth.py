"""RM authentication: OAuth tokens (``/v1/token``) and signed Open API requests."""

from __future__ import annotations

import hashlib
import json
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import unquote

from sqlalchemy import Engine, delete, insert, select, update
from sqlalchemy.exc import IntegrityError
from starlette.requests import Request

from voucherd.db.tables import clients
from voucherd.dialects.revenue_monster import signing
from voucherd.dialects.revenue_monster.errors import RmError
from voucherd.dialects.revenue_monster.settings import RmSettings
from voucherd.dialects.revenue_monster.tables import rm_clients, rm_nonces, rm_refresh_tokens
from voucherd.domain.scopes import parse_scopes
from voucherd.faces.oauth import basic_credentials
from voucherd.services import tenants, tokens
from voucherd.services.unit_of_work import Actor, UnitOfWork

AUDIENCE = "rm"
CLIENT_KIND = "rm"
MAX_NONCE_LENGTH = 128


class OAuthError(Exception):
    """An error of the token endpoint, with RM's CamelCase OAuth codes."""

    def __init__(self, code: str, message: str, status: int = 400) -> None:
        super().__init__(code)
        self.code = code
        self.message = message
        self.status = status


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


def _revoke_family(engine: Engine, tenant_id: int, token: str) -> None:
    with UnitOfWork(engine) as uow:
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
            uow.commit()


def issue_tokens(
    engine: Engine,
    signing_key: bytes,
    settings: RmSettings,
    authorization: str | None,
    body: bytes,
) -> dict[str, Any]:
    """``POST /v1/token``. Raises: OAuthError."""
    credentials = basic_credentials(authorization)
    if credentials is None:
        raise OAuthError("InvalidClient", "Client authentication failed", 401)
    try:
        form = json.loads(body or b"{}")
    except ValueError:
        raise OAuthError("InvalidRequest", "The request body is not valid JSON") from None
    if not isinstance(form, dict):
        raise OAuthError("InvalidRequest", "The request body must be a JSON object")
    grant = form.get("grantType")
    if not grant:
        raise OAuthError("InvalidRequest", "grantType is required")
    if grant not in ("client_credentials", "refresh_token"):
        raise OAuthError("UnSupportedGrantType", "Unsupported grant type")
    with UnitOfWork(engine) as uow:
        client = tenants.authenticate_client(uow, *credentials)
        if client is None or client["kind"] != CLIENT_KIND:
            raise OAuthError("InvalidClient", "Client authentication failed", 401)
        tenant_id, client_id = int(client["tenant_id"]), str(client["id"])
        if grant == "client_credentials":
            family = secrets.token_hex(16)
        else:
            refresh = form.get("refreshToken")
            if not isinstance(refresh, str) or not refresh:
                raise OAuthError("InvalidRequest", "refreshToken is required")
            family = _use_refresh_token(uow, tenant_id, client_id, refresh)
            if not family:
                uow.rollback()
                _revoke_family(engine, tenant_id, refresh)
                raise OAuthError("InvalidGrant", "The refresh token was already used")
        refresh_token = _new_refresh_token(
            uow, tenant_id, client_id, family, settings.refresh_token_ttl_seconds
        )
        ttl = settings.access_token_ttl_seconds
        claims = tokens.Claims(
            tenant_id,
            client_id,
            parse_scopes(client["scopes"]),
            AUDIENCE,
            int(uow.now.timestamp()) + ttl,
        )
        uow.commit()
    return {
        "accessToken": tokens.issue(signing_key, claims),
        "tokenType": "Bearer",
        "expiresIn": ttl,
        "refreshToken": refresh_token,
        "refreshTokenExpiresIn": settings.refresh_token_ttl_seconds,
    }


# --- signed Open API requests -----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Caller:
    tenant_id: int
    client_id: str

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


def parse_body(body: bytes) -> Any:
    if not body.strip():
        return None
    try:
        return json.loads(body)
    except ValueError:
        raise RmError("INVALID_REQUEST", "The request body is not valid JSON") from None


def _bearer(request: Request) -> str:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise RmError("UNAUTHORIZED")
    return token.strip()


def authenticate(request: Request, body: bytes, now: datetime) -> Caller:
    """Token, timestamp, signature and nonce of one Open API call.

    Raises: RmError (UNAUTHORIZED, TOKEN_EXPIRED, TOKEN_INVALID, CLIENT_NOT_SET_PUBLIC_KEY,
    INVALID_TIMESTAMP, INVALID_REQUEST_SIGNATURE, INVALID_REQUEST).
    """
    state = request.app.state
    settings: RmSettings = state.rm_settings
    try:
        claims = tokens.verify(state.signing_key, _bearer(request), AUDIENCE, now)
    except tokens.TokenInvalid as exc:
        raise RmError("TOKEN_EXPIRED" if exc.reason == "expired" else "TOKEN_INVALID") from None
    with UnitOfWork(state.engine, readonly=True) as uow:
        row = uow.conn.execute(
            select(rm_clients.c.public_key_pem, clients.c.revoked_at)
            .select_from(
                clients.outerjoin(
                    rm_clients,
                    (rm_clients.c.client_id == clients.c.id)
                    & (rm_clients.c.tenant_id == clients.c.tenant_id),
                )
            )
            .where(clients.c.tenant_id == claims.tenant_id, clients.c.id == claims.client_id)
        ).first()
    if row is None or row.revoked_at is not None:
        raise RmError("TOKEN_INVALID")
    if not row.public_key_pem:
        raise RmError("CLIENT_NOT_SET_PUBLIC_KEY")
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
    value = parse_body(body)
    candidates = [
        signing.plaintext(
            data=data, method=request.method, nonce_str=nonce, request_url=url, timestamp=timestamp
        )
        for data in signing.data_variants(value, body)
        for url in request_urls(request)
    ]
    if signing.verify(signing.load_public_key(row.public_key_pem), signature, candidates) is None:
        raise RmError("INVALID_REQUEST_SIGNATURE")
    _consume_nonce(
        state.engine,
        claims.tenant_id,
        claims.client_id,
        nonce,
        now + timedelta(seconds=2 * settings.timestamp_window_seconds),
        now,
    )
    return Caller(claims.tenant_id, claims.client_id)


def _consume_nonce(
    engine: Engine,
    tenant_id: int,
    client_id: str,
    nonce: str,
    expires_at: datetime,
    now: datetime,
) -> None:
    """Record the nonce; the primary key refuses it if any process has seen it in the window."""
    with UnitOfWork(engine) as uow:
        uow.conn.execute(
            delete(rm_nonces).where(
                rm_nonces.c.tenant_id == tenant_id,
                rm_nonces.c.client_id == client_id,
                rm_nonces.c.expires_at < now,
            )
        )
        try:
            uow.conn.execute(
                insert(rm_nonces).values(
                    tenant_id=tenant_id, client_id=client_id, nonce=nonce, expires_at=expires_at
                )
            )
        except IntegrityError:
            raise RmError(
                "INVALID_REQUEST_SIGNATURE", "The nonce string was already used (replayed request)"
            ) from None
        uow.commit()


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
