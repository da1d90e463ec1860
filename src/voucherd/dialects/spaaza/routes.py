"""The /spaaza sub-application: each call's path, methods, authentication, operation, answer.

Every call goes through the shared runtime (``faces.runtime.call``): the parameters are read
(query string overlaid with the form body; JSON for claim-vouchers), then authentication, the
operation and its rendering run in one unit of work, errors are answered through the face's
one error table (``face.TABLE``), and writes honour ``Idempotency-Key``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

import orjson
from fastapi import FastAPI
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import Request
from starlette.responses import Response

from voucherd.dialects.spaaza import errors as E
from voucherd.dialects.spaaza import listing, openapi, replies, sessions, vouchers
from voucherd.dialects.spaaza import params as P
from voucherd.dialects.spaaza.auth import ALL_KINDS, TRUSTED, Kind, anonymous, authenticator
from voucherd.dialects.spaaza.errors import SpaazaError
from voucherd.dialects.spaaza.face import FACE
from voucherd.faces import guard
from voucherd.faces.runtime import Authenticate, Inbound, call

Params = Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class Call:
    """One Spaaza call. ``allowed`` None: the call checks its own session (sessions.py)."""

    name: str
    path: str
    methods: tuple[str, ...]
    operation: Callable[[Any, Params], Any]
    render: Callable[[Any], Response]
    allowed: tuple[Kind, ...] | None
    permission: str = "write"
    json_body: bool = False
    # Login answers a session key (a secret the idempotency table must not keep); logout
    # ends the session its own authentication needs, so a replay could never be reached.
    idempotent: bool = True
    chain: Callable[[Params], Mapping[str, str]] | None = None

    def authenticate(self, params: Params) -> Authenticate[Any]:
        if self.allowed is None:
            return anonymous
        chain = self.chain(params) if self.chain is not None else params
        return authenticator(chain, allowed=self.allowed, permission=self.permission)


CALLS: tuple[Call, ...] = (
    Call(
        "create_voucher",
        "/create-voucher",
        ("POST",),
        vouchers.create_voucher,
        replies.voucher("create-voucher"),
        TRUSTED,
    ),
    Call(
        "claim_voucher",
        "/claim-voucher",
        ("POST", "PUT"),
        vouchers.claim_voucher,
        replies.voucher("claim-voucher"),
        ALL_KINDS,
    ),
    Call(
        "claim_vouchers",
        "/claim-vouchers",
        ("POST",),
        vouchers.claim_vouchers,
        replies.claimed_vouchers,
        TRUSTED,
        json_body=True,
        chain=vouchers.bulk_chain,
    ),
    Call(
        "unclaim_voucher",
        "/unclaim-voucher",
        ("POST", "PUT"),
        vouchers.unclaim_voucher,
        replies.voucher("unclaim-voucher"),
        ALL_KINDS,
    ),
    Call(
        "expire_voucher",
        "/expire-voucher",
        ("POST", "PUT"),
        vouchers.expire_voucher,
        replies.voucher_key("expire-voucher"),
        ALL_KINDS,
        permission="delete",
    ),
    Call(
        "lock_voucher",
        "/lock-voucher",
        ("PUT", "POST"),
        vouchers.lock_voucher,
        replies.voucher("lock-voucher"),
        ALL_KINDS,
    ),
    Call(
        "unlock_voucher",
        "/unlock-voucher",
        ("PUT", "POST"),
        vouchers.unlock_voucher,
        replies.voucher("unlock-voucher"),
        TRUSTED,
    ),
    Call(
        "redeem_voucher",
        "/auth/redeem-voucher",
        ("POST", "PUT"),
        vouchers.redeem_voucher,
        replies.redeemed,
        TRUSTED,
    ),
    Call(
        "delete_voucher",
        "/delete-voucher",
        ("DELETE",),
        vouchers.delete_voucher,
        replies.voucher_key("delete-voucher"),
        ALL_KINDS,
        permission="delete",
    ),
    Call(
        "get_vouchers",
        "/get-vouchers",
        ("GET",),
        listing.get_vouchers,
        replies.listed,
        TRUSTED,
        permission="read",
    ),
    Call(
        "get_user_vouchers",
        "/get-user-vouchers",
        ("GET",),
        listing.get_user_vouchers,
        replies.user_vouchers,
        ALL_KINDS,
        permission="read",
    ),
    Call(
        "login", "/auth/login", ("POST",), sessions.login, replies.logged_in, None, idempotent=False
    ),
    Call(
        "get_login_status",
        "/auth/get-login-status",
        ("GET",),
        sessions.get_login_status,
        replies.login_status,
        None,
    ),
    Call(
        "logout",
        "/auth/logout",
        ("DELETE",),
        sessions.logout,
        replies.logged_out,
        None,
        idempotent=False,
    ),
)


def endpoint(spec: Call) -> Callable[[Request], Awaitable[Response]]:
    async def run(request: Request) -> Response:
        # A body that cannot be read raises SpaazaError here; the face guard answers it (916).
        params = await (P.read_json(request) if spec.json_body else P.read(request))
        return await call(
            FACE,
            request,
            lambda ctx: spec.operation(ctx, params),
            authenticate=spec.authenticate(params),
            render=spec.render,
            idempotent=spec.idempotent,
            # "The same request" is the same parameters, whatever the form encoding.
            fingerprint=orjson.dumps(params, option=orjson.OPT_SORT_KEYS),
        )

    run.__name__ = spec.name
    return run


async def http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    if exc.status_code == 405:
        error = SpaazaError(E.METHOD_NOT_ALLOWED)
    elif exc.status_code == 404:
        error = SpaazaError(E.NOT_FOUND)
    else:
        error = SpaazaError(E.INVALID_PARAMETER, str(exc.detail))
    return FACE.refusal_response(error, Inbound(request, b""))


def build(parent: FastAPI) -> FastAPI:
    sub = FastAPI(
        title="voucherd: Spaaza-compatible voucher API",
        openapi_url="/openapi.json",
        docs_url=None,
        redoc_url=None,
        servers=[{"url": "/spaaza"}],
        description="Spaaza's voucher calls; see docs/compat/spaaza.md.",
    )
    sub.state = parent.state
    for spec in CALLS:
        for method in spec.methods:
            sub.add_api_route(
                spec.path,
                endpoint(spec),
                methods=[method],
                name=spec.name,
                operation_id=f"{spec.name}_{method.lower()}",
                summary=openapi.SUMMARIES[spec.name],
                openapi_extra=openapi.operation(
                    spec.name, [method], idempotent=spec.idempotent and method != "GET"
                ),
            )
    original = sub.openapi

    def with_security() -> dict[str, Any]:
        if sub.openapi_schema is None:
            document = original()
            document.setdefault("components", {})["securitySchemes"] = openapi.SECURITY_SCHEMES
            sub.openapi_schema = document
        return sub.openapi_schema

    sub.openapi = with_security  # type: ignore[method-assign]
    sub.add_exception_handler(StarletteHTTPException, http_error)
    guard.install(sub, FACE)
    return sub
