"""One access line per request, on every face: pure ASGI, around the whole application.

The runtime records the face, the tenant and the client in the request's scope state once it
knows them; this middleware adds the method, the route template (never the path as sent, which
may hold a code), the status and the duration, and writes the line when the response is done.
"""

from __future__ import annotations

import logging
import time

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from voucherd.faces import metrics

log = logging.getLogger("voucherd.access")


def _template(scope: Scope) -> str:
    """The route as declared; a mounted app without routes of its own (static files) by mount."""
    root = str(scope.get("root_path", ""))
    path = getattr(scope.get("route"), "path", None)
    if path is not None:
        return f"{root}{path}"
    endpoint = scope.get("endpoint")
    if endpoint is not None and getattr(endpoint, "__name__", None) == "openapi":
        return f"{root}/openapi.json"
    return f"{root}/{{path}}" if root else "(unmatched)"


class AccessLog:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def recording(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, recording)
        finally:
            _record(scope, status, time.perf_counter() - started)


def _record(scope: Scope, status: int, elapsed: float) -> None:
    """The request's metrics and access line."""
    state = scope.get("state") or {}
    face = state.get("face") or "native"
    route = _template(scope)
    metrics.observe_request(face, route, status, elapsed)
    if not log.isEnabledFor(logging.INFO):
        return
    # Made and handled directly: ``log.info`` would first walk the stack for the caller's file
    # and line (findCaller), the same for every access line.
    record = log.makeRecord(
        log.name,
        logging.INFO,
        __file__,
        0,
        "request",
        (),
        None,
        extra={
            "request_id": state.get("request_id"),
            "face": face,
            "method": scope.get("method"),
            "route": route,
            "status": status,
            "duration_ms": round(elapsed * 1000, 2),
            "tenant": state.get("tenant_id"),
            "client": state.get("client"),
            # the peer; behind a trusted proxy (serve --proxy-headers), the original client
            "remote": (scope.get("client") or (None,))[0],
        },
    )
    log.handle(record)
