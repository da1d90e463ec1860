"""Two ``voucherd worker`` processes on one database: one runs the schedule, the other takes
over when the first is killed (SIGKILL: no goodbye, the lock goes with its connection)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from voucherd.db import migrate
from voucherd.db.engine import make_engine, normalize_url


@pytest.fixture
def own_database(database_url: str, tmp_path: Path) -> Iterator[str]:
    """A database of its own: the session's live server elects its worker on the shared one."""
    if database_url.startswith("sqlite"):
        url = f"sqlite:///{tmp_path / 'election.db'}"
    else:
        base = make_url(normalize_url(database_url))
        name = f"{base.database}_election"
        admin = create_engine(base.set(database="postgres"), isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        admin.dispose()
        url = base.set(database=name).render_as_string(hide_password=False)
    engine = make_engine(url)
    migrate.upgrade(engine)
    engine.dispose()
    yield url


def _start(url: str, log: Path) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "VOUCHERD_DATABASE_URL": url,
        "VOUCHERD_WORKER_SWEEP_SECONDS": "0.3",
        "VOUCHERD_WORKER_ELECTION_SECONDS": "0.3",
        "VOUCHERD_WORKER_POLL_SECONDS": "0.1",
        "VOUCHERD_LOG_LEVEL": "info",
    }
    with log.open("wb") as out:
        return subprocess.Popen(
            [sys.executable, "-c", "from voucherd.cli import app; app()", "worker"],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=out,
        )


def _messages(log: Path) -> list[str]:
    lines = log.read_text().splitlines()
    return [json.loads(line)["message"] for line in lines if line.startswith("{")]


def _wait_for(condition: Callable[[], bool], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.1)


def test_one_worker_sweeps_and_the_other_takes_over_when_it_is_killed(
    own_database: str, tmp_path: Path
) -> None:
    first_log, second_log = tmp_path / "first.log", tmp_path / "second.log"
    first = _start(own_database, first_log)
    second = None
    try:
        _wait_for(lambda: "worker elected: running the schedule" in _messages(first_log))
        second = _start(own_database, second_log)
        _wait_for(lambda: _messages(first_log).count("sweep done") >= 5)
        time.sleep(1.0)  # the standby has retried the lead several times by now
        assert second.poll() is None
        assert _messages(second_log) == []  # neither elected nor sweeping

        first.send_signal(signal.SIGKILL)
        first.wait(timeout=10)
        swept_by_first = _messages(first_log).count("sweep done")
        _wait_for(lambda: "worker elected: running the schedule" in _messages(second_log))
        _wait_for(lambda: _messages(second_log).count("sweep done") >= 3)
        assert _messages(first_log).count("sweep done") == swept_by_first  # dead and silent
    finally:
        for process in (first, second):
            if process is not None and process.poll() is None:
                process.send_signal(signal.SIGTERM)
                process.wait(timeout=15)
    assert second is not None and second.returncode == 0  # SIGTERM: a clean stop
