"""The OpenAPI document of /jtl: request bodies, query parameters, scopes and error responses.

Routes parse their bodies and query strings themselves (``parse.py``), after authentication, so
FastAPI does not see the models; these helpers describe them in the document as FastAPI would.
"""

from __future__ import annotations

from typing import Any, Final

from fastapi import FastAPI
from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from voucherd.dialects.jtl.responses import Error, ValidationFailure

_DESCRIPTIONS: Final = {
    401: "Missing, invalid or expired access token (AUTH.UNAUTHENTICATED,"
    " AUTH.TOKEN_INVALID, AUTH.TOKEN_EXPIRED)",
    403: "The token lacks a scope this operation needs (AUTH.INSUFFICIENT_SCOPE)",
    404: "The requested resource could not be found",
    409: "The voucher's or reservation's current state does not allow this",
    422: "The request was well-formed but was unable to be followed due to semantic errors",
}
REF: Final = "#/components/schemas/{model}"

# Request models named in the document (added to its components by ``install``).
_BODIES: list[type[BaseModel]] = []


def errors_doc(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """Documented error responses; 422 always."""
    statuses = tuple(sorted({*statuses, 422}))
    return {
        status: {
            "model": ValidationFailure if status == 422 else Error,
            "description": _DESCRIPTIONS[status],
        }
        for status in statuses
    }


def body_doc(model: type[BaseModel]) -> dict[str, Any]:
    """``openapi_extra`` for a route whose JSON body is ``model``."""
    _BODIES.append(model)
    schema = {"$ref": REF.format(model=model.__name__)}
    return {"requestBody": {"required": True, "content": {"application/json": {"schema": schema}}}}


def query_doc(model: type[BaseModel]) -> dict[str, Any]:
    """``openapi_extra`` for a route whose query string is ``model`` (by alias)."""
    schema = model.model_json_schema(by_alias=True)
    required = set(schema.get("required", ()))
    parameters = []
    for name, prop in schema["properties"].items():
        parameter: dict[str, Any] = {
            "name": name,
            "in": "query",
            "required": name in required,
            "schema": prop,
        }
        if "description" in prop:
            parameter["description"] = prop["description"]
        parameters.append(parameter)
    return {"parameters": parameters}


def install(app: FastAPI) -> None:
    """Add the request models to the document's components."""
    default = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            document = default()
            _, defs = models_json_schema(
                [(model, "validation") for model in _BODIES], ref_template=REF
            )
            schemas = document.setdefault("components", {}).setdefault("schemas", {})
            schemas.update(defs.get("$defs", {}))
            document["components"]["schemas"] = dict(sorted(schemas.items()))
            app.openapi_schema = document
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
