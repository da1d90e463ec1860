"""Staff accounts and sessions, the role table, the liability report (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest
from sqlalchemy import Engine, select

from tests.conftest import Api, LiveServer, TenantFixture
from voucherd.db.tables import events, staff_sessions, staff_users
from voucherd.domain import errors
from voucherd.services import reports, staff
from voucherd.services.unit_of_work import UnitOfWork

PASSWORD = "a long enough password"


def _user(engine: Engine, tenant: TenantFixture, role: str, email: str | None = None) -> str:
    email = email or f"{role}-{tenant.id}@shop.example"
    with UnitOfWork(engine) as uow:
        staff.create_user(uow, tenant.actor, email, role, PASSWORD)
        uow.commit()
    return email


def test_password_is_argon2_and_login_opens_a_hashed_session(
    engine: Engine, tenant: TenantFixture
) -> None:
    email = _user(engine, tenant, "manager")
    with UnitOfWork(engine) as uow:
        session = staff.login(uow, email.upper(), PASSWORD)
        uow.commit()
    with engine.connect() as conn:
        stored = conn.execute(
            select(staff_users.c.password_hash).where(staff_users.c.email == email)
        ).scalar_one()
        ids = (
            conn.execute(
                select(staff_sessions.c.id).where(staff_sessions.c.user_id == session.user.id)
            )
            .scalars()
            .all()
        )
    assert stored.startswith("$argon2id$") and PASSWORD not in stored
    assert session.token not in ids and len(ids) == 1  # only the digest is kept
    with UnitOfWork(engine, readonly=True) as uow:
        user = staff.authenticate(uow, session.token)
    assert user is not None and user.email == email and user.actor.name == f"user:{user.id}"


def test_wrong_password_unknown_user_and_generated_password(
    engine: Engine, tenant: TenantFixture
) -> None:
    email = _user(engine, tenant, "clerk")
    with UnitOfWork(engine) as uow:
        with pytest.raises(errors.InvalidCredentials):
            staff.login(uow, email, "not the password")
        with pytest.raises(errors.InvalidCredentials):
            staff.login(uow, "nobody@shop.example", PASSWORD)
        made = staff.create_user(uow, tenant.actor, f"new-{tenant.id}@shop.example", "auditor")
        assert made.password is not None and len(made.password) >= staff.MIN_PASSWORD
        assert staff.login(uow, made.email, made.password).user.role.value == "auditor"
        with pytest.raises(errors.DuplicateId):
            staff.create_user(uow, tenant.actor, email, "owner", PASSWORD)
        with pytest.raises(errors.ValidationFailed):
            staff.create_user(uow, tenant.actor, f"x-{tenant.id}@shop.example", "boss", PASSWORD)
        with pytest.raises(errors.ValidationFailed):
            staff.create_user(uow, tenant.actor, f"y-{tenant.id}@shop.example", "clerk", "short")


def test_expiry_logout_and_logout_everywhere(engine: Engine, tenant: TenantFixture) -> None:
    email = _user(engine, tenant, "owner")
    with UnitOfWork(engine) as uow:
        short = staff.login(uow, email, PASSWORD, ttl=timedelta(seconds=-1))
        one = staff.login(uow, email, PASSWORD)
        two = staff.login(uow, email, PASSWORD)
        three = staff.login(uow, email, PASSWORD)
        uow.commit()
    with UnitOfWork(engine) as uow:
        assert staff.authenticate(uow, short.token) is None  # expired
        user = staff.authenticate(uow, one.token)
        assert user is not None
        assert staff.logout(uow, user) == 1
        uow.commit()
    with UnitOfWork(engine) as uow:
        assert staff.authenticate(uow, one.token) is None
        user = staff.authenticate(uow, two.token)
        assert user is not None
        assert staff.logout(uow, user, everywhere=True) == 2
        uow.commit()
    with UnitOfWork(engine, readonly=True) as uow:
        assert staff.authenticate(uow, two.token) is None
        assert staff.authenticate(uow, three.token) is None
        assert staff.open_sessions(uow, user.id) == 0
    with engine.connect() as conn:
        ops = (
            conn.execute(
                select(events.c.operation).where(
                    events.c.tenant_id == tenant.id, events.c.actor == f"user:{user.id}"
                )
            )
            .scalars()
            .all()
        )
    assert ops.count("login") == 4 and "logout" in ops and "logout_everywhere" in ops


def test_roles_are_enforced_by_the_service(engine: Engine, api: Api, tenant: TenantFixture) -> None:
    created = api.create_voucher(amount=5_000)
    clerk = _user(engine, tenant, "clerk")
    auditor = _user(engine, tenant, "auditor")
    with UnitOfWork(engine) as uow:
        as_clerk = staff.login(uow, clerk, PASSWORD).user
        as_auditor = staff.login(uow, auditor, PASSWORD).user
        with pytest.raises(errors.Forbidden):
            staff.void(uow, as_clerk, created["id"], "no")
        with pytest.raises(errors.Forbidden):
            staff.charge(uow, as_auditor, created["id"], "1.00")
        row = staff.charge(uow, as_clerk, created["id"], "1.00")
        assert row["balance"] == 4_900
        uow.commit()


def test_liability_is_the_ledger_sum(
    live_server: LiveServer, api: Api, tenant: TenantFixture
) -> None:
    a = api.create_voucher(amount=1_000, currency="EUR")
    api.create_voucher(amount=2_000, currency="EUR")
    v = api.create_voucher(amount=4_000, currency="EUR")
    api.create_voucher(amount=300, currency="JPY")
    assert api.post("/v1/charges", {"voucher_id": a["id"], "amount": 250}).status_code == 201
    api.post(f"/v1/vouchers/{v['id']}/void", {"reason": "x"})
    with UnitOfWork(live_server.engine, readonly=True) as uow:
        found = reports.liability(uow, tenant.actor)
        counts = reports.vouchers_by_status(uow, tenant.actor)
    assert [(x.currency, x.amount, x.vouchers) for x in found] == [
        ("EUR", 2_750, 2),
        ("JPY", 300, 1),
    ]
    assert counts["active"] == 3 and counts["void"] == 1


def test_cli_user_create_prints_a_one_time_password(
    live_server: LiveServer, tenant: TenantFixture
) -> None:
    from typer.testing import CliRunner

    from voucherd.cli import app

    url = live_server.settings.database_url
    result = CliRunner().invoke(
        app,
        ["user", "create", "--tenant", str(tenant.id), "--email", f"cli-{tenant.id}@x.example",
         "--role", "owner", "--database-url", url],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    import json

    shown = json.loads(result.stdout)
    assert shown["role"] == "owner" and len(shown["password"]) >= 12
    with UnitOfWork(live_server.engine) as uow:
        assert staff.login(uow, shown["email"], shown["password"]).user.tenant_id == tenant.id


def test_security_headers_and_cookie_flags(live_server: LiveServer, tenant: TenantFixture) -> None:
    email = _user(live_server.engine, tenant, "auditor")
    with httpx.Client(base_url=live_server.url) as http:
        form = http.get("/dashboard/login")
        assert form.status_code == 200
        csp = form.headers["content-security-policy"]
        assert "frame-ancestors 'none'" in csp and "script-src 'self'" in csp
        assert "unsafe-inline" not in csp
        assert form.headers["x-frame-options"] == "DENY"
        assert "<script>" not in form.text and " style=" not in form.text
        csrf = http.cookies["vd_login_csrf"]
        answer = http.post(
            "/dashboard/login", data={"csrf": csrf, "email": email, "password": PASSWORD}
        )
        assert answer.status_code == 303
        cookie = answer.headers["set-cookie"]
        assert "vd_session=" in cookie
        assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Path=/dashboard" in cookie
        assert "Secure" not in cookie  # plain http here; https sets it
        page = http.get("/dashboard/")
        assert page.status_code == 200 and page.headers["cache-control"] == "no-store"
        assert http.get("/dashboard/static/dashboard.css").status_code == 200
    with httpx.Client(base_url=live_server.url) as anonymous:
        assert anonymous.get("/dashboard/").status_code == 303
