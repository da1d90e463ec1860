"""Helpers for tests that need a database of their own or a real ``voucherd serve`` process."""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from voucherd.db.engine import normalize_url

VOUCHERD = str(Path(sys.executable).with_name("voucherd"))


@contextmanager
def blank_database(like: str) -> Iterator[str]:
    """A new, empty database on the same server as ``like`` (a file next to nothing for SQLite),
    dropped afterwards."""
    url = make_url(normalize_url(like))
    if url.get_backend_name() == "sqlite":
        with tempfile.TemporaryDirectory(prefix="voucherd-blank-") as folder:
            yield f"sqlite:///{folder}/blank.db"
        return
    name = f"{url.database}_blank_{secrets.token_hex(3)}"
    admin = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        try:
            yield url.set(database=name).render_as_string(hide_password=False)
        finally:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        admin.dispose()


@dataclass
class Server:
    url: str
    process: subprocess.Popen[bytes]
    log: Path

    def output(self) -> str:
        return self.log.read_text(errors="replace")


def wait_until_serving(server: Server, timeout: float = 60) -> None:
    """Wait for ``/health`` to answer; fail with the server's output if it exits or is slow."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            if httpx.get(f"{server.url}/health", timeout=5).status_code == 200:
                return
        except httpx.TransportError:
            pass
        if server.process.poll() is not None or time.monotonic() > deadline:
            raise AssertionError(f"the server did not start:\n{server.output()}")
        time.sleep(0.1)


@contextmanager
def voucherd_serve(
    args: Sequence[str], port: int, env: Mapping[str, str], cwd: Path, log: Path
) -> Iterator[Server]:
    """``voucherd serve --port PORT ARGS`` in its own process, stopped with SIGTERM afterwards."""
    with log.open("wb") as sink:
        process = subprocess.Popen(
            [VOUCHERD, "serve", "--host", "127.0.0.1", "--port", str(port), *args],
            env=dict(env),
            cwd=cwd,
            stdout=sink,
            stderr=subprocess.STDOUT,
        )
    server = Server(f"http://127.0.0.1:{port}", process, log)
    try:
        yield server
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def clean_env(**extra: str) -> dict[str, str]:
    """This environment without voucherd's settings (so a test states each one it means)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("VOUCHERD_")}
    env.update(extra)
    return env
