"""JTL's OAuth 2 client credentials: the token endpoint and the Bearer check per scope."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Final

import orjson
from fastapi import APIRouter, Request, Security
from fastapi.openapi.models import OAuthFlowClientCredentials, OAuthFlows
from fastapi.params import Depends
from fastapi.security import OAuth2
from starlette.responses import Response

from voucherd.dialects.jtl import pins
from voucherd.dialects.jtl.errors import FACE, JtlError
from voucherd.dialects.jtl.responses import OAuthError, Token
from voucherd.dialects.jtl.schemas import storable
from voucherd.domain.scopes import Scope
from voucherd.faces.oauth import (
    NO_STORE,
    authority,
    basic_credentials,
    issue_token,
    oauth_error,
    parse_form,
)
from voucherd.faces.runtime import Authenticate, Context, Inbound, as_caller, call
from voucherd.services import tokens
from voucherd.services.unit_of_work import Actor, UnitOfWork

AUDIENCE: Final = "jtl"
TOKEN_URL: Final = "/jtl/oauth/token"  # noqa: S105 (a URL, not a secret)
MAX_CLIENT_TYPE: Final = 32
SCOPES: Final = {
    Scope.READ.value: "Read single vouchers",
    Scope.READ_LISTS.value: "Read voucher lists",
    Scope.READ_SECRETS.value: "Read secret voucher information like code and pin",
    Scope.USE.value: "Use a voucher (activation, reservation, charge and cancel)",
    Scope.MANAGE.value: "Create and delete vouchers",
    Scope.UPDATE.value: "Update vouchers",
    Scope.RECHARGE.value: "Recharge a voucher",
}

scheme = OAuth2(
    flows=OAuthFlows(
        clientCredentials=OAuthFlowClientCredentials(tokenUrl=TOKEN_URL, scopes=SCOPES)
    ),
    scheme_name="BearerAuth",
    description=(
        "OAuth 2 client credentials. You may request a subset of the client's scopes with"
        " `scope`, and send the optional `client_type` (at most 32 characters, statistics"
        " only). Send the token as `Authorization: Bearer <access_token>`."
    ),
    auto_error=False,
)

UNAUTHENTICATED: Final = {"WWW-Authenticate": 'Bearer realm="jtl"'}


def bearer(scope: Scope) -> Authenticate[Actor]:
    """The face's authenticator for operations needing ``scope``: the acting client, if its JTL
    token carries that scope and its client is not revoked (the token authority's cache: a
    database read about once a second per process, not per request)."""

    def authenticate(inbound: Inbound, uow: UnitOfWork) -> Actor:
        scheme, _, token = inbound.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise JtlError(401, "AUTH.UNAUTHENTICATED", "Unauthenticated.", UNAUTHENTICATED)
        try:
            claims = authority(inbound.request).verify(token.strip(), AUDIENCE, io=uow.conn)
        except tokens.TokenInvalid as exc:
            expired = exc.reason == "expired"
            raise JtlError(
                401,
                "AUTH.TOKEN_EXPIRED" if expired else "AUTH.TOKEN_INVALID",
                "The access token has expired." if expired else "The access token is invalid.",
                {"WWW-Authenticate": 'Bearer realm="jtl", error="invalid_token"'},
            ) from None
        if scope.value not in claims.scopes:
            raise JtlError(
                403,
                "AUTH.INSUFFICIENT_SCOPE",
                f"This action requires the scope(s): {scope.value}.",
                {"WWW-Authenticate": f'Bearer error="insufficient_scope", scope="{scope.value}"'},
            )
        return Actor(claims.tenant_id, f"jtl:{claims.client_id}", claims.client_id)

    return authenticate


def documented(scope: Scope) -> list[Depends]:
    """The scope a route needs, in the OpenAPI document (``bearer`` checks it)."""
    return [Security(scheme, scopes=[scope.value])]


router = APIRouter(tags=["OAuth"])

TOKEN_FORM: Final[dict[str, Any]] = {
    "type": "object",
    "required": ["grant_type"],
    "properties": {
        "grant_type": {"type": "string", "enum": ["client_credentials"]},
        "client_id": {"type": "string", "examples": ["cl_abc"]},
        "client_secret": {"type": "string"},
        "client_type": {
            "type": "string",
            "maxLength": MAX_CLIENT_TYPE,
            "description": "Optional; only used for internal statistics",
        },
        "scope": {
            "type": "string",
            "description": "Space-separated subset of the client's scopes: " + " ".join(SCOPES),
        },
    },
}


def _issuer(form: dict[str, str]) -> Callable[[Context[None]], Response]:
    def issue(ctx: Context[None]) -> Response:
        """Checks the form, then issues the token (``issue_token`` authenticates the client)."""
        request = ctx.inbound.request
        basic = basic_credentials(request.headers.get("authorization"))
        if not all(storable(text) for pair in form.items() for text in pair) or (
            basic and not all(storable(text) for text in basic)
        ):
            return oauth_error(400, "invalid_request", "the form holds NUL or invalid characters")
        client_type = form.get("client_type")
        if client_type is not None and len(client_type) > MAX_CLIENT_TYPE:
            return oauth_error(
                400, "invalid_request", f"client_type may be at most {MAX_CLIENT_TYPE} characters"
            )
        result = issue_token(request, form, basic, AUDIENCE, ctx.uow)
        if isinstance(result, Response):
            return result
        tenant_id, body = result
        if client_type:
            client_id = basic[0] if basic else form.get("client_id", "")
            pins.record_client_type(ctx.uow, tenant_id, client_id, client_type)
        return Response(orjson.dumps(body), media_type="application/json", headers=NO_STORE)

    return issue


@router.post(
    "/oauth/token",
    operation_id="issueToken",
    summary="Get an access token",
    description="OAuth 2 client credentials grant (RFC 6749 section 4.4). Client"
    " authentication in the form or with HTTP Basic.",
    response_model=Token,
    responses={
        400: {
            "model": OAuthError,
            "description": "invalid_request, invalid_scope or unsupported_grant_type",
        },
        401: {"model": OAuthError, "description": "invalid_client"},
    },
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/x-www-form-urlencoded": {"schema": TOKEN_FORM}},
        }
    },
)
async def token(request: Request) -> Response:
    if "application/x-www-form-urlencoded" not in request.headers.get("content-type", ""):
        return oauth_error(
            400, "invalid_request", "send the request as application/x-www-form-urlencoded"
        )
    form = parse_form(await request.body())
    if form is None:
        return oauth_error(400, "invalid_request", "the form is not valid UTF-8")
    # Not under Idempotency-Key: a token is a secret, and the idempotency store keeps answers.
    return await call(
        FACE,
        request,
        _issuer(form),
        authenticate=as_caller(None),
        render=lambda response: response,
        write=bool(form.get("client_type")),
        idempotent=False,
    )
