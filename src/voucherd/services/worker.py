"""The built-in worker: one elected runner does the sweep, the outbox and the long jobs.

Every candidate (``voucherd worker``, or a thread in each ``voucherd serve`` process) tries to
take the lead (``services/election.py``) every ``worker_election_seconds``; the leader runs
passes until it is stopped or loses its lock, so N servers and workers never run N sweeps. A
pass: the sweep when due (every ``worker_sweep_seconds``), outbox dispatch to every subscriber
(native webhooks and the dialects'), due deliveries, one chunk of the oldest long job. A pass
that did work is followed by the next at once; an idle one by ``worker_poll_seconds`` of rest.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from sqlalchemy import Engine, Table

from voucherd.config import Settings
from voucherd.services import jobs, outbox, sweep, webhooks
from voucherd.services.election import Leadership

log = logging.getLogger("voucherd.worker")

Task = Callable[[], int]  # one round of a dialect's work (e.g. send RM callbacks); how many done


@dataclass(slots=True)
class Parts:
    """What the enabled dialects add: outbox subscribers, tasks per pass, rows to purge."""

    subscribers: list[outbox.Subscriber] = field(default_factory=list)
    tasks: list[Task] = field(default_factory=list)
    purge: list[Table] = field(default_factory=list)


class Runner:
    def __init__(self, engine: Engine, settings: Settings, parts: Parts | None = None) -> None:
        self.engine, self.settings = engine, settings
        self.parts = parts or Parts()
        self.subscribers: Sequence[outbox.Subscriber] = [
            webhooks.NativeWebhooks(),
            *self.parts.subscribers,
        ]
        self.leadership = Leadership(engine)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._next_sweep = 0.0
        self.sweeps = 0

    @property
    def leading(self) -> bool:
        return self.leadership.held

    def run_pass(self) -> int:
        """One pass (the caller leads); returns how much work it did."""
        work = 0
        if time.monotonic() >= self._next_sweep:
            result = sweep.run(self.engine, purge=self.parts.purge)
            self.sweeps += 1
            self._next_sweep = time.monotonic() + self.settings.worker_sweep_seconds
            log.info(
                "sweep done",
                extra={
                    "expired_vouchers": result.expired_vouchers,
                    "expired_reservations": result.expired_reservations,
                },
            )
        work += outbox.dispatch(self.engine, self.subscribers)
        work += webhooks.deliver_due(self.engine, self.settings)
        for task in self.parts.tasks:
            work += task()
        if jobs.run_step(self.engine, self.settings.job_chunk_size):
            work += 1
        return work

    def run_forever(self) -> None:
        try:
            while not self._stop.is_set():
                try:
                    elected = self.leadership.try_acquire()
                except Exception:  # the database is unreachable: stand by, try again later
                    log.warning("worker election failed: database unavailable")
                    elected = False
                if not elected:
                    self._stop.wait(self.settings.worker_election_seconds)
                    continue
                if not self.leadership.still_held():
                    continue
                if self._next_sweep == 0.0:
                    log.info("worker elected: running the schedule")
                    self._next_sweep = time.monotonic() + self.settings.worker_sweep_seconds
                try:
                    busy = self.run_pass()
                except Exception:  # keep the worker alive; the next pass retries
                    log.exception("worker pass failed")
                    busy = 0
                if not busy:
                    self._stop.wait(self.settings.worker_poll_seconds)
        finally:
            self.leadership.release()

    def start(self) -> None:
        self._thread = threading.Thread(
            target=self.run_forever, name="voucherd-worker", daemon=True
        )
        self._thread.start()

    def request_stop(self) -> None:
        """Finish the current pass, then release the lead (safe from a signal handler)."""
        self._stop.set()

    def stop(self, timeout: float | None = None) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=timeout or self.settings.webhook_timeout_seconds + 5)
