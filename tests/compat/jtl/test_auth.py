"""Token endpoint, Bearer checks per scope, PIN connect and the ``voucherd jtl pin`` command."""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime, timedelta

import httpx
from sqlalchemy import select, update
from typer.testing import CliRunner

from tests.compat.jtl.conftest import Jtl, connect, error, invalid, issue_pin
from tests.conftest import Api, LiveServer, TenantFixture, authority
from voucherd.db.tables import clients
from voucherd.dialects.jtl.cli import cli
from voucherd.dialects.jtl.tables import jtl_client_types, jtl_connect_pins
from voucherd.domain.scopes import Scope
from voucherd.services import tokens


def _oauth(error_code: str, description: str) -> dict[str, str]:
    return {"error": error_code, "error_description": description}


def test_token_errors_are_standard_oauth(live_server: LiveServer, jtl: Jtl) -> None:
    http = jtl.http
    cases = [
        ({"client_id": jtl.client_id}, 400, _oauth("invalid_request", "grant_type is required")),
        (
            {"grant_type": "password"},
            400,
            _oauth("unsupported_grant_type", "only client_credentials is supported"),
        ),
        (
            {
                "grant_type": "client_credentials",
                "client_id": jtl.client_id,
                "client_secret": "wrong",
            },
            401,
            _oauth("invalid_client", "client authentication failed"),
        ),
        (
            {
                "grant_type": "client_credentials",
                "client_id": jtl.client_id,
                "client_secret": jtl.secret,
                "scope": "read fly",
            },
            400,
            _oauth("invalid_scope", "unknown scope 'fly'"),
        ),
        (
            {
                "grant_type": "client_credentials",
                "client_id": jtl.client_id,
                "client_secret": jtl.secret,
                "client_type": "x" * 33,
            },
            400,
            _oauth("invalid_request", "client_type may be at most 32 characters"),
        ),
    ]
    for form, status, body in cases:
        response = http.post("/oauth/token", data=form)
        assert (response.status_code, response.json()) == (status, body), form
        assert response.headers["cache-control"] == "no-store"
    as_json = http.post("/oauth/token", json={"grant_type": "client_credentials"})
    assert as_json.status_code == 400
    assert as_json.json() == _oauth(
        "invalid_request", "send the request as application/x-www-form-urlencoded"
    )


def test_scope_subset_client_type_and_basic_auth(
    live_server: LiveServer, tenant: TenantFixture
) -> None:
    pos = connect(live_server, tenant.id, frozenset({Scope.READ, Scope.USE}))
    too_much = pos.token(scope="read manage")
    assert too_much.status_code == 400
    assert too_much.json() == _oauth("invalid_scope", "not granted to this client: manage")
    ok = pos.http.post(
        "/oauth/token",
        auth=(pos.client_id, pos.secret),
        data={"grant_type": "client_credentials", "scope": "read", "client_type": "my_pos"},
    )
    assert ok.status_code == 200 and ok.json()["scope"] == "read"
    pos.login(client_type="my_pos")
    with live_server.engine.connect() as conn:
        stats = conn.execute(
            select(jtl_client_types.c.client_type, jtl_client_types.c.tokens).where(
                jtl_client_types.c.client_id == pos.client_id
            )
        ).all()
        kind = conn.execute(
            select(clients.c.kind).where(clients.c.id == pos.client_id)
        ).scalar_one()
    assert [tuple(s) for s in stats] == [("my_pos", 2)]
    assert kind == "jtl"
    pos.http.close()


def test_bearer_errors(live_server: LiveServer, tenant: TenantFixture) -> None:
    pos = connect(live_server, tenant.id, frozenset({Scope.READ, Scope.MANAGE}))
    anonymous = pos.get("/vouchers/X")
    assert anonymous.status_code == 401
    assert anonymous.json() == error(401, "AUTH.UNAUTHENTICATED", "Unauthenticated.")
    assert anonymous.headers["www-authenticate"] == 'Bearer realm="jtl"'
    # A native token is not valid here (other audience), nor is a forged one.
    native = Api(live_server.url, tenant.client_id, tenant.client_secret)
    for token in (native.token, native.token[:-2] + "xx", "garbage"):
        refused = pos.get("/vouchers/X", headers={"Authorization": f"Bearer {token}"})
        assert refused.status_code == 401
        assert refused.json() == error(401, "AUTH.TOKEN_INVALID", "The access token is invalid.")
    native.close()
    past = int((datetime.now(UTC) - timedelta(seconds=5)).timestamp())
    expired = authority(live_server).issue(
        tokens.Claims(tenant.id, pos.client_id, frozenset({Scope.READ}), "jtl", past)
    )
    stale = pos.get("/vouchers/X", headers={"Authorization": f"Bearer {expired}"})
    assert stale.status_code == 401
    assert stale.json() == error(401, "AUTH.TOKEN_EXPIRED", "The access token has expired.")
    pos.login()
    voucher = pos.voucher(status="inactive")
    forbidden = [
        pos.get(f"/vouchers/{voucher['id']}/complete"),
        pos.get("/vouchers"),
        pos.patch(f"/vouchers/{voucher['id']}/status", {"status": "active"}),
        pos.patch(f"/vouchers/{voucher['id']}", {"sku": "A"}),
        pos.post(
            "/vouchers/recharge",
            {"amount": "1.00", "currency": "EUR", "order_number": "1", "id": voucher["id"]},
        ),
    ]
    needed = ["read-secrets", "read-lists", "use", "update", "recharge"]
    for response, scope in zip(forbidden, needed, strict=True):
        assert response.status_code == 403
        assert response.json() == error(
            403, "AUTH.INSUFFICIENT_SCOPE", f"This action requires the scope(s): {scope}."
        )
    assert pos.get(f"/vouchers/{voucher['id']}").status_code == 200
    pos.http.close()


