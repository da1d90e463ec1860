"""The native OpenAPI document, completed where FastAPI's generator cannot know our conventions.

- every write declares the ``Idempotency-Key`` header it honours;
- every error response is an RFC 9457 problem with one ``Problem`` schema, including the
  answers every request can meet (401, 403, 429, 500, 503);
- the security scheme is OAuth 2.0 client credentials with the scopes, so Swagger UI's
  "Authorize" gets a token from ``/oauth/token`` itself.
/docs and /redoc are served from assets shipped in a package (fastapi-offline): no CDN.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import fastapi_offline
from fastapi import FastAPI
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.openapi.utils import get_openapi
from fastapi.staticfiles import StaticFiles
from starlette.requests import Request
from starlette.responses import HTMLResponse

ASSETS = Path(fastapi_offline.__file__).parent / "static"
ASSETS_PREFIX = "/docs-assets"
WRITES = ("post", "patch", "delete", "put")

PROBLEM: dict[str, Any] = {
    "title": "Problem",
    "description": "An RFC 9457 problem; `code` is stable, `detail` is for people.",
    "type": "object",
    "required": ["type", "title", "status", "code", "detail"],
    "properties": {
        "type": {"type": "string", "format": "uri"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "code": {"type": "string", "description": "listed in docs/api.md"},
        "detail": {"type": "string"},
        "request_id": {"type": "string", "description": "also sent as X-Request-Id"},
        "errors": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "field": {"type": "string"},
                    "rule": {"type": "string"},
                    "message": {"type": "string"},
                },
            },
        },
        "resource": {"type": "string"},
    },
    "additionalProperties": True,
}
COMMON_ERRORS = {
    "401": "Missing or invalid token",
    "403": "A scope is missing",
    "500": "Unexpected failure, logged under the request id",
    "503": "The database is unavailable; retry after Retry-After seconds",
}
IDEMPOTENCY_KEY: dict[str, Any] = {
    "name": "Idempotency-Key",
    "in": "header",
    "required": False,
    "description": "Makes a retry safe: the same key with the same body replays the first "
    "answer (header `Idempotent-Replayed: true`); with another body it is refused (422).",
    "schema": {"type": "string", "minLength": 1, "maxLength": 255},
}
# The docs pages load nothing from elsewhere (ReDoc would fetch its logo from its CDN).
DOCS_CSP = (
    "default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; font-src 'self' data:; worker-src 'self' blob:; connect-src 'self'; "
    "frame-ancestors 'none'"
)
PROBLEM_REF = {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}


def complete(schema: dict[str, Any]) -> dict[str, Any]:
    schema.setdefault("components", {}).setdefault("schemas", {})["Problem"] = PROBLEM
    for path, operations in schema.get("paths", {}).items():
        for method, operation in operations.items():
            if not isinstance(operation, dict) or "responses" not in operation:
                continue
            responses = operation["responses"]
            secured = bool(operation.get("security"))
            for status, text in COMMON_ERRORS.items():
                if status in ("401", "403") and not secured:
                    continue
                responses.setdefault(status, {"description": text})
            for status, response in responses.items():
                if status.startswith(("4", "5")):
                    response["content"] = PROBLEM_REF
            if method in WRITES and path.startswith("/v1/"):
                parameters = operation.setdefault("parameters", [])
                if not any(p.get("name") == "Idempotency-Key" for p in parameters):
                    parameters.append(IDEMPOTENCY_KEY)
    return schema


def install(app: FastAPI) -> None:
    """Our /openapi.json, /docs and /redoc (create the app with docs_url=redoc_url=None)."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = complete(
                get_openapi(
                    title=app.title,
                    version=app.version,
                    description=app.description,
                    routes=app.routes,
                    tags=app.openapi_tags,
                )
            )
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
    app.mount(ASSETS_PREFIX, StaticFiles(directory=ASSETS), name="docs-assets")

    @app.get("/docs", include_in_schema=False)
    async def swagger(request: Request) -> HTMLResponse:
        root = request.scope.get("root_path", "")
        page = get_swagger_ui_html(
            openapi_url=f"{root}/openapi.json",
            title=f"{app.title} API",
            swagger_js_url=f"{root}{ASSETS_PREFIX}/swagger-ui-bundle.js",
            swagger_css_url=f"{root}{ASSETS_PREFIX}/swagger-ui.css",
            swagger_favicon_url=f"{root}{ASSETS_PREFIX}/favicon.png",
            swagger_ui_parameters={"persistAuthorization": False},
        )
        page.headers["Content-Security-Policy"] = DOCS_CSP
        return page

    @app.get("/redoc", include_in_schema=False)
    async def redoc(request: Request) -> HTMLResponse:
        root = request.scope.get("root_path", "")
        page = get_redoc_html(
            openapi_url=f"{root}/openapi.json",
            title=f"{app.title} API",
            redoc_js_url=f"{root}{ASSETS_PREFIX}/redoc.standalone.js",
            redoc_favicon_url=f"{root}{ASSETS_PREFIX}/favicon.png",
            with_google_fonts=False,
        )
        page.headers["Content-Security-Policy"] = DOCS_CSP
        return page
