"""Staff accounts: roles and the one rule table of which role may take which action."""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from typing import Final

from voucherd.domain.errors import Forbidden, ValidationFailed


class Role(StrEnum):
    OWNER = "owner"  # everything, including users and credentials
    MANAGER = "manager"  # vouchers, campaigns, value operations, reports
    CLERK = "clerk"  # look up, charge, reserve
    AUDITOR = "auditor"  # read-only: look up, reports, audit feed


class Action(StrEnum):
    LOOK_UP = "look_up"
    CHARGE = "charge"
    RESERVE = "reserve"
    REFUND = "refund"
    RECHARGE = "recharge"
    VOID = "void"
    REINSTATE = "reinstate"
    CHANGE_STATE = "change_state"  # activate, deactivate, end, extend validity
    CAMPAIGNS = "campaigns"
    EXPORT = "export"
    READ_SECRETS = "read_secrets"  # see codes: in CSV downloads and printable card sheets
    REPORTS = "reports"
    AUDIT = "audit"
    USERS = "users"
    CREDENTIALS = "credentials"


_MANAGER: Final = frozenset(Action) - {Action.USERS, Action.CREDENTIALS}

# The rule table: a role may take exactly the actions listed for it.
ALLOWED: Final[Mapping[Role, frozenset[Action]]] = {
    Role.OWNER: frozenset(Action),
    Role.MANAGER: _MANAGER,
    Role.CLERK: frozenset({Action.LOOK_UP, Action.CHARGE, Action.RESERVE}),
    Role.AUDITOR: frozenset({Action.LOOK_UP, Action.REPORTS, Action.AUDIT}),
}


def parse_role(text: str) -> Role:
    """Raises: ValidationFailed for anything but the four role names."""
    try:
        return Role(text.strip().lower())
    except ValueError:
        names = ", ".join(r.value for r in Role)
        raise ValidationFailed(f"role must be one of {names}", field="role") from None


def allowed(role: Role, action: Action) -> bool:
    return action in ALLOWED[role]


def require(role: Role, action: Action) -> None:
    """Raises: Forbidden when ``role`` may not take ``action``."""
    if not allowed(role, action):
        raise Forbidden(f"a {role.value} may not {action.value.replace('_', ' ')}")


def normalize_email(text: str) -> str:
    """Trimmed, lower-cased; raises ValidationFailed unless it looks like an address."""
    email = text.strip().lower()
    local, at, domain = email.partition("@")
    if (
        not at
        or not local
        or "." not in domain
        or len(email) > 254
        or any(c.isspace() for c in email)
    ):
        raise ValidationFailed("email is not a valid address", field="email")
    return email
