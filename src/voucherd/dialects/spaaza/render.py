"""The Spaaza voucher object, computed from an engine voucher row (never stored twice)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Final

from voucherd.db import repositories as repo
from voucherd.db.projections import spaaza_status
from voucherd.dialects.spaaza import store
from voucherd.domain.money import to_decimal
from voucherd.domain.vouchers import ValueKind
from voucherd.services.unit_of_work import UnitOfWork

# Spaaza's numeric currency ids: 2 = EUR is documented; the others are voucherd's choice.
CURRENCY_IDS: Final = {
    "USD": 1,
    "EUR": 2,
    "GBP": 3,
    "CHF": 4,
    "SEK": 5,
    "DKK": 6,
    "NOK": 7,
    "PLN": 8,
    "AUD": 9,
    "CAD": 10,
}
SYMBOLS: Final = {
    "EUR": "€",
    "USD": "$",
    "GBP": "£",
    "CHF": "CHF",
    "SEK": "kr",
    "DKK": "kr",
    "NOK": "kr",
    "PLN": "zł",
    "AUD": "$",
    "CAD": "$",
}
VOUCHER_TYPES: Final = {
    ValueKind.STORED_VALUE: "basket",
    ValueKind.FIXED_DISCOUNT: "basket",
    ValueKind.PERCENT_DISCOUNT: "basket_pct",
    ValueKind.CASHBACK: "basket_pct",
    ValueKind.GIFT: "honour",
}
CAMPAIGN_IMAGE_FIELDS: Final = (
    "campaign_image_filename",
    "campaign_image_url",
    "campaign_image_link",
    "campaign_image_dimension_x",
    "campaign_image_dimension_y",
)
TEXT_FIELDS: Final = (
    "voucher_title",
    "voucher_text",
    "voucher_description",
    "voucher_notes",
    "voucher_honour_code",
    "voucher_image_url",
)


def number(amount: int, currency: str) -> int | float:
    """Spaaza sends amounts as JSON numbers: 5, 12.5."""
    value = to_decimal(amount, currency)
    return int(value) if value == value.to_integral_value() else float(value)


def spaaza_datetime(value: datetime | None) -> str | None:
    return value.strftime("%Y-%m-%d %H:%M:%S") if value is not None else None


def iso(value: datetime | None) -> str | None:
    return value.replace(microsecond=0).isoformat() if value is not None else None


def owner(row: repo.Row) -> int | None:
    """The Spaaza user of a voucher: its holder, else the user it was generated for."""
    if row["holder_id"] is not None:
        return int(row["holder_id"])
    meta = row["metadata"] or {}
    user_id = meta.get("spaaza_user_id")
    return int(user_id) if user_id is not None else None


class Renderer:
    """Renders vouchers of one chain, caching campaigns and users across a response."""

    def __init__(self, uow: UnitOfWork, chain_id: int) -> None:
        self.uow = uow
        self.chain_id = chain_id
        self._campaigns: dict[int, repo.Row | None] = {}
        self._users: dict[int, store.User | None] = {}
        self._currency: str | None = None

    def currency(self, row: repo.Row) -> str:
        if row["currency"]:
            return str(row["currency"])
        if self._currency is None:
            self._currency = store.chain_currency(self.uow, self.chain_id)
        return self._currency

    def campaign(self, campaign_id: int | None) -> repo.Row | None:
        if campaign_id is None:
            return None
        if campaign_id not in self._campaigns:
            self._campaigns[campaign_id] = repo.find_campaign(
                self.uow.conn, self.chain_id, id=campaign_id
            )
        return self._campaigns[campaign_id]

    def user(self, user_id: int | None) -> store.User | None:
        if user_id is None:
            return None
        if user_id not in self._users:
            self._users[user_id] = store.find_user(self.uow, self.chain_id, user_id=user_id)
        return self._users[user_id]

    def prefetch_users(self, rows: list[repo.Row]) -> None:
        ids = {uid for uid in (owner(r) for r in rows) if uid is not None} - set(self._users)
        self._users.update(store.users_by_ids(self.uow, self.chain_id, ids))

    def voucher(self, row: repo.Row, *, with_user: bool = False) -> dict[str, Any]:
        now = self.uow.now
        state = repo.voucher_state(row)
        meta = row["metadata"] or {}
        currency = self.currency(row)
        status = spaaza_status(state)
        kind = ValueKind(row["kind"])
        original = int(meta.get("spaaza_amount_original", row["balance"]))
        if kind is ValueKind.FIXED_DISCOUNT:
            original = row["discount_amount"] or 0
        if kind is ValueKind.STORED_VALUE:
            if status == "redeemed":
                redeemed = int(meta.get("spaaza_amount_redeemed", original - row["balance"]))
                remaining = redeemed  # Spaaza shows a redeemed voucher with the amount it paid
            else:
                redeemed, remaining = max(original - row["balance"], 0), row["balance"]
        else:
            redeemed = original if status == "redeemed" else 0
            remaining = original
        campaign = self.campaign(row["campaign_id"])
        campaign_meta = (campaign["metadata"] or {}) if campaign else {}
        locked = state.locked(now)
        ends_at = row["ends_at"]
        user_id = owner(row)
        user = self.user(user_id)
        card: dict[str, Any] | None = None
        if user is not None:
            card = (
                {"type": "custom", "code": user.member_number}
                if user.member_number
                else {"type": "regular", "code": str(user.user_id)}
            )
        parent = None
        if meta.get("spaaza_parent_voucher_id") is not None:
            parent = {
                "voucher_id": meta["spaaza_parent_voucher_id"],
                "voucher_key": meta.get("spaaza_parent_voucher_key"),
            }
        voucher_type = VOUCHER_TYPES[kind]
        result: dict[str, Any] = {
            "voucher_key": row["public_id"],
            "voucher_id": row["id"],
            "voucher_created_datetime": iso(row["created_at"]),
            "voucher_type": voucher_type,
            "type": voucher_type,
            "voucher_status": status,
            "voucher_locked": locked,
            "voucher_locked_until": spaaza_datetime(row["locked_until"]) if locked else None,
            "voucher_locking_code": row["locking_code"] if locked else None,
            "voucher_retailer_basket_code_exclusive": (row["lock_basket_code"] if locked else None),
            "campaign_id": row["campaign_id"],
            "campaign_type": campaign_meta.get("spaaza_campaign_type"),
            "campaign_title": campaign["name"] if campaign else None,
            **dict.fromkeys(CAMPAIGN_IMAGE_FIELDS),
            "voucher_expiry_datetime_utc": spaaza_datetime(ends_at),
            "voucher_expiry_seconds_remaining": (
                max(int((ends_at - now).total_seconds()), 0) if ends_at is not None else None
            ),
            "task": None,  # vouchers are not made by Spaaza tasks here
            "voucher_redeemed_datetime": iso(row["redeemed_at"]) if status == "redeemed" else None,
            "generating_return_transaction": [],
            "parent_voucher": parent,
            **{name: meta.get(f"spaaza_{name}") for name in TEXT_FIELDS},
            "voucher_discount_ratio": (row["discount_bps"] or 0) / 10000,
            "voucher_currency_id": CURRENCY_IDS.get(currency),
            "voucher_currency_symbol": SYMBOLS.get(currency, currency),
            "voucher_amount_original": number(original, currency),
            "voucher_amount_redeemed": number(redeemed, currency),
            "voucher_amount": number(remaining, currency),
            "redeeming_basket": [],
            "user_id": user_id,
            "user_entity_card": card,
        }
        if with_user:
            result["user"] = (
                {
                    "user_id": user.user_id,
                    "member_number": user.member_number,
                    "username": user.username,
                }
                if user is not None
                else None
            )
        return result
