"""The last line of every face: no exception leaves a face's app as a bare ``text/plain`` 500.

Exceptions raised outside ``runtime.call`` (a dependency, a parser, a bug in a renderer) would
reach Starlette's ``ServerErrorMiddleware``, which answers ``text/plain``. ``FaceGuard`` sits
just inside it, in every face's app, and answers through the face's error table instead: 503
with ``Retry-After`` when the database is down, the face's internal error otherwise.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from voucherd.faces.runtime import Face, Inbound


class FaceGuard:
    def __init__(self, app: ASGIApp, face: Face) -> None:
        self.app = app
        self.face = face

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False
        # The innermost face's guard runs last: the access line names the face that answered.
        scope.setdefault("state", {})["face"] = self.face.name

        async def tracked(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, tracked)
        except Exception as exc:
            if started:
                raise  # nothing can be answered any more; the server closes the connection
            inbound = Inbound(Request(scope), b"")
            response = self.face.refusal_response(exc, inbound)
            await response(scope, receive, send)


def install(app: ASGIApp, face: Face) -> None:
    """Guard a face's (sub-)application: call before it starts serving."""
    app.add_middleware(FaceGuard, face=face)  # type: ignore[attr-defined]
