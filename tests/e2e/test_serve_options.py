"""``voucherd serve`` options: --database-url reaches the workers, --proxy-headers takes the
client address from X-Forwarded-For only when the peer is in --forwarded-allow-ips, and no
WebSocket protocol is loaded."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import httpx
import orjson
from sqlalchemy import Engine

from tests.conftest import TEST_SECRET_KEY
from tests.ports import free_port
from tests.support import clean_env, voucherd_serve, wait_until_serving

WEBSOCKET_UPGRADE = {
    "Connection": "Upgrade",
    "Upgrade": "websocket",
    "Sec-WebSocket-Version": "13",
    "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==",
}


def _access_lines(output: str) -> list[dict[str, Any]]:
    lines = []
    for line in output.splitlines():
        if line.startswith("{"):
            record = orjson.loads(line)
            if record.get("logger") == "voucherd.access":
                lines.append(record)
    return lines


def test_database_url_option_and_proxy_headers(
    engine: Engine, database_url: str, tmp_path: Path
) -> None:
    # No VOUCHERD_DATABASE_URL, and a working directory without ./voucherd.db: the server
    # only finds its (migrated) database through --database-url.
    env = clean_env(VOUCHERD_SECRET_KEY=TEST_SECRET_KEY)  # the session database's KEK
    forwarded = {"X-Forwarded-For": "203.0.113.7", "X-Forwarded-Proto": "https"}
    behind = [
        "--database-url",
        database_url,
        "--proxy-headers",
        "--forwarded-allow-ips",
        "127.0.0.1",
    ]
    other_proxy = [*behind[:-1], "192.0.2.1"]
    direct = ["--database-url", database_url]
    ports: list[int] = []
    offset = 20
    while len(ports) < 3:  # three different ports, none bound yet
        port = free_port(offset)
        offset += 1
        if port not in ports:
            ports.append(port)
    remote = {}
    # One at a time: three servers starting at once are slow on a busy machine.
    for name, args, port in (
        ("behind", behind, ports[0]),
        ("other", other_proxy, ports[1]),
        ("direct", direct, ports[2]),
    ):
        with voucherd_serve(args, port, env, tmp_path, tmp_path / f"{name}.log") as server:
            wait_until_serving(server)
            ready = httpx.get(f"{server.url}/ready", headers={**forwarded, "X-Request-Id": name})
            assert ready.status_code == 200, ready.text
            deadline = time.monotonic() + 10
            while not (
                lines := [r for r in _access_lines(server.output()) if r["request_id"] == name]
            ):
                assert time.monotonic() < deadline, server.output()
                time.sleep(0.1)
            remote[name] = lines[0]["remote"]
            if name == "direct":
                # No face speaks WebSocket: serve loads no WebSocket protocol (--ws none), so an
                # upgrade request is answered as plain HTTP.
                upgrade = httpx.get(f"{server.url}/ready", headers=WEBSOCKET_UPGRADE)
                assert upgrade.status_code == 200, upgrade.text
    assert remote == {"behind": "203.0.113.7", "other": "127.0.0.1", "direct": "127.0.0.1"}
    assert not (tmp_path / "voucherd.db").exists()
