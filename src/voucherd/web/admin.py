"""What the owner's pages (credentials, users, webhooks) share: the role check, multi-valued
forms, and running one change in a savepoint so a refusal re-renders the page with its message.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar
from urllib.parse import parse_qs

from voucherd.domain import errors
from voucherd.domain.staff import Action
from voucherd.faces.errors import lookup
from voucherd.faces.runtime import Context, Inbound
from voucherd.services import staff
from voucherd.web.face import TABLE

T = TypeVar("T")
MAX_FIELDS = 20  # as pages.form: a larger form is refused (its CSRF token is not read)


def fields(inbound: Inbound) -> dict[str, str]:
    """The posted form; a field given more than once (ticked checkboxes) joined by spaces."""
    text = inbound.body.decode("utf-8", "replace")
    try:
        parsed = parse_qs(text, keep_blank_values=True, max_num_fields=MAX_FIELDS)
    except ValueError:
        return {}
    return {name: " ".join(values) for name, values in parsed.items()}


def owner(ctx: Context[staff.StaffUser], action: Action) -> staff.StaffUser:
    """The caller, if their role may take ``action``. Raises: Forbidden (a 403 page)."""
    staff.authorize(ctx.caller, action)
    return ctx.caller


def attempt(ctx: Context[staff.StaffUser], change: Callable[[], T]) -> tuple[T | None, str | None]:
    """Run ``change`` in a savepoint: its result, or (rolled back) the refusal's message.

    Only business refusals are caught; the role was checked before (a 403 stays a 403).
    """
    try:
        with ctx.uow.conn.begin_nested():
            return change(), None
    except errors.VoucherdError as exc:
        return None, lookup(TABLE, exc).message


def item_id(text: str, name: str = "id") -> int:
    """A path's numeric id. Raises: NotFound for anything else (nothing has such an id)."""
    if not text.isdigit() or len(text) > 18:
        raise errors.NotFound(name, text)
    return int(text)
