"""Request ids: accepted from ``X-Request-Id`` when well-formed, else generated; always returned.

Pure ASGI (no per-request framework work): the id is put in the scope's state, where every
face's error body and every log line of the request can read it.
"""

from __future__ import annotations

import os
import re

from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

HEADER = b"x-request-id"
# Visible ASCII a proxy or client would put there; anything else is replaced, never echoed.
VALID = re.compile(rb"[A-Za-z0-9._:\-]{1,128}")


def new_id() -> str:
    """32 random hex digits (the shape of ``uuid4().hex``, at a fifth of its cost)."""
    return os.urandom(16).hex()


def request_id(request: Request) -> str:
    state = request.scope.get("state") or {}
    value = state.get("request_id")
    return str(value) if value else new_id()


class RequestIds:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        given = next((v for k, v in scope.get("headers") or () if k == HEADER), None)
        rid = given.decode() if given is not None and VALID.fullmatch(given) else new_id()
        scope.setdefault("state", {})["request_id"] = rid
        header = (HEADER, rid.encode())

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [h for h in message.get("headers") or () if h[0].lower() != HEADER]
                message["headers"] = [*headers, header]
            await send(message)

        await self.app(scope, receive, send_with_id)
