"""Request-scoped dependencies: the authenticated actor and its scopes."""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, Request, Security
from fastapi.openapi.models import OAuthFlowClientCredentials, OAuthFlows
from fastapi.security import OAuth2
from sqlalchemy import Engine
from starlette.concurrency import run_in_threadpool

from voucherd.api.errors import ApiError
from voucherd.config import Settings
from voucherd.domain.scopes import Scope
from voucherd.faces.runtime import hop
from voucherd.services import tokens
from voucherd.services.unit_of_work import Actor

AUDIENCE = "native"
SCOPE_HELP: dict[str, str] = {
    Scope.READ: "read one object",
    Scope.READ_LISTS: "list objects",
    Scope.READ_SECRETS: "see codes and PINs",
    Scope.USE: "activate, reserve, charge, refund, claim, lock",
    Scope.MANAGE: "create, delete, void, end, expire; campaigns",
    Scope.UPDATE: "change metadata",
    Scope.RECHARGE: "add value",
}
# OAuth 2.0 client credentials in the OpenAPI document, so Swagger UI's "Authorize" fetches a
# token itself; at run time it only reads the Authorization header (no I/O).
_oauth2 = OAuth2(
    flows=OAuthFlows(
        clientCredentials=OAuthFlowClientCredentials(tokenUrl="/oauth/token", scopes=SCOPE_HELP)
    ),
    scheme_name="OAuth2ClientCredentials",
    auto_error=False,
)


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


# Both auth dependencies are ``async``: they do no I/O (but the token cache's read about once a
# second), and a sync dependency would cost a thread-pool hop each on every request (measured
# in docs/benchmarks.md).
async def principal(
    request: Request, authorization: Annotated[str | None, Depends(_oauth2)]
) -> Principal:
    authority: tokens.Authority = request.app.state.tokens
    try:  # from the in-memory cache, without a thread-pool hop ...
        return principal_of(authority, authorization)
    except tokens.NeedsRead:  # ... unless it is due for its read (about once a second)
        return await run_in_threadpool(principal_of, authority, authorization, io=True)


def principal_of(
    authority: tokens.Authority, authorization: str | None, *, io: bool = False
) -> Principal:
    """The caller named by an ``Authorization`` header's bearer token.

    Raises: ApiError (401), and ``tokens.NeedsRead`` when ``io`` is False and the token cache
    is due for its read.
    """
    challenge = {"WWW-Authenticate": 'Bearer realm="voucherd"'}
    scheme, _, token = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise ApiError(401, "unauthorized", "a Bearer access token is required", challenge)
    try:
        claims = authority.verify(token.strip(), AUDIENCE, io=io)
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


def allowed(who: Principal, needed: tuple[Scope, ...]) -> Actor:
    """The actor, if the token carries every scope in ``needed``; else ApiError (403)."""
    missing = [s.value for s in needed if s not in who.scopes]
    if missing:
        raise ApiError(
            403,
            "insufficient_scope",
            f"this operation needs the scope(s): {', '.join(missing)}",
            {"WWW-Authenticate": f'Bearer error="insufficient_scope", scope="{" ".join(missing)}"'},
        )
    return who.actor


def require(*needed: Scope) -> Callable[[Principal], Awaitable[Actor]]:
    """A dependency giving the actor if the token carries every scope in ``needed``."""

    async def dependency(who: Annotated[Principal, Depends(principal)]) -> Actor:
        return allowed(who, needed)

    return dependency


def scoped(*needed: Scope) -> Any:
    return Security(require(*needed), scopes=[s.value for s in needed])


async def direct_actor(request: Request, needed: tuple[Scope, ...]) -> Actor | None:
    """For a direct route (``faces/direct.py``): the actor when the request is plainly allowed.

    None when it is not: the framework's route then answers the request with the dependencies
    above (a 401 or 403 in the native shape), exactly as without the direct route.
    """
    authority: tokens.Authority = request.app.state.tokens
    authorization = request.headers.get("authorization")
    try:
        try:
            who = principal_of(authority, authorization)
        except tokens.NeedsRead:  # the token cache's read, about once a second, off the loop
            who = await hop(functools.partial(principal_of, authority, authorization, io=True))
        return allowed(who, needed)
    except ApiError:
        return None
