"""``voucherd serve`` as a real process, its output in a log file the tests can read."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from tests.conftest import TEST_SECRET_KEY
from tests.reliability.cluster import free_port

SIGNING_KEY = TEST_SECRET_KEY  # the key-encryption key of these servers and of the tests


class ServerProcess:
    """One ``voucherd serve`` subprocess (which execs uvicorn: the pid is the server's)."""

    def __init__(self, database_url: str, log: Path, **env: str) -> None:
        self.database_url = database_url
        self.log_path = log
        self.extra_env = env
        self.port = 0
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 30) -> None:
        self.port = free_port(offset=self.port % 50 + 1 if self.port else 0)
        env = {
            **os.environ,
            "VOUCHERD_DATABASE_URL": self.database_url,
            "VOUCHERD_SECRET_KEY": SIGNING_KEY,
            "VOUCHERD_DB_POOL_SIZE": "10",
            "VOUCHERD_RM_CALLBACK_WORKER": "false",
            **self.extra_env,
        }
        code = "from voucherd.cli import main; main()"
        log = self.log_path.open("ab")
        self.proc = subprocess.Popen(
            [sys.executable, "-c", code, "serve", "--host", "127.0.0.1",
             "--port", str(self.port), "--log-level", "info"],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip
        log.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited ({self.proc.returncode}): {self.log()[-3000:]}")
            try:
                if httpx.get(f"{self.url}/health", timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.05)
        raise RuntimeError(f"server did not start: {self.log()[-3000:]}")

    def kill(self) -> None:
        """SIGKILL: no shutdown code runs, like a power cut of the process."""
        assert self.proc is not None
        os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=10)

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        os.killpg(self.proc.pid, signal.SIGTERM)
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=10)

    def log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""
