"""What the dashboard lists: vouchers by combinable filters, customers, the audit feed.

Every list is one page of at most ``limit`` rows, newest first, continued with ``before``
(the smallest id shown), so paging stays cheap however long the table grows.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, time
from typing import Any, Final

from sqlalchemy import Engine, Select, func, or_, select

from voucherd.db import repositories as repo
from voucherd.db.tables import campaigns, customers, events, staff_users, vouchers
from voucherd.domain import codes, errors
from voucherd.domain.lifecycle import VoucherStatus
from voucherd.domain.vouchers import ValueKind
from voucherd.services.reports import parse_moment
from voucherd.services.unit_of_work import Actor, UnitOfWork

PAGE: Final = 50
MAX_TEXT: Final = 255
EXPORT_CHUNK: Final = 1000

STATUSES: Final = tuple(s.value for s in VoucherStatus if s is not VoucherStatus.DELETED)
KINDS: Final = tuple(k.value for k in ValueKind)


@dataclass(frozen=True, slots=True)
class Page:
    rows: Sequence[repo.Row]
    next_before: int | None  # pass as ``before`` for the next page; None: this is the last


def _page(
    uow: UnitOfWork, query: Select[Any], id_column: Any, before: int | None, limit: int
) -> Page:
    if before is not None:
        query = query.where(id_column < before)
    rows = uow.conn.execute(query.order_by(id_column.desc()).limit(limit + 1)).mappings().all()
    more = len(rows) > limit
    shown = rows[:limit]
    return Page(shown, int(shown[-1]["id"]) if more and shown else None)


def _text(value: str | None) -> str | None:
    text = (value or "").strip()
    if len(text) > MAX_TEXT:
        raise errors.ValidationFailed(f"at most {MAX_TEXT} characters", field="q")
    return text or None


def _like(text: str) -> str:
    escaped = text.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


# --- vouchers ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class VoucherFilters:
    q: str | None = None  # the code (normalised, exact) or the public id
    customer: str | None = None  # a customer's id, external reference or email
    campaign: str | None = None  # a campaign's id or key
    status: str | None = None
    kind: str | None = None

    @property
    def any(self) -> bool:
        return any((self.q, self.customer, self.campaign, self.status, self.kind))


def parse_voucher_filters(fields: Mapping[str, str]) -> VoucherFilters:
    """Raises: ValidationFailed (an unknown status or kind, overlong text)."""
    status = _text(fields.get("status"))
    kind = _text(fields.get("kind"))
    if status is not None and status not in STATUSES:
        raise errors.ValidationFailed(f"status must be one of {', '.join(STATUSES)}", "status")
    if kind is not None and kind not in KINDS:
        raise errors.ValidationFailed(f"kind must be one of {', '.join(KINDS)}", "kind")
    return VoucherFilters(
        _text(fields.get("q")),
        _text(fields.get("customer")),
        _text(fields.get("campaign")),
        status,
        kind,
    )


def _customer_ids(actor: Actor, text: str) -> Select[Any]:
    match = or_(
        customers.c.external_ref == text,
        func.lower(customers.c.email) == text.lower(),
        *([customers.c.id == int(text)] if text.isdigit() else []),
    )
    return select(customers.c.id).where(customers.c.tenant_id == actor.tenant_id, match)


def _campaign_ids(actor: Actor, text: str) -> Select[Any]:
    match = or_(campaigns.c.key == text, *([campaigns.c.id == int(text)] if text.isdigit() else []))
    return select(campaigns.c.id).where(campaigns.c.tenant_id == actor.tenant_id, match)


def search_vouchers(
    uow: UnitOfWork,
    actor: Actor,
    filters: VoucherFilters,
    *,
    before: int | None = None,
    limit: int = PAGE,
) -> Page:
    """The tenant's (undeleted) vouchers matching every filter given, newest first."""
    query = select(vouchers).where(
        vouchers.c.tenant_id == actor.tenant_id, vouchers.c.deleted_at.is_(None)
    )
    if filters.q is not None:
        query = query.where(
            or_(
                vouchers.c.code == codes.normalize(filters.q)[: codes.MAX_CODE_LENGTH],
                vouchers.c.public_id == filters.q,
            )
        )
    if filters.customer is not None:
        query = query.where(
            vouchers.c.holder_id.in_(_customer_ids(actor, filters.customer).scalar_subquery())
        )
    if filters.campaign is not None:
        query = query.where(
            vouchers.c.campaign_id.in_(_campaign_ids(actor, filters.campaign).scalar_subquery())
        )
    if filters.status is not None:
        query = query.where(vouchers.c.status == filters.status)
    if filters.kind is not None:
        query = query.where(vouchers.c.kind == filters.kind)
    return _page(uow, query, vouchers.c.id, before, limit)


def campaign_names(uow: UnitOfWork, actor: Actor, ids: set[int]) -> dict[int, str]:
    if not ids:
        return {}
    query = select(campaigns.c.id, campaigns.c.name).where(
        campaigns.c.tenant_id == actor.tenant_id, campaigns.c.id.in_(sorted(ids))
    )
    return {int(i): str(n) for i, n in uow.conn.execute(query)}


# --- customers ---------------------------------------------------------------------------------


