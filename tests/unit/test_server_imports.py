"""A server process loads what serving needs: the CLI stacks, the QR renderer, the dashboard's
templates and locale data, and Alembic stay out.

Every server worker carries every module it imports (docs/benchmarks.md, "Session 4": about
2 MB per worker for the CLI stacks and segno; "Session 5: server memory": about 12 MB for
Alembic, Mako and Pygments, jinja2 and babel); they are imported on first use instead, and the
schema check reads Alembic's revision graph from a snapshot (db/revisions.py).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from voucherd.db import migrate
from voucherd.db.engine import make_engine

# A worker's life up to its first requests: the app, its startup (the schema check, the keys)
# and /ready, on a migrated database. Plain ASGI calls: httpx (the test client) would import
# click, rich and pygments itself.
PROBE = """
import asyncio, sys
from pydantic import SecretStr
from voucherd.api.app import create_app
from voucherd.config import Settings

app = create_app(Settings(database_url="sqlite:///" + sys.argv[1], secret_key=SecretStr("k")))

async def call(scope, messages, last):
    sent, done = [], asyncio.Event()
    async def receive():
        return messages.pop(0) if messages else await asyncio.Event().wait()
    async def send(message):
        sent.append(message)
        if message["type"] in last and not message.get("more_body"):
            done.set()
    task = asyncio.ensure_future(app(scope, receive, send))
    await asyncio.wait_for(done.wait(), 60)
    return task, sent

async def main():
    life, started = await call({"type": "lifespan", "asgi": {"version": "3.0"}},
                               [{"type": "lifespan.startup"}],
                               {"lifespan.startup.complete", "lifespan.startup.failed"})
    assert started[0]["type"] == "lifespan.startup.complete", started
    request = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1",
               "method": "GET", "path": "/ready", "raw_path": b"/ready", "query_string": b"",
               "headers": [(b"host", b"probe")], "scheme": "http",
               "client": ("127.0.0.1", 1), "server": ("probe", 80), "root_path": ""}
    _, answer = await call(request, [{"type": "http.request", "body": b""}],
                           {"http.response.body"})
    assert answer[0]["status"] == 200, answer
    life.cancel()

asyncio.run(main())
print(" ".join(sorted({m.split(".")[0] for m in sys.modules})))
"""


LAZY = frozenset(
    {"typer", "rich", "segno", "click", "jinja2", "babel", "alembic", "mako", "pygments"}
)


def test_a_served_app_does_not_import_what_only_the_cli_or_the_dashboard_needs(
    tmp_path: Path,
) -> None:
    migrate.upgrade(make_engine(f"sqlite:///{tmp_path}/probe.db"))
    result = subprocess.run(
        [sys.executable, "-c", PROBE, f"{tmp_path}/probe.db"],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    loaded = set(result.stdout.split())
    assert "fastapi" in loaded and "voucherd" in loaded  # the probe did build the app
    assert loaded.isdisjoint(LAZY), loaded & LAZY


def test_every_dialect_still_gives_the_cli_its_commands() -> None:
    from voucherd import dialects

    loaded = dialects.load()
    assert len(loaded) == len(dialects.DIALECTS)
    for module, _command in loaded:
        assert type(dialects.commands(module)).__name__ == "Typer", module.__name__
