"""Prometheus metrics, correct across worker processes and hosts.

Two kinds of figure, each measured where it is exact:
- per-process events (requests, latency, value moved by committed operations, pool use) are
  prometheus-client metrics; with ``PROMETHEUS_MULTIPROC_DIR`` set (``voucherd serve`` sets it)
  every worker writes its own file and a scrape sums them (multiprocess mode);
- database facts (vouchers by status, the outbox backlog) are read from the database at scrape
  time, so every worker and host reports the same number.

``/metrics`` is an operator endpoint (it spans tenants), so it is not behind a tenant's token:
it needs ``Authorization: Bearer $VOUCHERD_METRICS_TOKEN`` and answers 404 while that is unset.
"""

from __future__ import annotations

import hmac
import os
from collections.abc import Iterable, Iterator

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector
from pydantic import SecretStr
from sqlalchemy import Engine, case, func, or_, select

from voucherd.db.tables import deliveries, delivery_attempts, events, vouchers

REQUESTS = Counter(
    "voucherd_requests_total",
    "HTTP requests answered, by face, route template and status.",
    ["face", "route", "status"],
)
LATENCY = Histogram(
    "voucherd_request_duration_seconds",
    "Time from request to the end of the response, by face and route template.",
    ["face", "route"],
    buckets=(0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0),
)
VALUE_MOVED = Counter(
    "voucherd_value_minor_units_total",
    "Value moved by committed operations, in minor units, by ledger kind and currency.",
    ["kind", "currency"],
)
POOL_IN_USE = Gauge(
    "voucherd_db_pool_connections_in_use",
    "Database connections checked out of the pool (summed over live workers).",
    multiprocess_mode="livesum",
)
POOL_SIZE = Gauge(
    "voucherd_db_pool_connections_open",
    "Database connections held open by the pool (summed over live workers).",
    multiprocess_mode="livesum",
)

MOVEMENTS = frozenset({"charge", "refund", "recharge"})


# The labelled children of the two per-request metrics, by (face, route template, status):
# ``labels()`` validates and locks on every call, about half of a request's metrics cost. Route
# templates and statuses are few, so this stays small.
_REQUEST_CHILDREN: dict[tuple[str, str, int], tuple[Counter, Histogram]] = {}


def observe_request(face: str, route: str, status: int, seconds: float) -> None:
    key = (face, route, status)
    children = _REQUEST_CHILDREN.get(key)
    if children is None:
        children = (REQUESTS.labels(face, route, str(status)), LATENCY.labels(face, route))
        _REQUEST_CHILDREN[key] = children
    children[0].inc()
    children[1].observe(seconds)


def observe_ledger(entries: Iterable[tuple[str, str, int]]) -> None:
    """Count committed value movements: ``(kind, currency, amount)`` per ledger entry."""
    for kind, currency, amount in entries:
        if kind in MOVEMENTS:
            VALUE_MOVED.labels(kind, currency).inc(abs(amount))  # charges are negative entries


# What this process last wrote to the two pool gauges: a gauge is written (a locked write to
# its multiprocess file) only when its value changed, not twice on every request.
_pool_seen: dict[str, int] = {}


def observe_pool(engine: Engine) -> None:
    pool = engine.pool
    checked_out = getattr(pool, "checkedout", None)
    size = getattr(pool, "checkedin", None)
    if callable(checked_out) and callable(size):
        in_use = int(checked_out())
        open_ = in_use + int(size())
        if _pool_seen.get("in_use") != in_use:
            _pool_seen["in_use"] = in_use
            POOL_IN_USE.set(in_use)
        if _pool_seen.get("open") != open_:
            _pool_seen["open"] = open_
            POOL_SIZE.set(open_)


class DatabaseFacts(Collector):
    """Vouchers by status and the outbox backlog, read at scrape time (the same figure from
    every worker)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def collect(self) -> Iterator[GaugeMetricFamily]:
        by_status = GaugeMetricFamily(
            "voucherd_vouchers", "Vouchers by engine status (deleted excluded).", labels=["status"]
        )
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(vouchers.c.status, func.count())
                .where(vouchers.c.deleted_at.is_(None))
                .group_by(vouchers.c.status)
            ).all()
            backlog = conn.execute(
                select(func.count()).select_from(events).where(~events.c.dispatched)
            ).scalar_one()
            kind = case(
                (deliveries.c.subscriber.startswith("webhook:"), "webhook"),
                else_=deliveries.c.subscriber,
            )
            by_delivery = conn.execute(
                select(kind, deliveries.c.status, func.count())
                .where(deliveries.c.status.in_(("pending", "delivering", "failed")))
                .group_by(kind, deliveries.c.status)
            ).all()
            failed_attempts = conn.execute(
                select(func.count())
                .select_from(delivery_attempts)
                .where(
                    or_(
                        delivery_attempts.c.status_code.is_(None),
                        delivery_attempts.c.status_code < 200,
                        delivery_attempts.c.status_code >= 300,
                    )
                )
            ).scalar_one()
        for status, count in rows:
            by_status.add_metric([str(status)], float(count))
        yield by_status
        pending = GaugeMetricFamily(
            "voucherd_outbox_events_pending", "Events not yet handed to the outbox subscribers."
        )
        pending.add_metric([], float(backlog))
        yield pending
        queued = GaugeMetricFamily(
            "voucherd_deliveries",
            "Outbox deliveries not delivered, by subscriber kind (webhook, rm_callback) and status"
            " (pending, delivering, failed: given up).",
            labels=["subscriber", "status"],
        )
        for subscriber, status, count in by_delivery:
            queued.add_metric([str(subscriber), str(status)], float(count))
        yield queued
        failures = GaugeMetricFamily(
            "voucherd_delivery_attempts_failed",
            "Delivery attempts that got no 2xx answer (kept in the delivery log).",
        )
        failures.add_metric([], float(failed_attempts))
        yield failures


def exposition(engine: Engine) -> bytes:
    """The exposition text of one scrape (blocking: reads the database)."""
    registry = CollectorRegistry(auto_describe=False)
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
    else:
        for metric in (REQUESTS, LATENCY, VALUE_MOVED, POOL_IN_USE, POOL_SIZE):
            registry.register(metric)
    registry.register(DatabaseFacts(engine))
    return generate_latest(registry)


def authorized(token: SecretStr | None, header: str | None) -> bool:
    """The operator's bearer token, compared in constant time; no token set → nobody."""
    if token is None or header is None:
        return False
    return hmac.compare_digest(header.encode(), f"Bearer {token.get_secret_value()}".encode())


CONTENT_TYPE = CONTENT_TYPE_LATEST
