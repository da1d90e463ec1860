"""Budgets of failed attempts, per client address and per credential, shared by every face.

Every face's requests run through ``runtime.execute``, which gives the request's unit of work
a ``RequestAttempts`` (``for_request``) and settles it once the unit has ended. Services call
``guard`` before a guessable check (a code lookup, a PIN, a client secret) and ``failed``
when it fails (``services/attempts.py``). Only failures are counted: a till that mistypes a
code twice is never slowed down, a script that guesses is refused (429 with ``Retry-After``,
in the face's own error shape, through ``TooManyAttempts`` in its error table) once the
budget of its address or of its credential is spent, until enough of the window has passed.

The algorithm is the ``limits`` library's moving window: a budget of N failures per W seconds
refuses the next attempt until the oldest of the last N failures is W seconds old. The
counters live where every worker and host sees them: in the service's database
(``db/limit_store.py``), or in Redis when ``VOUCHERD_REDIS_URL`` is set. In the database, a
check reads all of its keys in one statement on the connection of the request's unit of work
(``reads_on``): a request never holds one pooled connection while waiting for another.

A client's address is the peer's, unless the peer is a trusted proxy
(``VOUCHERD_TRUSTED_PROXIES``): then it is the right-most ``X-Forwarded-For`` entry that is
not itself a trusted proxy. Identifiers are hashed before they become storage keys: no client
id, user name or address is kept in the counters.
"""

from __future__ import annotations

import hashlib
import ipaddress
import logging
import math
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, cast

from limits import RateLimitItem, RateLimitItemPerSecond
from limits.storage import MovingWindowSupport, RedisStorage, Storage
from limits.strategies import MovingWindowRateLimiter
from sqlalchemy import Connection, Engine
from starlette.requests import Request

from voucherd.config import Settings
from voucherd.db.limit_store import SqlStorage
from voucherd.faces.errors import TooManyAttempts
from voucherd.services.attempts import Attempts, Budget

log = logging.getLogger("voucherd.limits")

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def parse_networks(text: str) -> tuple[Network, ...]:
    """``VOUCHERD_TRUSTED_PROXIES``: CIDRs or addresses, separated by spaces or commas."""
    return tuple(
        ipaddress.ip_network(part, strict=False) for part in text.replace(",", " ").split()
    )


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:32]


@dataclass(frozen=True, slots=True)
class Limiter:
    """The budgets, their storage and the trusted proxies of one server process."""

    storage: Storage
    items: dict[Budget, RateLimitItem]
    trusted: tuple[Network, ...] = ()
    pin_lockout_failures: int = 5
    pin_lockout_seconds: int = 900
    strategy: MovingWindowRateLimiter = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "strategy", MovingWindowRateLimiter(self.storage))

    def check(self, budget: Budget, keys: Sequence[str], conn: Connection | None = None) -> None:
        """Raises: TooManyAttempts when any of ``keys`` has spent ``budget``.

        With counters in the database, ``conn`` (the request's own connection) is where they
        are read, in one statement; a failure there is the request's own database failing and
        is raised. A storage of its own that cannot be reached (Redis) lets the attempt through
        (logged): the service stays up when Redis is down.
        """
        item = self.items[budget]
        names = [item.key_for(budget.value, key) for key in keys]
        expiry = item.get_expiry()
        if isinstance(self.storage, SqlStorage) and conn is not None:
            windows = self.storage.windows(conn, names, expiry)
        else:
            try:
                windows = self._windows(names, item.amount, expiry)
            except Exception as exc:
                log.warning("rate limit not checked budget=%s error=%s", budget, type(exc).__name__)
                return
        # The moving window's test: one more attempt fits while a key has fewer than N hits.
        spent = [start for start, count in windows if count >= item.amount]
        if spent:
            reset = max(spent) + expiry
            raise TooManyAttempts(budget.value, max(1, math.ceil(reset - time.time())))

    def _windows(self, names: list[str], amount: int, expiry: int) -> list[tuple[float, int]]:
        if isinstance(self.storage, SqlStorage):
            return self.storage.windows(None, names, expiry)
        storage = cast(MovingWindowSupport, self.storage)
        return [storage.get_moving_window(name, amount, expiry) for name in names]

    def count(self, budget: Budget, keys: Iterable[str]) -> None:
        item = self.items[budget]
        for key in keys:
            self.strategy.hit(item, budget.value, key)

    def clear(self) -> None:
        self.storage.reset()

    def address(self, request: Request) -> str:
        """The client's address: the peer's, or behind trusted proxies the forwarded one."""
        peer = request.client.host if request.client else ""
        if not self.trusted or not self._trusted(peer):
            return peer
        forwarded = [
            part.strip()
            for header in request.headers.getlist("x-forwarded-for")
            for part in header.split(",")
            if part.strip()
        ]
        for hop in reversed(forwarded):
            if not self._trusted(hop):
                return hop
        return forwarded[0] if forwarded else peer

    def _trusted(self, address: str) -> bool:
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            return False
        return any(ip in network for network in self.trusted)


