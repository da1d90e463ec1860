"""README.md's "A first voucher", executed as written against a fresh `make run`-like server.

The server is started the way `make run` starts it: `voucherd bootstrap` (migrate, demo client,
./voucherd-demo.env) and `voucherd serve`, in a directory of its own, on a fresh SQLite file.
The block then runs with bash in that directory, unedited; only VOUCHERD_URL points it at the
test's port.
"""

from __future__ import annotations

import re
import shutil
import stat
import subprocess
from pathlib import Path

import httpx
import pytest
from sqlalchemy import text

from tests.ports import free_port
from tests.support import VOUCHERD, clean_env, voucherd_serve, wait_until_serving
from voucherd.db.engine import make_engine

README = Path(__file__).resolve().parents[2] / "README.md"


def quickstart_block(heading: str = "A first voucher") -> str:
    """The first ```sh block under the given heading of README.md."""
    section = README.read_text().split(f"## {heading}", 1)[1].split("\n## ", 1)[0]
    found = re.search(r"```sh\n(.*?)```", section, re.DOTALL)
    assert found, f"README.md: no sh block under {heading!r}"
    return found.group(1)


def dashboard_login(url: str, email: str, password: str) -> httpx.Response:
    """Sign in as a browser does: the login form's CSRF cookie and token, then the POST."""
    with httpx.Client(base_url=url) as client:
        form = client.get("/dashboard/login")
        token = re.search(r'name="csrf" value="([^"]+)"', form.text)
        assert token, form.text
        answer = client.post(
            "/dashboard/login",
            data={"csrf": token.group(1), "email": email, "password": password},
        )
        assert answer.status_code == 303, answer.text
        assert answer.headers["location"] == "/dashboard/"
        return client.get("/dashboard/")


def test_the_readme_quickstart_runs_as_written(tmp_path: Path) -> None:
    for tool in ("bash", "curl", "python3"):
        assert shutil.which(tool), f"the quickstart needs {tool}"
    database_url = f"sqlite:///{tmp_path}/voucherd.db"
    env = clean_env(VOUCHERD_DATABASE_URL=database_url, COLUMNS="40")
    port = free_port()
    boot = subprocess.run(
        [VOUCHERD, "bootstrap", "--url", f"http://127.0.0.1:{port}"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    credentials = tmp_path / "voucherd-demo.env"
    assert stat.S_IMODE(credentials.stat().st_mode) == 0o600
    exports = credentials.read_text().splitlines()[1:]
    assert [line.split("=", 1)[0] for line in exports] == [
        "export VOUCHERD_CLIENT_ID",
        "export VOUCHERD_CLIENT_SECRET",
        "export VOUCHERD_DASHBOARD_EMAIL",
        "export VOUCHERD_DASHBOARD_PASSWORD",
    ]
    secret = exports[1].split("=", 1)[1]
    email, password = (line.split("=", 1)[1] for line in exports[2:])
    # Printed whole on one line each, however narrow the terminal (no Rich wrapping).
    printed = boot.stdout.splitlines()
    assert f"  client_secret: {secret}   (shown once; stored hashed)" in printed
    assert f"Dashboard: http://127.0.0.1:{port}/dashboard/ (demo owner)" in printed
    assert f"  login:         {email}" in printed
    assert f"  password:      {password}   (shown once; stored hashed)" in printed
    assert "  . ./voucherd-demo.env" in boot.stdout.splitlines()

    with voucherd_serve([], port, env, tmp_path, tmp_path / "server.log") as server:
        wait_until_serving(server)
        shell = clean_env(VOUCHERD_URL=server.url)
        done = subprocess.run(
            ["bash", "-e", "-c", quickstart_block()],
            cwd=tmp_path,
            env=shell,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        dashboard = subprocess.run(
            ["bash", "-e", "-c", quickstart_block("The dashboard")],
            cwd=tmp_path,
            env=shell,
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        )
        shown = dict(line.split(":", 1) for line in dashboard.stdout.strip().splitlines())
        assert {k: v.strip() for k, v in shown.items()} == {
            "dashboard": f"{server.url}/dashboard/",
            "login": email,
            "password": password,
        }
        overview = dashboard_login(server.url, email, password)
        log = server.output()
    assert done.returncode == 0, f"{done.stdout}\n{done.stderr}\nserver:\n{log}"
    assert overview.status_code == 200 and "<h1>Overview</h1>" in overview.text
    assert f"{email} (owner)" in overview.text
    lines = done.stdout.strip().splitlines()
    assert lines[-1] == "HTTP 201", done.stdout
    code = lines[0].removeprefix("voucher code: ")
    assert code and code != lines[0]
    engine = make_engine(database_url)
    try:
        with engine.connect() as conn:
            balance = conn.execute(
                text("SELECT balance FROM vouchers WHERE code = :code"), {"code": code}
            ).scalar_one()
    finally:
        engine.dispose()
    assert balance == 3750


@pytest.mark.parametrize("existing", [True, False])
def test_bootstrap_again_points_at_the_credentials(tmp_path: Path, existing: bool) -> None:
    env = clean_env(VOUCHERD_DATABASE_URL=f"sqlite:///{tmp_path}/voucherd.db")

    def bootstrap() -> str:
        return subprocess.run(
            [VOUCHERD, "bootstrap"], cwd=tmp_path, env=env, capture_output=True, text=True,
            timeout=120, check=True,
        ).stdout  # fmt: skip

    first = bootstrap()
    assert "Demo tenant" in first
    if not existing:
        (tmp_path / "voucherd-demo.env").unlink()
    again = bootstrap()
    assert "already has clients" in again
    assert ("voucherd-demo.env" in again) is existing
