"""Signing-key rotation (issue 10, item 4): tokens are JWTs naming their key in ``kid``.

``voucherd keys rotate`` adds a key; the server signs new tokens with it once it has read the
keys again (within a second or so; the test polls with a deadline). Tokens signed with the
older key keep working until they expire; a revoked key ends the tokens it signed.
"""

from __future__ import annotations

import json
import time
from typing import Any

import jwt
from sqlalchemy import Engine
from typer.testing import CliRunner

from tests.conftest import TEST_SECRET_KEY, Api, LiveServer, TenantFixture
from voucherd.cli import app
from voucherd.services import keys
from voucherd.services.unit_of_work import utcnow

DEADLINE_SECONDS = 5.0


def _cli(database_url: str, *args: str) -> Any:
    """``voucherd keys ARGS``, in-process (the CLI tests' way), answering its JSON."""
    env = {"VOUCHERD_DATABASE_URL": database_url, "VOUCHERD_SECRET_KEY": TEST_SECRET_KEY}
    done = CliRunner().invoke(app, ["keys", *args], env=env)
    assert done.exit_code == 0, done.output
    return json.loads(done.stdout)


def _kid(token: str) -> str:
    return str(jwt.get_unverified_header(token)["kid"])


def _token_with(live_server: LiveServer, tenant: TenantFixture, kid: str) -> Api:
    """A client whose token carries ``kid``, polling until the server signs with it."""
    started = time.monotonic()
    while True:
        api = Api(live_server.url, tenant.client_id, tenant.client_secret)
        if _kid(api.token) == kid:
            return api
        api.close()
        assert time.monotonic() - started < DEADLINE_SECONDS, f"the server never used {kid}"


def test_rotation_keeps_old_tokens_until_they_expire(
    live_server: LiveServer, tenant: TenantFixture, engine: Engine, database_url: str
) -> None:
    old = Api(live_server.url, tenant.client_id, tenant.client_secret)
    header = jwt.get_unverified_header(old.token)
    assert header["alg"] == "HS256" and header["typ"] == "JWT"
    old_kid = _kid(old.token)
    claims = jwt.decode(old.token, options={"verify_signature": False})
    assert {"sub", "tid", "aud", "iat", "exp", "jti", "scope", "iss"} <= set(claims)

    new_kid = _cli(database_url, "rotate")["kid"]
    assert new_kid != old_kid
    listed = {row["kid"]: row for row in _cli(database_url, "list")}
    assert listed[old_kid]["retired_at"] is not None and listed[new_kid]["retired_at"] is None
    assert all("secret" not in row for row in listed.values())

    new = _token_with(live_server, tenant, new_kid)
    assert new.get("/v1/vouchers").status_code == 200
    assert old.get("/v1/vouchers").status_code == 200  # the retired key still verifies

    # A token of the old key that has expired is refused as expired, not as unknown.
    kek = keys.kek(live_server.settings)
    with engine.connect() as conn:
        old_key = next(k for k in keys.load(conn, kek) if k.kid == old_kid)
    expired = jwt.encode(
        {**claims, "exp": int(utcnow().timestamp()) - 5},
        old_key.secret,
        algorithm="HS256",
        headers={"kid": old_kid},
    )
    refused = old.get("/v1/vouchers", headers={"Authorization": f"Bearer {expired}"})
    assert refused.status_code == 401 and "expired" in refused.json()["detail"]
    old.close()

    # Revoking a key (a leaked one) ends its tokens within seconds; the others keep working.
    _cli(database_url, "rotate")
    _cli(database_url, "revoke", "--kid", new_kid)
    started = time.monotonic()
    while new.get("/v1/vouchers").status_code == 200:
        assert time.monotonic() - started < DEADLINE_SECONDS, "the revoked key still verifies"
    assert new.get("/v1/vouchers").json()["code"] == "invalid_token"
    new.close()
    fresh = Api(live_server.url, tenant.client_id, tenant.client_secret)
    assert _kid(fresh.token) != new_kid
    assert fresh.get("/v1/vouchers").status_code == 200
    fresh.close()


def test_forged_and_foreign_tokens_are_refused(
    live_server: LiveServer, tenant: TenantFixture
) -> None:
    api = Api(live_server.url, tenant.client_id, tenant.client_secret)
    claims = jwt.decode(api.token, options={"verify_signature": False})
    kid = _kid(api.token)
    forged = {
        "another secret": jwt.encode(claims, "x" * 32, algorithm="HS256", headers={"kid": kid}),
        "alg none": jwt.encode(claims, None, algorithm="none", headers={"kid": kid}),
        "unknown kid": jwt.encode(claims, "x" * 32, algorithm="HS256", headers={"kid": "nope"}),
        "no kid": jwt.encode(claims, "x" * 32, algorithm="HS256"),
        "not a JWT": "vd1.e30.AAAA",
    }
    for name, token in forged.items():
        refused = api.get("/v1/vouchers", headers={"Authorization": f"Bearer {token}"})
        assert refused.status_code == 401, name
        assert refused.json()["code"] == "invalid_token", name
    api.close()
