"""Login, sessions and every authentication failure, with Spaaza's exact error bodies."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.compat.spaaza.conftest import (
    END_USER_PASSWORD,
    PASSWORD,
    World,
    error_envelope,
    login,
    ok_envelope,
)
from tests.conftest import LiveServer
from voucherd.dialects.spaaza.cli import cli as spaaza_cli

NO_VALID_SESSION = {
    "result": {"code": 2, "status": "error"},
    "error": {
        "code": 6,
        "name": "no_valid_session",
        "description": "The user needs to be logged in and a valid session key needs to be sent",
    },
}
PERMISSION_DENIED = {
    "result": {"code": 2, "status": "error"},
    "error": {
        "code": 68,
        "name": "permission_denied_or_non_existent",
        "description": "This user has insufficient permissions for this object or the "
        "object does not exist.",
    },
}
NO_MYPRICE_APP = {
    "result": {"code": 2, "status": "error"},
    "error": {"code": 269, "name": "no_myprice_app", "description": "Myprice app is required"},
}
PASSWORD_ERROR = {
    "result": {"code": 2, "status": "error"},
    "error": {
        "code": 5,
        "name": "password_error_or_non_existent",
        "description": "The username or password is unknown.",
    },
}


def test_login_status_and_logout(world: World) -> None:
    admin = login(world.http, world.extra["admin_username"], PASSWORD)  # no app: admins only
    assert admin.user_id == world.admin.user_id and len(admin.key) == 64
    fresh = login(world.http, "test49800020190228@example.com", END_USER_PASSWORD, world.hostname)
    assert fresh.user_id == world.user.user_id
    world.user = fresh
    listed = world.http.get("/get-user-vouchers", headers=world.as_user())
    assert ok_envelope(listed, "get-user-vouchers")["user_id"] == fresh.user_id
    status = world.http.get(
        "/auth/get-login-status",
        params={"user_id": world.user.user_id, "session_key": world.user.key},
    )
    results = ok_envelope(status, "get-login-status")
    assert results["logged_in"] is True
    assert results["session_info"]["session_user_id"] == world.user.user_id
    out = world.http.delete("/auth/logout", headers=world.as_user())
    ok_envelope(out, "logout")
    # The session is gone: status, logout and voucher calls now refuse it.
    again = world.http.get(
        "/auth/get-login-status",
        params={"user_id": world.user.user_id, "session_key": world.user.key},
    )
    assert (again.status_code, again.json()) == (401, NO_VALID_SESSION)
    assert world.http.delete("/auth/logout", headers=world.as_user()).json() == NO_VALID_SESSION
    listed = world.http.get("/get-user-vouchers", headers=world.as_user())
    assert (listed.status_code, listed.json()) == (401, NO_VALID_SESSION)


def test_login_failures(world: World) -> None:
    wrong = world.http.post(
        "/auth/login", data={"username": world.extra["admin_username"], "password": "nope"}
    )
    assert (wrong.status_code, wrong.json()) == (401, PASSWORD_ERROR)
    unknown = world.http.post(
        "/auth/login", data={"username": "nobody@example.com", "password": PASSWORD}
    )
    assert (unknown.status_code, unknown.json()) == (401, PASSWORD_ERROR)
    # An end user logs in only through an app (hostname); without one only admins can.
    no_app = world.http.post(
        "/auth/login",
        data={"username": "test49800020190228@example.com", "password": "blablabla1234"},
    )
    assert (no_app.status_code, no_app.json()) == (401, PASSWORD_ERROR)
    bad_app = world.http.post(
        "/auth/login",
        data={"username": "x", "password": "y"},
        headers={"X-Spaaza-MyPrice-App-Hostname": "nope.example"},
    )
    error_envelope(bad_app, 400, 269, "no_myprice_app")


def test_legacy_header_names(world: World) -> None:
    voucher = world.create()
    for user_header, key_header, host_header in (
        ("session-user-id", "session-key", "X-MyPrice-App-Hostname"),
        ("session_user_id", "session_key", "X-MyPrice-App-Hostname"),
    ):
        headers = {
            user_header: str(world.user.user_id),
            key_header: world.user.key,
            host_header: world.hostname,
        }
        response = world.http.put(
            "/lock-voucher",
            headers=headers,
            data={"voucher_key": voucher["voucher_key"], "retailer_basket_code": "B-legacy"},
        )
        assert ok_envelope(response, "lock-voucher")["voucher_locked"] is True


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"X-Spaaza-Session-User-Id": "1"},
        {"X-Spaaza-Session-Key": "abc"},
        {"X-Spaaza-Session-User-Id": "not-a-number", "X-Spaaza-Session-Key": "abc"},
    ],
    ids=["no-headers", "no-key", "no-user", "bad-user-id"],
)
def test_missing_session(world: World, headers: dict[str, str]) -> None:
    response = world.http.put(
        "/claim-voucher", headers=headers, data={"voucher_id": "1", "user_id": "1"}
    )
    assert (response.status_code, response.json()) == (401, NO_VALID_SESSION)


def test_auth_failures_exact_bodies(world: World) -> None:
    voucher = world.create()
    key = voucher["voucher_key"]
    form = {"voucher_key": key, "user_id": str(world.user.user_id), "chain_id": str(world.chain_id)}

    def put(headers: dict[str, str], data: dict[str, str] | None = None) -> tuple[int, object]:
        response = world.http.put("/claim-voucher", headers=headers, data=data or form)
        return response.status_code, response.json()

    # wrong session key, of a user and of an admin
    assert put({**world.as_user(), "X-Spaaza-Session-Key": "0" * 64}) == (401, NO_VALID_SESSION)
    assert put({**world.as_admin(), "X-Spaaza-Session-Key": "0" * 64}) == (401, NO_VALID_SESSION)
    # a session key of somebody else
    assert put({**world.as_user(), "X-Spaaza-Session-Key": world.other.key}) == (
        401,
        NO_VALID_SESSION,
    )
    # user authentication needs the app hostname, of an existing app, of the user's chain
    user_headers = world.as_user()
    del user_headers["X-Spaaza-MyPrice-App-Hostname"]
    assert put(user_headers) == (400, NO_MYPRICE_APP)
    unknown_app = {**world.as_user(), "X-Spaaza-MyPrice-App-Hostname": "unknown.example"}
    assert put(unknown_app)[1]["error"]["code"] == 269  # type: ignore[index]
    # privileged: bad token; no chain named at all
    assert put({"Authorization": "Bearer spz_wrong"}) == (401, NO_VALID_SESSION)
    no_chain = {k: v for k, v in form.items() if k != "chain_id"}
    assert put({"Authorization": f"Bearer {world.token}"}, no_chain)[0] == 400
    assert put({"Authorization": f"Bearer {world.token}"}, no_chain)[1]["error"]["code"] == 269  # type: ignore[index]
    # privileged and admin on a chain they have no rights on
    foreign = {**form, "chain_id": str(world.chain_id + 10_000)}
    assert put({"Authorization": f"Bearer {world.token}"}, foreign) == (500, PERMISSION_DENIED)
    assert put(world.as_admin(), foreign) == (500, PERMISSION_DENIED)
    # the voucher is unchanged by all of this
    listed = world.http.get(
        "/get-vouchers",
        headers=world.as_admin(),
        params={"chain_id": world.chain_id, "voucher_id": voucher["voucher_id"]},
    )
    assert ok_envelope(listed, "get-vouchers")["vouchers"][0]["voucher_status"] == "claimed"


def test_admin_of_another_chain_is_refused(world: World, live_server: LiveServer) -> None:
    from tests.compat.spaaza.conftest import make_world

    elsewhere = make_world(live_server)
    try:
        voucher = world.create()
        response = world.http.put(
            "/claim-voucher",
            headers=elsewhere.as_admin(),
            data={
                "voucher_key": voucher["voucher_key"],
                "user_id": str(world.user.user_id),
                "chain_id": str(world.chain_id),
            },
        )
        assert (response.status_code, response.json()) == (500, PERMISSION_DENIED)
        # with its own chain_id it cannot see the voucher either
        response = world.http.put(
            "/claim-voucher",
            headers=elsewhere.as_admin(),
            data={
                "voucher_key": voucher["voucher_key"],
                "user_id": str(elsewhere.user.user_id),
                "chain_id": str(elsewhere.chain_id),
            },
        )
        error_envelope(response, 404, 183, "voucher_not_found")
    finally:
        elsewhere.http.close()


def test_cli_prints_json(live_server: LiveServer) -> None:
    runner = CliRunner()
    url = live_server.settings.database_url

    def run(*args: str) -> dict[str, object]:
        result = runner.invoke(spaaza_cli, [*args, "--database-url", url])
        assert result.exit_code == 0, result.output
        parsed: dict[str, object] = json.loads(result.stdout)
        return parsed

    chain = run("chain", "create", "--name", "CLI chain")
    chain_id = str(chain["chain_id"])
    host = f"cli-{chain_id}.spaaza.test"
    assert run("app", "create", "--chain", chain_id, "--hostname", host)["hostname"] == host
    user = run(
        "user",
        "create",
        "--chain",
        chain_id,
        "--username",
        "cli@example.com",
        "--password",
        "pw-1",
        "--member-number",
        "CLI-1",
    )
    admin = run(
        "user",
        "create",
        "--chain",
        chain_id,
        "--username",
        f"cli-admin-{chain_id}",
        "--password",
        "pw-2",
        "--admin",
    )
    assert isinstance(user["user_id"], int) and admin["admin"] is True
    campaign = run("campaign", "create", "--chain", chain_id, "--type", "wallet", "--title", "W")
    assert isinstance(campaign["campaign_id"], int)
    token = run("privileged-token", "create", "--chain", chain_id)["token"]
    assert isinstance(token, str) and len(token) > 32
    bad = runner.invoke(
        spaaza_cli,
        [
            "campaign",
            "create",
            "--chain",
            chain_id,
            "--type",
            "nonsense",
            "--title",
            "x",
            "--database-url",
            url,
        ],
    )
    assert bad.exit_code == 2
    # and the command is wired into the real `voucherd` entry point
    voucherd = Path(sys.executable).with_name("voucherd")
    done = subprocess.run(
        [str(voucherd), "spaaza", "chain", "create", "--name", "Real CLI", "--database-url", url],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert isinstance(json.loads(done.stdout)["chain_id"], int)
