"""RM voucher and batch calls over HTTP, signed the way RM's clients sign them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine, func, select

from tests.compat.revenue_monster.conftest import (
    KeyPair,
    RmClient,
    RmMerchant,
    error_code,
    make_batch,
    make_merchant,
)
from tests.conftest import LiveServer
from voucherd.db.tables import events, ledger_entries, vouchers
from voucherd.dialects.revenue_monster import merchants
from voucherd.dialects.revenue_monster.render import ZERO_TIME

VOUCHER_FIELDS = {
    "key",
    "label",
    "redemptionRuleKey",
    "voucherBatchKey",
    "type",
    "amount",
    "discountRate",
    "minimumSpendAmount",
    "origin",
    "imageUrl",
    "memberProfile",
    "redemptionRule",
    "assignedAt",
    "payload",
    "qrUrl",
    "code",
    "isShipping",
    "address",
    "expiry",
    "voucherComboKey",
    "usedAt",
    "redeemedAt",
    "isDeviceRedeem",
    "status",
    "createdAt",
    "updatedAt",
}


def _issue(rm: RmClient, key: str, body: object = None) -> str:
    response = rm.call("post", f"/v3/voucher-batch/{key}/issue", body if body is not None else {})
    assert response.status_code == 200, response.text
    payload = response.json()
    assert payload["code"] == "SUCCESS"
    assert set(payload["item"]) == {"code", "qrUrl"}
    return str(payload["item"]["code"])


def _voucher_state(engine: Engine, tenant_id: int, code: str) -> tuple[str, int, int]:
    with engine.connect() as conn:
        row = conn.execute(
            select(vouchers.c.status, vouchers.c.version, vouchers.c.id).where(
                vouchers.c.tenant_id == tenant_id, vouchers.c.code == code
            )
        ).one()
        count = conn.execute(
            select(func.count())
            .select_from(events)
            .where(events.c.tenant_id == tenant_id, events.c.voucher_id == row.id)
        ).scalar_one()
    return str(row.status), int(row.version), int(count)


def test_issue_get_void_in_rm_shape(rm: RmClient, merchant: RmMerchant, engine: Engine) -> None:
    key = make_batch(
        engine,
        merchant.tenant_id,
        type="CASH",
        amount=1000,
        quantity=2,
        expiry_days=30,
        minimum_spend=500,
    )
    code = _issue(rm, key)

    got = rm.call("get", f"/v3/voucher/{code}")
    assert got.status_code == 200, got.text
    item = got.json()["item"]
    assert set(item) == VOUCHER_FIELDS
    assert item["code"] == code and item["voucherBatchKey"] == key
    assert (item["type"], item["amount"], item["minimumSpendAmount"]) == ("CASH", 1000, 500)
    assert item["status"] == "ISSUED"
    assert item["usedAt"] == ZERO_TIME and item["redeemedAt"] == ZERO_TIME
    assert item["expiry"]["type"] == "DYNAMIC" and item["expiry"]["day"] == 30
    expired_at = datetime.fromisoformat(item["expiry"]["expiredAt"].replace("Z", "+00:00"))
    assert abs(expired_at - (datetime.now(UTC) + timedelta(days=30))) < timedelta(minutes=5)
    assert item["qrUrl"].startswith(f"{rm.base}/qr/{merchant.tenant_id}/voucher/{code}?exp=")

    # The v2 doc header shows POST with {} for the same call.
    assert rm.call("post", f"/v3/voucher/{code}", {}).json()["item"]["key"] == item["key"]

    voided = rm.call("post", f"/v3/voucher/{code}/void", {"usedAt": "2026-11-22T00:00:00Z"})
    assert voided.status_code == 200, voided.text
    assert voided.json()["code"] == "SUCCESS"
    assert voided.json()["item"]["status"] == "VOID"
    assert voided.json()["item"]["usedAt"] != ZERO_TIME


def test_void_of_a_void_voucher_is_refused_and_changes_nothing(
    rm: RmClient, merchant: RmMerchant, engine: Engine
) -> None:
    code = _issue(rm, make_batch(engine, merchant.tenant_id))
    assert rm.call("post", f"/v3/voucher/{code}/void", {}).status_code == 200
    before = _voucher_state(engine, merchant.tenant_id, code)
    again = rm.call("post", f"/v3/voucher/{code}/void", {})
    assert again.status_code == 400
    assert error_code(again) == "VOUCHER_NOT_ALLOW_VOID"
    assert _voucher_state(engine, merchant.tenant_id, code) == before


def test_void_of_another_merchants_voucher_is_not_found(
    rm: RmClient, live_server: LiveServer, engine: Engine, rm_keys: tuple[KeyPair, KeyPair]
) -> None:
    other = make_merchant(engine, rm_keys[1])
    other_client = RmClient(live_server, other)
    try:
        code = _issue(other_client, make_batch(engine, other.tenant_id))
    finally:
        other_client.close()
    before = _voucher_state(engine, other.tenant_id, code)
    refused = rm.call("post", f"/v3/voucher/{code}/void", {})
    assert refused.status_code == 404
    assert error_code(refused) == "VOUCHER_NOT_FOUND"
    assert _voucher_state(engine, other.tenant_id, code) == before
    assert error_code(rm.call("get", f"/v3/voucher/{code}")) == "VOUCHER_NOT_FOUND"


def test_reinstate_needs_the_merchants_pin(
    rm: RmClient, merchant: RmMerchant, engine: Engine
) -> None:
    code = _issue(rm, make_batch(engine, merchant.tenant_id))
    assert rm.call("post", f"/v3/voucher/{code}/void", {}).status_code == 200
    no_pin_set = rm.call("patch", f"/v3/voucher/{code}/reinstate", {"pin": "1234"})
    assert error_code(no_pin_set) == "PIN_INVALID"

    merchants.configure(engine, merchant.tenant_id, reinstate_pin="1234")
    before = _voucher_state(engine, merchant.tenant_id, code)
    wrong = rm.call("patch", f"/v3/voucher/{code}/reinstate", {"pin": "9999", "reason": "x"})
    assert wrong.status_code == 400
    assert error_code(wrong) == "PIN_INVALID"
    assert _voucher_state(engine, merchant.tenant_id, code) == before
    missing = rm.call("patch", f"/v3/voucher/{code}/reinstate", {})
    assert error_code(missing) == "VALIDATION_ERROR"

    ok = rm.call("patch", f"/v3/voucher/{code}/reinstate", {"pin": "1234", "reason": "mistake"})
    assert ok.status_code == 200, ok.text
    assert ok.json()["item"]["status"] == "ISSUED"
    assert ok.json()["item"]["usedAt"] == ZERO_TIME
    not_void = rm.call("patch", f"/v3/voucher/{code}/reinstate", {"pin": "1234"})
    assert not_void.status_code == 400
    assert error_code(not_void).startswith("VOUCHER_")


def test_batches_paging_and_vouchers(rm: RmClient, merchant: RmMerchant, engine: Engine) -> None:
    keys = [
        make_batch(
            engine,
            merchant.tenant_id,
            type="DISCOUNT",
            discount_rate=1000,
            minimum_spend=100,
            quantity=4,
        ),
        make_batch(
            engine,
            merchant.tenant_id,
            type="DISCOUNT",
            amount=250,
            quantity=1,
            expires_at=datetime(2030, 1, 1, tzinfo=UTC),
        ),
        make_batch(engine, merchant.tenant_id, type="GIFT", quantity=2),
    ]
    _issue(rm, keys[0])
    first = rm.call("get", "/v3/voucher-batches?limit=2")
    assert first.status_code == 200, first.text
    page = first.json()
    assert page["code"] == "SUCCESS" and page["meta"]["count"] == 3
    assert [b["key"] for b in page["items"]] == keys[:2]
    discount = page["items"][0]
    assert (discount["type"], discount["discountRate"], discount["minimumSpendAmount"]) == (
        "DISCOUNT",
        1000,
        100,
    )
    assert (discount["quantity"], discount["balanceQuantity"], discount["usedQuantity"]) == (
        4,
        3,
        1,
    )
    fixed = page["items"][1]
    assert fixed["amount"] == 250
    assert fixed["expiry"] == {"type": "FIXED", "day": 0, "expiredAt": "2030-01-01T00:00:00Z"}
    rest = rm.call("get", f"/v3/voucher-batches?limit=2&cursor={page['meta']['cursor']}").json()
    assert [b["key"] for b in rest["items"]] == keys[2:] and rest["meta"]["cursor"] == ""
    static = rm.call("get", '/v3/voucher-batches?cursor=&filter={"isStatic":true}').json()
    assert static["items"] == []

    one = rm.call("get", f"/v3/voucher-batch/{keys[2]}").json()
    assert one["item"]["key"] == keys[2] and one["item"]["quantity"] == 2
    listed = rm.call("get", f"/v3/voucher-batch/{keys[0]}/vouchers?cursor=").json()
    assert len(listed["items"]) == 4 and listed["meta"]["count"] == 4
    # one of the four was issued above: issued means activated
    assert sorted(v["status"] for v in listed["items"]) == ["ISSUED", "VALID", "VALID", "VALID"]
    assert error_code(rm.call("get", "/v3/voucher-batch/nope")) == "VOUCHER_BATCH_NOT_FOUND"


def test_issue_until_the_batch_runs_out(rm: RmClient, merchant: RmMerchant, engine: Engine) -> None:
    key = make_batch(engine, merchant.tenant_id, quantity=2)
    codes = {_issue(rm, key), _issue(rm, key)}
    assert len(codes) == 2
    out = rm.call("post", f"/v3/voucher-batch/{key}/issue", {})
    assert out.status_code == 400
    assert error_code(out) == "VOUCHER_BATCH_NOT_ENOUGH_QUANTITY"


def test_member_issue_vouchers_and_redeem(
    rm: RmClient, merchant: RmMerchant, engine: Engine
) -> None:
    key = make_batch(engine, merchant.tenant_id, type="CASH", amount=500, quantity=3)
    member = {"countryCode": "60", "phoneNumber": "187824152"}
    code = _issue(rm, key, member)
    query = "countryCode=60&phoneNumber=0187824152"
    mine = rm.call("get", f"/v3/loyalty/me/vouchers?{query}")
    assert mine.status_code == 200, mine.text
    items = mine.json()["items"]
    assert [v["code"] for v in items] == [code]
    assert items[0]["status"] == "ISSUED"
    assert items[0]["memberProfile"]["phoneNumber"] == "187824152"
    assert items[0]["assignedAt"] != ZERO_TIME
    one = rm.call("get", f"/v3/loyalty/me/voucher/{code}?{query}")
    assert one.json()["item"]["code"] == code
    stranger = rm.call("get", f"/v3/loyalty/me/voucher/{code}?countryCode=60&phoneNumber=111111")
    assert error_code(stranger) == "MEMBER_NOT_FOUND"

    redeemed = rm.call("post", f"/v3/loyalty/me/voucher/{code}/redeem?{query}")
    assert redeemed.status_code == 200, redeemed.text
    assert redeemed.json()["item"]["status"] == "REDEEMED"
    assert redeemed.json()["item"]["redeemedAt"] != ZERO_TIME
    again = rm.call("post", f"/v3/loyalty/me/voucher/{code}/redeem?{query}")
    assert error_code(again) == "VOUCHER_REDEEMED"

    other = _issue(rm, key, {"countryCode": "65", "phoneNumber": "81234567"})
    taken = rm.call("get", f"/v3/loyalty/me/voucher/{other}/redeem?{query}")
    assert error_code(taken) == "VOUCHER_OWNER_INVALID"


def test_bulk_redeem_is_all_or_nothing(rm: RmClient, merchant: RmMerchant, engine: Engine) -> None:
    key = make_batch(engine, merchant.tenant_id, type="GIFT", quantity=3)
    first, second = _issue(rm, key), _issue(rm, key)
    before = _voucher_state(engine, merchant.tenant_id, first)
    failed = rm.call("post", "/v3/vouchers/redeem", {"codes": [first, "NOSUCHCODE"]})
    assert error_code(failed) == "VOUCHER_NOT_FOUND"
    assert _voucher_state(engine, merchant.tenant_id, first) == before
    done = rm.call("post", "/v3/vouchers/redeem", {"codes": [first, second]})
    assert done.status_code == 200, done.text
    assert [v["status"] for v in done.json()["item"]] == ["REDEEMED", "REDEEMED"]
    assert error_code(rm.call("post", "/v3/vouchers/redeem", {"codes": []})) == "VALIDATION_ERROR"


def test_qr_url_serves_png_and_svg(rm: RmClient, merchant: RmMerchant, engine: Engine) -> None:
    code = _issue(rm, make_batch(engine, merchant.tenant_id))
    url = rm.call("get", f"/v3/voucher/{code}").json()["item"]["qrUrl"]
    png = rm.http.get(url)
    assert png.status_code == 200 and png.headers["content-type"] == "image/png"
    assert png.content.startswith(b"\x89PNG\r\n\x1a\n")
    path, _, signature = url.partition("?")
    svg = rm.http.get(f"{path}.svg?{signature}")
    assert svg.headers["content-type"].startswith("image/svg+xml")
    assert b"<svg" in svg.content
    assert rm.http.get(url + "&format=svg").content == svg.content
    missing = rm.http.get(f"{rm.base}/qr/{merchant.tenant_id}/voucher/NOSUCHCODE")
    assert missing.status_code == 404 and error_code(missing) == "VOUCHER_NOT_FOUND"


def test_unknown_endpoint_in_rm_shape(rm: RmClient) -> None:
    response = rm.call("get", "/v3/nothing-here")
    assert response.status_code == 404
    assert error_code(response) == "API_ENDPOINT_NOT_FOUND"


def test_concurrent_issues_never_hand_out_one_voucher_twice(
    live_server: LiveServer, merchant: RmMerchant, engine: Engine
) -> None:
    import threading

    key = make_batch(engine, merchant.tenant_id, quantity=3)
    clients = [RmClient(live_server, merchant) for _ in range(5)]
    results: list[tuple[int, str]] = []

    def issue(client: RmClient) -> None:
        response = client.call("post", f"/v3/voucher-batch/{key}/issue", {})
        body = response.json()
        results.append(
            (
                response.status_code,
                body["item"]["code"] if response.status_code == 200 else body["error"]["code"],
            )
        )

    threads = [threading.Thread(target=issue, args=(c,)) for c in clients]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for client in clients:
        client.close()
    issued = [code for status, code in results if status == 200]
    assert len(issued) == 3 and len(set(issued)) == 3
    assert (
        sorted(code for status, code in results if status != 200)
        == ["VOUCHER_BATCH_NOT_ENOUGH_QUANTITY"] * 2
    )


def test_redeem_invents_no_order_amount(rm: RmClient, merchant: RmMerchant, engine: Engine) -> None:
    """RM sends no order amount: the minimum spend is waived by policy (MIN_SPEND_WAIVED) and a
    percentage is worth 0, never a percentage of the minimum spend taken as the basket."""
    fixed = make_batch(
        engine, merchant.tenant_id, type="DISCOUNT", amount=500, minimum_spend=3000, quantity=1
    )
    pct = make_batch(
        engine,
        merchant.tenant_id,
        type="DISCOUNT",
        discount_rate=1000,
        minimum_spend=3000,
        quantity=1,
    )
    codes = [_issue(rm, fixed), _issue(rm, pct)]
    done = rm.call("post", "/v3/vouchers/redeem", {"codes": codes})
    assert done.status_code == 200, done.text
    assert [v["status"] for v in done.json()["item"]] == ["REDEEMED", "REDEEMED"]
    with engine.connect() as conn:
        granted = conn.execute(
            select(ledger_entries.c.value)
            .join(vouchers, vouchers.c.id == ledger_entries.c.voucher_id)
            .where(vouchers.c.tenant_id == merchant.tenant_id, vouchers.c.code.in_(codes))
            .order_by(ledger_entries.c.id)
        ).scalars()
        assert list(granted) == [500, 0]
    again = rm.call("post", "/v3/vouchers/redeem", {"codes": [codes[0]]})
    assert error_code(again) == "VOUCHER_REDEEMED"
