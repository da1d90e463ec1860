"""Staff accounts of the dashboard: users, logins and server-side sessions.

A session is a random token in an HttpOnly cookie; the database keeps only its SHA-256, its
expiry and the CSRF token every form of that session carries. Logging out revokes the one
session, "log out everywhere" every session of the user. Each step is an event whose actor is
the user (``user:<id>``), like every other action a staff user takes.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import func, insert, select, update

from voucherd.db import repositories as repo
from voucherd.db.tables import staff_sessions, staff_users
from voucherd.domain import errors
from voucherd.domain.money import from_decimal
from voucherd.domain.staff import Action, Role, allowed, normalize_email, parse_role, require
from voucherd.services import hashing, value, vouchers
from voucherd.services.changes import VoucherRef, find, record_event
from voucherd.services.unit_of_work import Actor, UnitOfWork

SESSION_TTL = timedelta(hours=8)
MIN_PASSWORD = 12
MAX_PASSWORD = 1024


@dataclass(frozen=True, slots=True)
class NewUser:
    id: int
    tenant_id: int
    email: str
    role: Role
    password: str | None  # the generated one-time password, shown once; None if one was given


@dataclass(frozen=True, slots=True)
class StaffUser:
    """A signed-in staff user, as every dashboard operation sees its caller."""

    id: int
    tenant_id: int
    email: str
    role: Role
    session_id: str
    csrf_token: str

    @property
    def actor(self) -> Actor:
        return Actor(self.tenant_id, f"user:{self.id}")

    def may(self, action: Action) -> bool:
        return allowed(self.role, action)


@dataclass(frozen=True, slots=True)
class Session:
    token: str  # goes into the cookie only; never logged, never stored
    user: StaffUser


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def check_password(password: str) -> None:
    if not MIN_PASSWORD <= len(password) <= MAX_PASSWORD:
        raise errors.ValidationFailed(
            f"a password has {MIN_PASSWORD} to {MAX_PASSWORD} characters", field="password"
        )


def create_user(
    uow: UnitOfWork,
    actor: Actor,
    email: str,
    role: str,
    password: str | None = None,
) -> NewUser:
    """Create a staff user of ``actor``'s tenant; without a password one is generated.

    Raises: ValidationFailed (address, role, password), DuplicateId (address taken).
    """
    address = normalize_email(email)
    parsed = parse_role(role)
    generated = None
    if password is None:
        generated = password = secrets.token_urlsafe(15)
    check_password(password)
    taken = uow.conn.execute(select(staff_users.c.id).where(staff_users.c.email == address))
    if taken.first() is not None:
        raise errors.DuplicateId("a staff user with this address exists", field="email")
    user_id = uow.conn.execute(
        insert(staff_users)
        .values(
            tenant_id=actor.tenant_id,
            email=address,
            role=parsed.value,
            password_hash=hashing.hash_password(password),
            created_at=uow.now,
        )
        .returning(staff_users.c.id)
    ).scalar_one()
    record_event(
        uow,
        actor,
        operation="create",
        subject="staff_user",
        subject_id=str(user_id),
        after={"email": address, "role": parsed.value},
    )
    return NewUser(int(user_id), actor.tenant_id, address, parsed, generated)


def login(uow: UnitOfWork, email: str, password: str, *, ttl: timedelta = SESSION_TTL) -> Session:
    """Check the password and open a session.

    Raises: InvalidCredentials (unknown address, wrong password, disabled user: one answer).
    """
    try:
        address = normalize_email(email)
    except errors.ValidationFailed:
        address = ""
    row = (
        uow.conn.execute(select(staff_users).where(staff_users.c.email == address))
        .mappings()
        .first()
    )
    stored = row["password_hash"] if row is not None else None
    if not hashing.verify_password(stored, password[:MAX_PASSWORD]) or row is None:
        raise errors.InvalidCredentials("the address or the password is wrong")
    if row["disabled_at"] is not None:
        raise errors.InvalidCredentials("the address or the password is wrong")
    token = secrets.token_urlsafe(32)
    csrf = secrets.token_urlsafe(32)
    uow.conn.execute(
        insert(staff_sessions).values(
            id=_digest(token),
            tenant_id=row["tenant_id"],
            user_id=row["id"],
            csrf_token=csrf,
            created_at=uow.now,
            expires_at=uow.now + ttl,
        )
    )
    user = _user(row, _digest(token), csrf)
    record_event(uow, user.actor, operation="login", subject="staff_user", subject_id=str(user.id))
    return Session(token, user)


def _user(row: repo.Row, session_id: str, csrf: str) -> StaffUser:
    return StaffUser(
        int(row["id"]), int(row["tenant_id"]), row["email"], Role(row["role"]), session_id, csrf
    )


def authenticate(uow: UnitOfWork, token: str | None) -> StaffUser | None:
    """The user of a live session (not expired, not revoked, user not disabled), else None."""
    if not token or len(token) > 128:
        return None
    query = (
        select(staff_users, staff_sessions.c.id.label("session_id"), staff_sessions.c.csrf_token)
        .join(
            staff_sessions,
            (staff_sessions.c.tenant_id == staff_users.c.tenant_id)
            & (staff_sessions.c.user_id == staff_users.c.id),
        )
        .where(
            staff_sessions.c.id == _digest(token),
            staff_sessions.c.revoked_at.is_(None),
            staff_sessions.c.expires_at > uow.now,
            staff_users.c.disabled_at.is_(None),
        )
    )
    row = uow.conn.execute(query).mappings().first()
    if row is None:
        return None
    return _user(row, row["session_id"], row["csrf_token"])


def csrf_matches(user: StaffUser, presented: str | None) -> bool:
    return presented is not None and hmac.compare_digest(
        user.csrf_token.encode(), presented.encode()
    )


def logout(uow: UnitOfWork, user: StaffUser, *, everywhere: bool = False) -> int:
    """Revoke this session (or every session of the user); returns how many were open."""
    statement = update(staff_sessions).where(
        staff_sessions.c.tenant_id == user.tenant_id,
        staff_sessions.c.revoked_at.is_(None),
        staff_sessions.c.expires_at > uow.now,
    )
    if everywhere:
        statement = statement.where(staff_sessions.c.user_id == user.id)
    else:
        statement = statement.where(staff_sessions.c.id == user.session_id)
    closed = uow.conn.execute(statement.values(revoked_at=uow.now)).rowcount
    record_event(
        uow,
        user.actor,
        operation="logout_everywhere" if everywhere else "logout",
        subject="staff_user",
        subject_id=str(user.id),
    )
    return int(closed)


def open_sessions(uow: UnitOfWork, user_id: int) -> int:
    query = select(func.count()).where(
        staff_sessions.c.user_id == user_id,
        staff_sessions.c.revoked_at.is_(None),
        staff_sessions.c.expires_at > uow.now,
    )
    return int(uow.conn.execute(query).scalar_one())


def authorize(user: StaffUser, action: Action) -> None:
    """Raises: Forbidden when the user's role may not take ``action``."""
    require(user.role, action)


