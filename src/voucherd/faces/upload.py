"""Large request bodies (CSV imports) through the shared runtime, in bounded memory.

``runtime.call`` reads the body into memory, which suits every other request. An import's
body is instead spooled to a temporary file as it arrives (memory beyond ``SPOOL_MEMORY``
goes to disk), refused past its own size limit, and its SHA-256 is what Idempotency-Key
compares; then the operation runs on the shared path (``runtime.execute``: one unit of work,
the face's error table, the key's contract) with the spooled file at hand.
"""

from __future__ import annotations

import hashlib
import io
import tempfile
from collections.abc import AsyncIterator, Callable
from typing import IO, TypeVar

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from voucherd.faces.runtime import Authenticate, Call, Context, Face, Inbound, execute

C = TypeVar("C")
T = TypeVar("T")

SPOOL_MEMORY = 1 << 20  # bytes of a body kept in memory before it goes to disk


class BodyTooLarge(Exception):
    """The body passed its limit while it was spooled (the face answers 413)."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"an import is limited to {limit} bytes")
        self.limit = limit


async def spool(chunks: AsyncIterator[bytes], limit: int) -> tuple[IO[bytes], str]:
    """The body in a temporary file (rewound) and its SHA-256. Raises: BodyTooLarge."""
    file = tempfile.SpooledTemporaryFile(max_size=SPOOL_MEMORY)  # noqa: SIM115 (returned)
    digest = hashlib.sha256()
    size = 0
    async for chunk in chunks:
        size += len(chunk)
        if size > limit:
            file.close()
            raise BodyTooLarge(limit)
        digest.update(chunk)
        file.write(chunk)
    file.seek(0)
    return file, digest.hexdigest()


def text_lines(file: IO[bytes]) -> io.TextIOWrapper:
    """A spooled CSV body as text lines (UTF-8; a byte-order mark is skipped)."""
    return io.TextIOWrapper(file, encoding="utf-8-sig", newline="")


async def call_with_file(
    face: Face,
    request: Request,
    file: IO[bytes],
    digest: str,
    operation: Callable[[Context[C], IO[bytes]], T],
    *,
    authenticate: Authenticate[C],
    render: Callable[[T], Response],
    body: bytes = b"",
) -> Response:
    """Run a write ``operation`` on the shared path with the spooled ``file``.

    ``body`` is what the operation sees as the request body (a form's small fields; the
    file is passed apart). The file is closed when the operation is done.
    """
    fingerprint = f"{request.url.query}\n{digest}".encode()
    plan: Call[C, T] = Call(
        face,
        authenticate,
        lambda ctx: operation(ctx, file),
        render,
        write=True,
        fingerprint=fingerprint,
    )
    request.scope.setdefault("state", {})["face"] = face.name
    try:
        return await run_in_threadpool(execute, plan, Inbound(request, body))
    finally:
        file.close()
