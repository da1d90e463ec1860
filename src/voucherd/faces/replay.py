"""A request body read ahead of the app, handed to it again as the ASGI ``receive`` it expects."""

from __future__ import annotations

from starlette.types import Message, Receive


def replaying(body: bytes, receive: Receive) -> Receive:
    """``receive`` that answers ``body`` once as the whole request, then defers to the server's
    (for ``http.disconnect``)."""
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay
