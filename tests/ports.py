"""Ports for test servers: VOUCHERD_TEST_PORTS="LOW-HIGH" keeps them in a range."""

from __future__ import annotations

import os
import socket

# VOUCHERD_TEST_PORTS="LOW-HIGH" confines the ports of test servers (live_server, voucherd
# serve, private PostgreSQL, callback receivers) to a range, for shared machines; unset, the OS
# picks free ephemeral ports.
PORTS_ENV = "VOUCHERD_TEST_PORTS"


def _port_free(port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def free_port(offset: int = 0) -> int:
    """A free TCP port on 127.0.0.1 (inside VOUCHERD_TEST_PORTS when it is set)."""
    spec = os.environ.get(PORTS_ENV)
    if not spec:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            return int(sock.getsockname()[1])
    low, high = (int(p) for p in spec.split("-"))
    worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0").removeprefix("gw")
    span = high - low + 1
    start = low + (int(worker or 0) * 17 + offset) % span
    for i in range(span):
        port = low + (start - low + i) % span
        if _port_free(port):
            return port
    raise RuntimeError(f"no free port in {spec}")
