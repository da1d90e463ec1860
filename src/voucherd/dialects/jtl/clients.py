"""``POST /v1/clients/connect``: exchange a one-time PIN for client credentials."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import Response

from voucherd.dialects.jtl import pins, render
from voucherd.dialects.jtl.common import engine, errors_doc, json
from voucherd.dialects.jtl.errors import unprocessable
from voucherd.dialects.jtl.schemas import Client, ConnectRequest
from voucherd.services.unit_of_work import UnitOfWork

router = APIRouter(prefix="/v1", tags=["Clients"])


@router.post(
    "/clients/connect",
    operation_id="connectClient",
    response_model=Client,
    responses=errors_doc(422),
    summary="Connects a client",
    description="Exchanges a temporary PIN (issued with `voucherd jtl pin`, valid 30 minutes,"
    " usable once) for full OAuth client credentials. No access token needed.",
)
def connect(request: Request, body: ConnectRequest) -> Response:
    with UnitOfWork(engine(request)) as uow:
        connected = pins.connect(uow, body.pin)
        if connected is None:
            raise unprocessable(
                "CLIENT.CONNECT",
                ("pin", "valid_pin", "The pin is invalid, expired or already used."),
            )
        uow.commit()
    at = render.timestamp(connected.connected_at)
    return json(
        {
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
    )
