"""The ceiling: the leanest honest Python HTTP server for the bench's two requests.

Raw ASGI (no framework) on uvicorn (httptools, uvloop), asyncpg with prepared statements
(asyncpg prepares and caches every statement it runs per connection), a Bearer token checked
by HMAC-SHA256 on every request, orjson, and the bench's reference tables
(``bench/sql/reference_schema.sql``). It answers the same two requests as voucherd's runs,
driven by the same wrk scripts:

- ``POST /v1/charges {"voucher_id", "amount", "currency"}``: the cheapest correct charge, one
  data-modifying statement in autocommit: a conditional ``UPDATE`` (balance covers the amount,
  currency matches) feeding the ledger ``INSERT``, committed; 201 with the entry, 422 when the
  balance does not cover it, 404 for an unknown voucher.
- ``GET /v1/vouchers/{id}``: a primary-key ``SELECT``; 200 with the row, 404 if none.

Everything else is 404; a bad or expired token is 401. It is the bound on what voucherd's
request path could reach in Python on this machine, not a product: no idempotency, no audit
event, no tenants beyond the token's.

Settings (environment): ``CEILING_DATABASE_URL``, ``CEILING_SECRET`` (HMAC key, hex or text),
``CEILING_POOL`` (connections per worker, default 8).
Run: ``uvicorn --app-dir bench/ceiling app:app --workers 2 --no-access-log``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import time
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

import asyncpg  # type: ignore[import-untyped]
import orjson

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

SECRET = os.environ.get("CEILING_SECRET", "ceiling").encode()

LOOKUP = "SELECT id, tenant_id, public_id, currency, balance, version, updated_at FROM ref_vouchers WHERE id = $1 AND tenant_id = $2"  # noqa: E501
CHARGE = """
WITH charged AS (
    UPDATE ref_vouchers
       SET balance = balance - $3, version = version + 1, updated_at = now()
     WHERE id = $1 AND tenant_id = $2 AND currency = $4 AND balance >= $3
 RETURNING id, balance
)
INSERT INTO ref_ledger (tenant_id, voucher_id, amount, balance_after, created_at)
SELECT $2, id, -$3, balance, now() FROM charged
RETURNING id, voucher_id, amount, balance_after, created_at
"""
EXISTS = "SELECT 1 FROM ref_vouchers WHERE id = $1 AND tenant_id = $2"


def make_token(tenant_id: int, ttl_s: int = 3600, secret: bytes = SECRET) -> str:
    """``<tenant>.<expiry>.<base64url HMAC-SHA256 of both>``: what the bench hands wrk."""
    payload = f"{tenant_id}.{int(time.time()) + ttl_s}"
    mac = hmac.new(secret, payload.encode(), hashlib.sha256).digest()
    return payload + "." + base64.urlsafe_b64encode(mac).rstrip(b"=").decode()


def check_token(headers: list[tuple[bytes, bytes]]) -> int | None:
    """The tenant of a valid, unexpired Bearer token, checked by HMAC on every request."""
    for name, value in headers:
        if name == b"authorization":
            if not value.startswith(b"Bearer "):
                return None
            try:
                tenant, expiry, mac = value[7:].split(b".")
                expected = hmac.new(SECRET, tenant + b"." + expiry, hashlib.sha256).digest()
                given = base64.urlsafe_b64decode(mac + b"=" * (-len(mac) % 4))
                if not hmac.compare_digest(expected, given) or int(expiry) < time.time():
                    return None
                return int(tenant)
            except ValueError:
                return None
    return None


JSON = [(b"content-type", b"application/json")]


async def reply(send: Send, status: int, body: Any) -> None:
    data = orjson.dumps(body)
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [*JSON, (b"content-length", str(len(data)).encode())],
        }
    )
    await send({"type": "http.response.body", "body": data})


async def read_body(receive: Receive) -> bytes:
    chunks = []
    while True:
        message = await receive()
        chunks.append(message.get("body", b""))
        if not message.get("more_body"):
            return b"".join(chunks)


class Ceiling:
    def __init__(self) -> None:
        self.pool: asyncpg.Pool | None = None

    async def lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                size = int(os.environ.get("CEILING_POOL", "8"))
                self.pool = await asyncpg.create_pool(
                    os.environ["CEILING_DATABASE_URL"], min_size=size, max_size=size
                )
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                if self.pool is not None:
                    await self.pool.close()
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self.lifespan(receive, send)
            return
        assert self.pool is not None
        path: str = scope["path"]
        method: str = scope["method"]
        if path == "/ready":
            await reply(send, 200, {"status": "ready"})
            return
        tenant = check_token(scope["headers"])
        if tenant is None:
            await reply(send, 401, {"error": "invalid_token"})
            return
        if method == "GET" and path.startswith("/v1/vouchers/"):
            try:
                voucher_id = int(path[13:])
            except ValueError:
                await reply(send, 404, {"error": "not_found"})
                return
            row = await self.pool.fetchrow(LOOKUP, voucher_id, tenant)
            if row is None:
                await reply(send, 404, {"error": "not_found"})
                return
            await reply(send, 200, dict(row))
        elif method == "POST" and path == "/v1/charges":
            try:
                body = orjson.loads(await read_body(receive))
                voucher_id = int(body["voucher_id"])
                amount = body["amount"]
                currency = body["currency"]
                if not (isinstance(amount, int) and amount > 0 and isinstance(currency, str)):
                    raise ValueError("amount")
            except (ValueError, KeyError, TypeError):
                await reply(send, 400, {"error": "bad_request"})
                return
            async with self.pool.acquire() as conn:
                row = await conn.fetchrow(CHARGE, voucher_id, tenant, amount, currency)
                if row is None:
                    known = await conn.fetchval(EXISTS, voucher_id, tenant)
                    await reply(send, 422 if known else 404, {"error": "refused"})
                    return
            await reply(send, 201, {"entry": dict(row)})
        else:
            await reply(send, 404, {"error": "not_found"})


app = Ceiling()
