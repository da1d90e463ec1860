"""Engine rows rendered as RM's Voucher and VoucherBatch objects (doc field tables), RM's
``{"item"|"items", "code": "SUCCESS"}`` envelopes and the vouchers' QR images."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import Connection
from starlette.requests import Request
from starlette.responses import Response

from voucherd.db import repositories as repo
from voucherd.db import sealed
from voucherd.db.projections import rm_status
from voucherd.domain.vouchers import ValueKind
from voucherd.services import qr
from voucherd.services.unit_of_work import UnitOfWork

ZERO_TIME = "0001-01-01T00:00:00Z"

RM_TYPE = {
    ValueKind.STORED_VALUE.value: "CASH",
    ValueKind.FIXED_DISCOUNT.value: "DISCOUNT",
    ValueKind.PERCENT_DISCOUNT.value: "DISCOUNT",
    ValueKind.GIFT.value: "GIFT",
    ValueKind.CASHBACK.value: "DISCOUNT",
}


def rfc3339(value: datetime | None) -> str:
    """UTC RFC 3339 like Go's time.Time (fraction without trailing zeros); zero time if unset."""
    if value is None:
        return ZERO_TIME
    text = value.strftime("%Y-%m-%dT%H:%M:%S")
    if value.microsecond:
        text += "." + f"{value.microsecond:06d}".rstrip("0")
    return text + "Z"


# A qrUrl works for this long (rounded up to the hour, so a voucher's URL is stable for a
# while and caches well); after that, and with any other signature, it is a voucher not found.
QR_URL_TTL_SECONDS = 7 * 86_400


def qr_path(tenant_id: int | str, code: str) -> str:
    """What a qrUrl's signature covers: the path below the face's mount point."""
    return f"/qr/{tenant_id}/voucher/{code}"


def qr_key(conn: Connection) -> bytes:
    """The key that signs qrUrls, derived from the key-encryption key (never stored)."""
    return qr.url_key(sealed.kek_of(conn))


def qr_keys(conn: Connection) -> list[bytes]:
    """The keys a qrUrl may be signed with: ``qr_key``'s, and during a change of KEK the one
    derived from the key it replaces (URLs handed out before the change keep working)."""
    kek = sealed.kek_of(conn)
    return [qr.url_key(bytes(kek)), *(qr.url_key(old) for old in getattr(kek, "previous", ()))]


