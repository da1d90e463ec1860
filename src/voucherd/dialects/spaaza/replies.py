"""What each Spaaza call answers, rendered by the runtime inside the call's transaction.

An operation returns one of the results below; the route's ``render`` turns it into Spaaza's
success envelope. Rendering reads campaigns and users through the same unit of work, before
the commit, so a read never comes after the commit (and never retakes SQLite's write lock).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from starlette.responses import Response

from voucherd.db import repositories as repo
from voucherd.dialects.spaaza import store
from voucherd.dialects.spaaza.errors import ok
from voucherd.dialects.spaaza.render import Renderer
from voucherd.domain.vouchers import ValueKind

Warnings = list[dict[str, Any]]


@dataclass(frozen=True, slots=True)
class Vouchers:
    """Voucher rows to answer with, and the renderer bound to the call's unit of work."""

    view: Renderer
    rows: Sequence[repo.Row]
    warnings: Warnings = field(default_factory=list)
    regenerated: repo.Row | None = None  # redeem-voucher: the voucher holding the rest
    total: int | None = None  # get-vouchers: how many match, all pages together


@dataclass(frozen=True, slots=True)
class UserVouchers:
    view: Renderer
    user_id: int
    rows: Sequence[repo.Row]


@dataclass(frozen=True, slots=True)
class LoggedIn:
    user: store.User
    key: str
    expires_at: datetime


def voucher(result_type: str) -> Callable[[Vouchers], Response]:
    """One voucher object as ``results``."""

    def render(result: Vouchers) -> Response:
        (row,) = result.rows
        return ok(result_type, result.view.voucher(row), result.warnings)

    return render


def voucher_key(result_type: str) -> Callable[[Vouchers], Response]:
    """Only the voucher's key (expire-voucher, delete-voucher)."""

    def render(result: Vouchers) -> Response:
        (row,) = result.rows
        return ok(result_type, {"voucher_key": row["public_id"]}, result.warnings)

    return render


def redeemed(result: Vouchers) -> Response:
    (row,) = result.rows
    body = result.view.voucher(row)
    if ValueKind(row["kind"]) is ValueKind.STORED_VALUE:
        regenerated = result.regenerated
        body["regenerated_voucher"] = result.view.voucher(regenerated) if regenerated else None
    return ok("redeem-voucher", body, result.warnings)


def claimed_vouchers(result: Vouchers) -> Response:
    return ok(
        "claim-vouchers",
        {"vouchers": [result.view.voucher(r) for r in result.rows]},
        result.warnings,
    )


def listed(result: Vouchers) -> Response:
    result.view.prefetch_users(list(result.rows))
    return ok(
        "get-vouchers",
        {
            "results_count_total": result.total,
            "vouchers": [result.view.voucher(r, with_user=True) for r in result.rows],
        },
    )


def user_vouchers(result: UserVouchers) -> Response:
    rendered = [result.view.voucher(r) for r in result.rows]
    return ok(
        "get-user-vouchers",
        {
            "user_id": result.user_id,
            "basket_vouchers": [v for v in rendered if v["voucher_type"] != "honour"],
            "honour_vouchers": [v for v in rendered if v["voucher_type"] == "honour"],
            "var_price_vouchers": [],
        },
    )


def logged_in(result: LoggedIn) -> Response:
    user = result.user
    return ok(
        "login",
        {
            "session_info": {
                "session_user_id": user.user_id,
                "session_key": result.key,
                "username": user.username,
                "session_expiry_datetime_utc": result.expires_at.strftime("%Y-%m-%d %H:%M:%S"),
            },
            "user_info": {
                "user_id": user.user_id,
                "username": user.username,
                "member_number": user.member_number,
                "chain_id": user.chain_id,
                "is_admin": user.is_admin,
            },
        },
    )


def login_status(user: store.User) -> Response:
    return ok(
        "get-login-status",
        {
            "logged_in": True,
            "session_info": {"session_user_id": user.user_id, "username": user.username},
        },
    )


def logged_out(_result: None) -> Response:
    return ok("logout", {})
