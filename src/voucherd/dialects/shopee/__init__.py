"""Shopee Open Platform v2, voucher module, wire-compatible under ``/shopee``.

Point a Shopee seller tool at ``http://HOST:PORT/shopee``: the signed paths stay ``/api/v2/...``.
See docs/compat/shopee.md.
"""

from __future__ import annotations

from fastapi import FastAPI

from voucherd.dialects.shopee import auth_routes, errors, routes
from voucherd.dialects.shopee import tables as tables  # registers the tables on the metadata
from voucherd.dialects.shopee.credentials import CREDENTIALS

PREFIX = "/shopee"


def create_subapp() -> FastAPI:
    sub = FastAPI(
        title="voucherd: Shopee Open Platform v2 (voucher module)",
        description="Shopee-compatible voucher calls. Sign requests as on Shopee; "
        "see docs/compat/shopee.md.",
        openapi_url="/openapi.json",
        docs_url=None,
        redoc_url=None,
    )
    sub.include_router(routes.router)
    sub.include_router(auth_routes.router)
    errors.install(sub)
    return sub


def mount(app: FastAPI) -> None:
    sub = create_subapp()
    sub.state = app.state  # engine, settings, the token authority appear here at startup
    app.mount(PREFIX, sub)


# Rows ``voucherd sweep`` deletes once their ``expires_at`` has passed.
EXPIRING = (tables.shopee_auth_codes, tables.shopee_tokens)

__all__ = ["CREDENTIALS", "EXPIRING", "mount"]
