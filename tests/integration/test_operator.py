"""Operator commands and probes: --version, db current/check, /ready against the expected heads,
and ``serve`` refusing an unmigrated database in one line, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import json
import subprocess
import tomllib
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr
from sqlalchemy import inspect, text
from typer.testing import CliRunner

from tests.conftest import TEST_SECRET_KEY
from tests.support import VOUCHERD, blank_database, clean_env
from voucherd import __version__
from voucherd.api.app import StartupRefused, create_app
from voucherd.cli import app
from voucherd.config import Settings
from voucherd.db import migrate, revisions
from voucherd.db.engine import make_engine

ROOT = Path(__file__).resolve().parents[2]
DIALECTS = ("jtl", "revenue_monster", "shopee", "spaaza")
ALL_HEADS = sorted(revisions.expected_heads(DIALECTS))
CORE_HEAD = next(h for h in ALL_HEADS if not h.startswith(tuple(f"{d}_" for d in DIALECTS)))


def head(dialect: str) -> str:
    return next(h for h in ALL_HEADS if h.startswith(f"{dialect}_"))


def test_one_expected_head_for_the_core_and_each_dialect() -> None:
    assert sorted([CORE_HEAD, *(head(d) for d in DIALECTS)]) == ALL_HEADS
    assert sorted(revisions.expected_heads(["jtl"])) == sorted([CORE_HEAD, head("jtl")])


def cli(url: str, *args: str, dialects: str | None = None) -> tuple[int, str, str]:
    env = {"VOUCHERD_DATABASE_URL": url}
    if dialects is not None:
        env["VOUCHERD_DIALECTS"] = dialects
    result = CliRunner().invoke(app, list(args), env=env)
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture
def blank(database_url: str) -> Iterator[str]:
    with blank_database(database_url) as url:
        yield url


def test_version_is_the_package_version() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    code, out, _ = cli("sqlite://", "--version")
    assert code == 0 and out == f"voucherd {project['version']}\n"
    assert __version__ == project["version"]


def test_db_current_and_check_follow_the_enabled_dialects(blank: str) -> None:
    code, out, _ = cli(blank, "db", "current")
    assert code == 0
    assert json.loads(out) == {
        "at_heads": False,
        "current": [],
        "expected": ALL_HEADS,
        "missing": ALL_HEADS,
        "unknown": [],
    }
    code, out, err = cli(blank, "db", "check")
    assert code == 1 and "voucherd db upgrade" in err
    assert json.loads(out)["missing"] == ALL_HEADS

    engine = make_engine(blank)
    try:
        migrate.upgrade(engine, "jtl@head")  # one dialect, and the core it stands on
        migrate.upgrade(engine, CORE_HEAD)
        code, out, _ = cli(blank, "db", "check")
        assert code == 1
        assert json.loads(out)["missing"] == [
            head(d) for d in ("revenue_monster", "shopee", "spaaza")
        ]
        code, out, _ = cli(blank, "db", "check", dialects="jtl")
        assert code == 0 and json.loads(out)["expected"] == sorted([CORE_HEAD, head("jtl")])

        migrate.upgrade(engine)
        code, out, _ = cli(blank, "db", "check")
        state = json.loads(out)
        assert code == 0 and state["at_heads"] and state["missing"] == []
        assert {head(d) for d in DIALECTS} <= set(state["current"])

        # A revision this build does not know: a newer voucherd migrated the database.
        with engine.begin() as conn:
            conn.execute(text("INSERT INTO alembic_version (version_num) VALUES ('zz_9999')"))
        code, out, err = cli(blank, "db", "check")
        assert code == 1 and json.loads(out)["unknown"] == ["zz_9999"]
        assert "does not know" in err
    finally:
        engine.dispose()


@pytest.mark.parametrize("command", [["db", "check"], ["db", "upgrade"], ["bootstrap"]])
def test_commands_on_a_database_that_does_not_answer(command: list[str]) -> None:
    code, _, err = cli("postgresql://voucherd:pw@127.0.0.1:1/nowhere", *command)
    assert code == 2
    assert err.strip().splitlines() == [
        "error: the database at postgresql+psycopg://voucherd:***@127.0.0.1:1/nowhere"
        " does not answer"
    ]


def _ready(client: TestClient) -> tuple[int, dict[str, Any]]:
    response = client.get("/ready")
    return response.status_code, response.json()


def test_ready_needs_every_enabled_dialects_migration(blank: str) -> None:
    engine = make_engine(blank)
    migrate.upgrade(engine)
    settings = Settings(database_url=blank, secret_key=SecretStr("test-signing-key"))
    try:
        with TestClient(create_app(settings)) as client:
            status, body = _ready(client)
            assert status == 200 and body["status"] == "ready"
            assert {head(d) for d in DIALECTS} <= set(body["schema"])
            migrate.downgrade(engine, "shopee@-1")  # one dialect's tables and revision gone
            status, body = _ready(client)
            assert status == 503 and body["missing"] == [head("shopee")]
            assert "voucherd db upgrade" in body["reason"]
            assert "Error" not in json.dumps(body) and "Exception" not in json.dumps(body)

            # A database migrated by a newer build stays ready (expand, then contract).
            migrate.upgrade(engine)
            with engine.begin() as conn:
                conn.execute(text("INSERT INTO alembic_version (version_num) VALUES ('zz_9999')"))
            assert _ready(client)[0] == 200
            with engine.begin() as conn:
                conn.execute(text("DELETE FROM alembic_version WHERE version_num = 'zz_9999'"))
        disabled = Settings(
            database_url=blank, secret_key=SecretStr("test-signing-key"), dialects="jtl spaaza"
        )
        migrate.downgrade(engine, "shopee@-1")
        with TestClient(create_app(disabled)) as client:
            assert _ready(client)[0] == 200  # shopee is not served, so not expected
    finally:
        engine.dispose()


@pytest.mark.usefixtures("engine")  # the database is migrated
def test_ready_when_the_database_stops_answering(database_url: str) -> None:
    settings = Settings(database_url=database_url, secret_key=SecretStr(TEST_SECRET_KEY))
    with TestClient(create_app(settings)) as client:
        assert _ready(client)[0] == 200
        client.app.state.engine.dispose()  # type: ignore[attr-defined]
        client.app.state.engine = make_engine("postgresql://voucherd@127.0.0.1:1/nowhere")  # type: ignore[attr-defined]
        status, body = _ready(client)
        assert (status, body) == (
            503,
            {"status": "unavailable", "reason": "the database does not answer"},
        )


def test_the_app_starts_on_a_database_that_does_not_answer_yet() -> None:
    """With the signing key configured nothing needs the database to start: the server comes
    up and answers 503 until the database does (the outage tests rely on it)."""
    down = "postgresql://voucherd@127.0.0.1:1/nowhere"
    with TestClient(create_app(Settings(database_url=down, secret_key=SecretStr("k")))) as client:
        status, body = _ready(client)
        assert status == 503 and body["reason"] == "the database does not answer"
    unkeyed = TestClient(create_app(Settings(database_url=down)))  # the key lives in it
    with pytest.raises(StartupRefused, match="does not answer"), unkeyed:
        pass


def _serve(url: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """The installed ``voucherd serve``; it must refuse before it starts serving."""
    return subprocess.run(
        [VOUCHERD, "serve", "--port", "9", "--database-url", url],
        env=clean_env(),
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_serve_refuses_an_unmigrated_database_in_one_line(blank: str, tmp_path: Path) -> None:
    done = _serve(blank, tmp_path)
    assert done.returncode == 2
    lines = (done.stdout + done.stderr).strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith("error: the database at ")
    assert lines[0].endswith("run `voucherd db upgrade`")
    engine = make_engine(blank)
    try:
        assert inspect(engine).get_table_names() == []  # nothing was written, no signing key
    finally:
        engine.dispose()

    nowhere = _serve("postgresql://voucherd@127.0.0.1:1/nowhere", tmp_path)
    assert nowhere.returncode == 2
    assert len(nowhere.stderr.strip().splitlines()) == 1 and "does not answer" in nowhere.stderr


def test_app_startup_refuses_a_partly_migrated_database_in_one_line(blank: str) -> None:
    """Without ``serve``'s check (uvicorn run directly): the startup refuses before writing."""
    engine = make_engine(blank)
    try:
        migrate.upgrade(engine, "jtl@head")
        app_ = create_app(Settings(database_url=blank))
        sent: list[dict[str, Any]] = []

        async def receive() -> dict[str, Any]:
            return {"type": "lifespan.startup"}

        async def send(message: dict[str, Any]) -> None:
            sent.append(message)

        scope = {"type": "lifespan", "asgi": {"version": "3.0"}}
        # A thread of its own: no other test's event loop can be running there.
        with ThreadPoolExecutor(1) as thread, pytest.raises(StartupRefused):
            thread.submit(asyncio.run, app_(scope, receive, send)).result()  # type: ignore[arg-type]
        assert [m["type"] for m in sent] == ["lifespan.startup.failed"]
        message = sent[0]["message"]
        assert "\n" not in message and "Traceback" not in message
        assert message.endswith("run `voucherd db upgrade`")
        assert head("shopee") in message
        with engine.connect() as conn:
            assert conn.execute(text("SELECT COUNT(*) FROM instance_secrets")).scalar_one() == 0
    finally:
        engine.dispose()
