"""``POST /v1/clients/connect``: exchange a one-time PIN for client credentials."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import Response

from voucherd.dialects.jtl import parse, pins, render
from voucherd.dialects.jtl.common import json
from voucherd.dialects.jtl.docs import body_doc, errors_doc
from voucherd.dialects.jtl.errors import FACE, Unprocessable
from voucherd.dialects.jtl.responses import Client
from voucherd.dialects.jtl.schemas import ConnectRequest
from voucherd.faces.runtime import Context, as_caller, call

router = APIRouter(prefix="/v1", tags=["Clients"])
INVALID_PIN = ("pin", "valid_pin", "The pin is invalid, expired or already used.")


def _connect(ctx: Context[None]) -> dict[str, Any]:
    body = parse.body(ConnectRequest, ctx.inbound)
    settings = ctx.inbound.request.app.state.settings
    connected = pins.connect(ctx.uow, body.pin, max_failures=settings.jtl_pin_max_failures)
    if connected is None:
        raise Unprocessable(INVALID_PIN)
    at = render.timestamp(connected.connected_at)
    return {
        "id": connected.client.client_id,
        "client_group_id": str(connected.client.tenant_id),
        "name": connected.name,
        "secret": connected.client.client_secret,
        "scopes": sorted(connected.client.scopes),
        "created_at": at,
        "updated_at": at,
        "connected_at": at,
        "type": connected.client_type,
    }


@router.post(
    "/clients/connect",
    operation_id="connectClient",
    response_model=Client,
    responses=errors_doc(422),
    summary="Connects a client",
    description="Exchanges a temporary PIN (issued with `voucherd jtl pin`, valid 30 minutes,"
    " usable once) for full OAuth client credentials. No access token needed.",
    openapi_extra=body_doc(ConnectRequest),
)
async def connect(request: Request) -> Response:
    # No caller yet (the PIN is the credential), and the answer holds a client secret that the
    # idempotency store must not keep: not under Idempotency-Key; a PIN works once anyway.
    return await call(
        FACE, request, _connect, authenticate=as_caller(None), render=json, idempotent=False
    )
