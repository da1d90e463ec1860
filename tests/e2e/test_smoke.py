"""A gift card's life through the public HTTP API."""

from __future__ import annotations

from tests.conftest import Api


def test_gift_card_lifecycle_over_http(api: Api) -> None:
    voucher = api.create_voucher(amount=5000)
    assert voucher["status"] == "active" and voucher["balance"] == 5000
    charged = api.post(
        "/v1/charges",
        {"code": voucher["code"].lower(), "amount": 1250, "currency": "EUR", "order_number": "A-1"},
    )
    assert charged.status_code == 201, charged.text
    entry = charged.json()["entry"]
    assert charged.json()["voucher"]["balance"] == 3750
    refund = api.post(f"/v1/charges/{entry['id']}/refund", {"amount": 250})
    assert refund.status_code == 201, refund.text
    assert refund.json()["voucher"]["balance"] == 4000
    too_much = api.post(f"/v1/charges/{entry['id']}/refund", {"amount": 1001})
    assert too_much.status_code == 409
    assert too_much.json()["code"] == "refund_exceeds_charge"
    ledger = api.get(f"/v1/vouchers/{voucher['id']}/ledger").json()["data"]
    assert [e["kind"] for e in ledger] == ["issue", "charge", "refund"]
    assert sum(e["amount"] for e in ledger) == 4000
