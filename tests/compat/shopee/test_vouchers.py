"""The six voucher calls through the unmodified pyshopee client, and every reachable error."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pyshopee2 import Client  # type: ignore[import-untyped]
from sqlalchemy import select

from tests.compat.shopee.conftest import Raw, Shop, make_shop, pyshopee
from tests.conftest import Api, LiveServer
from voucherd.db import repositories as repo
from voucherd.db.projections import shopee_status
from voucherd.db.tables import vouchers as vouchers_table
from voucherd.dialects.shopee import queries
from voucherd.domain.vouchers import ValueKind
from voucherd.services import campaigns, tenants
from voucherd.services import vouchers as voucher_service
from voucherd.services.unit_of_work import UnitOfWork

HOUR = 3600


def now() -> int:
    return int(time.time())


def body(**over: Any) -> dict[str, Any]:
    start = now() + HOUR
    data: dict[str, Any] = {
        "voucher_name": "Welcome",
        "voucher_code": "WELC1",
        "start_time": start,
        "end_time": start + 24 * HOUR,
        "voucher_type": 1,
        "reward_type": 1,
        "usage_quantity": 100,
        "min_basket_price": 20.0,
        "discount_amount": 2.5,
        "display_channel_list": [1],
    }
    data.update(over)
    return {k: v for k, v in data.items() if v is not None}


def ok(reply: dict[str, Any]) -> dict[str, Any]:
    assert reply["error"] == "", reply
    assert reply["message"] == "" and len(reply["request_id"]) == 32
    result: dict[str, Any] = reply["response"]
    return result


def err(reply: dict[str, Any], error: str) -> None:
    assert reply["error"] == error, reply
    assert reply["message"]


def add(client: Client, **over: Any) -> int:
    return int(ok(client.voucher.add_voucher(**body(**over)))["voucher_id"])


def ongoing(client: Client, **over: Any) -> int:
    """A voucher that starts now (start_time = the current second)."""
    start = now()
    return add(client, **{"start_time": start, "end_time": start + 2 * HOUR, **over})


def detail(client: Client, voucher_id: int) -> dict[str, Any]:
    return ok(client.voucher.get_voucher_detail(voucher_id=voucher_id))


# --- the six calls ------------------------------------------------------------------------------


def test_add_and_get_fixed_amount_voucher(client: Client, raw: Raw) -> None:
    start = now() + HOUR
    voucher_id = add(
        client,
        start_time=start,
        end_time=start + 48 * HOUR,
        voucher_code="test",
        max_price=12.12,
        display_start_time=start - 600,
    )
    got = detail(client, voucher_id)
    assert got == {
        "voucher_id": voucher_id,
        "voucher_code": "test",
        "voucher_name": "Welcome",
        "voucher_type": 1,
        "reward_type": 1,
        "usage_quantity": 100,
        "current_usage": 0,
        "start_time": start,
        "end_time": start + 48 * HOUR,
        "is_admin": False,
        "voucher_purpose": 0,
        "min_basket_price": 20.0,
        "discount_amount": 2.5,
        "display_channel_list": [1],
        "display_start_time": start - 600,
        "target_voucher": 0,
        "usecase": 1,
    }
    assert isinstance(got["min_basket_price"], float)
    # the current name of the call answers the same
    path = "/api/v2/voucher/get_voucher"
    assert raw.get(path, {"voucher_id": voucher_id}).json()["response"] == got


def test_percentage_and_coin_cashback_vouchers(client: Client) -> None:
    pct = add(
        client,
        voucher_code="PCT",
        reward_type=2,
        discount_amount=None,
        percentage=15,
        max_price=10.0,
        min_basket_price=30,
    )
    got = detail(client, pct)
    assert got["reward_type"] == 2 and got["percentage"] == 15 and got["max_price"] == 10.0
    assert "discount_amount" not in got
    uncapped = add(
        client,
        voucher_code="PCT0",
        reward_type=2,
        discount_amount=None,
        percentage=10,
        max_price=0,
        min_basket_price=0,
    )
    assert detail(client, uncapped)["max_price"] == 0.0
    coin = add(
        client,
        voucher_code="COIN",
        reward_type=3,
        discount_amount=None,
        percentage=5,
        max_price=3.0,
        voucher_type=2,
        item_id_list=[11, 22],
    )
    got = detail(client, coin)
    assert (got["reward_type"], got["percentage"], got["voucher_type"]) == (3, 5, 2)
    assert got["item_id_list"] == [11, 22] and got["usecase"] == 2


def test_engine_holds_the_voucher(live_server: LiveServer, client: Client, shop: Shop) -> None:
    voucher_id = add(client, reward_type=2, discount_amount=None, percentage=15, max_price=10.5)
    with UnitOfWork(live_server.engine, readonly=True) as uow:
        row = voucher_service.get(uow, shop.tenant.actor, voucher_service.VoucherRef(id=voucher_id))
    assert row["kind"] == ValueKind.PERCENT_DISCOUNT and row["discount_bps"] == 1500
    assert row["discount_cap"] == 1050 and row["min_spend"] == 2000
    assert row["currency"] == "SGD" and row["max_uses"] == 100 and row["status"] == "active"
    assert row["code"] == "WELC1"


def test_update_upcoming_voucher(client: Client) -> None:
    voucher_id = add(client)
    start = now() + 2 * HOUR
    ok(
        client.voucher.update_voucher(
            voucher_id=voucher_id,
            voucher_name="Renamed",
            start_time=start,
            end_time=start + 3 * HOUR,
            usage_quantity=7,
            min_basket_price=50,
            discount_amount=5.0,
            display_channel_list=[3, 4],
            display_start_time=start - 60,
        )
    )
    got = detail(client, voucher_id)
    assert (got["voucher_name"], got["start_time"], got["end_time"]) == (
        "Renamed",
        start,
        start + 3 * HOUR,
    )
    assert (got["usage_quantity"], got["min_basket_price"], got["discount_amount"]) == (
        7,
        50.0,
        5.0,
    )
    assert got["display_channel_list"] == [3, 4] and got["display_start_time"] == start - 60
    # hiding it clears the display start
    ok(client.voucher.update_voucher(voucher_id=voucher_id, display_channel_list=[]))
    got = detail(client, voucher_id)
    assert got["display_channel_list"] == [] and got["display_start_time"] == 0


def test_update_ongoing_voucher_allowed_fields(client: Client) -> None:
    voucher_id = ongoing(client, voucher_type=2, item_id_list=[1, 2])
    before = detail(client, voucher_id)
    ok(
        client.voucher.update_voucher(
            voucher_id=voucher_id,
            voucher_name="Late",
            usage_quantity=150,
            end_time=before["end_time"] - 600,
            display_channel_list=[4],
            item_id_list=[3],
            start_time=before["start_time"],
        )
    )  # an unchanged start is no change
    got = detail(client, voucher_id)
    assert (got["voucher_name"], got["usage_quantity"], got["end_time"]) == (
        "Late",
        150,
        before["end_time"] - 600,
    )
    assert got["item_id_list"] == [3] and got["display_channel_list"] == [4]


def test_end_ongoing_voucher(client: Client) -> None:
    voucher_id = ongoing(client)
    listed = ok(client.voucher.get_voucher_list(status="ongoing"))["voucher_list"]
    assert [v["voucher_id"] for v in listed] == [voucher_id]
    before = now()
    assert ok(client.voucher.end_voucher(voucher_id=voucher_id)) == {"voucher_id": voucher_id}
    got = detail(client, voucher_id)
    assert before <= got["end_time"] <= now()
    expired = ok(client.voucher.get_voucher_list(status="expired"))["voucher_list"]
    assert [v["voucher_id"] for v in expired] == [voucher_id]
    assert ok(client.voucher.get_voucher_list(status="ongoing"))["voucher_list"] == []


def test_delete_upcoming_voucher(client: Client) -> None:
    voucher_id = add(client)
    assert ok(client.voucher.delete_voucher(voucher_id=voucher_id)) == {"voucher_id": voucher_id}
    err(client.voucher.get_voucher_detail(voucher_id=voucher_id), "common.error_not_found")
    assert ok(client.voucher.get_voucher_list(status="all"))["voucher_list"] == []


def test_current_usage_counts_native_redemptions(
    live_server: LiveServer, client: Client, shop: Shop
) -> None:
    voucher_id = ongoing(
        client, voucher_code="USE2", usage_quantity=2, min_basket_price=10, discount_amount=3
    )
    api = Api(live_server.url, shop.tenant.client_id, shop.tenant.client_secret)
    try:
        for _ in range(2):
            charged = api.post("/v1/charges", {"code": "use2", "order_amount": 5000})
            assert charged.status_code == 201, charged.text
            assert charged.json()["entry"]["value"] == 300
        got = detail(client, voucher_id)
        assert (got["current_usage"], got["usage_quantity"]) == (2, 2)
        # usage_quantity caps redemptions
        third = api.post("/v1/charges", {"code": "USE2", "order_amount": 5000})
        assert third.status_code >= 400
        # a used-up voucher inside its window is still ongoing and can be ended
        listed = ok(client.voucher.get_voucher_list(status="ongoing"))["voucher_list"]
        assert [v["voucher_id"] for v in listed] == [voucher_id]
        ok(client.voucher.end_voucher(voucher_id=voucher_id))
        assert ok(client.voucher.get_voucher_list(status="ongoing"))["voucher_list"] == []
    finally:
        api.close()


def test_get_voucher_list_pages_and_filters(client: Client) -> None:
    upcoming = [add(client, voucher_code=f"UP{i}") for i in range(3)]
    live = ongoing(client, voucher_code="LIVE")
    page1 = ok(client.voucher.get_voucher_list(status="upcoming", page_no=1, page_size=2))
    page2 = ok(client.voucher.get_voucher_list(status="upcoming", page_no=2, page_size=2))
    assert page1["more"] is True and page2["more"] is False
    ids = [v["voucher_id"] for v in page1["voucher_list"] + page2["voucher_list"]]
    assert ids == sorted(upcoming, reverse=True)  # newest first
    everything = ok(client.voucher.get_voucher_list(status="all"))
    assert [v["voucher_id"] for v in everything["voucher_list"]] == [live, *ids]
    entry = everything["voucher_list"][0]
    assert entry["voucher_code"] == "LIVE" and "display_channel_list" not in entry
    assert ok(client.voucher.get_voucher_list(status="expired"))["voucher_list"] == []
    beyond = ok(client.voucher.get_voucher_list(status="all", page_no=5000, page_size=100))
    assert beyond == {"more": False, "voucher_list": []}


@pytest.mark.parametrize(
    "query",
    [
        {},
        {"status": "active"},
        {"status": "all", "page_no": 0},
        {"status": "all", "page_no": 5001},
        {"status": "all", "page_size": 0},
        {"status": "all", "page_size": 101},
        {"status": "all", "page_size": "x"},
    ],
)
def test_get_voucher_list_parameters(client: Client, query: dict[str, Any]) -> None:
    err(client.voucher.get_voucher_list(**query), "error_param")


def test_sql_status_filter_agrees_with_the_projection(
    live_server: LiveServer, client: Client, shop: Shop
) -> None:
    add(client, voucher_code="A")
    ongoing(client, voucher_code="B")
    ended = ongoing(client, voucher_code="C")
    ok(client.voucher.end_voucher(voucher_id=ended))
    with UnitOfWork(live_server.engine, readonly=True) as uow:
        rows = (
            uow.conn.execute(
                select(vouchers_table).where(vouchers_table.c.tenant_id == shop.shop_id)
            )
            .mappings()
            .all()
        )
        for status in ("upcoming", "ongoing", "expired"):
            listed, _ = queries.list_page(uow, shop.shop_id, status, 1, 100)
            expected = {
                r["id"] for r in rows if shopee_status(repo.voucher_state(r), uow.now) == status
            }
            assert {r["id"] for r in listed} == expected and len(expected) == 1


def test_another_shops_voucher_is_not_found(
    live_server: LiveServer, client: Client, shop: Shop
) -> None:
    other = make_shop(live_server, shop.partner)
    other_client = pyshopee(
        live_server, shop.partner, other.shop_id, access_token=other.access_token
    )
    theirs = add(other_client)
    err(client.voucher.get_voucher_detail(voucher_id=theirs), "common.error_not_found")
    err(client.voucher.end_voucher(voucher_id=theirs), "common.error_not_found")
    err(client.voucher.delete_voucher(voucher_id=theirs), "common.error_not_found")
    err(
        client.voucher.update_voucher(voucher_id=theirs, voucher_name="x"), "common.error_not_found"
    )
    assert detail(other_client, theirs)["voucher_id"] == theirs


def test_shop_currency_sets_the_money_scale(
    live_server: LiveServer, client: Client, shop: Shop
) -> None:
    with UnitOfWork(live_server.engine) as uow:
        tenants.update_tenant_settings(uow, shop.shop_id, {"shopee_currency": "VND"})
        uow.commit()
    voucher_id = add(client, min_basket_price=50000, discount_amount=10000)
    got = detail(client, voucher_id)
    assert (got["min_basket_price"], got["discount_amount"]) == (50000.0, 10000.0)
    err(client.voucher.add_voucher(**body(voucher_code="FRAC", discount_amount=1.5)), "error_param")


# --- documented errors --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("over", "error"),
    [
        ({"voucher_code": "TOOLONG"}, "voucher.voucher_code_error"),
        ({"voucher_code": "A-B"}, "voucher.voucher_code_error"),
        ({"voucher_code": ""}, "voucher.voucher_code_error"),
        ({"min_basket_price": 2.5}, "voucher.voucher_min_price_error"),
        ({"min_basket_price": 1000, "discount_amount": 5}, "voucher.fix_amount_low_qualtiy_errorr"),
        (
            {
                "reward_type": 2,
                "discount_amount": None,
                "percentage": 10,
                "max_price": 1,
                "min_basket_price": 20,
            },
            "voucher.voucher_max_discount_low_quality",
        ),
        ({"display_channel_list": [2]}, "voucher.voucher_display_channel_error"),
        (
            {"display_channel_list": [], "display_start_time": 1},
            "voucher.voucher_display_channel_error",
        ),
        ({"voucher_type": 2, "item_id_list": [5, 5]}, "voucher.voucher_item_duplication_error"),
        (
            {"voucher_type": 2, "item_id_list": list(range(1, 102))},
            "voucher.voucher_item_count_limit_error",
        ),
        ({"voucher_type": 2, "item_id_list": [0]}, "voucher.voucher_item_not_exist"),
        ({"voucher_type": 2}, "error_param"),
        ({"voucher_type": 1, "item_id_list": [7]}, "error_param"),
        ({"voucher_name": None}, "error_param"),
        ({"usage_quantity": 0}, "error_param"),
        ({"reward_type": 4}, "error_param"),
        ({"reward_type": 2, "discount_amount": None}, "error_param"),
        ({"discount_amount": None}, "error_param"),
        ({"start_time": "soon"}, "error_param"),
        ({"min_basket_price": -1}, "error_param"),
        ({"discount_amount": 1.555}, "error_param"),
    ],
)
def test_add_voucher_errors(client: Client, over: dict[str, Any], error: str) -> None:
    data = body()
    data.update(over)
    err(client.voucher.add_voucher(**{k: v for k, v in data.items() if v is not None}), error)
    assert ok(client.voucher.get_voucher_list(status="all"))["voucher_list"] == []


def test_add_voucher_time_errors(client: Client) -> None:
    start = now() + HOUR
    err(
        client.voucher.add_voucher(**body(start_time=now() - HOUR, end_time=now() + HOUR)),
        "voucher.voucher_start_time_error",
    )
    err(
        client.voucher.add_voucher(**body(start_time=start, end_time=start + HOUR - 1)),
        "voucher.voucher_time_period_error",
    )
    err(
        client.voucher.add_voucher(**body(start_time=start, end_time=start - 10)),
        "voucher.voucher_time_period_error",
    )
    err(
        client.voucher.add_voucher(**body(start_time=start, end_time=start + 93 * 24 * HOUR)),
        "voucher.voucher_end_time_error",
    )
    # exactly one hour and a just-passed start (clock skew grace) are accepted
    add(client, voucher_code="EDGE", start_time=start, end_time=start + HOUR)
    add(client, voucher_code="NOW", start_time=now() - 5, end_time=now() + HOUR)


def test_duplicate_code(client: Client) -> None:
    add(client, voucher_code="DUP")
    err(
        client.voucher.add_voucher(**body(voucher_code="dup")),
        "voucher.voucher_code_duplicate_error",
    )


def test_coin_cashback_refused_for_shop(
    live_server: LiveServer, client: Client, shop: Shop
) -> None:
    with UnitOfWork(live_server.engine) as uow:
        tenants.update_tenant_settings(uow, shop.shop_id, {"shopee_coin_cashback": False})
        uow.commit()
    err(
        client.voucher.add_voucher(**body(reward_type=3, discount_amount=None, percentage=5)),
        "voucher.voucher_coin_error",
    )


def test_percentage_quality_threshold(live_server: LiveServer, client: Client, shop: Shop) -> None:
    with UnitOfWork(live_server.engine) as uow:
        tenants.update_tenant_settings(uow, shop.shop_id, {"shopee_min_discount_percent": 5})
        uow.commit()
    reply = client.voucher.add_voucher(**body(reward_type=2, discount_amount=None, percentage=3))
    err(reply, "voucher.percentage_low_quality_error")
    assert "5.00%" in reply["message"]


def test_over_limit(live_server: LiveServer, client: Client, shop: Shop) -> None:
    start = datetime.now(UTC) + timedelta(hours=1)
    with UnitOfWork(live_server.engine) as uow:
        campaign = campaigns.create(
            uow,
            shop.tenant.actor,
            name="bulk",
            activate_on_create=True,
            template=voucher_service.NewVoucher(
                kind=ValueKind.FIXED_DISCOUNT,
                currency="SGD",
                discount_amount=100,
                starts_at=start,
                ends_at=start + timedelta(days=1),
            ),
        )
        campaigns.generate(uow, shop.tenant.actor, campaign["id"], 999)
        uow.commit()
    add(client, voucher_code="LAST")
    err(client.voucher.add_voucher(**body(voucher_code="MORE")), "voucher.voucher_over_limit")


def test_update_voucher_errors(client: Client) -> None:
    live = ongoing(client, voucher_code="LIVE")
    got = detail(client, live)
    err(
        client.voucher.update_voucher(voucher_id=live, end_time=got["end_time"] + 60),
        "voucher.voucher_end_time_reduce_error",
    )
    err(
        client.voucher.update_voucher(voucher_id=live, usage_quantity=99),
        "voucher.voucher_quantity_reduce_error",
    )
    for field, value in (
        ("start_time", now() + HOUR),
        ("min_basket_price", 50),
        ("discount_amount", 1),
        ("percentage", 5),
        ("max_price", 3),
        ("display_start_time", now() - HOUR),
    ):
        err(
            client.voucher.update_voucher(voucher_id=live, **{field: value}),
            "voucher.voucher_ongoing_param_error",
        )
    upcoming = add(client, voucher_code="SOON")
    start = now() + HOUR
    err(
        client.voucher.update_voucher(voucher_id=upcoming, start_time=now() - HOUR),
        "voucher.voucher_start_time_error",
    )
    err(
        client.voucher.update_voucher(voucher_id=upcoming, start_time=start, end_time=start + 60),
        "voucher.voucher_time_period_error",
    )
    err(
        client.voucher.update_voucher(voucher_id=upcoming, end_time=start + 100 * 24 * HOUR),
        "voucher.voucher_end_time_error",
    )
    err(
        client.voucher.update_voucher(voucher_id=upcoming, min_basket_price=1),
        "voucher.voucher_min_price_error",
    )
    err(
        client.voucher.update_voucher(voucher_id=upcoming, display_channel_list=[9]),
        "voucher.voucher_display_channel_error",
    )
    err(client.voucher.update_voucher(voucher_id=upcoming, item_id_list=[1]), "error_param")
    err(client.voucher.update_voucher(voucher_name="x"), "error_param")
    err(
        client.voucher.update_voucher(voucher_id=10**12, voucher_name="x"), "common.error_not_found"
    )
    # nothing changed
    assert detail(client, live) == got


def test_end_voucher_errors(client: Client) -> None:
    upcoming = add(client)
    err(client.voucher.end_voucher(voucher_id=upcoming), "voucher.end_voucher_status_error")
    live = ongoing(client, voucher_code="LIVE")
    ok(client.voucher.end_voucher(voucher_id=live))
    err(client.voucher.end_voucher(voucher_id=live), "voucher.update_end_voucher_error")
    err(client.voucher.end_voucher(voucher_id=10**12), "common.error_not_found")
    err(client.voucher.end_voucher(voucher_id="1"), "error_param")


def test_delete_voucher_errors(client: Client) -> None:
    live = ongoing(client)
    err(client.voucher.delete_voucher(voucher_id=live), "voucher.delete_voucher_error")
    ok(client.voucher.end_voucher(voucher_id=live))
    err(client.voucher.delete_voucher(voucher_id=live), "voucher.delete_voucher_error")
    assert detail(client, live)["voucher_id"] == live
    err(client.voucher.delete_voucher(voucher_id=10**12), "common.error_not_found")


def test_campaign_vouchers_cannot_be_operated(
    live_server: LiveServer, client: Client, shop: Shop
) -> None:
    start = datetime.now(UTC) + timedelta(hours=1)
    with UnitOfWork(live_server.engine) as uow:
        campaign = campaigns.create(
            uow,
            shop.tenant.actor,
            name="admin",
            activate_on_create=True,
            template=voucher_service.NewVoucher(
                kind=ValueKind.FIXED_DISCOUNT,
                currency="SGD",
                discount_amount=100,
                max_uses=5,
                starts_at=start,
                ends_at=start + timedelta(days=1),
            ),
        )
        campaigns.generate(uow, shop.tenant.actor, campaign["id"], 1)
        uow.commit()
    listed = ok(client.voucher.get_voucher_list(status="upcoming"))["voucher_list"]
    assert len(listed) == 1
    voucher_id = listed[0]["voucher_id"]
    for call in (client.voucher.end_voucher, client.voucher.delete_voucher):
        err(call(voucher_id=voucher_id), "voucher.operate_voucher_permission_error")
    err(
        client.voucher.update_voucher(voucher_id=voucher_id, voucher_name="x"),
        "voucher.operate_voucher_permission_error",
    )


def test_stored_value_vouchers_are_not_shopee_vouchers(
    live_server: LiveServer, client: Client, shop: Shop
) -> None:
    with UnitOfWork(live_server.engine) as uow:
        created = voucher_service.create(
            uow,
            shop.tenant.actor,
            voucher_service.NewVoucher(
                kind=ValueKind.STORED_VALUE, currency="SGD", amount=1000, active=True
            ),
        )
        uow.commit()
    err(
        client.voucher.get_voucher_detail(voucher_id=created.voucher["id"]),
        "common.error_not_found",
    )
    assert ok(client.voucher.get_voucher_list(status="all"))["voucher_list"] == []


def test_concurrent_ends_have_one_winner(
    live_server: LiveServer, client: Client, shop: Shop
) -> None:
    import threading

    voucher_id = ongoing(client)
    results: list[str] = []

    def end() -> None:
        mine = pyshopee(live_server, shop.partner, shop.shop_id, access_token=shop.access_token)
        results.append(mine.voucher.end_voucher(voucher_id=voucher_id)["error"])

    threads = [threading.Thread(target=end) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == ["", *["voucher.update_end_voucher_error"] * 3]
