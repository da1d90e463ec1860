"""Value movements: charge (redeem), reserve/capture/release, refund, recharge."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from voucherd.db import repositories as repo
from voucherd.domain import errors
from voucherd.domain import vouchers as rules
from voucherd.domain.money import normalize_currency
from voucherd.domain.policies import NONE, Policies, Policy
from voucherd.domain.vouchers import LedgerKind, ReservationStatus, ValueKind
from voucherd.services import pin_lockouts, vouchers
from voucherd.services.changes import Applied, Guard, VoucherRef, apply, find, locked, record_event
from voucherd.services.unit_of_work import Actor, UnitOfWork

RESERVATION_TTL = timedelta(minutes=30)


@dataclass(frozen=True, slots=True)
class Charged:
    voucher: repo.Row
    entry: repo.Row
    # The voucher's campaign as it was read with the voucher, when the caller asked for it
    # (``charge(with_campaign=True)``); None otherwise, or for a voucher of no campaign.
    campaign: Mapping[str, Any] | None = None


def _check_pin(uow: UnitOfWork, row: repo.Row, pin: str | None, require_pin: bool) -> None:
    if row["pin_hash"] is not None and (require_pin or pin is not None):
        pin_lockouts.verify(uow, row, pin)


def _currency(currency: str | None) -> str | None:
    return normalize_currency(currency) if currency is not None else None


def charge(
    uow: UnitOfWork,
    actor: Actor,
    ref: VoucherRef,
    *,
    amount: int | None = None,
    currency: str | None = None,
    order_amount: int | None = None,
    order_number: str | None = None,
    customer_id: int | None = None,
    locking_code: str | None = None,
    pin: str | None = None,
    require_pin: bool = False,
    whole_balance: bool = False,
    claim: bool = False,
    for_holder: bool = False,
    policies: Policies = NONE,
    guard: Guard | None = None,
    with_campaign: bool = False,
) -> Charged:
    """Redeem value or one use, atomically, never past the balance or the usage limit.

    ``whole_balance``: charge a stored-value voucher's whole balance as it is on the locked
    row (no ``amount``); other kinds are charged one use as always.
    ``claim``: an unheld voucher is first claimed for ``customer_id`` in the same transaction;
    one held by another customer is refused (AlreadyClaimed).
    ``for_holder``: book the charge for the voucher's holder on the locked row (no customer).
    ``policies``: vendor rules, e.g. ``MIN_SPEND_WAIVED`` when the caller has no order amount.
    ``with_campaign``: the voucher's campaign comes with the voucher's read (``Charged.campaign``).

    Raises:
        NotFound, InvalidPin, AlreadyClaimed, whatever ``guard`` raises, and everything
        ``domain.vouchers.charge`` raises.
    """
    currency = _currency(currency)
    row = locked(uow, actor, ref, guard=guard, with_campaign=with_campaign)
    campaign = repo.campaign_of(row) if with_campaign else None
    _check_pin(uow, row, pin, require_pin)
    if claim and customer_id is not None and row["holder_id"] != customer_id:
        if repo.find_customer(uow.conn, actor.tenant_id, id=customer_id) is None:
            raise errors.NotFound("customer", customer_id)
        change = rules.claim(repo.voucher_state(row), customer_id, uow.now)
        row = apply(uow, actor, row, change).voucher
    if for_holder:
        if customer_id is not None:
            raise errors.ValidationFailed("name a customer or charge for the holder", "customer_id")
        customer_id = row["holder_id"]
    if whole_balance:
        if amount is not None:
            raise errors.InvalidAmount("give an amount or the whole balance, not both")
        if row["kind"] == ValueKind.STORED_VALUE.value:
            amount = int(row["balance"])
    used = 0
    if customer_id is not None:
        if repo.find_customer(uow.conn, actor.tenant_id, id=customer_id) is None:
            raise errors.NotFound("customer", customer_id)
        if row["max_uses_per_customer"] is not None:
            used = repo.customer_uses(uow.conn, actor.tenant_id, row["id"], customer_id)
    elif row["max_uses_per_customer"] is not None:
        raise errors.ValidationFailed(
            "this voucher limits uses per customer: name the customer", field="customer_id"
        )
    change = rules.charge(
        repo.voucher_state(row),
        uow.now,
        amount=amount,
        currency=currency,
        order_amount=order_amount,
        locking_code=locking_code,
        customer_uses=used,
        policies=policies,
    )
    applied = apply(
        uow,
        actor,
        row,
        change,
        ledger={"order_number": order_number, "customer_id": customer_id},
    )
    if row["hold_id"] is not None and applied.voucher["hold_id"] is None:
        # A hold that had already lapsed is closed by the charge that overrode it.
        repo.close_reservations(uow.conn, actor.tenant_id, row["id"], "expired", uow.now)
    assert applied.entry is not None
    return Charged(applied.voucher, applied.entry, campaign)


@dataclass(frozen=True, slots=True)
class Reserved:
    voucher: repo.Row
    reservation: repo.Row


def reserve(
    uow: UnitOfWork,
    actor: Actor,
    ref: VoucherRef,
    *,
    amount: int | None = None,
    currency: str | None = None,
    ttl: timedelta = RESERVATION_TTL,
    pin: str | None = None,
    require_pin: bool = False,
    locking_code: str | None = None,
    guard: Guard | None = None,
) -> Reserved:
    """Hold value (or a use); a voucher has one hold at a time and a new one replaces it.

    Raises: NotFound, InvalidPin, whatever ``guard`` raises, and everything
    ``domain.vouchers.reserve`` raises.
    """
    currency = _currency(currency)
    row = locked(uow, actor, ref, guard=guard)
    _check_pin(uow, row, pin, require_pin)
    state = repo.voucher_state(row)
    reservation = repo.insert_reservation(
        uow.conn,
        {
            "tenant_id": actor.tenant_id,
            "voucher_id": row["id"],
            "amount": amount or 0,
            "currency": currency or row["currency"],
            "status": "open",
            "expires_at": uow.now + ttl,
            "client_id": actor.client_id,
            "created_at": uow.now,
        },
    )
    change = rules.reserve(
        state,
        uow.now,
        reservation["id"],
        ttl,
        amount=amount,
        currency=currency,
        locking_code=locking_code,
    )
    if row["hold_id"] is not None:
        repo.close_reservations(
            uow.conn, actor.tenant_id, row["id"], "superseded", uow.now, only_id=row["hold_id"]
        )
    applied = apply(uow, actor, row, change)
    return Reserved(applied.voucher, reservation)


def _reservation(uow: UnitOfWork, actor: Actor, reservation_id: int) -> repo.Row:
    reservation = repo.find_reservation(uow.conn, actor.tenant_id, reservation_id)
    if reservation is None:
        raise errors.NotFound("reservation", reservation_id)
    return reservation


def _locked_reservation(
    uow: UnitOfWork, actor: Actor, reservation_id: int
) -> tuple[repo.Row, repo.Row | None]:
    """The reservation, read after its voucher's row was locked (so of two requests racing on
    one reservation the second sees what the first did), and that voucher (a deleted one too:
    its reservations were closed then). The voucher is found and locked by the reservation's
    id in one statement (``repo.lock_reserved_voucher``)."""
    row = repo.lock_reserved_voucher(uow.conn, actor.tenant_id, reservation_id)
    return _reservation(uow, actor, reservation_id), row


def capture(
    uow: UnitOfWork,
    actor: Actor,
    reservation_id: int,
    *,
    order_number: str | None = None,
    amount: int | None = None,
    customer_id: int | None = None,
    policies: Policies = NONE,
) -> Charged:
    """Charge a reservation: by default its whole amount, at most that.

    ``policies``: ``RESERVATION_OUTCOMES`` names how a closed reservation closed.

    Raises: NotFound, ReservationClosed (ReservationCaptured, ReservationReleased),
    ReservationExpired, InvalidAmount, ...
    """
    reservation, row = _locked_reservation(uow, actor, reservation_id)
    status = ReservationStatus(reservation["status"])
    if Policy.RESERVATION_OUTCOMES in policies:
        # Decided before the voucher is looked at: a deleted voucher's reservation was closed.
        rules.check_capturable(status, reservation["expires_at"], uow.now, policies)
    if row is None or row["deleted_at"] is not None:
        raise errors.NotFound("voucher", VoucherRef(id=reservation["voucher_id"]))
    if amount is not None and amount > reservation["amount"]:
        raise errors.InvalidAmount("cannot charge more than the reservation holds")
    change = rules.capture(
        repo.voucher_state(row),
        uow.now,
        reservation_id,
        amount or reservation["amount"],
        status,
        reservation["expires_at"],
        policies,
    )
    applied = apply(
        uow,
        actor,
        row,
        change,
        ledger={
            "order_number": order_number,
            "reservation_id": reservation_id,
            "customer_id": customer_id,
        },
    )
    repo.close_reservations(
        uow.conn, actor.tenant_id, row["id"], "captured", uow.now, only_id=reservation_id
    )
    assert applied.entry is not None
    return Charged(applied.voucher, applied.entry)


def release(
    uow: UnitOfWork, actor: Actor, reservation_id: int, *, policies: Policies = NONE
) -> repo.Row:
    """Cancel a reservation; the held value is free again.

    ``policies``: under ``RESERVATION_OUTCOMES`` releasing a lapsed or released one again is a
    no-op (the reservation is returned as it is).

    Raises: NotFound, ReservationClosed (ReservationCaptured, ReservationReleased).
    """
    reservation, row = _locked_reservation(uow, actor, reservation_id)
    if not rules.releasable(ReservationStatus(reservation["status"]), policies):
        return reservation
    assert row is not None
    apply(uow, actor, row, rules.release(repo.voucher_state(row), reservation_id))
    repo.close_reservations(
        uow.conn, actor.tenant_id, row["id"], "released", uow.now, only_id=reservation_id
    )
    closed = repo.find_reservation(uow.conn, actor.tenant_id, reservation_id)
    assert closed is not None
    return closed


def get_reservation(uow: UnitOfWork, actor: Actor, reservation_id: int) -> repo.Row:
    return _reservation(uow, actor, reservation_id)


def refund(
    uow: UnitOfWork,
    actor: Actor,
    entry_id: int,
    *,
    amount: int | None = None,
    currency: str | None = None,
    reason: str | None = None,
) -> Charged:
    """Give back (part of) one charge: never more than what is left of it.

    Raises: NotFound, NotRefundable, RefundExceedsCharge, CurrencyMismatch, InvalidAmount.
    """
    currency = _currency(currency)
    entry = repo.find_ledger_entry(uow.conn, actor.tenant_id, entry_id)
    if entry is None:
        raise errors.NotFound("charge", entry_id)
    if entry["kind"] != LedgerKind.CHARGE.value:
        raise errors.NotRefundable("only a charge can be refunded")
    row = repo.find_voucher(uow.conn, actor.tenant_id, id=entry["voucher_id"], for_update=True)
    if row is None:
        raise errors.NotFound("voucher", entry["voucher_id"])
    refunded, count = repo.refunded_total(uow.conn, actor.tenant_id, entry_id)
    charged = -entry["amount"]
    change = rules.refund(
        repo.voucher_state(row),
        charged=charged,
        refunded=refunded if charged else count,
        amount=amount,
        currency=currency,
        now=uow.now,
    )
    applied = apply(
        uow,
        actor,
        row,
        change,
        reason=reason,
        ledger={
            "refund_of": entry_id,
            "order_number": entry["order_number"],
            "customer_id": entry["customer_id"],
        },
    )
    assert applied.entry is not None
    return Charged(applied.voucher, applied.entry)


def recharge(
    uow: UnitOfWork,
    actor: Actor,
    ref: VoucherRef,
    *,
    amount: int,
    currency: str | None,
    order_number: str | None = None,
    reason: str | None = None,
) -> Charged:
    """Add value to a stored-value voucher.

    Raises: NotFound, NotSupportedForKind, CurrencyMismatch, InvalidAmount, InvalidTransition.
    """
    currency = _currency(currency)
    row = find(uow, actor, ref, for_update=True)
    change = rules.recharge(repo.voucher_state(row), amount=amount, currency=currency, now=uow.now)
    applied: Applied = apply(
        uow, actor, row, change, reason=reason, ledger={"order_number": order_number}
    )
    assert applied.entry is not None
    return Charged(applied.voucher, applied.entry)


def ledger(
    uow: UnitOfWork,
    actor: Actor,
    ref: VoucherRef,
    *,
    after_id: int | None,
    limit: int,
    kinds: Sequence[str] | None = None,
) -> Sequence[repo.Row]:
    row = find(uow, actor, ref)
    return repo.list_ledger(
        uow.conn, actor.tenant_id, row["id"], after_id=after_id, limit=limit, kinds=kinds
    )


def get_entry(uow: UnitOfWork, actor: Actor, entry_id: int) -> repo.Row:
    entry = repo.find_ledger_entry(uow.conn, actor.tenant_id, entry_id)
    if entry is None:
        raise errors.NotFound("charge", entry_id)
    return entry


@dataclass(frozen=True, slots=True)
class Split:
    charged: Charged  # the redeemed part (its voucher row is the final state, used up)
    remainder: repo.Row | None  # the new voucher holding what was left, if anything was


def redeem_and_split(
    uow: UnitOfWork,
    actor: Actor,
    ref: VoucherRef,
    *,
    amount: int,
    customer_id: int | None = None,
    order_number: str | None = None,
    new_public_id: str | None = None,
    metadata: dict[str, Any] | None = None,
) -> Split:
    """Redeem ``amount`` and move the rest of the balance to a new voucher (Spaaza's
    "regenerated voucher"). The original ends used up; its ledger shows a charge of exactly
    ``amount`` and a transfer of the rest, and the new voucher opens with the rest.

    Raises: everything ``charge`` and ``domain.vouchers.transfer_out`` raise.
    """
    charged = charge(
        uow, actor, ref, amount=amount, customer_id=customer_id, order_number=order_number
    )
    row = charged.voucher
    rest = int(row["balance"])
    if rest == 0:
        return Split(charged, None)
    moved = apply(
        uow,
        actor,
        row,
        rules.transfer_out(repo.voucher_state(row), uow.now, amount=rest),
        reason="remainder moved to a new voucher",
        ledger={"order_number": order_number, "customer_id": customer_id},
        operation="transfer",
    )
    remainder = vouchers.create(
        uow,
        actor,
        vouchers.NewVoucher(
            kind=ValueKind.STORED_VALUE,
            currency=row["currency"],
            amount=rest,
            campaign_id=row["campaign_id"],
            starts_at=row["starts_at"],
            ends_at=row["ends_at"],
            holder_id=row["holder_id"],
            public_id=new_public_id,
            active=True,
            metadata=metadata or {},
        ),
    ).voucher
    return Split(Charged(moved.voucher, charged.entry), remainder)


__all__ = ["Charged", "Reserved", "Split", "record_event"]
