"""JTL Voucher Cloud API v1.8, wire-compatible, mounted at ``/jtl``.

Token at ``/jtl/oauth/token``, API at ``/jtl/v1/...``, OpenAPI at ``/jtl/openapi.json``.
"""

from __future__ import annotations

from collections.abc import Iterable

from fastapi import FastAPI
from starlette.routing import BaseRoute

from voucherd.dialects.jtl import auth, clients, docs, errors, tables, value, vouchers
from voucherd.dialects.jtl.credentials import CREDENTIALS
from voucherd.faces import direct, guard

PREFIX = "/jtl"

DESCRIPTION = """
A wire-compatible implementation of the JTL-Voucher Cloud API 1.8 on voucherd.
Point a JTL integration at `<host>/jtl/v1` (token URL `<host>/jtl/oauth/token`).
Amounts are strings like `"10.53"`; errors are `{"status", "code", "message"}` (+ `errors` on 422).
"""

TAGS = [{"name": name} for name in ("Vouchers", "Reservations", "Charges", "Clients", "OAuth")]


def create_subapp() -> FastAPI:
    sub = FastAPI(
        title="JTL-Voucher Cloud API",
        version="1.8",
        description=DESCRIPTION,
        openapi_url="/openapi.json",
        docs_url=None,
        redoc_url=None,
        openapi_tags=TAGS,
    )
    errors.install(sub)
    guard.install(sub, errors.FACE)
    for module in (auth, clients, vouchers, value):
        sub.include_router(module.router)
    docs.install(sub)
    return sub


def mount(app: FastAPI) -> None:
    sub = create_subapp()
    sub.state = app.state  # engine, settings and the token authority appear here at startup
    app.mount(PREFIX, sub)


def direct_routes(declared: Iterable[BaseRoute]) -> list[direct.DirectRoute]:
    """The charge's two requests (reserve, then charge), answered before the main router
    (``faces/direct.py``)."""
    routes = list(declared)
    reserve, charge = "/v1/reservations", "/v1/reservations/{id}/charge"
    return [
        direct.mounted(
            routes, PREFIX, "POST", reserve, value.reserve_direct, errors.FACE, json_only=True
        ),
        direct.mounted(
            routes, PREFIX, "POST", charge, value.charge_direct, errors.FACE, json_only=True
        ),
    ]


# Rows ``voucherd sweep`` deletes once their ``expires_at`` has passed.
EXPIRING = (tables.jtl_connect_pins,)

__all__ = ["CREDENTIALS", "EXPIRING", "direct_routes", "mount", "tables"]
