"""The native face's use of the shared runtime: one use case, one transaction, one answer."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import orjson
from fastapi import Request
from pydantic import BaseModel, ValidationError
from starlette.responses import Response

from voucherd.api.errors import NATIVE
from voucherd.faces.runtime import as_caller, call
from voucherd.services.unit_of_work import Actor, UnitOfWork

M = TypeVar("M", bound=BaseModel)


async def direct_body(request: Request, model: type[M]) -> M | None:
    """A direct route's JSON body as ``model``, or None to leave the request to FastAPI.

    Only what FastAPI would parse the same way is taken: a body that parses (orjson, as
    strict as ``json.loads`` on everything that validates here) and validates in Python mode,
    as FastAPI validates it (the route is declared ``json_only``: the body type was checked).
    Anything else goes to the route, which answers it in the problem shape it always did.
    """
    raw = await request.body()
    if not raw:
        return None
    try:
        return model.model_validate(orjson.loads(raw))
    except (orjson.JSONDecodeError, ValidationError):
        return None


def _json(result: Any) -> bytes:
    if isinstance(result, BaseModel):
        return orjson.dumps(result.model_dump(mode="json"))
    return orjson.dumps(result)


async def run(
    request: Request,
    actor: Actor,
    operation: Callable[[UnitOfWork], Any],
    *,
    status_code: int = 200,
    payload: BaseModel | None = None,
    readonly: bool = False,
) -> Response:
    """Run ``operation`` for ``actor`` through the runtime and answer it as JSON.

    ``payload`` is the parsed body: two requests are "the same" for Idempotency-Key when their
    parsed bodies are, whatever their whitespace or key order.
    """
    return await call(
        NATIVE,
        request,
        lambda ctx: operation(ctx.uow),
        authenticate=as_caller(actor),
        render=lambda result: (
            Response(status_code=204)
            if status_code == 204
            else Response(_json(result), status_code=status_code, media_type="application/json")
        ),
        write=not readonly,
        fingerprint=payload.model_dump_json().encode() if payload is not None else b"",
    )
