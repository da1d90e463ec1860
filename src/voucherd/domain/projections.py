"""Each vendor's voucher "status", computed from the engine's facts and never stored twice."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from voucherd.domain.lifecycle import Phase, VoucherStatus
from voucherd.domain.vouchers import VoucherState

JtlStatus = Literal["active", "inactive"]
ShopeeStatus = Literal["upcoming", "ongoing", "expired"]
SpaazaStatus = Literal["generated", "claimed", "redeemed"]
RmStatus = Literal["VALID", "ISSUED", "REDEEMED", "VOID", "EXPIRED"]


def jtl_status(v: VoucherState) -> JtlStatus:
    """JTL knows only whether a voucher may be charged: used-up cards stay "active"."""
    return "active" if v.status in (VoucherStatus.ACTIVE, VoucherStatus.REDEEMED) else "inactive"


def shopee_status(v: VoucherState, now: datetime) -> ShopeeStatus:
    """Shopee's status is the validity window alone; a fully used voucher is still ongoing."""
    if v.status in (VoucherStatus.EXPIRED, VoucherStatus.VOID, VoucherStatus.DELETED):
        return "expired"
    if v.ends_at is not None and v.ends_at <= now:
        return "expired"
    if v.status is VoucherStatus.INACTIVE or (v.starts_at is not None and v.starts_at > now):
        return "upcoming"
    return "ongoing"


def spaaza_status(v: VoucherState) -> SpaazaStatus:
    """Spaaza keeps expiry apart from status (``voucher_expiry_datetime_utc``)."""
    if v.status in (VoucherStatus.REDEEMED, VoucherStatus.VOID):
        return "redeemed"
    return "claimed" if v.holder_id is not None else "generated"


def rm_status(v: VoucherState, now: datetime) -> RmStatus:
    """A batch's vouchers wait inactive ("VALID"); issuing one activates it ("ISSUED")."""
    current = v.phase(now)
    if current is Phase.VOID:
        return "VOID"
    if current is Phase.REDEEMED:
        return "REDEEMED"
    if current in (Phase.EXPIRED, Phase.DELETED):
        return "EXPIRED"
    return "VALID" if current is Phase.INACTIVE else "ISSUED"
