"""Each vendor's voucher "status": its Python projection and its SQL form, side by side.

What a vendor calls a status is a pure function of the engine's facts (status, validity
window, holder, uses) and, for some vendors, the clock; it is never stored. Renders use the
Python form on a loaded row; list filters and counts use the SQL form in the query. Both are
written here and nowhere else, and ``tests/integration/test_projections_sql.py`` checks, on
SQLite and PostgreSQL, that the SQL form equals the Python form over every status x validity
window x holder x uses x clock.

Why here and not in ``domain/``: the SQL form is a SQLAlchemy expression, and ``domain`` may
import only the standard library. ``domain`` keeps the pure inputs (``VoucherState``,
``lifecycle.phase``); this module, in the storage layer, turns them into each vendor's word.
Faces import it; it imports ``domain`` and SQLAlchemy only.

Every ``*_sql`` function takes ``c``, anything with the voucher columns as attributes
(``vouchers.c``, an alias's ``.c``), and returns a ``CASE`` expression of the same strings the
Python form returns; filter with ``rm_status_sql(c, now) == "ISSUED"`` and the like.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from sqlalchemy import and_, case, literal, or_
from sqlalchemy.sql.elements import ColumnElement

from voucherd.domain.lifecycle import Phase, VoucherStatus
from voucherd.domain.vouchers import VoucherState

JtlStatus = Literal["active", "inactive"]
ShopeeStatus = Literal["upcoming", "ongoing", "expired"]
SpaazaStatus = Literal["generated", "claimed", "redeemed"]
RmStatus = Literal["VALID", "ISSUED", "REDEEMED", "VOID", "EXPIRED"]

S = VoucherStatus
_ENDED = (S.EXPIRED.value, S.VOID.value, S.DELETED.value)


def _ends_passed(c: Any, now: datetime) -> ColumnElement[bool]:
    return and_(c.ends_at.is_not(None), c.ends_at <= now)


# --- JTL ---------------------------------------------------------------------------------------


def jtl_status(v: VoucherState) -> JtlStatus:
    """JTL knows only whether a voucher may be charged: used-up cards stay "active"."""
    return "active" if v.status in (S.ACTIVE, S.REDEEMED) else "inactive"


def jtl_status_sql(c: Any) -> ColumnElement[str]:
    return case(
        (c.status.in_((S.ACTIVE.value, S.REDEEMED.value)), literal("active")),
        else_=literal("inactive"),
    )


# --- Shopee ------------------------------------------------------------------------------------


def shopee_status(v: VoucherState, now: datetime) -> ShopeeStatus:
    """Shopee's status is the validity window alone; a fully used voucher is still ongoing."""
    if v.status in (S.EXPIRED, S.VOID, S.DELETED):
        return "expired"
    if v.ends_at is not None and v.ends_at <= now:
        return "expired"
    if v.status is S.INACTIVE or (v.starts_at is not None and v.starts_at > now):
        return "upcoming"
    return "ongoing"


def shopee_status_sql(c: Any, now: datetime) -> ColumnElement[str]:
    return case(
        (or_(c.status.in_(_ENDED), _ends_passed(c, now)), literal("expired")),
        (
            or_(c.status == S.INACTIVE.value, and_(c.starts_at.is_not(None), c.starts_at > now)),
            literal("upcoming"),
        ),
        else_=literal("ongoing"),
    )


# --- Spaaza ------------------------------------------------------------------------------------


def spaaza_status(v: VoucherState) -> SpaazaStatus:
    """Spaaza keeps expiry apart from status (``voucher_expiry_datetime_utc``)."""
    if v.status in (S.REDEEMED, S.VOID):
        return "redeemed"
    return "claimed" if v.holder_id is not None else "generated"


def spaaza_status_sql(c: Any) -> ColumnElement[str]:
    return case(
        (c.status.in_((S.REDEEMED.value, S.VOID.value)), literal("redeemed")),
        (c.holder_id.is_not(None), literal("claimed")),
        else_=literal("generated"),
    )


# --- Revenue Monster ---------------------------------------------------------------------------


def rm_status(v: VoucherState, now: datetime) -> RmStatus:
    """Seed 002: VALID (waiting in its batch: inactive) -> ISSUED (issued = activated, with or
    without a member) -> REDEEMED (the member collected it: a use is taken; it can still be
    voided at the shop) -> VOID (used at the shop, or cancelled). Past its window: EXPIRED."""
    current = v.phase(now)
    if current is Phase.VOID:
        return "VOID"
    if current is Phase.REDEEMED:
        return "REDEEMED"
    if current in (Phase.EXPIRED, Phase.DELETED):
        return "EXPIRED"
    if current is Phase.INACTIVE:
        return "VALID"
    return "REDEEMED" if v.uses > 0 else "ISSUED"


def rm_status_sql(c: Any, now: datetime) -> ColumnElement[str]:
    live = (S.ACTIVE.value, S.INACTIVE.value)
    return case(
        (c.status == S.VOID.value, literal("VOID")),
        (c.status == S.REDEEMED.value, literal("REDEEMED")),
        (c.status.in_((S.EXPIRED.value, S.DELETED.value)), literal("EXPIRED")),
        (and_(c.status.in_(live), _ends_passed(c, now)), literal("EXPIRED")),
        (c.status == S.INACTIVE.value, literal("VALID")),
        (c.uses > 0, literal("REDEEMED")),
        else_=literal("ISSUED"),
    )


def rm_stored_status(status: str, uses: int) -> RmStatus:
    """RM's status from stored facts alone, without the clock: what an event records (a
    date-based expiry becomes a stored status when the sweep applies it)."""
    if status == S.VOID.value:
        return "VOID"
    if status == S.REDEEMED.value:
        return "REDEEMED"
    if status in (S.EXPIRED.value, S.DELETED.value):
        return "EXPIRED"
    if status == S.INACTIVE.value:
        return "VALID"
    return "REDEEMED" if uses > 0 else "ISSUED"


# --- campaigns ---------------------------------------------------------------------------------


def unissued(v: VoucherState) -> bool:
    """A campaign voucher not issued yet: inactive and unheld (what ``campaigns.issue_next``
    takes; RM's ``balanceQuantity`` counts them)."""
    return v.status is S.INACTIVE and v.holder_id is None


def unissued_sql(c: Any) -> ColumnElement[bool]:
    return and_(c.status == S.INACTIVE.value, c.holder_id.is_(None))
