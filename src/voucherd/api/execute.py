"""Run one use case in one transaction, with the Idempotency-Key contract on POST."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import orjson
from fastapi import Request
from pydantic import BaseModel
from starlette.responses import Response

from voucherd.api.errors import from_domain
from voucherd.config import Settings
from voucherd.domain.errors import ConcurrentModification, ValidationFailed, VoucherdError
from voucherd.services import idempotency
from voucherd.services.unit_of_work import Actor, UnitOfWork

log = logging.getLogger("voucherd.api")
MAX_KEY_LENGTH = 255


def _render(result: Any) -> bytes:
    if isinstance(result, BaseModel):
        return orjson.dumps(result.model_dump(mode="json"))
    return orjson.dumps(result)


def _claim(request: Request, actor: Actor, payload: BaseModel | None) -> idempotency.Claim | None:
    key = request.headers.get("idempotency-key")
    if request.method != "POST" or key is None:
        return None
    if not 1 <= len(key) <= MAX_KEY_LENGTH:
        raise ValidationFailed(
            "Idempotency-Key must be 1 to 255 characters", field="Idempotency-Key", rule="max"
        )
    body = payload.model_dump_json().encode() if payload is not None else b""
    digest = idempotency.request_hash(request.method, request.url.path, body)
    return idempotency.Claim(actor.tenant_id, actor.client_id or actor.name, key, digest)


def run(
    request: Request,
    actor: Actor,
    operation: Callable[[UnitOfWork], Any],
    *,
    status_code: int = 200,
    payload: BaseModel | None = None,
    readonly: bool = False,
) -> Response:
    engine = request.app.state.engine
    settings: Settings = request.app.state.settings
    claim = None if readonly else _claim(request, actor, payload)
    if claim is not None:
        replay = idempotency.begin(
            engine,
            claim,
            ttl=timedelta(hours=settings.idempotency_ttl_hours),
            lock=timedelta(seconds=settings.idempotency_lock_seconds),
        )
        if replay is not None:
            return Response(
                replay.body,
                status_code=replay.status_code,
                media_type=_media(replay.status_code),
                headers={"Idempotent-Replayed": "true"},
            )
    try:
        with UnitOfWork(engine, readonly=readonly) as uow:
            body = _render(operation(uow))
            if claim is not None:
                idempotency.complete(uow.conn, claim, status_code, body.decode())
            if not readonly:
                uow.commit()
    except VoucherdError as exc:
        if claim is not None:
            if isinstance(exc, ConcurrentModification):
                idempotency.abandon(engine, claim)
            else:
                refusal = from_domain(exc)
                idempotency.complete_alone(
                    engine, claim, refusal.status_code, bytes(refusal.body).decode()
                )
        raise
    except BaseException:
        if claim is not None:
            idempotency.abandon(engine, claim)
        raise
    return Response(body, status_code=status_code, media_type="application/json")


def _media(status: int) -> str:
    return "application/json" if status < 400 else "application/problem+json"