def test_connect_errors_and_single_use(live_server: LiveServer, tenant: TenantFixture) -> None:
    http = httpx.Client(base_url=f"{live_server.url}/jtl", timeout=60)
    missing = http.post("/v1/clients/connect", json={})
    assert missing.json() == invalid(
        "CLIENT.CONNECT", ("pin", "required", "The pin field is required.")
    )
    assert missing.json()["errors"][0]["code"] == "CLIENT.CONNECT.PIN.REQUIRED"
    no_body = http.post("/v1/clients/connect")
    assert (no_body.status_code, no_body.json()) == (422, missing.json())
    number = http.post("/v1/clients/connect", json={"pin": 123456})
    assert number.status_code == 422
    assert number.json() == invalid(
        "CLIENT.CONNECT", ("pin", "string", "The pin must be a string.")
    )
    assert number.json()["errors"][0]["code"] == "CLIENT.CONNECT.PIN.STRING"
    bad_pin = invalid(
        "CLIENT.CONNECT", ("pin", "valid_pin", "The pin is invalid, expired or already used.")
    )
    assert http.post("/v1/clients/connect", json={"pin": "NOPE"}).json() == bad_pin
    pin = issue_pin(live_server.engine, tenant.id)
    assert http.post("/v1/clients/connect", json={"pin": pin}).status_code == 200
    again = http.post("/v1/clients/connect", json={"pin": pin})
    assert (again.status_code, again.json()) == (422, bad_pin)
    old = issue_pin(live_server.engine, tenant.id)
    with live_server.engine.begin() as conn:
        conn.execute(
            update(jtl_connect_pins)
            .where(jtl_connect_pins.c.tenant_id == tenant.id, jtl_connect_pins.c.used_at.is_(None))
            .values(expires_at=datetime.now(UTC) - timedelta(seconds=1))
        )
    assert http.post("/v1/clients/connect", json={"pin": old}).json() == bad_pin
    http.close()


def test_concurrent_connects_with_one_pin_yield_one_client(
    live_server: LiveServer, tenant: TenantFixture
) -> None:
    pin = issue_pin(live_server.engine, tenant.id)
    statuses: list[int] = []
    gate = threading.Barrier(4)

    def attempt() -> None:
        with httpx.Client(base_url=f"{live_server.url}/jtl", timeout=60) as http:
            gate.wait()
            statuses.append(http.post("/v1/clients/connect", json={"pin": pin}).status_code)

    threads = [threading.Thread(target=attempt) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(statuses) == [200, 422, 422, 422]
    with live_server.engine.connect() as conn:
        made = conn.execute(
            select(clients.c.id).where(clients.c.tenant_id == tenant.id, clients.c.kind == "jtl")
        ).all()
    assert len(made) == 1


def test_cli_pin_prints_json_and_the_pin_connects(
    live_server: LiveServer, tenant: TenantFixture
) -> None:
    url = live_server.engine.url.render_as_string(hide_password=False)
    before = datetime.now(UTC)
    result = CliRunner().invoke(
        cli, ["pin", "--tenant", str(tenant.id), "--scopes", "read use", "--database-url", url]
    )
    assert result.exit_code == 0, result.output
    after = datetime.now(UTC)
    printed = json.loads(result.stdout)
    assert set(printed) == {"pin", "expires_at", "tenant_id", "scopes"}
    assert printed["scopes"] == ["read", "use"] and len(printed["pin"]) == 8
    expires = datetime.fromisoformat(printed["expires_at"])
    assert before + timedelta(minutes=30) <= expires <= after + timedelta(minutes=30)
    with httpx.Client(base_url=f"{live_server.url}/jtl") as http:
        client = http.post("/v1/clients/connect", json={"pin": printed["pin"]}).json()
    assert client["scopes"] == ["read", "use"]
    unknown = CliRunner().invoke(cli, ["pin", "--tenant", "999999", "--database-url", url])
    assert unknown.exit_code == 2 and "not_found" in unknown.output
    bad = CliRunner().invoke(
        cli, ["pin", "--tenant", str(tenant.id), "--scopes", "fly", "--database-url", url]
    )
    assert bad.exit_code == 2 and "unknown scope" in bad.output
