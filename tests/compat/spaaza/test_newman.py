"""Spaaza's official Postman collection, run with newman against the live server.

The collection (``postman/spaaza_collection.json``, a verbatim copy of the vendor's file, see
``shared/vendor-specs/spaaza_spec/``) is run with an environment this test creates: a chain,
its app hostname, an admin (whose credentials the collection's own "login admin" request uses),
the end user the collection's "login end-user" request logs in as, a loyalty campaign and one
voucher in the right state for each voucher request.

Requests that run, in this order (``RUN``):

* Authentication / ``login admin (sends OTP to email)``: voucherd answers with a session
  directly (no OTP), which the collection's own test script stores in the environment;
* every request of the ``Vouchers`` folder, with that admin session: ``get-user-vouchers``,
  ``get-vouchers``, ``claim-vouchers``, ``create-voucher``, ``claim-voucher``,
  ``expire-voucher``, ``lock-voucher``, ``redeem-voucher``, ``unclaim-voucher``,
  ``unlock-voucher``, ``delete-voucher``;
* Authentication / ``login end-user``, ``get-login-status session-based``, ``logout``.

Not run (``NOT_RUN``): ``session (paste OTP from email)`` (needs an emailed one-time code;
voucherd's login needs none), ``get-cross-site-token`` and ``request-password-reset`` (not
voucher calls, not implemented), and the folders that are not about vouchers.

The vendor's requests carry sample ids from Spaaza's own database in their bodies (a voucher
key, user ids, a member number). Those literal values are replaced by environment variables,
request by request (``REWRITES``); nothing else in the requests is changed. Each request gets
a test script asserting Spaaza's success envelope with its ``result_type``; the JSON report is
then checked again here, call by call, and the engine's state afterwards.
"""

from __future__ import annotations

import contextlib
import copy
import fcntl
import json
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.compat.spaaza.conftest import PASSWORD, World
from voucherd.dialects.spaaza import store
from voucherd.services import vouchers as vouchers_svc
from voucherd.services.changes import VoucherRef
from voucherd.services.unit_of_work import UnitOfWork

HERE = Path(__file__).parent
REPO = Path(__file__).resolve().parents[3]
PREFIX = REPO / ".cache" / "newman"
NEWMAN_VERSION = "6.2.2"
COLLECTION = HERE / "postman" / "spaaza_collection.json"
ENVIRONMENT = HERE / "postman" / "spaaza_environment.json"

SAMPLE_KEY = "04629ca93b11155d6e31830a92acd9b92baee5d878cc1da74b73449cf0467058"
# (folder, request name, result_type)
RUN: list[tuple[str, str, str]] = [
    ("Authentication", "login admin (sends OTP to email)", "login"),
    ("Vouchers", "get-user-vouchers", "get-user-vouchers"),
    ("Vouchers", "get-vouchers", "get-vouchers"),
    ("Vouchers", "claim-vouchers", "claim-vouchers"),
    ("Vouchers", "create-voucher", "create-voucher"),
    ("Vouchers", "claim-voucher", "claim-voucher"),
    ("Vouchers", "expire-voucher", "expire-voucher"),
    ("Vouchers", "lock-voucher", "lock-voucher"),
    ("Vouchers", "redeem-voucher", "redeem-voucher"),
    ("Vouchers", "unclaim-voucher", "unclaim-voucher"),
    ("Vouchers", "unlock-voucher", "unlock-voucher"),
    ("Vouchers", "delete-voucher", "delete-voucher"),
    ("Authentication", "login end-user", "login"),
    ("Authentication", "get-login-status session-based", "get-login-status"),
    ("Authentication", "logout", "logout"),
]
NOT_RUN = {
    "session (paste OTP from email)": "needs an emailed OTP; voucherd's login returns a session",
    "get-cross-site-token": "not a voucher call; not implemented",
    "request-password-reset": "not a voucher call; not implemented",
}
REWRITES: dict[str, dict[str, str]] = {
    "get-user-vouchers": {"3540236": "{{member_number}}"},
    "claim-vouchers": {
        "5555555": "{{user_id}}",
        "1b2bb233bbhhb21b1b1b1212121b21ubiu3243299": "{{voucher_key_bulk}}",
    },
    "create-voucher": {"3540234": "{{user_id}}"},
    "claim-voucher": {SAMPLE_KEY: "{{voucher_key_claim}}", "40223588": "{{user_id}}"},
    "expire-voucher": {SAMPLE_KEY: "{{voucher_key_expire}}", "64443643": "{{user_id}}"},
    "lock-voucher": {SAMPLE_KEY: "{{voucher_key_lock}}"},
    "redeem-voucher": {SAMPLE_KEY: "{{voucher_key_redeem}}"},
    "unclaim-voucher": {SAMPLE_KEY: "{{voucher_key_unclaim}}", "40223588": "{{user_id}}"},
    "unlock-voucher": {SAMPLE_KEY: "{{voucher_key_unlock}}"},
    "delete-voucher": {
        "e84f4f58a3020633680f98ef65f504a97309da600dd68e5b6023c0d4e3f97dbe": (
            "{{voucher_key_delete}}"
        ),
        "3540234": "{{user_id}}",
    },
    "get-login-status session-based": {
        "10745677": "{{session_user_id}}",
        "adbe328af06bc94340145bfed00eac45ac": "{{session_key}}",
    },
}


