"""Typed domain errors, each with a stable ``code`` that every face maps to its own format.

The HTTP status of each code lives in ``api/errors.py``; dialects map codes to vendor codes.
"""

from __future__ import annotations

from typing import Any


class VoucherdError(Exception):
    """Base of every expected business failure."""

    code: str = "error"

    def __init__(self, message: str, **details: Any) -> None:
        super().__init__(message)
        self.message = message
        self.details = details


class NotFound(VoucherdError):
    code = "not_found"

    def __init__(self, kind: str, ref: object = None) -> None:
        super().__init__(f"{kind} not found", kind=kind)
        self.kind = kind
        self.ref = ref


class ValidationFailed(VoucherdError):
    """Bad input that passed the wire format but breaks a business rule on a field."""

    code = "validation_failed"

    def __init__(self, message: str, field: str | None = None, rule: str = "invalid") -> None:
        super().__init__(message, field=field, rule=rule)
        self.field = field
        self.rule = rule


class InvalidTransition(VoucherdError):
    """The lifecycle table has no row for (status, action)."""

    code = "invalid_transition"

    def __init__(self, status: str, action: str, message: str | None = None) -> None:
        super().__init__(
            message or f"cannot {action} a voucher that is {status}", status=status, action=action
        )
        self.status = status
        self.action = action


class NotAllowedByPolicy(InvalidTransition):
    """The base table allows it, but the caller's vendor policy does not (e.g. JTL: delete
    only an inactive voucher)."""

    code = "not_allowed_by_policy"

    def __init__(self, status: str, action: str, policy: str = "a vendor policy") -> None:
        super().__init__(status, action, f"cannot {action} a voucher that is {status} ({policy})")
        self.details["policy"] = policy
        self.policy = policy


class VoucherInactive(InvalidTransition):
    code = "voucher_inactive"


class VoucherAlreadyActive(InvalidTransition):
    code = "voucher_already_active"


class VoucherExpired(InvalidTransition):
    code = "voucher_expired"


class VoucherNotStarted(InvalidTransition):
    code = "voucher_not_started"


class VoucherRedeemed(InvalidTransition):
    code = "voucher_redeemed"


class VoucherVoided(InvalidTransition):
    code = "voucher_void"


class VoucherNotVoided(InvalidTransition):
    code = "voucher_not_void"


class VoucherDeleted(InvalidTransition):
    code = "voucher_deleted"


class InsufficientBalance(VoucherdError):
    code = "insufficient_balance"


class CurrencyMismatch(VoucherdError):
    code = "currency_mismatch"


class InvalidAmount(VoucherdError):
    code = "invalid_amount"


class UsageLimitReached(VoucherdError):
    code = "usage_limit_reached"


class CustomerUsageLimitReached(VoucherdError):
    code = "customer_usage_limit_reached"


class MinimumSpendNotMet(VoucherdError):
    code = "minimum_spend_not_met"


class VoucherLocked(VoucherdError):
    code = "voucher_locked"


class VoucherReserved(VoucherdError):
    code = "voucher_reserved"


class ReservationExpired(VoucherdError):
    code = "reservation_expired"


class ReservationClosed(VoucherdError):
    code = "reservation_closed"


class ReservationCaptured(ReservationClosed):
    """Closed by a capture (a face that tells outcomes apart names it; others see the base)."""


class ReservationReleased(ReservationClosed):
    """Closed by a release (a cancel, or the deletion of its voucher)."""


class RefundExceedsCharge(VoucherdError):
    code = "refund_exceeds_charge"


class NotRefundable(VoucherdError):
    code = "not_refundable"


class InvalidPin(VoucherdError):
    code = "invalid_pin"


class PinLocked(InvalidPin):
    """The voucher's PIN was wrong too many times in a row: PIN checks refuse for a while."""

    code = "pin_locked"


class NotClaimed(VoucherdError):
    code = "voucher_not_claimed"


class AlreadyClaimed(VoucherdError):
    code = "voucher_already_claimed"


class DuplicateCode(VoucherdError):
    code = "duplicate_code"


class DuplicateId(VoucherdError):
    code = "duplicate_id"


class CodeSpaceTooSmall(VoucherdError):
    code = "code_space_too_small"


class ConcurrentModification(VoucherdError):
    code = "concurrent_modification"


class NotSupportedForKind(VoucherdError):
    code = "not_supported_for_kind"


class Forbidden(VoucherdError):
    """The caller is known but its role does not allow the action (a staff user's role)."""

    code = "forbidden"


class InvalidCredentials(VoucherdError):
    """A staff login with an unknown address, a wrong password or a disabled account."""

    code = "invalid_credentials"


class CampaignEnded(VoucherdError):
    """The campaign's validity has ended: it issues no more vouchers."""

    code = "campaign_ended"


class CampaignExhausted(VoucherdError):
    """The campaign has no unissued voucher left."""

    code = "campaign_exhausted"


class DeliveryInFlight(VoucherdError):
    """A webhook delivery cannot be replayed while it is being sent."""

    code = "delivery_in_flight"


class ImportRejected(ValidationFailed):
    """A CSV import with bad rows: nothing was imported; ``errors`` lists the bad lines.

    Each listed error is ``{"line": n, "field": name or None, "message": text}``; at most a
    bounded number are listed, ``error_count`` counts them all.
    """

    code = "import_rejected"

    def __init__(
        self, message: str, rows: list[dict[str, Any]] | None = None, error_count: int = 0
    ) -> None:
        rows = rows or []
        VoucherdError.__init__(self, message, errors=rows, error_count=error_count)
        self.field = None
        self.rule = "import"
        self.rows = rows
        self.error_count = error_count
