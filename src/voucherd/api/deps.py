"""Request-scoped dependencies: the authenticated actor and its scopes."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy import Engine

from voucherd.api.errors import ApiError
from voucherd.config import Settings
from voucherd.domain.scopes import Scope
from voucherd.services import tokens
from voucherd.services.unit_of_work import Actor

AUDIENCE = "native"
_bearer = HTTPBearer(auto_error=False, scheme_name="OAuth2ClientCredentials")


@dataclass(frozen=True, slots=True)
class Principal:
    actor: Actor
    scopes: frozenset[Scope]


def engine(request: Request) -> Engine:
    value: Engine = request.app.state.engine
    return value


def settings(request: Request) -> Settings:
    value: Settings = request.app.state.settings
    return value


# Both auth dependencies are ``async``: they do no I/O, and a sync dependency would cost a
# thread-pool hop each on every request (measured in docs/benchmarks.md).
async def principal(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    challenge = {"WWW-Authenticate": 'Bearer realm="voucherd"'}
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise ApiError(401, "unauthorized", "a Bearer access token is required", challenge)
    try:
        claims = tokens.verify(request.app.state.signing_key, credentials.credentials, AUDIENCE)
    except tokens.TokenInvalid as exc:
        detail = (
            "the access token has expired"
            if exc.reason == "expired"
            else ("the access token is invalid")
        )
        raise ApiError(
            401,
            "invalid_token",
            detail,
            {"WWW-Authenticate": 'Bearer realm="voucherd", error="invalid_token"'},
        ) from None
    actor = Actor(claims.tenant_id, f"client:{claims.client_id}", claims.client_id)
    return Principal(actor, claims.scopes)


def require(*needed: Scope) -> Callable[[Principal], Awaitable[Actor]]:
    """A dependency giving the actor if the token carries every scope in ``needed``."""

    async def dependency(who: Annotated[Principal, Depends(principal)]) -> Actor:
        missing = [s.value for s in needed if s not in who.scopes]
        if missing:
            raise ApiError(
                403,
                "insufficient_scope",
                f"this operation needs the scope(s): {', '.join(missing)}",
                {
                    "WWW-Authenticate": f'Bearer error="insufficient_scope", '
                    f'scope="{" ".join(missing)}"'
                },
            )
        return who.actor

    return dependency


def scoped(*needed: Scope) -> Any:
    return Depends(require(*needed))
