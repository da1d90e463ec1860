"""`voucherd bootstrap` prints a demo owner's login; in a real browser it signs in and the
owner reaches the owner's pages (a fresh SQLite database, the server as `make run` starts it)."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

from playwright.sync_api import Browser

from tests.ports import free_port
from tests.support import VOUCHERD, clean_env, voucherd_serve, wait_until_serving


def test_the_printed_demo_login_signs_in(browser: Browser, tmp_path: Path) -> None:
    env = clean_env(VOUCHERD_DATABASE_URL=f"sqlite:///{tmp_path}/voucherd.db")
    port = free_port(offset=23)
    boot = subprocess.run(
        [VOUCHERD, "bootstrap", "--url", f"http://127.0.0.1:{port}"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120, check=True,
    ).stdout  # fmt: skip
    email = re.search(r"^  login:\s+(\S+)$", boot, re.MULTILINE)
    password = re.search(r"^  password:\s+(\S+)   \(shown once; stored hashed\)$", boot, re.M)
    assert email and password, boot
    assert f"http://127.0.0.1:{port}/dashboard/" in boot
    written = (tmp_path / "voucherd-demo.env").read_text()
    assert f"VOUCHERD_DASHBOARD_PASSWORD={password.group(1)}" in written

    with voucherd_serve([], port, env, tmp_path, tmp_path / "server.log") as server:
        wait_until_serving(server)
        context = browser.new_context(locale="en-US", timezone_id="UTC")
        try:
            page = context.new_page()
            page.goto(f"{server.url}/dashboard/login")
            page.get_by_label("Email").fill(email.group(1))
            page.get_by_label("Password").fill(password.group(1))
            page.get_by_role("button", name="Sign in").click()
            page.wait_for_url(f"{server.url}/dashboard/")
            assert f"{email.group(1)} (owner)" in page.content()
            page.get_by_role("link", name="Credentials").click()
            # The demo client bootstrap printed is the one listed (the secret is not).
            client_id = re.search(r"client_id:\s+(\S+)", boot)
            assert client_id
            row = page.locator(f"table[data-kind=api_client] tr[data-id='{client_id.group(1)}']")
            assert row.get_attribute("data-state") == "active"
        finally:
            context.close()
