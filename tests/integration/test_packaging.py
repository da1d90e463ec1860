"""Packaging: compose.yaml as Docker Compose reads it, the Dockerfile, the lock files, the licence.

``docker-compose config`` (Debian's package, installed by this set-up when missing, as the
browser tests install Chromium) parses, validates and normalises the compose file without a
Docker daemon; the assertions then read its normalised output. No container is run here.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
DEV_ONLY = {"pytest", "mypy", "ruff", "hypothesis", "schemathesis", "playwright", "import-linter"}


def _ensure_docker_compose() -> str:
    found = shutil.which("docker-compose")
    if found:
        return found
    if os.geteuid() != 0 or shutil.which("apt-get") is None:
        pytest.fail("docker-compose is missing: install Debian's docker-compose package")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run(["apt-get", "update", "-qq"], check=False, env=env)
    subprocess.run(["apt-get", "install", "-y", "-qq", "docker-compose"], check=True, env=env)
    found = shutil.which("docker-compose")
    assert found, "apt-get installed docker-compose, but it is not on PATH"
    return found


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    command = _ensure_docker_compose()
    done = subprocess.run(
        [command, "--file", "compose.yaml", "config"],
        cwd=ROOT,
        env={k: v for k, v in os.environ.items() if not k.startswith(("DOCKER_", "COMPOSE_"))},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    config: dict[str, Any] = yaml.safe_load(done.stdout)
    return config


def _command(service: dict[str, Any]) -> str:
    command = service["command"]
    return " ".join(command) if isinstance(command, list) else str(command)


def test_compose_brings_up_postgres_migrations_api_and_worker(compose: dict[str, Any]) -> None:
    services = compose["services"]
    assert set(services) == {"db", "init", "api", "worker"}
    db, init, api, worker = (services[n] for n in ("db", "init", "api", "worker"))

    assert db["image"].startswith("postgres:")
    assert db["healthcheck"]["test"][-1].startswith("pg_isready")
    pg = db["environment"]
    user, password, name = pg["POSTGRES_USER"], pg["POSTGRES_PASSWORD"], pg["POSTGRES_DB"]
    url = f"postgresql://{user}:{password}@db:5432/{name}"
    for service in (init, api, worker):
        assert service["build"]["context"] == str(ROOT)
        assert service["environment"]["VOUCHERD_DATABASE_URL"] == url

    # init: migrate and create the demo client once PostgreSQL answers; the rest wait for it.
    assert init["depends_on"] == {"db": {"condition": "service_healthy"}}
    assert re.search(r"voucherd db upgrade && voucherd bootstrap\b", _command(init))
    assert init["restart"] == "no"
    for service in (api, worker):
        assert service["depends_on"] == {"init": {"condition": "service_completed_successfully"}}

    assert _command(api).startswith("voucherd serve --host 0.0.0.0 --port 8080")
    assert _command(api).endswith("--no-worker")  # the worker service does the background work
    assert [p for p in api["ports"] if str(p).endswith("8080:8080/tcp")]
    assert _command(worker) == "voucherd worker"


def _dockerfile() -> list[str]:
    lines = (ROOT / "Dockerfile").read_text().replace("\\\n", " ").splitlines()
    return [line.strip() for line in lines if line.strip() and not line.startswith("#")]


def test_dockerfile_slim_non_root_runtime_from_the_lock() -> None:
    lines = _dockerfile()
    stages = [line for line in lines if line.startswith("FROM ")]
    assert stages and all(s.split()[1] == "python:3.11-slim" for s in stages)
    final = lines[lines.index(stages[-1]) :]
    users = [line.split()[1] for line in final if line.startswith("USER ")]
    assert users and users[-1].split(":")[0] not in ("root", "0")
    installs = [line for line in lines if "pip install" in line]
    assert any("--require-hashes -r requirements.lock" in line for line in installs)
    assert all("dev" not in line for line in installs)
    assert final[-1].startswith("CMD ") and "serve" in final[-1]
    # Everything the build copies exists and is let through .dockerignore.
    ignore = (ROOT / ".dockerignore").read_text().split()
    allowed = {line[1:].rstrip("/") for line in ignore if line.startswith("!")}
    for line in lines:
        if line.startswith("COPY ") and "--from=" not in line:
            for source in line.split()[1:-1]:
                assert (ROOT / source).exists(), source
                assert source.rstrip("/") in allowed, source


def _pins(lock: Path) -> dict[str, str]:
    text = lock.read_text()
    pins = dict(re.findall(r"^([a-z0-9][a-z0-9._-]*)==([^ ;\\\n]+)", text, re.MULTILINE))
    entries = re.split(r"\n(?=[a-z0-9])", text.split("\n", 2)[2])
    assert all("--hash=sha256:" in entry for entry in entries if "==" in entry), lock
    return pins


def _declared(specs: list[str]) -> dict[str, str]:
    declared = {}
    for spec in specs:
        found = re.match(r"([A-Za-z0-9._-]+)(\[[^\]]*\])?==([^ ;]+)", spec)
        if found:
            declared[found.group(1).lower().replace("_", "-")] = found.group(3)
    return declared


def test_lock_files_pin_what_pyproject_declares() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    runtime = _pins(ROOT / "requirements.lock")
    dev = _pins(ROOT / "requirements-dev.lock")
    for name, version in _declared(project["dependencies"]).items():
        assert runtime.get(name) == version, name
        assert dev.get(name) == version, name
    for name, version in _declared(project["optional-dependencies"]["dev"]).items():
        assert dev.get(name) == version, name
    assert not DEV_ONLY & set(runtime), "a dev-only package in the runtime lock"
    assert set(dev) >= DEV_ONLY
    # The runtime set is a subset of the dev set, at the same versions.
    assert {n: v for n, v in dev.items() if n in runtime} == runtime


def test_make_installs_uv_from_its_own_lock() -> None:
    pinned = re.search(r"^UV_VERSION := (\S+)$", (ROOT / "Makefile").read_text(), re.MULTILINE)
    assert pinned and _pins(ROOT / "requirements-uv.lock") == {"uv": pinned.group(1)}


def test_licence_is_apache_2() -> None:
    licence = (ROOT / "LICENSE").read_text()
    assert "Apache License" in licence and "Version 2.0, January 2004" in licence
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert project["license"] == "Apache-2.0"
    changelog = (ROOT / "CHANGELOG.md").read_text()
    assert "## [Unreleased]" in changelog and "keepachangelog.com" in changelog