def search_customers(
    uow: UnitOfWork, actor: Actor, text: str | None, *, before: int | None = None, limit: int = PAGE
) -> Page:
    """Customers whose name, email or external reference contains ``text`` (any case)."""
    query = select(customers).where(customers.c.tenant_id == actor.tenant_id)
    wanted = _text(text)
    if wanted is not None:
        pattern = _like(wanted)
        query = query.where(
            or_(
                func.lower(customers.c.name).like(pattern, escape="\\"),
                func.lower(customers.c.email).like(pattern, escape="\\"),
                func.lower(customers.c.external_ref).like(pattern, escape="\\"),
            )
        )
    return _page(uow, query, customers.c.id, before, limit)


@dataclass(frozen=True, slots=True)
class CustomerDossier:
    customer: repo.Row
    vouchers: Page  # the vouchers the customer holds


def customer(
    uow: UnitOfWork, actor: Actor, customer_id: int, *, before: int | None = None
) -> CustomerDossier:
    """Raises: NotFound."""
    row = repo.find_customer(uow.conn, actor.tenant_id, id=customer_id)
    if row is None:
        raise errors.NotFound("customer", customer_id)
    held = search_vouchers(uow, actor, VoucherFilters(customer=str(customer_id)), before=before)
    return CustomerDossier(row, held)


# --- the audit feed ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AuditFilters:
    actor: str | None = None  # "user:7", "client:abc", "cli", or a staff user's email
    operation: str | None = None
    voucher: str | None = None  # the voucher's public id or code
    since: datetime | None = None
    until: datetime | None = None


AUDIT_COLUMNS: Final = (
    "id",
    "created_at",
    "actor",
    "operation",
    "subject",
    "subject_id",
    "voucher_id",
    "reason",
)


def _audit_query(uow: UnitOfWork, actor: Actor, filters: AuditFilters) -> Select[Any]:
    query = select(events).where(events.c.tenant_id == actor.tenant_id)
    if filters.actor is not None:
        name = filters.actor
        if "@" in name:
            user = uow.conn.execute(
                select(staff_users.c.id).where(
                    staff_users.c.tenant_id == actor.tenant_id,
                    staff_users.c.email == name.strip().lower(),
                )
            ).scalar()
            name = f"user:{user}" if user is not None else name
        query = query.where(events.c.actor == name)
    if filters.operation is not None:
        query = query.where(events.c.operation == filters.operation)
    if filters.voucher is not None:
        voucher_ids = select(vouchers.c.id).where(
            vouchers.c.tenant_id == actor.tenant_id,
            or_(
                vouchers.c.public_id == filters.voucher,
                vouchers.c.code == codes.normalize(filters.voucher)[: codes.MAX_CODE_LENGTH],
            ),
        )
        query = query.where(events.c.voucher_id.in_(voucher_ids.scalar_subquery()))
    if filters.since is not None:
        query = query.where(events.c.created_at >= filters.since)
    if filters.until is not None:
        query = query.where(events.c.created_at <= filters.until)
    return query


def audit_feed(
    uow: UnitOfWork,
    actor: Actor,
    filters: AuditFilters,
    *,
    before: int | None = None,
    limit: int = PAGE,
) -> Page:
    """The tenant's events matching every filter, newest first."""
    return _page(uow, _audit_query(uow, actor, filters), events.c.id, before, limit)


def audit_rows(engine: Engine, actor: Actor, filters: AuditFilters) -> Iterator[tuple[Any, ...]]:
    """Every matching event as a row of ``AUDIT_COLUMNS``, newest first, for a streamed CSV.

    One short read-only unit of work per chunk, not one long transaction: a long export holds
    no connection between chunks, and memory stays bounded by the chunk. Paging by id from the
    first chunk down, events written during the export are not mixed in.
    """
    before: int | None = None
    while True:
        with UnitOfWork(engine, readonly=True) as uow:
            page = audit_feed(uow, actor, filters, before=before, limit=EXPORT_CHUNK)
        for row in page.rows:
            yield tuple(row[c] for c in AUDIT_COLUMNS)
        if page.next_before is None:
            return
        before = page.next_before


def actor_names(uow: UnitOfWork, actor: Actor, names: set[str]) -> dict[str, str]:
    """Staff users' emails for the ``user:<id>`` actors among ``names`` (for display)."""
    ids = {int(n[5:]) for n in names if n.startswith("user:") and n[5:].isdigit()}
    if not ids:
        return {}
    query = select(staff_users.c.id, staff_users.c.email).where(
        staff_users.c.tenant_id == actor.tenant_id, staff_users.c.id.in_(sorted(ids))
    )
    return {f"user:{i}": str(e) for i, e in uow.conn.execute(query)}


def parse_audit_filters(fields: Mapping[str, str]) -> AuditFilters:
    """``since`` and ``until`` as ISO dates or date-times: a date ``since`` is the start of that
    day, a date ``until`` its end (UTC). Raises: ValidationFailed."""
    since_text = (fields.get("since") or "").strip()
    since = parse_moment(since_text, "since")
    if since is not None and len(since_text) == 10:
        since = datetime.combine(since.date(), time(), UTC)
    return AuditFilters(
        actor=_text(fields.get("actor")),
        operation=_text(fields.get("operation")),
        voucher=_text(fields.get("voucher")),
        since=since,
        until=parse_moment((fields.get("until") or "").strip(), "until"),
    )
