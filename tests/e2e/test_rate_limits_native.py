"""Rate limits and PIN lockouts on the native face, across two server processes.

Budgets of failed attempts (client secrets, codes, PINs) per client address and per
credential, their 429 with Retry-After in the face's problem shape, another client still
served, recovery after the window, and a voucher's PIN lockout with the operator's reset.
"""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import httpx
import pytest
from sqlalchemy import Engine, select

from tests.conftest import TenantFixture, make_tenant
from tests.e2e.limits_support import (
    BUDGET,
    LOCKOUT,
    WINDOW,
    Client,
    assert_stopped,
    burst,
    new_address,
    settings_env,
    wait_out,
)
from tests.support import VOUCHERD, Server
from voucherd.db.tables import events


@pytest.fixture
def servers(limited_servers: tuple[Server, Server]) -> tuple[Server, Server]:
    return limited_servers


def _token(servers: tuple[Server, Server], tenant: TenantFixture, address: str) -> str:
    response = httpx.post(
        servers[0].url + "/oauth/token",
        data={"grant_type": "client_credentials"},
        auth=(tenant.client_id, tenant.client_secret),
        headers={"X-Forwarded-For": address},
    )
    assert response.status_code == 200, response.text
    return str(response.json()["access_token"])


def _caller(servers: tuple[Server, Server], engine: Engine) -> tuple[Client, TenantFixture]:
    tenant = make_tenant(engine)
    address = new_address()
    return Client(servers, address, _token(servers, tenant, address)), tenant


def _voucher(client: Client, **fields: object) -> dict[str, object]:
    body = {"kind": "stored_value", "currency": "EUR", "amount": 5000, "active": True, **fields}
    response = client.request("POST", "/v1/vouchers", json=body)
    assert response.status_code == 201, response.text
    return dict(response.json())


def _assert_429(response: httpx.Response) -> None:
    assert response.status_code == 429, response.text
    assert int(response.headers["Retry-After"]) >= 1
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["code"] == "too_many_attempts"


def test_wrong_codes_are_stopped_within_the_budget(
    servers: tuple[Server, Server], engine: Engine
) -> None:
    guesser, _ = _caller(servers, engine)
    real = _voucher(guesser)

    def guess(i: int) -> httpx.Response:
        return guesser.request("POST", "/v1/vouchers/lookup", json={"code": f"NOPE{i:08d}"})

    statuses = burst(guess)
    # Alternating between the two processes: BUDGET misses answered 404, the next one 429.
    assert_stopped(statuses, 404)
    refused = guess(99)
    _assert_429(refused)
    # The budget guards the lookup itself: even the right code waits now ...
    right = guesser.request("POST", "/v1/vouchers/lookup", json={"code": real["code"]})
    assert right.status_code == 429
    # ... as do charges by code, while another client (its own address and credential) is
    # served.
    charge = {"code": real["code"], "amount": 100, "currency": "EUR"}
    assert guesser.request("POST", "/v1/charges", json=charge).status_code == 429
    other, _ = _caller(servers, engine)
    theirs = _voucher(other)
    found = other.request("POST", "/v1/vouchers/lookup", json={"code": theirs["code"]})
    assert found.status_code == 200, found.text
    # After the window the guesser's right code is served again.
    back = wait_out(
        lambda: guesser.request("POST", "/v1/vouchers/lookup", json={"code": real["code"]})
    )
    assert back.status_code == 200, back.text


def test_a_till_that_mistypes_is_never_blocked(
    servers: tuple[Server, Server], engine: Engine
) -> None:
    till, _ = _caller(servers, engine)
    real = _voucher(till)
    for round_ in range(3):
        # Two typos, then the right code; more misses in all than the budget, but at a till's
        # pace: no window ever holds more than two rounds.
        for typo in range(2):
            miss = till.request("POST", "/v1/vouchers/lookup", json={"code": f"T{round_}{typo}"})
            assert miss.status_code == 404
        hit = till.request("POST", "/v1/vouchers/lookup", json={"code": real["code"]})
        assert hit.status_code == 200
        time.sleep(WINDOW * 0.6)


def test_the_budget_is_per_credential_too(servers: tuple[Server, Server], engine: Engine) -> None:
    """A script that changes its address each time is still stopped by its credential."""
    guesser, _ = _caller(servers, engine)
    statuses = []
    for i in range(3 * BUDGET):
        hopping = Client(servers, new_address(), guesser.token)
        response = hopping.request("POST", "/v1/vouchers/lookup", json={"code": f"HOP{i:06d}"})
        statuses.append(response.status_code)
        if response.status_code == 429:
            break
    assert_stopped(statuses, 404)


def test_wrong_client_secrets_are_stopped(servers: tuple[Server, Server], engine: Engine) -> None:
    tenant = make_tenant(engine)
    address = new_address()
    turn = Client(servers, address)

    def attempt(i: int) -> httpx.Response:
        return turn.request(
            "POST",
            "/oauth/token",
            data={"grant_type": "client_credentials"},
            auth=(tenant.client_id, f"wrong-{i}"),
        )

    statuses = burst(attempt)
    assert_stopped(statuses, 401)
    refused = attempt(99)
    assert refused.status_code == 429
    assert int(refused.headers["Retry-After"]) >= 1
    assert refused.json()["error"] == "slow_down"
    # The right secret from this address waits too; another client elsewhere is served.
    right = turn.request(
        "POST",
        "/oauth/token",
        data={"grant_type": "client_credentials"},
        auth=(tenant.client_id, tenant.client_secret),
    )
    assert right.status_code == 429
    other = make_tenant(engine)
    _token(servers, other, new_address())

    def again() -> httpx.Response:
        return turn.request(
            "POST",
            "/oauth/token",
            data={"grant_type": "client_credentials"},
            auth=(tenant.client_id, tenant.client_secret),
        )

    assert wait_out(again).status_code == 200


