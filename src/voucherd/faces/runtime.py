"""One request path for every face: authenticate → parse → one unit of work → service → render.

A route of any face reads its body, then hands the runtime three things: how the caller is
authenticated, the operation (parse + one service call, given a ``Context``), and how a result
is rendered. The runtime runs them in ONE thread-pool hop, inside ONE unit of work, with the
Idempotency-Key contract on writes, and turns every exception into the face's own error shape
through its error table (``faces.errors``): business refusals as the face maps them, a database
outage as 503 with ``Retry-After``, anything else as the face's internal error, logged with the
request id and without SQL parameters (engines are created with ``hide_parameters``).
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
import logging
import threading
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import timedelta
from typing import Generic, TypeVar

from sqlalchemy import Engine
from starlette.requests import Request
from starlette.responses import Response

from voucherd.domain.errors import ConcurrentModification, ValidationFailed, VoucherdError
from voucherd.faces import limits, metrics
from voucherd.faces.errors import ErrorTable, Internal, Refusal, Unavailable, classify, refuse
from voucherd.faces.request_ids import request_id
from voucherd.services import idempotency
from voucherd.services.unit_of_work import Actor, UnitOfWork

log = logging.getLogger("voucherd.faces")

C = TypeVar("C")  # what a face's authenticator gives: an Actor, or a face's own caller
T = TypeVar("T")

MAX_IDEMPOTENCY_KEY = 255
WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


@dataclass(frozen=True, slots=True)
class Inbound:
    """The request as a face's code sees it inside the hop: the body is already read."""

    request: Request
    body: bytes

    @property
    def request_id(self) -> str:
        return request_id(self.request)

    @property
    def headers(self) -> Mapping[str, str]:
        return self.request.headers

    @property
    def query(self) -> Mapping[str, str]:
        return self.request.query_params


@dataclass(frozen=True, slots=True)
class Context(Generic[C]):
    """What an operation gets: its unit of work, the authenticated caller and the request."""

    uow: UnitOfWork
    caller: C
    inbound: Inbound


@dataclass(frozen=True, slots=True)
class Face:
    """What a face declares about itself; the rest of the request path is the runtime's.

    ``render_error`` builds the face's error response from a ``Refusal`` (the inbound request
    is there for faces whose error body echoes something of it, like Shopee's request id or
    JTL's operation prefix). ``error_media_type`` is what a replayed refusal is served as.
    """

    name: str
    errors: ErrorTable
    render_error: Callable[[Refusal, Inbound], Response]
    media_type: str = "application/json"
    error_media_type: str = "application/json"

    def refusal_response(self, exc: BaseException, inbound: Inbound) -> Response:
        """The face's answer for ``exc``; an unexpected one is logged as a bug, once."""
        refusal, unexpected = refuse(self.errors, exc)
        if unexpected:
            log.error(
                "unexpected error face=%s request_id=%s route=%s",
                self.name,
                inbound.request_id,
                _route(inbound.request),
                exc_info=exc,
            )
        elif isinstance(classify(exc), Unavailable):
            log.warning(
                "database unavailable face=%s request_id=%s error=%s",
                self.name,
                inbound.request_id,
                type(exc).__name__,
            )
        response = self.render_error(refusal, inbound)
        if refusal.status == 503 and "retry-after" not in response.headers:
            response.headers["Retry-After"] = str(Unavailable.retry_after)
        return response


Authenticate = Callable[[Inbound, UnitOfWork], C]


def as_caller(caller: C) -> Authenticate[C]:
    """An authenticator for a caller already known before the hop (e.g. a checked token)."""
    return lambda _inbound, _uow: caller


def actor_of(caller: object) -> Actor:
    """The engine's actor behind a face's caller (an ``Actor`` or anything with ``.actor``)."""
    if isinstance(caller, Actor):
        return caller
    actor = getattr(caller, "actor", None)
    if not isinstance(actor, Actor):
        raise TypeError(f"{type(caller).__name__} does not name an Actor")
    return actor


@dataclass(frozen=True, slots=True)
class Call(Generic[C, T]):
    """One request's plan: who, what, how the result looks, and how it is kept."""

    face: Face
    authenticate: Authenticate[C]
    operation: Callable[[Context[C]], T]
    render: Callable[[T], Response]
    write: bool = True
    # Idempotency-Key is honoured on writes; ``fingerprint`` is what "the same request" means
    # (default: method, path, query and body bytes).
    idempotent: bool = True
    fingerprint: bytes | None = None


async def call(
    face: Face,
    request: Request,
    operation: Callable[[Context[C]], T],
    *,
    authenticate: Authenticate[C],
    render: Callable[[T], Response],
    write: bool | None = None,
    idempotent: bool = True,
    fingerprint: bytes | None = None,
) -> Response:
    """Run one request of ``face`` through the shared path; always returns a response."""
    inbound = Inbound(request, await request.body())
    _note(request, face=face.name)
    plan: Call[C, T] = Call(
        face,
        authenticate,
        operation,
        render,
        write=request.method in WRITE_METHODS if write is None else write,
        idempotent=idempotent,
        fingerprint=fingerprint,
    )
    return await hop(execute, plan, inbound)


