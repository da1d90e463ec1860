"""Voucher use cases without value movement: create, read, and lifecycle changes."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.exc import IntegrityError

from voucherd.db import repositories as repo
from voucherd.domain import codes, errors
from voucherd.domain import vouchers as rules
from voucherd.domain.lifecycle import VoucherStatus
from voucherd.domain.money import MAX_MINOR_UNITS, normalize_currency
from voucherd.domain.policies import NONE, Policies
from voucherd.domain.vouchers import LedgerKind, ValidityUnit, ValueKind
from voucherd.services import hashing, pin_lockouts
from voucherd.services.changes import (
    Applied,
    Guard,
    VoucherRef,
    apply,
    find,
    locked,
    record_event,
)
from voucherd.services.unit_of_work import Actor, UnitOfWork


@dataclass(slots=True)
class NewVoucher:
    """Everything a voucher can be created with; kind-specific fields are checked together."""

    kind: ValueKind = ValueKind.STORED_VALUE
    currency: str | None = None
    amount: int | None = None  # initial balance of a stored-value voucher
    discount_amount: int | None = None
    discount_bps: int | None = None
    discount_cap: int | None = None
    min_spend: int | None = None
    gift_description: str | None = None
    cashback_bps: int | None = None
    max_uses: int | None = None
    max_uses_per_customer: int | None = None
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    validity_value: int | None = None
    validity_unit: ValidityUnit | None = None
    medium: str = "digital"
    taxable: bool = False
    tax_rate_bps: int | None = None
    metadata: Mapping[str, Any] = field(default_factory=dict)
    sku: str | None = None
    label: str | None = None
    order_number: str | None = None
    public_id: str | None = None
    code: str | None = None
    pin: str | None = None
    generate_pin: bool = False
    campaign_id: int | None = None
    holder_id: int | None = None
    active: bool = False


@dataclass(frozen=True, slots=True)
class Created:
    voucher: repo.Row
    pin: str | None  # shown once, when generated


def _need(condition: bool, message: str, field: str, rule: str = "required") -> None:
    if not condition:
        raise errors.ValidationFailed(message, field=field, rule=rule)


def validate(spec: NewVoucher) -> None:
    """Raises: ValidationFailed naming the first field that breaks a rule of its kind."""
    kind = spec.kind
    if spec.currency is not None:
        spec.currency = normalize_currency(spec.currency)
    money_kinds = (ValueKind.STORED_VALUE, ValueKind.FIXED_DISCOUNT)
    if kind in money_kinds or spec.min_spend or spec.discount_cap:
        _need(spec.currency is not None, "currency is required for this voucher", "currency")
    for name in ("amount", "discount_amount", "discount_cap", "min_spend"):
        value = getattr(spec, name)
        _need(
            value is None or 0 <= value <= MAX_MINOR_UNITS,
            f"{name} must be between 0 and {MAX_MINOR_UNITS}",
            name,
            "range",
        )
    if kind is ValueKind.STORED_VALUE:
        spec.amount = spec.amount or 0
    else:
        _need(not spec.amount, "only stored-value vouchers carry a balance", "amount", "prohibited")
    if kind is ValueKind.FIXED_DISCOUNT:
        _need(bool(spec.discount_amount), "discount_amount must be positive", "discount_amount")
    if kind is ValueKind.PERCENT_DISCOUNT:
        _need(
            spec.discount_bps is not None and 0 < spec.discount_bps <= 10000,
            "discount_bps must be between 1 and 10000",
            "discount_bps",
            "range",
        )
    if kind is ValueKind.CASHBACK:
        _need(
            spec.cashback_bps is not None and 0 < spec.cashback_bps <= 10000,
            "cashback_bps must be between 1 and 10000",
            "cashback_bps",
            "range",
        )
    if kind is ValueKind.GIFT:
        _need(bool(spec.gift_description), "gift_description is required", "gift_description")
    if spec.max_uses is None and kind is not ValueKind.STORED_VALUE:
        spec.max_uses = 1  # a discount or gift is single-use unless told otherwise
    for name in ("max_uses", "max_uses_per_customer"):
        value = getattr(spec, name)
        _need(value is None or 1 <= value <= 10**9, f"{name} must be at least 1", name, "min")
    if spec.starts_at and spec.ends_at:
        _need(spec.starts_at < spec.ends_at, "ends_at must be after starts_at", "ends_at", "after")
    if spec.validity_value is not None or spec.validity_unit is not None:
        _need(
            spec.validity_value is not None and spec.validity_unit is not None,
            "validity needs both a value and a unit",
            "validity_unit",
        )
        _need(
            spec.ends_at is None,
            "give either ends_at or a validity period",
            "ends_at",
            "prohibited",
        )
        _need(
            0 < (spec.validity_value or 0) <= 1000,
            "validity_value must be 1..1000",
            "validity_value",
            "range",
        )
    _need(spec.medium in ("print", "digital"), "medium is print or digital", "medium", "in")
    _need(
        spec.tax_rate_bps is None or 0 <= spec.tax_rate_bps <= 10000,
        "tax_rate must be between 0 and 100",
        "tax_rate",
        "range",
    )


def row_values(spec: NewVoucher, actor: Actor, now: datetime) -> dict[str, Any]:
    return {
        "tenant_id": actor.tenant_id,
        "campaign_id": spec.campaign_id,
        "kind": spec.kind.value,
        "currency": spec.currency,
        "balance": spec.amount or 0,
        "discount_amount": spec.discount_amount,
        "discount_bps": spec.discount_bps,
        "discount_cap": spec.discount_cap,
        "min_spend": spec.min_spend,
        "gift_description": spec.gift_description,
        "cashback_bps": spec.cashback_bps,
        "max_uses": spec.max_uses,
        "max_uses_per_customer": spec.max_uses_per_customer,
        "starts_at": spec.starts_at,
        "ends_at": spec.ends_at,
        "validity_value": spec.validity_value,
        "validity_unit": spec.validity_unit.value if spec.validity_unit else None,
        "medium": spec.medium,
        "taxable": spec.taxable,
        "tax_rate_bps": spec.tax_rate_bps,
        "metadata": dict(spec.metadata),
        "sku": spec.sku,
        "label": spec.label,
        "order_number": spec.order_number,
        "holder_id": spec.holder_id,
        "claimed_at": now if spec.holder_id else None,
        "status": VoucherStatus.INACTIVE.value,
        "uses": 0,
        "hold_amount": 0,
        "created_by": actor.client_id,
        "created_at": now,
        "updated_at": now,
        "version": 1,
    }


def create(
    uow: UnitOfWork, actor: Actor, spec: NewVoucher, *, code_spec: codes.CodeSpec | None = None
) -> Created:
    """Create one voucher (inactive unless ``spec.active``), with its issue entry and event.

    Raises:
        ValidationFailed, DuplicateCode, DuplicateId, NotFound (customer, campaign),
        VoucherExpired.
    """
    validate(spec)
    if (
        spec.campaign_id is not None
        and repo.find_campaign(uow.conn, actor.tenant_id, id=spec.campaign_id) is None
    ):
        # Checked before the insert: a foreign-key failure would look like a taken code.
        raise errors.NotFound("campaign", spec.campaign_id)
    if (
        spec.holder_id is not None
        and repo.find_customer(uow.conn, actor.tenant_id, id=spec.holder_id) is None
    ):
        raise errors.NotFound("customer", spec.holder_id)
    pin = spec.pin if spec.pin is not None else (codes.random_pin() if spec.generate_pin else None)
    values = row_values(spec, actor, uow.now)
    values["pin_hash"] = hashing.hash_pin(pin) if pin else None
    custom_code = codes.validate_custom(spec.code) if spec.code is not None else None
    generator = (code_spec or codes.CodeSpec()).generate(10**6)
    row = None
    for _attempt in range(8):
        values["code"] = custom_code or next(generator)
        values["public_id"] = spec.public_id or hashing.random_id()
        savepoint = uow.conn.begin_nested()
        try:
            row = repo.insert_voucher(uow.conn, values)
            savepoint.commit()
            break
        except IntegrityError:
            savepoint.rollback()
            if custom_code and repo.find_voucher(
                uow.conn, actor.tenant_id, code=custom_code, include_deleted=True
            ):
                raise errors.DuplicateCode("this code is already in use", field="code") from None
            if spec.public_id and repo.find_voucher(
                uow.conn, actor.tenant_id, public_id=spec.public_id, include_deleted=True
            ):
                raise errors.DuplicateId("this id is already in use", field="id") from None
    if row is None:
        raise errors.CodeSpaceTooSmall("could not find a free code; the code space is too full")
    if row["balance"]:
        repo.insert_ledger(uow.conn, _issue_entry(row, actor, uow.now))
    record_event(
        uow,
        actor,
        operation="create",
        subject="voucher",
        subject_id=row["public_id"],
        voucher_id=row["id"],
        after={"status": row["status"], "kind": row["kind"], "balance": row["balance"]},
    )
    if spec.active:
        row = apply(uow, actor, row, rules.activate(repo.voucher_state(row), uow.now)).voucher
    return Created(row, pin if spec.pin is None and pin else None)


def _issue_entry(row: repo.Row, actor: Actor, now: datetime) -> dict[str, Any]:
    return {
        "tenant_id": actor.tenant_id,
        "voucher_id": row["id"],
        "kind": LedgerKind.ISSUE.value,
        "amount": row["balance"],
        "currency": row["currency"],
        "balance_after": row["balance"],
        "uses_delta": 0,
        "uses_after": 0,
        "value": row["balance"],
        "client_id": actor.client_id,
        "created_at": now,
    }


def get(uow: UnitOfWork, actor: Actor, ref: VoucherRef) -> repo.Row:
    """Raises: NotFound."""
    return find(uow, actor, ref)


def get_for_update(
    uow: UnitOfWork, actor: Actor, ref: VoucherRef, *, guard: Guard | None = None
) -> repo.Row:
    """Read a voucher for a write that follows in this unit of work (``changes.locked``):
    checks made on this row hold until commit. Raises: NotFound, and what ``guard`` raises."""
    return locked(uow, actor, ref, guard=guard)


def list_page(
    uow: UnitOfWork,
    actor: Actor,
    *,
    after_id: int | None,
    limit: int,
    filters: Mapping[str, Any] | None = None,
    created_from: datetime | None = None,
    created_to: datetime | None = None,
) -> Sequence[repo.Row]:
    return repo.list_vouchers(
        uow.conn,
        actor.tenant_id,
        after_id=after_id,
        limit=limit,
        filters=filters or {},
        created_from=created_from,
        created_to=created_to,
    )


UPDATABLE = frozenset(
    {"sku", "label", "order_number", "metadata", "medium", "taxable", "tax_rate_bps"}
)


def update(
    uow: UnitOfWork,
    actor: Actor,
    ref: VoucherRef,
    changes: Mapping[str, Any],
    reason: str | None = None,
) -> repo.Row:
    """Change descriptive fields (not value, not lifecycle).

    Raises: NotFound, ValidationFailed, InvalidTransition.
    """
    unknown = set(changes) - UPDATABLE
    if unknown:
        raise errors.ValidationFailed(f"cannot update {sorted(unknown)}", field=min(unknown))
    row = find(uow, actor, ref, for_update=True)
    change = rules.update(repo.voucher_state(row), **changes)
    return apply(uow, actor, row, change, reason=reason).voucher


def _state_op(
    uow: UnitOfWork,
    actor: Actor,
    ref: VoucherRef,
    decide: Any,
    reason: str | None = None,
    guard: Guard | None = None,
) -> repo.Row:
    row = locked(uow, actor, ref, guard=guard)
    change = decide(repo.voucher_state(row))
    return apply(uow, actor, row, change, reason=reason).voucher


# Every lifecycle operation below takes ``guard`` (the face's own check, run on the locked row
# before the domain decides) and, where a vendor rule can change the outcome, ``policies``.


def activate(
    uow: UnitOfWork,
    actor: Actor,
    ref: VoucherRef,
    reason: str | None = None,
    *,
    guard: Guard | None = None,
) -> repo.Row:
    return _state_op(uow, actor, ref, lambda v: rules.activate(v, uow.now), reason, guard)


def deactivate(
    uow: UnitOfWork,
    actor: Actor,
    ref: VoucherRef,
    reason: str | None = None,
    *,
    guard: Guard | None = None,
) -> repo.Row:
    return _state_op(uow, actor, ref, rules.deactivate, reason, guard)


def end(
    uow: UnitOfWork,
    actor: Actor,
    ref: VoucherRef,
    reason: str | None = None,
    *,
    policies: Policies = NONE,
    guard: Guard | None = None,
) -> repo.Row:
    """End now. Raises: NotFound, VoucherExpired, VoucherNotStarted, InvalidTransition."""
    return _state_op(uow, actor, ref, lambda v: rules.end(v, uow.now, policies), reason, guard)


def extend(
    uow: UnitOfWork,
    actor: Actor,
    ref: VoucherRef,
    ends_at: datetime,
    reason: str | None = None,
    *,
    guard: Guard | None = None,
) -> repo.Row:
    """Move the end of the validity window later; the event's operation is ``extend``.

    Raises: NotFound, ValidationFailed, VoucherExpired, VoucherVoided, VoucherDeleted.
    """
    row = locked(uow, actor, ref, guard=guard)
    change = rules.extend(repo.voucher_state(row), ends_at, uow.now)
    return apply(uow, actor, row, change, reason=reason, operation="extend").voucher


def expire(
    uow: UnitOfWork,
    actor: Actor,
    ref: VoucherRef,
    reason: str | None = None,
    *,
    require_holder: bool = False,
    guard: Guard | None = None,
) -> repo.Row:
    return _state_op(
        uow,
        actor,
        ref,
        lambda v: rules.expire(v, uow.now, require_holder=require_holder),
        reason,
        guard,
    )


def void(
    uow: UnitOfWork,
    actor: Actor,
    ref: VoucherRef,
    reason: str | None = None,
    *,
    policies: Policies = NONE,
    guard: Guard | None = None,
) -> repo.Row:
    """Raises: NotFound, InvalidTransition (e.g. a used-up voucher without VOID_USED_UP)."""
    return _state_op(uow, actor, ref, lambda v: rules.void(v, uow.now, policies), reason, guard)


def reinstate(
    uow: UnitOfWork,
    actor: Actor,
    ref: VoucherRef,
    *,
    pin: str | None = None,
    reason: str | None = None,
    guard: Guard | None = None,
) -> repo.Row:
    """Undo a void. A voucher with a PIN is reinstated only with that PIN.

    Raises: NotFound, InvalidPin, VoucherNotVoided.
    """
    row = locked(uow, actor, ref, guard=guard)
    if row["pin_hash"] is not None:
        pin_lockouts.verify(uow, row, pin)
    change = rules.reinstate(repo.voucher_state(row))
    return apply(uow, actor, row, change, reason=reason, operation="reinstate").voucher


def delete(
    uow: UnitOfWork,
    actor: Actor,
    ref: VoucherRef,
    reason: str,
    *,
    policies: Policies = NONE,
    guard: Guard | None = None,
) -> repo.Row:
    """Soft delete: the voucher stays for the ledger but answers "not found" from now on.

    Raises: NotFound, ValidationFailed, InvalidTransition, NotAllowedByPolicy.
    """
    row = locked(uow, actor, ref, guard=guard)
    applied = apply(
        uow,
        actor,
        row,
        rules.delete(repo.voucher_state(row), uow.now, reason, policies),
        reason=reason,
    )
    if row["hold_id"] is not None:
        repo.close_reservations(uow.conn, actor.tenant_id, row["id"], "released", uow.now)
    return applied.voucher


def claim(
    uow: UnitOfWork,
    actor: Actor,
    ref: VoucherRef,
    customer_id: int,
    reason: str | None = None,
    *,
    guard: Guard | None = None,
) -> repo.Row:
    if repo.find_customer(uow.conn, actor.tenant_id, id=customer_id) is None:
        raise errors.NotFound("customer", customer_id)
    return _state_op(uow, actor, ref, lambda v: rules.claim(v, customer_id, uow.now), reason, guard)


def unclaim(
    uow: UnitOfWork,
    actor: Actor,
    ref: VoucherRef,
    *,
    force: bool = False,
    reason: str | None = None,
    guard: Guard | None = None,
) -> repo.Row:
    return _state_op(
        uow, actor, ref, lambda v: rules.unclaim(v, uow.now, force=force), reason, guard
    )


def lock(
    uow: UnitOfWork,
    actor: Actor,
    ref: VoucherRef,
    *,
    period: timedelta,
    locking_code: str | None = None,
    basket_code: str | None = None,
    policies: Policies = NONE,
    guard: Guard | None = None,
) -> repo.Row:
    """Raises: NotFound, VoucherLocked, InvalidTransition, VoucherExpired, ValidationFailed."""
    return _state_op(
        uow,
        actor,
        ref,
        lambda v: rules.lock(v, uow.now, period, locking_code, basket_code, policies),
        guard=guard,
    )


def unlock(
    uow: UnitOfWork, actor: Actor, ref: VoucherRef, *, guard: Guard | None = None
) -> repo.Row:
    return _state_op(uow, actor, ref, rules.unlock, guard=guard)


def consume_lock(
    uow: UnitOfWork,
    actor: Actor,
    ref: VoucherRef,
    *,
    locking_code: str | None,
    basket_code: str | None,
    guard: Guard | None = None,
) -> repo.Row:
    """Before a redeem (Spaaza, ``LOCK_BY_BASKET_CODE``): a locked voucher's lock must be named
    by its locking code or basket code, and is consumed; an unlocked voucher is returned as is.

    Raises: NotFound, VoucherLocked, what ``guard`` raises.
    """
    row = locked(uow, actor, ref, guard=guard)
    change = rules.consume_lock(repo.voucher_state(row), uow.now, locking_code, basket_code)
    if change is None:
        return row
    return apply(uow, actor, row, change).voucher


def history(
    uow: UnitOfWork, actor: Actor, ref: VoucherRef, *, after_id: int | None, limit: int
) -> Sequence[repo.Row]:
    row = find(uow, actor, ref)
    return repo.list_events(uow.conn, actor.tenant_id, row["id"], after_id=after_id, limit=limit)


__all__ = ["Applied", "Created", "NewVoucher", "VoucherRef"]
