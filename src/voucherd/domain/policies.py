"""Vendor rules the engine evaluates on the locked row: named policies.

A face never checks a vendor rule itself on a row it read without a lock. It names the
policies its vendor follows and passes them to the service; the domain applies them inside the
transaction, where the row is locked. A policy either adds or removes a row of the lifecycle
table (``lifecycle.POLICY_TRANSITIONS``) or switches a named rule of ``domain.vouchers``:

- ``MIN_SPEND_WAIVED`` (Revenue Monster): a redemption that carries no order amount skips the
  minimum-spend check (RM's redeem calls send none); one that carries an amount is checked.
- ``END_USED_UP`` (Shopee): ``end`` of a used-up voucher inside its window closes the window
  now and it stays redeemed. Row (redeemed, end) -> redeemed.
- ``DELETE_ONLY_INACTIVE`` (JTL): a voucher that can still be charged (active) must be
  deactivated before it is deleted. Row (active, delete) removed.
- ``LOCK_BY_BASKET_CODE`` (Spaaza): a live lock belongs to its basket; locking a locked voucher
  for another ``retailer_basket_code`` is refused (VoucherLocked).
- ``LOCK_BY_BASKET_CODE`` also names Spaaza's "the till names its lock": redeeming a locked
  voucher names its ``voucher_locking_code`` or ``retailer_basket_code`` and consumes the lock
  (``domain.vouchers.consume_lock``, evaluated on the locked row).
- ``DELETE_ONLY_UPCOMING`` (Shopee): only a voucher whose window has not opened (Shopee's
  "upcoming": inactive, or starting later, and not ended) can be deleted; any other is refused
  (NotAllowedByPolicy, action delete).
- ``RESERVATION_OUTCOMES`` (JTL): a closed reservation says how it closed. Capturing one that
  was captured raises ReservationCaptured, one that was cancelled ReservationReleased (both
  ReservationClosed), one that lapsed or was superseded ReservationExpired; releasing one that
  is no longer open is a no-op unless it was captured (ReservationCaptured). Without the policy
  a closed reservation is ReservationClosed and releasing it is refused.
- ``VOID_USED_UP`` (Revenue Monster, seed 002): a collected voucher (its use taken: redeemed)
  can still be voided at the shop. Row (redeemed, void) -> void; reinstate returns it to
  redeemed (row (void, reinstate_used_up) -> redeemed, in the base table).

Without policies (the native API) the base table applies unchanged.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Final


class Policy(StrEnum):
    MIN_SPEND_WAIVED = "min_spend_waived"
    END_USED_UP = "end_used_up"
    DELETE_ONLY_INACTIVE = "delete_only_inactive"
    LOCK_BY_BASKET_CODE = "lock_by_basket_code"
    VOID_USED_UP = "void_used_up"
    DELETE_ONLY_UPCOMING = "delete_only_upcoming"
    RESERVATION_OUTCOMES = "reservation_outcomes"


Policies = frozenset[Policy]

NONE: Final[Policies] = frozenset()
# What each face passes to the services (the native API passes none).
JTL: Final[Policies] = frozenset({Policy.DELETE_ONLY_INACTIVE, Policy.RESERVATION_OUTCOMES})
SHOPEE: Final[Policies] = frozenset({Policy.END_USED_UP, Policy.DELETE_ONLY_UPCOMING})
SPAAZA: Final[Policies] = frozenset({Policy.LOCK_BY_BASKET_CODE})
REVENUE_MONSTER: Final[Policies] = frozenset({Policy.MIN_SPEND_WAIVED, Policy.VOID_USED_UP})
