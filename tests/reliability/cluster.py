"""A private PostgreSQL cluster for tests that stop, start or crash the database.

``initdb`` into a temporary directory, its own port and unix-socket directory, started and stopped
with ``pg_ctl``. fsync stays on: the crash test relies on acknowledged commits being durable.
When the tests run as root, every PostgreSQL binary runs as the ``postgres`` OS user (initdb
refuses root), in a directory that user owns.
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

from tests.ports import free_port as free_port


def pg_bin_dir() -> Path | None:
    """The newest installed PostgreSQL's bin directory (Debian layout), or one on PATH."""
    found = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/initdb"),
        key=lambda p: int(Path(p).parent.parent.name),
    )
    if found:
        return Path(found[-1]).parent
    on_path = shutil.which("initdb")
    return Path(on_path).parent if on_path else None


class PgCluster:
    """One throw-away PostgreSQL cluster; ``url`` reaches it over TCP as user ``postgres``."""

    def __init__(self, port: int) -> None:
        bindir = pg_bin_dir()
        if bindir is None:
            pytest.skip("no PostgreSQL server binaries (initdb) installed")
        self.bindir = bindir
        self.port = port
        self.as_root = os.geteuid() == 0
        self.root = Path(tempfile.mkdtemp(prefix="voucherd-pg-"))
        self.data = self.root / "data"
        self.sockets = self.root / "sockets"
        self.log = self.root / "postgres.log"
        self.sockets.mkdir()
        if self.as_root:
            shutil.chown(self.root, "postgres", "postgres")
            shutil.chown(self.sockets, "postgres", "postgres")

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def database_url(self, name: str) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{name}"

    def _run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        prefix = ["runuser", "-u", "postgres", "--"] if self.as_root else []
        return subprocess.run(
            [*prefix, str(self.bindir / args[0]), *args[1:]],
            capture_output=True,
            text=True,
            check=check,
            timeout=120,
        )

    def init(self) -> None:
        self._run(
            "initdb", "-D", str(self.data), "-U", "postgres", "--auth=trust",
            "--encoding=UTF8", "--locale=C", "--no-instructions",
        )  # fmt: skip
        settings = {
            "listen_addresses": "'127.0.0.1'",
            "port": str(self.port),
            "unix_socket_directories": f"'{self.sockets}'",
            "max_connections": "200",
            "shared_buffers": "32MB",
            # Fast where it costs no durability: fsync, synchronous_commit and
            # full_page_writes keep their defaults (on), which the crash test depends on.
            "checkpoint_timeout": "30min",
            "max_wal_size": "1GB",
            "wal_level": "minimal",
            "max_wal_senders": "0",
            "logging_collector": "off",
            "log_min_messages": "warning",
        }
        with (self.data / "postgresql.conf").open("a") as conf:
            conf.write("\n# voucherd reliability tests\n")
            for key, value in settings.items():
                conf.write(f"{key} = {value}\n")

    def start(self) -> None:
        self._run("pg_ctl", "start", "-w", "-t", "60", "-D", str(self.data), "-l", str(self.log))
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.is_up():
                return
            time.sleep(0.05)
        raise RuntimeError(f"private PostgreSQL did not start; log: {self.log_text()[-2000:]}")

    def stop(self, mode: str = "fast") -> None:
        """``fast``: clients are disconnected, a clean shutdown; ``immediate``: like a crash."""
        self._run("pg_ctl", "stop", "-w", "-t", "60", "-m", mode, "-D", str(self.data))

    def is_up(self) -> bool:
        done = self._run("pg_isready", "-h", "127.0.0.1", "-p", str(self.port), check=False)
        return done.returncode == 0

    def running(self) -> bool:
        return self._run("pg_ctl", "status", "-D", str(self.data), check=False).returncode == 0

    def create_database(self, name: str) -> None:
        self._run("createdb", "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", name)

    def log_text(self) -> str:
        try:
            return self.log.read_text(errors="replace")
        except OSError:
            return ""

    def destroy(self) -> None:
        if self.data.exists() and self.running():
            self.stop("immediate")
        shutil.rmtree(self.root, ignore_errors=True)