# The threads requests' units of work run in: as many as Starlette's thread pool allows (anyio's
# default limiter), through asyncio's executor hand-off, which costs about half the CPU of
# ``run_in_threadpool`` (docs/benchmarks.md, "Session 4").
HOP_THREADS = 40
_hops: ThreadPoolExecutor | None = None
_hops_guard = threading.Lock()


def _executor() -> ThreadPoolExecutor:
    global _hops
    if _hops is None:
        with _hops_guard:
            if _hops is None:
                _hops = ThreadPoolExecutor(HOP_THREADS, thread_name_prefix="voucherd-request")
    return _hops


async def hop(fn: Callable[..., T], *args: object) -> T:
    """Run the blocking ``fn(*args)`` in a request thread, with this task's context."""
    context = contextvars.copy_context()
    return await asyncio.get_running_loop().run_in_executor(
        _executor(), functools.partial(context.run, fn, *args)
    )


def execute(plan: Call[C, T], inbound: Inbound) -> Response:
    """The synchronous part, in one thread: one unit of work from authentication to commit."""
    state = inbound.request.app.state
    engine: Engine = state.engine
    claim: idempotency.Claim | None = None
    attempts = limits.for_request(inbound.request)
    try:
        with UnitOfWork(engine, readonly=not plan.write, attempts=attempts) as uow:
            caller = plan.authenticate(inbound, uow)
            # None: an anonymous operation (a token or PIN exchange), which keeps no key.
            actor = actor_of(caller) if caller is not None else None
            if actor is not None:
                client = actor.client_id or actor.name
                _note(inbound.request, tenant_id=actor.tenant_id, client=client)
                if plan.write and plan.idempotent:
                    claim = _claim(inbound, actor, plan.fingerprint)
            if claim is not None:
                settings = state.settings
                replay = idempotency.claim(
                    uow.conn,
                    claim,
                    uow.now,
                    ttl=timedelta(hours=settings.idempotency_ttl_hours),
                )
                if replay is not None:
                    return _replayed(plan.face, replay)
            result = plan.operation(Context(uow, caller, inbound))
            response = plan.render(result)
            if claim is not None:
                idempotency.complete(uow.conn, claim, response.status_code, bytes(response.body))
            if plan.write:
                uow.commit()
                _counted(uow)
            return response
    except Exception as exc:
        response = plan.face.refusal_response(exc, inbound)
        if claim is not None and _keeps_answer(exc):
            _store_refusal(engine, claim, response)
        return response
    finally:
        limits.settle(attempts, engine)  # failures count although the unit rolled back
        metrics.observe_pool(engine)


def _claim(inbound: Inbound, actor: Actor, fingerprint: bytes | None) -> idempotency.Claim | None:
    key = inbound.headers.get("idempotency-key")
    if key is None:
        return None
    if not 1 <= len(key) <= MAX_IDEMPOTENCY_KEY:
        raise ValidationFailed(
            "Idempotency-Key must be 1 to 255 characters", field="Idempotency-Key", rule="max"
        )
    request = inbound.request
    if fingerprint is None:
        fingerprint = request.url.query.encode() + b"\n" + inbound.body
    digest = idempotency.request_hash(request.method, request.url.path, fingerprint)
    return idempotency.Claim(actor.tenant_id, actor.client_id or actor.name, key, digest)


def _keeps_answer(exc: BaseException) -> bool:
    """A business refusal changed nothing and would be given again: the key keeps it.

    A lost race (``ConcurrentModification``), the key's own refusals and infrastructure
    failures keep nothing, so the client's retry runs.
    """
    return isinstance(exc, VoucherdError) and not isinstance(
        exc,
        ConcurrentModification | idempotency.IdempotencyInFlight | idempotency.IdempotencyMismatch,
    )


def _store_refusal(engine: Engine, claim: idempotency.Claim, response: Response) -> None:
    try:
        idempotency.store_refusal(engine, claim, response.status_code, bytes(response.body))
    except Exception as exc:  # the refusal itself was answered; a retry simply runs again
        log.warning("idempotency answer not kept error=%s", type(classify(exc)).__name__)


def _replayed(face: Face, replay: idempotency.Replay) -> Response:
    media = face.media_type if replay.status_code < 400 else face.error_media_type
    return Response(
        replay.body,
        status_code=replay.status_code,
        media_type=media,
        headers={"Idempotent-Replayed": "true"},
    )


def _counted(uow: UnitOfWork) -> None:
    """Report committed work; the answer is already decided, so a failure here is only logged."""
    try:
        metrics.observe_ledger(uow.moved)
    except Exception:
        log.exception("metrics not recorded")


def _note(request: Request, **facts: object) -> None:
    """Record what the access line reports (face, tenant, client) in the request's state."""
    request.scope.setdefault("state", {}).update(facts)


def _route(request: Request) -> str:
    route = request.scope.get("route")
    return str(getattr(route, "path", None) or request.url.path)


__all__ = [
    "Context",
    "Face",
    "Inbound",
    "Internal",
    "Refusal",
    "Unavailable",
    "actor_of",
    "as_caller",
    "call",
    "execute",
    "hop",
]
