"""``POST /oauth/token``: OAuth 2.0 client credentials (RFC 6749 section 4.4)."""

from __future__ import annotations

import orjson
from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from voucherd.domain.scopes import Scope
from voucherd.faces.oauth import NO_STORE, basic_credentials, issue_token, oauth_error, parse_form

router = APIRouter(tags=["OAuth"])


@router.post(
    "/oauth/token",
    summary="Get an access token (client credentials)",
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "application/x-www-form-urlencoded": {
                    "schema": {
                        "type": "object",
                        "required": ["grant_type"],
                        "properties": {
                            "grant_type": {"type": "string", "enum": ["client_credentials"]},
                            "client_id": {"type": "string"},
                            "client_secret": {"type": "string"},
                            "scope": {
                                "type": "string",
                                "description": " ".join(s.value for s in Scope),
                            },
                        },
                    }
                }
            },
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
    basic = basic_credentials(request.headers.get("authorization"))
    result = await run_in_threadpool(issue_token, request, form, basic, "native")
    if isinstance(result, Response):
        return result
    return Response(orjson.dumps(result[1]), media_type="application/json", headers=NO_STORE)
