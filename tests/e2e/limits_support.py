"""Two real ``voucherd serve`` processes on one database, with small budgets and short windows.

The rate-limit tests send each burst alternately to both processes: a 429 within the budget
shows that the counters are shared (each process alone would allow the budget twice). Each
test speaks from addresses of its own (``X-Forwarded-For`` behind the trusted proxy
127.0.0.1), so tests never spend each other's budgets.
"""

from __future__ import annotations

import itertools
import secrets
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from tests.conftest import TEST_SECRET_KEY
from tests.ports import free_port
from tests.support import Server, clean_env, voucherd_serve, wait_until_serving

BUDGET = 5  # failures per window, every budget
# Seconds: long enough that a burst and the checks after it fit in one window on a busy
# machine, short enough that waiting for the window's end is quick.
WINDOW = 6
LOCKOUT = 3  # wrong PINs in a row that lock a voucher's PIN checks
SECRET_KEY = "test-signing-key"  # the KEK of every test server (tests/conftest.py)
JTL_PIN_DEATH = 8  # wrong connect PINs that end every live JTL connect PIN


def settings_env(database_url: str, **extra: str) -> dict[str, str]:
    return clean_env(
        VOUCHERD_DATABASE_URL=database_url,
        VOUCHERD_SECRET_KEY=TEST_SECRET_KEY,  # the session's key-encryption key
        VOUCHERD_TRUSTED_PROXIES="127.0.0.1/32",
        VOUCHERD_LIMIT_AUTH_FAILURES=str(BUDGET),
        VOUCHERD_LIMIT_AUTH_WINDOW_SECONDS=str(WINDOW),
        VOUCHERD_LIMIT_GUESS_FAILURES=str(BUDGET),
        VOUCHERD_LIMIT_GUESS_WINDOW_SECONDS=str(WINDOW),
        VOUCHERD_LIMIT_PIN_FAILURES=str(BUDGET),
        VOUCHERD_LIMIT_PIN_WINDOW_SECONDS=str(WINDOW),
        VOUCHERD_PIN_LOCKOUT_FAILURES=str(LOCKOUT),
        VOUCHERD_PIN_LOCKOUT_SECONDS="3600",
        VOUCHERD_JTL_PIN_MAX_FAILURES=str(JTL_PIN_DEATH),
        **extra,
    )


@contextmanager
def two_servers(env: dict[str, str], folder: Path) -> Iterator[tuple[Server, Server]]:
    with ExitStack() as stack:
        servers: list[Server] = []
        offset = 40
        for name in ("a", "b"):
            port = free_port(offset)
            while any(s.url.endswith(f":{port}") for s in servers):
                offset += 1
                port = free_port(offset)
            offset += 1
            server = stack.enter_context(
                voucherd_serve(["--no-worker"], port, env, folder, folder / f"{name}.log")
            )
            wait_until_serving(server)
            servers.append(server)
        yield servers[0], servers[1]


def new_address() -> str:
    """A client address of the test's own (documentation range 198.18.0.0/15)."""
    return f"198.18.{secrets.randbelow(256)}.{secrets.randbelow(254) + 1}"


@dataclass
class Client:
    """One caller: an address, maybe a token, speaking to both servers in turn."""

    servers: tuple[Server, Server]
    address: str
    token: str | None = None

    def __post_init__(self) -> None:
        self._turn = itertools.cycle(self.servers)

    def request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        headers = {"X-Forwarded-For": self.address}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        extra = kwargs.pop("headers", None)
        if isinstance(extra, dict):
            headers.update(extra)
        server = next(self._turn)
        return httpx.request(method, server.url + path, headers=headers, timeout=30, **kwargs)


def burst(send: Callable[[int], httpx.Response], limit: int = 4 * BUDGET) -> list[int]:
    """Send until the first 429 (or ``limit`` attempts); the statuses, in order."""
    statuses: list[int] = []
    for i in range(limit):
        statuses.append(send(i).status_code)
        if statuses[-1] == 429:
            break
    return statuses


def assert_stopped(statuses: list[int], failure: int) -> None:
    """The burst's first BUDGET failures were answered as such, the next attempt with 429.

    Two processes that did not share their counters would allow twice the budget.
    """
    assert statuses == [failure] * BUDGET + [429], statuses


def wait_out(send: Callable[[], httpx.Response], rounds: int = 6) -> httpx.Response:
    """Resend after each Retry-After until the answer is not 429 (at most ``rounds`` times)."""
    response = send()
    for _ in range(rounds):
        if response.status_code != 429:
            break
        time.sleep(int(response.headers["Retry-After"]))
        response = send()
    return response
