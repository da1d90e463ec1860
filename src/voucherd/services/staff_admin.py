"""An owner manages the tenant's staff: invite, change role, disable, end sessions.

Kept apart from ``services.staff`` (logins and what a user does to vouchers) so each file holds
one concern. Every step checks the caller's role (``Action.USERS``: owners only) and is an event
whose actor is the owner (``user:<id>``). The tenant always keeps one enabled owner: the last one
can be neither demoted nor disabled, so nobody locks the tenant out of its own dashboard.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select, update

from voucherd.db import repositories as repo
from voucherd.db.tables import staff_sessions, staff_users
from voucherd.domain import errors
from voucherd.domain.staff import Action, Role, parse_role
from voucherd.services import hashing
from voucherd.services.changes import record_event
from voucherd.services.staff import (
    MAX_PASSWORD,
    NewUser,
    StaffUser,
    authorize,
    check_password,  # one password rule
    create_user,
)
from voucherd.services.tenants import lock_tenant
from voucherd.services.unit_of_work import UnitOfWork


@dataclass(frozen=True, slots=True)
class Member:
    """A staff user as the users page lists them."""

    id: int
    email: str
    role: Role
    created_at: datetime
    disabled_at: datetime | None
    open_sessions: int

    @property
    def disabled(self) -> bool:
        return self.disabled_at is not None


def list_users(uow: UnitOfWork, owner: StaffUser) -> list[Member]:
    """The tenant's staff users, with how many live sessions each has. Raises: Forbidden."""
    authorize(owner, Action.USERS)
    live = (
        select(staff_sessions.c.user_id, func.count().label("n"))
        .where(
            staff_sessions.c.tenant_id == owner.tenant_id,
            staff_sessions.c.revoked_at.is_(None),
            staff_sessions.c.expires_at > uow.now,
        )
        .group_by(staff_sessions.c.user_id)
        .subquery()
    )
    rows = uow.conn.execute(
        select(staff_users, func.coalesce(live.c.n, 0).label("open_sessions"))
        .outerjoin(live, live.c.user_id == staff_users.c.id)
        .where(staff_users.c.tenant_id == owner.tenant_id)
        .order_by(staff_users.c.email)
    ).mappings()
    return [
        Member(
            int(r["id"]),
            r["email"],
            Role(r["role"]),
            r["created_at"],
            r["disabled_at"],
            int(r["open_sessions"]),
        )
        for r in rows
    ]


def invite(uow: UnitOfWork, owner: StaffUser, email: str, role: str) -> NewUser:
    """A new user with a generated one-time password (shown once, never stored in clear).

    Raises: Forbidden, ValidationFailed (address, role), DuplicateId (address taken).
    """
    authorize(owner, Action.USERS)
    return create_user(uow, owner.actor, email, role, None)


def _member(uow: UnitOfWork, owner: StaffUser, user_id: int) -> repo.Row:
    row = (
        uow.conn.execute(
            select(staff_users).where(
                staff_users.c.tenant_id == owner.tenant_id, staff_users.c.id == user_id
            )
        )
        .mappings()
        .first()
    )
    if row is None:
        raise errors.NotFound("staff user", user_id)
    return row


def _other_owners(uow: UnitOfWork, tenant_id: int, user_id: int) -> int:
    return int(
        uow.conn.execute(
            select(func.count()).where(
                staff_users.c.tenant_id == tenant_id,
                staff_users.c.id != user_id,
                staff_users.c.role == Role.OWNER.value,
                staff_users.c.disabled_at.is_(None),
            )
        ).scalar_one()
    )


def _keep_an_owner(uow: UnitOfWork, row: repo.Row, field: str) -> None:
    if row["role"] != Role.OWNER.value or row["disabled_at"] is not None:
        return
    # Two owners demoting each other at once must not both see "another owner is left".
    lock_tenant(uow, int(row["tenant_id"]))
    if _other_owners(uow, int(row["tenant_id"]), int(row["id"])) == 0:
        raise errors.ValidationFailed(
            "the tenant needs an enabled owner: make another user owner first",
            field=field,
            rule="last_owner",
        )


def _revoke_sessions(uow: UnitOfWork, tenant_id: int, user_id: int) -> int:
    done = uow.conn.execute(
        update(staff_sessions)
        .where(
            staff_sessions.c.tenant_id == tenant_id,
            staff_sessions.c.user_id == user_id,
            staff_sessions.c.revoked_at.is_(None),
            staff_sessions.c.expires_at > uow.now,
        )
        .values(revoked_at=uow.now)
    )
    return int(done.rowcount)