def build(settings: Settings, engine: Engine) -> Limiter:
    """The limiter a server process uses: Redis when configured, else its own database."""
    storage: Storage = (
        RedisStorage(settings.redis_url) if settings.redis_url else SqlStorage(engine)
    )
    items: dict[Budget, RateLimitItem] = {
        Budget.AUTH: RateLimitItemPerSecond(
            settings.limit_auth_failures, settings.limit_auth_window_seconds
        ),
        Budget.GUESS: RateLimitItemPerSecond(
            settings.limit_guess_failures, settings.limit_guess_window_seconds
        ),
        Budget.PIN: RateLimitItemPerSecond(
            settings.limit_pin_failures, settings.limit_pin_window_seconds
        ),
    }
    return Limiter(
        storage,
        items,
        parse_networks(settings.trusted_proxies),
        settings.pin_lockout_failures,
        settings.pin_lockout_seconds,
    )


class RequestAttempts(Attempts):
    """One request's budgets: keyed by its client address and, once known, its credential."""

    def __init__(self, limiter: Limiter, request: Request) -> None:
        self.limiter = limiter
        self.request = request
        self.pin_lockout_failures = limiter.pin_lockout_failures
        self.pin_lockout_seconds = limiter.pin_lockout_seconds
        self._failures: list[tuple[Budget, list[str]]] = []
        self._later: list[Callable[[Engine], None]] = []
        self._conn: Connection | None = None

    def _keys(self, subject: str | None) -> list[str]:
        keys = ["addr:" + _digest(self.limiter.address(self.request))]
        # The runtime notes the authenticated caller in the request's state.
        state: dict[str, Any] = self.request.scope.get("state") or {}
        if state.get("client") is not None:
            keys.append("cred:" + _digest(f"{state.get('tenant_id')}:{state['client']}"))
        if subject is not None:
            keys.append("subj:" + _digest(subject))
        return keys

    def reads_on(self, conn: Connection | None) -> None:
        self._conn = conn

    def guard(self, budget: Budget, subject: str | None = None) -> None:
        self.limiter.check(budget, self._keys(subject), self._conn)

    def failed(self, budget: Budget, subject: str | None = None) -> None:
        self._failures.append((budget, self._keys(subject)))

    def later(self, work: Callable[[Engine], None]) -> None:
        self._later.append(work)

    def settle(self, engine: Engine) -> None:
        """Count the failures and run the deferred work; the answer is already decided."""
        failures, self._failures = self._failures, []
        work, self._later = self._later, []
        for budget, keys in failures:
            try:
                self.limiter.count(budget, keys)
            except Exception as exc:
                log.warning("failure not counted budget=%s error=%s", budget, type(exc).__name__)
        for job in work:
            try:
                job(engine)
            except Exception:
                log.exception("deferred attempt bookkeeping failed")


def for_request(request: Request) -> Attempts:
    """The budgets of ``request``; none when the app has no limiter (limits turned off)."""
    limiter: Limiter | None = getattr(request.app.state, "limiter", None)
    return RequestAttempts(limiter, request) if limiter is not None else Attempts()


def settle(attempts: Attempts, engine: Engine) -> None:
    if isinstance(attempts, RequestAttempts):
        attempts.settle(engine)