def test_wrong_pins_spend_the_pin_budget(servers: tuple[Server, Server], engine: Engine) -> None:
    caller, _ = _caller(servers, engine)
    # One wrong PIN on each of many vouchers: no voucher locks, the budget stops the caller.
    cards = [_voucher(caller, pin="4321") for _ in range(BUDGET + 3)]

    def wrong(i: int) -> httpx.Response:
        body = {"voucher_id": cards[i]["id"], "amount": 100, "currency": "EUR", "pin": "0000"}
        return caller.request("POST", "/v1/charges", json=body)

    statuses = burst(wrong, limit=BUDGET + 3)
    assert_stopped(statuses, 403)
    _assert_429(wrong(0))


def test_a_voucher_pin_locks_and_the_operator_unlocks_it(
    servers: tuple[Server, Server], engine: Engine, database_url: str, tmp_path: Path
) -> None:
    owner, tenant = _caller(servers, engine)
    card = _voucher(owner, pin="4321")

    def charge(pin: str, client: Client) -> httpx.Response:
        body = {"voucher_id": card["id"], "amount": 100, "currency": "EUR", "pin": pin}
        return client.request("POST", "/v1/charges", json=body)

    # LOCKOUT wrong PINs in a row, each from another address (no caller budget is spent).
    for _ in range(LOCKOUT):
        refused = charge("0000", Client(servers, new_address(), owner.token))
        assert refused.status_code == 403
        assert refused.json()["code"] == "invalid_pin"
    locked = charge("4321", owner)
    assert locked.status_code == 403
    assert locked.json()["code"] == "pin_locked"
    with engine.connect() as conn:
        trail = conn.execute(
            select(events.c.operation, events.c.actor).where(
                events.c.tenant_id == tenant.id, events.c.subject_id == card["id"]
            )
        ).all()
    assert ("pin_locked", "system:pin-lockout") in [tuple(row) for row in trail]
    done = subprocess.run(
        [VOUCHERD, "voucher", "unlock-pin", "--tenant", str(tenant.id), "--id", str(card["id"])],
        env=settings_env(database_url),
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert '"was_locked": true' in done.stdout
    served = charge("4321", owner)
    assert served.status_code == 201, served.text


def test_right_pins_reset_the_count(servers: tuple[Server, Server], engine: Engine) -> None:
    owner, _ = _caller(servers, engine)
    card = _voucher(owner, pin="4321")

    def charge(pin: str) -> httpx.Response:
        body = {"voucher_id": card["id"], "amount": 10, "currency": "EUR", "pin": pin}
        return Client(servers, new_address(), owner.token).request("POST", "/v1/charges", json=body)

    # Without the reset, the second round's wrong PINs would lock the voucher.
    for _ in range(2):
        for _ in range(LOCKOUT - 1):
            assert charge("0000").status_code == 403
        assert charge("4321").status_code == 201


def test_code_policy_refuses_small_code_spaces(
    servers: tuple[Server, Server], engine: Engine
) -> None:
    caller, _ = _caller(servers, engine)
    body = {
        "name": "Small",
        "template": {"currency": "EUR", "amount": 1000},
        "codes": {"pattern": "####-####"},  # 39.6 bits
    }
    refused = caller.request("POST", "/v1/campaigns", json=body)
    assert refused.status_code == 422, refused.text
    assert refused.json()["code"] == "code_space_too_small"
    printed = caller.request("POST", "/v1/campaigns", json={**body, "pin_protected": True})
    assert printed.status_code == 201, printed.text
    assert printed.json()["pin_protected"] is True


def test_a_wrong_check_character_is_a_miss(servers: tuple[Server, Server], engine: Engine) -> None:
    caller, _ = _caller(servers, engine)
    campaign = caller.request(
        "POST",
        "/v1/campaigns",
        json={
            "name": "Checked",
            "template": {"currency": "EUR", "amount": 1000},
            "codes": {"pattern": "CK-#####-#####", "check_char": True},
            "activate_on_create": True,
        },
    )
    assert campaign.status_code == 201, campaign.text
    made = caller.request(
        "POST", f"/v1/campaigns/{campaign.json()['id']}/generate", json={"count": 1}
    )
    assert made.status_code == 201, made.text
    listed = caller.request("GET", "/v1/vouchers", params={"campaign_id": campaign.json()["id"]})
    voucher_id = listed.json()["data"][0]["id"]
    code = caller.request("GET", f"/v1/vouchers/{voucher_id}/secret").json()["code"]
    others = [c for c in "23456789ABCDEFGHJKMNPQRSTUVWXYZ" if c != code[-1]]

    def mistyped(i: int) -> httpx.Response:
        return caller.request("POST", "/v1/vouchers/lookup", json={"code": code[:-1] + others[i]})

    # Each wrong check character is not found and spends the guess budget.
    assert_stopped(burst(mistyped), 404)
    assert (
        wait_out(
            lambda: caller.request("POST", "/v1/vouchers/lookup", json={"code": code})
        ).status_code
        == 200
    )