__all__ = ["NewUser", "Session", "StaffUser"]


# --- what a staff user does: the role is checked here, the engine's services do the rest ---

MAX_REASON = 500


def check_reason(text: str | None, *, required: bool) -> str | None:
    reason = (text or "").strip() or None
    if required and reason is None:
        raise errors.ValidationFailed("give a reason", field="reason", rule="required")
    if reason is not None and len(reason) > MAX_REASON:
        raise errors.ValidationFailed(
            f"a reason has at most {MAX_REASON} characters", field="reason", rule="max"
        )
    return reason


def charge(
    uow: UnitOfWork,
    user: StaffUser,
    public_id: str,
    amount: str,
    *,
    order_number: str | None = None,
) -> repo.Row:
    """Charge ``amount`` (major units as typed, e.g. "25.50") from a voucher.

    Raises: Forbidden, NotFound, InvalidAmount and whatever ``value.charge`` raises.
    """
    authorize(user, Action.CHARGE)
    ref = VoucherRef(public_id=public_id)
    row = find(uow, user.actor, ref)
    minor = None
    if row["currency"] is not None:
        if not amount.strip():
            raise errors.ValidationFailed("give an amount", field="amount", rule="required")
        minor = from_decimal(amount.strip()[:32], row["currency"])
    charged = value.charge(
        uow, user.actor, ref, amount=minor, order_number=(order_number or "").strip() or None
    )
    return charged.voucher


def void(uow: UnitOfWork, user: StaffUser, public_id: str, reason: str | None) -> repo.Row:
    """Raises: Forbidden (clerk, auditor), ValidationFailed (no reason), NotFound, ..."""
    authorize(user, Action.VOID)
    why = check_reason(reason, required=True)
    return vouchers.void(uow, user.actor, VoucherRef(public_id=public_id), reason=why)


def reinstate(
    uow: UnitOfWork, user: StaffUser, public_id: str, reason: str | None, pin: str | None = None
) -> repo.Row:
    """Raises: Forbidden, ValidationFailed (no reason), InvalidPin, VoucherNotVoided, ..."""
    authorize(user, Action.REINSTATE)
    why = check_reason(reason, required=True)
    return vouchers.reinstate(
        uow, user.actor, VoucherRef(public_id=public_id), pin=pin or None, reason=why
    )
