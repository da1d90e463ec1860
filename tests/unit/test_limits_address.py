"""Whose budget a request spends: its peer, or behind a trusted proxy the forwarded client."""

from __future__ import annotations

from typing import Any

import pytest
from limits import RateLimitItemPerSecond
from limits.storage import MemoryStorage
from starlette.requests import Request

from voucherd.faces.errors import TooManyAttempts
from voucherd.faces.limits import Limiter, parse_networks
from voucherd.services.attempts import Budget


def _request(peer: str, forwarded: list[str]) -> Request:
    scope: dict[str, Any] = {
        "type": "http",
        "method": "GET",
        "path": "/",
        "headers": [(b"x-forwarded-for", value.encode()) for value in forwarded],
        "client": (peer, 50000),
        "query_string": b"",
    }
    return Request(scope)


def _limiter(trusted: str) -> Limiter:
    item = RateLimitItemPerSecond(3, 60)
    return Limiter(MemoryStorage(), dict.fromkeys(Budget, item), parse_networks(trusted))


def test_forwarded_for_counts_only_behind_a_trusted_proxy() -> None:
    limiter = _limiter("10.0.0.0/8, 192.0.2.1")
    assert limiter.address(_request("10.1.2.3", ["203.0.113.9"])) == "203.0.113.9"
    assert limiter.address(_request("192.0.2.1", ["203.0.113.9"])) == "203.0.113.9"
    # An untrusted peer cannot choose whose budget it spends.
    assert limiter.address(_request("198.51.100.7", ["203.0.113.9"])) == "198.51.100.7"
    # Behind two trusted hops the right-most untrusted entry is the client; entries the client
    # wrote itself (left of it) are not believed.
    chain = ["1.1.1.1, 203.0.113.9", "10.0.0.5"]
    assert limiter.address(_request("10.1.2.3", chain)) == "203.0.113.9"
    # No proxies configured: the header means nothing.
    assert _limiter("").address(_request("10.1.2.3", ["203.0.113.9"])) == "10.1.2.3"


def test_only_failures_spend_a_budget_and_any_spent_key_refuses() -> None:
    limiter = _limiter("")
    for _ in range(3):
        limiter.check(Budget.GUESS, ["addr:a", "cred:c"])  # checking spends nothing
    limiter.count(Budget.GUESS, ["addr:a", "cred:c"])
    limiter.count(Budget.GUESS, ["addr:a", "cred:c"])
    limiter.count(Budget.GUESS, ["addr:b", "cred:c"])
    with pytest.raises(TooManyAttempts) as refused:
        limiter.check(Budget.GUESS, ["addr:z", "cred:c"])  # the credential's budget is spent
    assert 1 <= refused.value.retry_after <= 60
    assert refused.value.headers == {"Retry-After": str(refused.value.retry_after)}
    limiter.check(Budget.GUESS, ["addr:a", "cred:other"])  # two failures: not spent
    limiter.check(Budget.PIN, ["addr:a", "cred:c"])  # another budget
