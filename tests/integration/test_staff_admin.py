"""An owner manages staff (services.staff_admin) on SQLite and PostgreSQL: roles, disabling,
ending sessions, the last-owner rule, tenant isolation, and an event per step by the owner."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import Engine, select

from tests.conftest import TenantFixture, make_tenant
from voucherd.db.tables import events
from voucherd.domain import errors
from voucherd.domain.staff import Role
from voucherd.services import staff, staff_admin
from voucherd.services.unit_of_work import UnitOfWork

PASSWORD = "a long enough password"


def _signed_in(engine: Engine, tenant: TenantFixture, role: str, name: str) -> staff.Session:
    email = f"{name}-{tenant.id}@shop.example"
    with UnitOfWork(engine) as uow:
        staff.create_user(uow, tenant.actor, email, role, PASSWORD)
        session = staff.login(uow, email, PASSWORD)
        uow.commit()
    return session


def _events(engine: Engine, tenant: TenantFixture, actor: str) -> list[tuple[str, str]]:
    with engine.connect() as conn:
        rows = conn.execute(
            select(events.c.operation, events.c.subject_id)
            .where(events.c.tenant_id == tenant.id, events.c.actor == actor)
            .order_by(events.c.id)
        ).all()
    return [(r[0], r[1]) for r in rows]


def test_invite_change_role_disable_enable_end_sessions(
    engine: Engine, tenant: TenantFixture
) -> None:
    owner = _signed_in(engine, tenant, "owner", "boss").user
    clerk = _signed_in(engine, tenant, "clerk", "till")
    with UnitOfWork(engine) as uow:
        invited = staff_admin.invite(uow, owner, f"new-{tenant.id}@shop.example", "auditor")
        assert invited.password is not None and invited.role is Role.AUDITOR
        assert staff_admin.change_role(uow, owner, clerk.user.id, "manager") is Role.MANAGER
        uow.commit()
    with UnitOfWork(engine) as uow:
        members = {m.email: m for m in staff_admin.list_users(uow, owner)}
        assert members[clerk.user.email].role is Role.MANAGER
        assert members[clerk.user.email].open_sessions == 1
        assert members[invited.email].open_sessions == 0
        # The role is read per request: the open session now acts as a manager.
        user = staff.authenticate(uow, clerk.token)
        assert user is not None and user.role is Role.MANAGER
        assert staff_admin.end_sessions(uow, owner, clerk.user.id) == 1
        uow.commit()
    with UnitOfWork(engine) as uow:
        assert staff.authenticate(uow, clerk.token) is None
        again = staff.login(uow, clerk.user.email, PASSWORD)
        staff_admin.set_disabled(uow, owner, clerk.user.id, disabled=True)
        uow.commit()
    with UnitOfWork(engine) as uow:
        assert staff.authenticate(uow, again.token) is None  # disabling ends its sessions
        with pytest.raises(errors.InvalidCredentials):
            staff.login(uow, clerk.user.email, PASSWORD)
        staff_admin.set_disabled(uow, owner, clerk.user.id, disabled=False)
        assert staff.login(uow, clerk.user.email, PASSWORD).user.role is Role.MANAGER
        uow.commit()
    did = _events(engine, tenant, f"user:{owner.id}")
    target = str(clerk.user.id)
    assert ("create", str(invited.id)) in did
    for operation in ("change_role", "logout_everywhere", "disable", "enable"):
        assert (operation, target) in did, operation


def test_the_last_owner_stays_and_only_owners_manage(engine: Engine, tenant: TenantFixture) -> None:
    owner = _signed_in(engine, tenant, "owner", "only").user
    manager = _signed_in(engine, tenant, "manager", "mgr").user
    with UnitOfWork(engine) as uow:
        with pytest.raises(errors.ValidationFailed) as demoted:
            staff_admin.change_role(uow, owner, owner.id, "manager")
        assert demoted.value.rule == "last_owner"
        with pytest.raises(errors.ValidationFailed):
            staff_admin.set_disabled(uow, owner, owner.id, disabled=True)
        for step in (
            lambda: staff_admin.list_users(uow, manager),
            lambda: staff_admin.invite(uow, manager, f"x-{tenant.id}@shop.example", "owner"),
            lambda: staff_admin.change_role(uow, manager, manager.id, "owner"),
            lambda: staff_admin.set_disabled(uow, manager, owner.id, disabled=True),
            lambda: staff_admin.end_sessions(uow, manager, owner.id),
        ):
            with pytest.raises(errors.Forbidden):
                step()
        # With a second owner, the first may step down.
        staff_admin.change_role(uow, owner, manager.id, "owner")
        assert staff_admin.change_role(uow, owner, owner.id, "manager") is Role.MANAGER
        uow.commit()


def test_another_tenants_user_is_not_found(engine: Engine, tenant: TenantFixture) -> None:
    owner = _signed_in(engine, tenant, "owner", "here").user
    other = make_tenant(engine, "other")
    stranger = _signed_in(engine, other, "clerk", "there").user
    with UnitOfWork(engine) as uow:
        assert stranger.email not in {m.email for m in staff_admin.list_users(uow, owner)}
        for step in (
            lambda: staff_admin.change_role(uow, owner, stranger.id, "owner"),
            lambda: staff_admin.set_disabled(uow, owner, stranger.id, disabled=True),
            lambda: staff_admin.end_sessions(uow, owner, stranger.id),
        ):
            with pytest.raises(errors.NotFound):
                step()


def _demote(
    engine: Engine,
    start: threading.Barrier,
    outcomes: list[str],
    me: staff.StaffUser,
    other: staff.StaffUser,
) -> None:
    start.wait()
    try:
        with UnitOfWork(engine) as uow:
            staff_admin.change_role(uow, me, other.id, "manager")
            uow.commit()
        outcomes.append("demoted")
    except errors.ValidationFailed:
        outcomes.append("refused")


def test_two_owners_demoting_each_other_at_once_leave_one_owner(
    engine: Engine, tenant: TenantFixture
) -> None:
    for round_ in range(5):
        first = _signed_in(engine, tenant, "owner", f"a{round_}").user
        second = _signed_in(engine, tenant, "owner", f"b{round_}").user
        with UnitOfWork(engine) as uow:  # only these two are owners in this round
            for member in staff_admin.list_users(uow, first):
                if member.role is Role.OWNER and member.id not in (first.id, second.id):
                    staff_admin.change_role(uow, first, member.id, "manager")
            uow.commit()
        start = threading.Barrier(2)
        outcomes: list[str] = []

        threads = [
            threading.Thread(target=_demote, args=(engine, start, outcomes, *pair))
            for pair in ((first, second), (second, first))
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert sorted(outcomes) == ["demoted", "refused"]
        with UnitOfWork(engine, readonly=True) as uow:
            roles = {m.id: m.role for m in staff_admin.list_users(uow, first)}
        assert [roles[first.id], roles[second.id]].count(Role.OWNER) == 1