def qr_url(key: bytes, base_url: str, tenant_id: int, code: str, now: datetime) -> str:
    """The voucher's image URL, signed and expiring (``services/qr.py``)."""
    expires = -(-(int(now.timestamp()) + QR_URL_TTL_SECONDS) // 3600) * 3600
    return qr.signed_url(key, base_url, qr_path(tenant_id, code), expires)


def _amount(row: Mapping[Any, Any], initial: int | None) -> int:
    if row["kind"] == ValueKind.STORED_VALUE.value:
        return int(initial or 0)
    if row["kind"] == ValueKind.FIXED_DISCOUNT.value:
        return int(row["discount_amount"] or 0)
    return 0


def expiry(row: Mapping[Any, Any]) -> dict[str, Any]:
    if row["validity_value"]:
        return {
            "type": "DYNAMIC",
            "day": int(row["validity_value"]),
            "expiredAt": rfc3339(row["ends_at"]),
        }
    return {"type": "FIXED", "day": 0, "expiredAt": rfc3339(row["ends_at"])}


def member(customer: Mapping[Any, Any] | None) -> dict[str, Any] | None:
    if customer is None:
        return None
    meta = customer["metadata"] or {}
    return {
        "id": str(customer["id"]),
        "name": customer["name"] or "",
        "email": customer["email"] or "",
        "countryCode": str(meta.get("countryCode", "")),
        "phoneNumber": str(meta.get("phoneNumber", "")),
        "status": "ACTIVE",
        "createdAt": rfc3339(customer["created_at"]),
    }


def voucher(
    row: repo.Row,
    *,
    campaign: Mapping[Any, Any] | None,
    holder: Mapping[Any, Any] | None,
    now: datetime,
    base_url: str,
    qr_key: bytes,
) -> dict[str, Any]:
    state = repo.voucher_state(row)
    initial = campaign["amount"] if campaign is not None else row["balance"]
    rm_type = RM_TYPE.get(row["kind"], "GIFT")
    return {
        "key": row["public_id"],
        "label": row["label"] or (campaign["name"] if campaign is not None else ""),
        "redemptionRuleKey": None,
        "voucherBatchKey": campaign["key"] if campaign is not None else "",
        "type": rm_type,
        "amount": _amount(row, initial),
        "discountRate": int(row["discount_bps"] or 0),
        "minimumSpendAmount": int(row["min_spend"] or 0),
        "origin": "SYSTEM",
        "imageUrl": "",
        "memberProfile": member(holder),
        "redemptionRule": None,
        "assignedAt": rfc3339(row["claimed_at"] or row["activated_at"]),
        "payload": None,
        "qrUrl": qr_url(qr_key, base_url, int(row["tenant_id"]), row["code"], now),
        "code": row["code"],
        "isShipping": False,
        "address": None,
        "expiry": expiry(row),
        "voucherComboKey": None,
        "usedAt": rfc3339(row["voided_at"]),
        "redeemedAt": rfc3339(row["redeemed_at"]),
        "isDeviceRedeem": False,
        "status": rm_status(state, now),
        "createdAt": rfc3339(row["created_at"]),
        "updatedAt": rfc3339(row["updated_at"]),
    }


def batch(campaign: Mapping[Any, Any], counts: Mapping[str, int]) -> dict[str, Any]:
    quantity = counts.get("quantity", 0)
    balance = counts.get("balance", 0)
    return {
        "id": str(campaign["id"]),
        "key": campaign["key"],
        "label": campaign["name"],
        "type": RM_TYPE.get(campaign["kind"], "GIFT"),
        "amount": _amount(campaign, campaign["amount"]),
        "discountRate": int(campaign["discount_bps"] or 0),
        "minimumSpendAmount": int(campaign["min_spend"] or 0),
        "imageUrl": "",
        "quantity": quantity,
        "balanceQuantity": balance,
        "usedQuantity": quantity - balance,
        "status": "COMPLETED",
        "expiry": expiry(campaign),
        "origin": "SYSTEM",
        "isShipping": False,
        "isStatic": False,
        "staticCode": "",
        "isDeviceRedeem": False,
        "reason": "",
        "source": "",
        "sourceType": "",
        "createdAt": rfc3339(campaign["created_at"]),
        "updatedAt": rfc3339(campaign["created_at"]),
    }


class Renderer:
    """Renders vouchers of one transaction, loading each campaign and holder once."""

    def __init__(self, uow: UnitOfWork, tenant_id: int, base_url: str) -> None:
        self.uow, self.tenant_id, self.base_url = uow, tenant_id, base_url
        self._campaigns: dict[int, Mapping[Any, Any] | None] = {}
        self._holders: dict[int, Mapping[Any, Any] | None] = {}
        self._qr_key: bytes | None = None

    @property
    def qr_key(self) -> bytes:
        if self._qr_key is None:
            self._qr_key = qr_key(self.uow.conn)
        return self._qr_key

    def knows(self, campaign: Mapping[Any, Any] | None) -> None:
        """A campaign read already (with its voucher): not read again."""
        if campaign is not None:
            self._campaigns[campaign["id"]] = campaign

    def campaign(self, campaign_id: int | None) -> Mapping[Any, Any] | None:
        if campaign_id is None:
            return None
        if campaign_id not in self._campaigns:
            self._campaigns[campaign_id] = repo.find_campaign(
                self.uow.conn, self.tenant_id, id=campaign_id
            )
        return self._campaigns[campaign_id]

    def holder(self, customer_id: int | None) -> Mapping[Any, Any] | None:
        if customer_id is None:
            return None
        if customer_id not in self._holders:
            self._holders[customer_id] = repo.find_customer(
                self.uow.conn, self.tenant_id, id=customer_id
            )
        return self._holders[customer_id]

    def voucher(self, row: repo.Row) -> dict[str, Any]:
        return voucher(
            row,
            campaign=self.campaign(row["campaign_id"]),
            holder=self.holder(row["holder_id"]),
            now=self.uow.now,
            base_url=self.base_url,
            qr_key=self.qr_key,
        )


def base_url(request: Request) -> str:
    """Where this face is served, e.g. ``http://host:8080/rm`` (the mount's root path)."""
    host = request.headers.get("host") or request.url.netloc
    return f"{request.url.scheme}://{host}{request.scope.get('root_path', '')}".rstrip("/")


Page = tuple[list[dict[str, Any]], dict[str, Any]]


def json_response(body: Any, headers: Mapping[str, str] | None = None) -> Response:
    return Response(orjson.dumps(body), media_type="application/json", headers=headers)


def item(value: Any) -> Response:
    return json_response({"item": value, "code": "SUCCESS"})


def items(page: Page) -> Response:
    return json_response({"items": page[0], "code": "SUCCESS", "meta": page[1]})


def qr_image(code: str, kind: qr.Format) -> Response:
    body, media = qr.image(code, kind)
    return Response(body, media_type=media, headers={"Cache-Control": "no-store"})
