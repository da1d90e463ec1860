"""Engine rows -> JTL objects: "10.53" amounts, RFC 3339 times, projected status."""

from __future__ import annotations

import json
from datetime import datetime
from decimal import Decimal
from typing import Any, Final

from voucherd.db.projections import jtl_status
from voucherd.db.repositories import Row, voucher_state
from voucherd.domain.errors import InvalidAmount
from voucherd.domain.lifecycle import Action, VoucherStatus, allowed
from voucherd.domain.money import format_decimal, from_decimal, to_decimal
from voucherd.domain.policies import JTL

MAX_AMOUNT: Final = Decimal("99999.99")


def money(minor: int, currency: str | None) -> str:
    """Minor units -> JTL's decimal string: two decimals at least (10 JPY is "10.00"), all of
    the currency's exponent when it has more (KWD, BHD: "1.234"), so nothing is rounded away."""
    return format_decimal(abs(minor), currency or "EUR", min_places=2)


def fits(minor: int, currency: str | None) -> bool:
    """Whether JTL's amount format (at most 99999.99) can show this value."""
    return to_decimal(minor, currency or "EUR") <= MAX_AMOUNT


def parse_money(text: str, currency: str, field: str = "amount") -> int:
    """JTL's "10.53" -> minor units of ``currency`` (refuses cents a 0-decimal currency lacks)."""
    try:
        return from_decimal(text, currency)
    except InvalidAmount as exc:
        raise InvalidAmount(exc.message, field=field) from None


def timestamp(value: datetime | None) -> str | None:
    return value.replace(microsecond=0).isoformat() if value is not None else None


def tax_rate(bps: int | None) -> str | None:
    if bps is None:
        return None
    return format((Decimal(bps) / 100).normalize(), "f")


def parse_tax_rate(text: str) -> int:
    return int(Decimal(text) * 100)


def data(metadata: Any) -> str | None:
    return json.dumps(metadata) if metadata else None


def voucher(row: Row) -> dict[str, Any]:
    status = jtl_status(voucher_state(row))
    return {
        "id": row["public_id"],
        "client_id": row["created_by"],
        "sku": row["sku"],
        "batch": row["label"],
        "amount": money(row["balance"], row["currency"]),
        "currency": row["currency"],
        "valid_until": timestamp(row["ends_at"]) if status == "active" else None,
        "validity_value": row["validity_value"],
        "validity_interval": row["validity_unit"],
        "status": status,
        "type": row["medium"],
        "taxable": bool(row["taxable"]),
        "tax_rate": tax_rate(row["tax_rate_bps"]),
        "order_number": row["order_number"],
        "data": data(row["metadata"]),
        "created_at": timestamp(row["created_at"]),
        "updated_at": timestamp(row["updated_at"]),
    }


def held(row: Row, now: datetime) -> int:
    live = row["hold_id"] is not None and (
        row["hold_expires_at"] is None or row["hold_expires_at"] > now
    )
    return int(row["hold_amount"]) if live else 0


def deletable(row: Row) -> bool:
    """Whether a delete would pass JTL's policy (``DELETE_ONLY_INACTIVE``)."""
    return allowed(VoucherStatus(row["status"]), Action.DELETE, JTL)


def list_item(row: Row, now: datetime) -> dict[str, Any]:
    rendered = voucher(row)
    rendered["remaining_amount"] = money(row["balance"] - held(row, now), row["currency"])
    rendered["deletable"] = deletable(row)
    return rendered


def with_secrets(row: Row, pin: str | None) -> dict[str, Any]:
    return {**voucher(row), "code": row["code"], "pin": pin}


CHARGE_TYPES: Final = ("charge", "recharge", "refund")


def charge(entry: Row, voucher_public_id: str) -> dict[str, Any]:
    created = timestamp(entry["created_at"])
    return {
        "id": str(entry["id"]),
        "voucher_id": voucher_public_id,
        "client_id": entry["client_id"],
        "type": entry["kind"],
        "amount": money(entry["amount"], entry["currency"]),
        "order_number": entry["order_number"],
        "created_at": created,
        "updated_at": created,
    }


def reservation(res: Row, voucher_row: Row) -> dict[str, Any]:
    return {
        "id": str(res["id"]),
        "voucher_id": voucher_row["public_id"],
        "voucher_taxable": bool(voucher_row["taxable"]),
        "voucher_tax_rate": tax_rate(voucher_row["tax_rate_bps"]),
        "client_id": res["client_id"],
        "amount": money(res["amount"], voucher_row["currency"]),
        "valid_until": timestamp(res["expires_at"]),
        "created_at": timestamp(res["created_at"]),
        "updated_at": timestamp(res["closed_at"] or res["created_at"]),
    }