def change_role(uow: UnitOfWork, owner: StaffUser, user_id: int, role: str) -> Role:
    """Raises: Forbidden, NotFound, ValidationFailed (role; the last owner)."""
    authorize(owner, Action.USERS)
    new = parse_role(role)
    row = _member(uow, owner, user_id)
    old = Role(row["role"])
    if new is old:
        return new
    if old is Role.OWNER:
        _keep_an_owner(uow, row, "role")
    uow.conn.execute(
        update(staff_users)
        .where(staff_users.c.tenant_id == owner.tenant_id, staff_users.c.id == user_id)
        .values(role=new.value)
    )
    record_event(
        uow,
        owner.actor,
        operation="change_role",
        subject="staff_user",
        subject_id=str(user_id),
        before={"role": old.value},
        after={"role": new.value},
    )
    return new


def set_disabled(uow: UnitOfWork, owner: StaffUser, user_id: int, *, disabled: bool) -> None:
    """Disable (every session ends with it) or enable a user.

    Raises: Forbidden, NotFound, ValidationFailed (the last owner; oneself).
    """
    authorize(owner, Action.USERS)
    row = _member(uow, owner, user_id)
    if (row["disabled_at"] is not None) == disabled:
        return
    if disabled:
        if user_id == owner.id:
            raise errors.ValidationFailed("you cannot disable yourself", field="user", rule="self")
        _keep_an_owner(uow, row, "user")
    uow.conn.execute(
        update(staff_users)
        .where(staff_users.c.tenant_id == owner.tenant_id, staff_users.c.id == user_id)
        .values(disabled_at=uow.now if disabled else None)
    )
    if disabled:
        _revoke_sessions(uow, owner.tenant_id, user_id)
    record_event(
        uow,
        owner.actor,
        operation="disable" if disabled else "enable",
        subject="staff_user",
        subject_id=str(user_id),
    )


def end_sessions(uow: UnitOfWork, owner: StaffUser, user_id: int) -> int:
    """Log a user out everywhere (their next request signs in again); returns how many ended.

    Raises: Forbidden, NotFound.
    """
    authorize(owner, Action.USERS)
    _member(uow, owner, user_id)
    ended = _revoke_sessions(uow, owner.tenant_id, user_id)
    record_event(
        uow,
        owner.actor,
        operation="logout_everywhere",
        subject="staff_user",
        subject_id=str(user_id),
        after={"sessions": ended},
    )
    return ended


def reset_password(uow: UnitOfWork, owner: StaffUser, user_id: int) -> str:
    """A new generated one-time password for a user (shown once); their sessions end.

    Raises: Forbidden, NotFound.
    """
    authorize(owner, Action.USERS)
    _member(uow, owner, user_id)
    password = secrets.token_urlsafe(15)
    _set_password(uow, owner.tenant_id, user_id, password)
    _revoke_sessions(uow, owner.tenant_id, user_id)
    record_event(
        uow, owner.actor, operation="reset_password", subject="staff_user", subject_id=str(user_id)
    )
    return password


def change_own_password(uow: UnitOfWork, user: StaffUser, current: str, new: str) -> int:
    """Any user replaces their password; their other sessions end. Returns how many ended.

    Raises: InvalidCredentials (the current password is wrong), ValidationFailed (new one).
    """
    stored = uow.conn.execute(
        select(staff_users.c.password_hash).where(
            staff_users.c.tenant_id == user.tenant_id, staff_users.c.id == user.id
        )
    ).scalar_one()
    if not hashing.verify_password(stored, current[:MAX_PASSWORD]):
        raise errors.InvalidCredentials("the current password is wrong")
    check_password(new)
    if new == current:
        raise errors.ValidationFailed(
            "choose a password other than the current one", field="password", rule="reuse"
        )
    _set_password(uow, user.tenant_id, user.id, new)
    ended = uow.conn.execute(
        update(staff_sessions)
        .where(
            staff_sessions.c.tenant_id == user.tenant_id,
            staff_sessions.c.user_id == user.id,
            staff_sessions.c.id != user.session_id,
            staff_sessions.c.revoked_at.is_(None),
            staff_sessions.c.expires_at > uow.now,
        )
        .values(revoked_at=uow.now)
    ).rowcount
    record_event(
        uow, user.actor, operation="change_password", subject="staff_user", subject_id=str(user.id)
    )
    return int(ended)


def _set_password(uow: UnitOfWork, tenant_id: int, user_id: int, password: str) -> None:
    uow.conn.execute(
        update(staff_users)
        .where(staff_users.c.tenant_id == tenant_id, staff_users.c.id == user_id)
        .values(password_hash=hashing.hash_password(password))
    )


__all__ = [
    "Member",
    "change_own_password",
    "change_role",
    "end_sessions",
    "invite",
    "list_users",
    "reset_password",
    "set_disabled",
]