# --- newman, installed into the project's .cache by the test set-up -------------------------


@contextlib.contextmanager
def _install_lock() -> Iterator[None]:
    PREFIX.parent.mkdir(parents=True, exist_ok=True)
    (PREFIX.parent / ".gitignore").write_text("*\n")
    with open(PREFIX.parent / "newman.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _installed_version(script: Path) -> str | None:
    package = script.parents[1] / "package.json"
    if not script.exists() or not package.exists():
        return None
    return str(json.loads(package.read_text()).get("version"))


@pytest.fixture(scope="session")
def newman() -> list[str]:
    """``node .../newman.js``; installed with npm on first use. Fails (never skips) if it
    cannot be installed."""
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        pytest.fail(
            "the Spaaza Postman test needs Node.js and npm on PATH to install newman "
            f"{NEWMAN_VERSION} (apt-get install nodejs npm)"
        )
    script = PREFIX / "node_modules" / "newman" / "bin" / "newman.js"
    with _install_lock():
        if _installed_version(script) != NEWMAN_VERSION:
            done = subprocess.run(
                [
                    npm,
                    "install",
                    "--prefix",
                    str(PREFIX),
                    "--no-audit",
                    "--no-fund",
                    "--loglevel=error",
                    f"newman@{NEWMAN_VERSION}",
                ],
                capture_output=True,
                text=True,
                timeout=600,
                check=False,
            )
            if done.returncode != 0 or _installed_version(script) != NEWMAN_VERSION:
                pytest.fail(
                    f"could not install newman {NEWMAN_VERSION} with npm into "
                    f"{PREFIX}: exit {done.returncode}\n{done.stderr[-3000:]}"
                )
    return [node, str(script)]


# --- the collection and the environment ------------------------------------------------------


def _find(folder: dict[str, Any], name: str) -> dict[str, Any]:
    for item in folder["item"]:
        if item["name"] == name:
            found: dict[str, Any] = item
            return found
    raise AssertionError(f"request {name!r} is not in folder {folder['name']!r}")


def _envelope_test(result_type: str) -> list[str]:
    return [
        'pm.test("Spaaza success envelope", function () {',
        "    pm.response.to.have.status(200);",
        "    var body = pm.response.json();",
        '    pm.expect(body.result).to.eql({code: 1, status: "ok"});',
        f'    pm.expect(body.results.result_type).to.eql("{result_type}");',
        '    pm.expect(body).to.not.have.property("error");',
        "});",
    ]


def build_collection(vendor: dict[str, Any]) -> dict[str, Any]:
    folders = {f["name"]: f for f in vendor["item"]}
    voucher_names = [item["name"] for item in folders["Vouchers"]["item"]]
    assert sorted(voucher_names) == sorted(n for f, n, _ in RUN if f == "Vouchers"), (
        "the test must run every request of the vendor's Vouchers folder"
    )
    auth_names = {item["name"] for item in folders["Authentication"]["item"]}
    assert auth_names == {n for f, n, _ in RUN if f == "Authentication"} | set(NOT_RUN)
    items = []
    for folder, name, result_type in RUN:
        item = copy.deepcopy(_find(folders[folder], name))
        text = json.dumps(item)
        for literal, variable in REWRITES.get(name, {}).items():
            assert literal in text, f"{name}: sample value {literal} not found in the request"
            text = text.replace(literal, variable)
        item = json.loads(text)
        events = [e for e in item.get("event", []) if e["listen"] != "test"]
        vendor_tests = [
            line
            for e in item.get("event", [])
            if e["listen"] == "test"
            for line in e["script"].get("exec", [])
        ]
        events.append(
            {
                "listen": "test",
                "script": {
                    "type": "text/javascript",
                    "exec": [*vendor_tests, *_envelope_test(result_type)],
                },
            }
        )
        item["event"] = events
        items.append(item)
    return {"info": {**vendor["info"], "name": "Spaaza voucher calls (voucherd)"}, "item": items}


def build_environment(
    vendor: dict[str, Any], world: World, values: dict[str, str]
) -> dict[str, Any]:
    env = copy.deepcopy(vendor)
    overrides = {
        "api_url": str(world.http.base_url).rstrip("/"),
        "admin_username": world.extra["admin_username"],
        "admin_password": PASSWORD,
        "chain_id": str(world.chain_id),
        "app_hostname": world.hostname,
        "session_user_id": "",
        "session_key": "",
        **values,
    }
    known = {v["key"] for v in env["values"]}
    for entry in env["values"]:
        if entry["key"] in overrides:
            entry["value"] = overrides[entry["key"]]
    env["values"].extend(
        {"key": k, "value": v, "enabled": True} for k, v in overrides.items() if k not in known
    )
    return env


def prepare_vouchers(world: World) -> dict[str, str]:
    """One voucher per request, in the state that request needs; returns the variables."""
    keys = {
        "voucher_key_bulk": world.create(claimed=False)["voucher_key"],
        "voucher_key_claim": world.create(claimed=False)["voucher_key"],
    }
    for name in ("expire", "lock", "redeem", "unclaim", "unlock", "delete"):
        keys[f"voucher_key_{name}"] = world.create()["voucher_key"]
    locked = world.call(
        "PUT",
        "/lock-voucher",
        world.as_user(),
        {"voucher_key": keys["voucher_key_unlock"], "retailer_basket_code": "till-7"},
    )
    assert locked.status_code == 200, locked.text
    return {
        **keys,
        "user_id": str(world.user.user_id),
        "member_number": str(world.user.member_number),
        "base_loyalty_campaign_id": str(world.campaign_id),
    }


def _body(execution: dict[str, Any]) -> dict[str, Any]:
    data = bytes(execution["response"]["stream"]["data"])
    parsed: dict[str, Any] = json.loads(data)
    return parsed


def _voucher(world: World, key: str) -> Any:
    with UnitOfWork(world.engine, readonly=True) as uow:
        return vouchers_svc.get(
            uow, store.actor_for(world.chain_id, "test"), VoucherRef(public_id=key)
        )


def test_vendor_collection_runs_against_voucherd(
    world: World, newman: list[str], tmp_path: Path
) -> None:
    vendor = json.loads(COLLECTION.read_text())
    values = prepare_vouchers(world)
    collection = tmp_path / "collection.json"
    environment = tmp_path / "environment.json"
    report = tmp_path / "report.json"
    collection.write_text(json.dumps(build_collection(vendor)))
    environment.write_text(
        json.dumps(build_environment(json.loads(ENVIRONMENT.read_text()), world, values))
    )
    done = subprocess.run(
        [
            *newman,
            "run",
            str(collection),
            "-e",
            str(environment),
            "--reporters",
            "cli,json",
            "--reporter-json-export",
            str(report),
            "--timeout-request",
            "30000",
            "--color",
            "off",
            "--disable-unicode",
        ],
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    output = done.stdout[-6000:] + done.stderr[-2000:]
    assert report.exists(), output
    run = json.loads(report.read_text())["run"]
    executions = run["executions"]
    assert [e["item"]["name"] for e in executions] == [name for _, name, _ in RUN], output
    assert run["failures"] == [], output
    assert run["stats"]["assertions"]["failed"] == 0, output
    assert run["stats"]["assertions"]["total"] >= len(RUN), output
    assert done.returncode == 0, output

    bodies = {e["item"]["name"]: _body(e) for e in executions}
    for execution, (_, name, result_type) in zip(executions, RUN, strict=True):
        body = bodies[name]
        assert execution["response"]["code"] == 200, (name, body)
        assert body["result"] == {"code": 1, "status": "ok"}, (name, body)
        assert body["results"]["result_type"] == result_type, (name, body)
    results = {name: body["results"] for name, body in bodies.items()}
    # What each call did, as the responses say ...
    assert [v["voucher_key"] for v in results["claim-vouchers"]["vouchers"]] == [
        values["voucher_key_bulk"]
    ]
    assert results["claim-vouchers"]["vouchers"][0]["voucher_locked"] is True
    created = results["create-voucher"]
    assert (created["voucher_status"], created["voucher_amount"], created["voucher_text"]) == (
        "claimed",
        50,
        "Your voucher",
    )
    assert results["claim-voucher"]["voucher_status"] == "claimed"
    assert results["expire-voucher"]["voucher_key"] == values["voucher_key_expire"]
    assert results["lock-voucher"]["voucher_retailer_basket_code_exclusive"] == (
        "20190228-test-0001"
    )
    assert results["redeem-voucher"]["voucher_status"] == "redeemed"
    assert results["unclaim-voucher"]["voucher_status"] == "generated"
    assert results["unlock-voucher"]["voucher_locked"] is False
    assert results["delete-voucher"]["voucher_key"] == values["voucher_key_delete"]
    assert len(results["get-user-vouchers"]["basket_vouchers"]) == 8
    assert results["get-vouchers"]["results_count_total"] == 8
    assert results["login end-user"]["session_info"]["session_user_id"] == world.user.user_id
    assert results["get-login-status session-based"]["logged_in"] is True
    # ... and as the engine stores it.
    assert _voucher(world, values["voucher_key_redeem"])["status"] == "redeemed"
    assert _voucher(world, values["voucher_key_expire"])["status"] == "expired"
    assert _voucher(world, values["voucher_key_unclaim"])["holder_id"] is None
    assert _voucher(world, values["voucher_key_claim"])["holder_id"] == world.user.user_id
    assert _voucher(world, values["voucher_key_unlock"])["locked_until"] is None
    with pytest.raises(Exception, match="voucher not found"):
        _voucher(world, values["voucher_key_delete"])
