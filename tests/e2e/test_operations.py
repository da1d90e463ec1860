"""Every lifecycle and value operation of the native API, through HTTP."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from tests.conftest import Api


def test_reserve_capture_and_release(api: Api) -> None:
    voucher = api.create_voucher(amount=5000)
    held = api.post("/v1/reservations", {"voucher_id": voucher["id"], "amount": 4000})
    assert held.status_code == 201 and held.json()["status"] == "open"
    # Every reservation answer names the voucher by its public id, never the internal integer.
    assert held.json()["voucher_id"] == voucher["id"]
    assert api.get(f"/v1/reservations/{held.json()['id']}").json()["voucher_id"] == voucher["id"]
    seen = api.get(f"/v1/vouchers/{voucher['id']}").json()
    assert seen["available_balance"] == 1000 and seen["hold"]["amount"] == 4000
    blocked = api.post("/v1/charges", {"voucher_id": voucher["id"], "amount": 2000})
    assert blocked.status_code == 409 and blocked.json()["code"] == "voucher_reserved"
    captured = api.post(f"/v1/reservations/{held.json()['id']}/capture", {"order_number": "O-9"})
    assert captured.status_code == 201
    assert captured.json()["entry"]["amount"] == -4000
    assert captured.json()["entry"]["reservation_id"] == held.json()["id"]
    assert (
        captured.json()["voucher"]["balance"] == 1000 and captured.json()["voucher"]["hold"] is None
    )
    again = api.post(f"/v1/reservations/{held.json()['id']}/capture", {})
    assert again.status_code == 409 and again.json()["code"] == "reservation_closed"
    second = api.post("/v1/reservations", {"voucher_id": voucher["id"], "amount": 500}).json()
    replaced = api.post("/v1/reservations", {"voucher_id": voucher["id"], "amount": 700}).json()
    assert api.get(f"/v1/reservations/{second['id']}").json()["status"] == "superseded"
    released = api.post(f"/v1/reservations/{replaced['id']}/release")
    assert released.status_code == 200 and released.json()["status"] == "released"
    assert released.json()["voucher_id"] == voucher["id"]
    assert api.get(f"/v1/vouchers/{voucher['id']}").json()["available_balance"] == 1000


def test_activation_window_and_deactivation(api: Api) -> None:
    card = api.create_voucher(active=False, validity_value=2, validity_unit="weeks")
    assert card["status"] == "inactive" and card["ends_at"] is None
    refused = api.post("/v1/charges", {"voucher_id": card["id"], "amount": 1})
    assert refused.status_code == 409 and refused.json()["code"] == "voucher_inactive"
    active = api.post(f"/v1/vouchers/{card['id']}/activate", {"reason": "paid"}).json()
    ends = datetime.fromisoformat(active["ends_at"])
    assert timedelta(days=13, hours=23) < ends - datetime.now(UTC) <= timedelta(days=14)
    again = api.post(f"/v1/vouchers/{card['id']}/activate", {})
    assert again.status_code == 409 and again.json()["code"] == "voucher_already_active"
    assert api.post(f"/v1/vouchers/{card['id']}/deactivate", {}).json()["status"] == "inactive"
    events = api.get(f"/v1/vouchers/{card['id']}/events").json()["data"]
    assert [e["operation"] for e in events] == ["create", "activate", "deactivate"]
    assert events[1]["reason"] == "paid"


def test_claim_lock_void_reinstate_end_expire_delete(api: Api) -> None:
    customer = api.post("/v1/customers", {"external_ref": "member-1", "name": "Ada"}).json()
    card = api.create_voucher(pin="4321")
    claimed = api.post(f"/v1/vouchers/{card['id']}/claim", {"customer_id": customer["id"]})
    assert claimed.json()["customer_id"] == customer["id"]
    locked = api.post(
        f"/v1/vouchers/{card['id']}/lock", {"lock_seconds": 600, "locking_code": "BASKET-7"}
    ).json()
    assert locked["locked_until"] is not None
    refused = api.post("/v1/charges", {"voucher_id": card["id"], "amount": 100})
    assert refused.json()["code"] == "voucher_locked"
    with_code = api.post(
        "/v1/charges",
        {"voucher_id": card["id"], "amount": 100, "locking_code": "BASKET-7", "pin": "4321"},
    )
    assert with_code.status_code == 201
    wrong_pin = api.post(
        "/v1/charges",
        {"voucher_id": card["id"], "amount": 1, "pin": "0000", "locking_code": "BASKET-7"},
    )
    assert wrong_pin.status_code == 403 and wrong_pin.json()["code"] == "invalid_pin"
    assert api.post(f"/v1/vouchers/{card['id']}/unlock", {}).json()["locked_until"] is None
    assert api.post(f"/v1/vouchers/{card['id']}/unclaim", {}).json()["customer_id"] is None
    voided = api.post(f"/v1/vouchers/{card['id']}/void", {"reason": "lost"}).json()
    assert voided["status"] == "void" and voided["voided_at"]
    twice = api.post(f"/v1/vouchers/{card['id']}/void", {})
    assert twice.status_code == 409 and twice.json()["code"] == "voucher_void"
    bad = api.post(f"/v1/vouchers/{card['id']}/reinstate", {"pin": "9999"})
    assert bad.status_code == 403 and bad.json()["code"] == "invalid_pin"
    assert (
        api.post(f"/v1/vouchers/{card['id']}/reinstate", {"pin": "4321"}).json()["status"]
        == "active"
    )
    ended = api.post(f"/v1/vouchers/{card['id']}/end", {}).json()
    assert ended["status"] == "expired" and ended["phase"] == "expired"
    other = api.create_voucher()
    assert api.post(f"/v1/vouchers/{other['id']}/expire", {}).json()["status"] == "expired"
    no_reason = api.delete(f"/v1/vouchers/{other['id']}", {})
    assert no_reason.status_code == 422
    assert api.delete(f"/v1/vouchers/{other['id']}", {"reason": "cleanup"}).status_code == 204
    assert api.get(f"/v1/vouchers/{other['id']}").status_code == 404


def test_upcoming_voucher_cannot_be_ended_or_charged(api: Api) -> None:
    start = (datetime.now(UTC) + timedelta(days=1)).isoformat()
    card = api.create_voucher(starts_at=start)
    assert card["phase"] == "upcoming"
    assert api.post(f"/v1/vouchers/{card['id']}/end", {}).json()["code"] == "voucher_not_started"
    assert (
        api.post("/v1/charges", {"voucher_id": card["id"], "amount": 1}).json()["code"]
        == "voucher_not_started"
    )


def test_discounts_by_use(api: Api) -> None:
    customer = api.post("/v1/customers", {}).json()
    pct = api.create_voucher(
        kind="percent_discount",
        amount=None,
        discount_bps=1500,
        discount_cap=2000,
        min_spend=5000,
        max_uses=3,
        max_uses_per_customer=1,
    )
    low = api.post(
        "/v1/charges", {"code": pct["code"], "order_amount": 4000, "customer_id": customer["id"]}
    )
    assert low.status_code == 422 and low.json()["code"] == "minimum_spend_not_met"
    anonymous = api.post("/v1/charges", {"code": pct["code"], "order_amount": 9000})
    assert anonymous.status_code == 422
    used = api.post(
        "/v1/charges", {"code": pct["code"], "order_amount": 20000, "customer_id": customer["id"]}
    )
    assert used.status_code == 201 and used.json()["entry"]["value"] == 2000  # capped
    repeat = api.post(
        "/v1/charges", {"code": pct["code"], "order_amount": 20000, "customer_id": customer["id"]}
    )
    assert repeat.json()["code"] == "customer_usage_limit_reached"
    refunded = api.post(f"/v1/charges/{used.json()['entry']['id']}/refund", {})
    assert refunded.status_code == 201 and refunded.json()["voucher"]["uses"] == 0
    gift = api.create_voucher(
        kind="gift", amount=None, currency=None, gift_description="Free coffee"
    )
    assert api.post("/v1/charges", {"code": gift["code"]}).json()["voucher"]["status"] == "redeemed"
    recharge = api.post(f"/v1/vouchers/{gift['id']}/recharge", {"amount": 100})
    assert recharge.status_code == 422 and recharge.json()["code"] == "not_supported_for_kind"


def test_campaign_generate_import_and_lists(api: Api) -> None:
    campaign = api.post(
        "/v1/campaigns",
        {
            "name": "Xmas",
            "template": {"currency": "EUR", "amount": 2500},
            "codes": {"pattern": "XMAS-#####-#####", "check_char": True},
            "activate_on_create": True,
        },
    ).json()
    made = api.post(f"/v1/campaigns/{campaign['id']}/generate", {"count": 120})
    assert made.status_code == 201 and made.json()["created"] == 120
    imported = api.post(f"/v1/campaigns/{campaign['id']}/import", {"codes": ["mine-1", "mine-2"]})
    assert imported.json()["created"] == 2
    page = api.get("/v1/vouchers", params={"campaign_id": campaign["id"], "limit": 100}).json()
    rest = api.get(
        "/v1/vouchers",
        params={"campaign_id": campaign["id"], "limit": 100, "cursor": page["next_cursor"]},
    ).json()
    ids = [v["id"] for v in page["data"] + rest["data"]]
    assert len(ids) == len(set(ids)) == 122 and rest["next_cursor"] is None
    assert {v["status"] for v in page["data"]} == {"active"}
    code = api.get(f"/v1/vouchers/{page['data'][0]['id']}/secret").json()["code"]
    assert code.startswith("XMAS-") and len(code) == 17
    listed = api.get("/v1/campaigns").json()["data"]
    assert campaign["id"] in [c["id"] for c in listed]
    duplicate = api.post(f"/v1/campaigns/{campaign['id']}/import", {"codes": ["MINE-1"]})
    assert duplicate.status_code == 409 and duplicate.json()["code"] == "duplicate_code"


def test_patch_descriptive_fields(api: Api) -> None:
    card = api.create_voucher()
    patched = api.patch(
        f"/v1/vouchers/{card['id']}",
        {"sku": "GC-50", "label": "Winter", "metadata": {"channel": "web"}},
    )
    assert patched.status_code == 200
    body = patched.json()
    assert (body["sku"], body["label"], body["metadata"]) == ("GC-50", "Winter", {"channel": "web"})
    assert api.patch(f"/v1/vouchers/{card['id']}", {"balance": 1}).status_code == 422
    assert api.get("/v1/vouchers", params={"sku": "GC-50"}).json()["data"][0]["id"] == card["id"]


def test_create_with_an_unknown_campaign_is_not_found(api: Api) -> None:
    response = api.post(
        "/v1/vouchers",
        {"kind": "stored_value", "currency": "EUR", "amount": 1, "campaign_id": 987654321},
    )
    assert response.status_code == 404, response.text
    assert response.json()["code"] == "not_found"
