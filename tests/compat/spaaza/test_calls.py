"""Each voucher call through user, admin and privileged authentication.

Spaaza's rules per call: user sessions act only on their own vouchers and need the app
hostname; admin calls name the end user (``user_id``) and, where Spaaza requires it, the
``chain_id``; privileged calls name the chain by ``chain_id`` or the app hostname. Calls that
Spaaza (or voucherd, see docs/compat/spaaza.md) reserve for admin/privileged refuse a user
session with 68 permission_denied_or_non_existent.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import update

from tests.compat.spaaza.conftest import World, error_envelope, ok_envelope
from voucherd.db.tables import vouchers
from voucherd.services import value
from voucherd.services.changes import VoucherRef
from voucherd.services.unit_of_work import UnitOfWork

KINDS = ["user", "admin", "privileged"]


def auth(world: World, kind: str) -> tuple[dict[str, str], dict[str, str]]:
    """Headers and the extra parameters each kind sends (admin/privileged name the user)."""
    if kind == "user":
        return world.as_user(), {}
    user = {"user_id": str(world.user.user_id)}
    if kind == "admin":
        return world.as_admin(), {**user, "chain_id": str(world.chain_id)}
    return world.as_privileged(), user


def refused_for_users(world: World, method: str, path: str, data: dict[str, Any]) -> None:
    response = world.call(method, path, world.as_user(), data)
    error_envelope(response, 500, 68, "permission_denied_or_non_existent")


def ledger(world: World, voucher_id: int) -> list[tuple[str, int, int]]:
    with UnitOfWork(world.engine, readonly=True) as uow:
        entries = value.ledger(
            uow, _actor(world), VoucherRef(id=voucher_id), after_id=None, limit=100
        )
    return [(e["kind"], e["amount"], e["balance_after"]) for e in entries]


def _actor(world: World) -> Any:
    from voucherd.dialects.spaaza.store import actor_for

    return actor_for(world.chain_id, "test")


@pytest.mark.parametrize("kind", ["admin", "privileged"])
def test_create_voucher(world: World, kind: str) -> None:
    headers, extra = auth(world, kind)
    response = world.call(
        "POST",
        "/create-voucher",
        headers,
        {
            **extra,
            "campaign_id": str(world.campaign_id),
            "voucher_amount": "12.50",
            "voucher_text": "Your voucher",
            "voucher_title": "Twelve fifty",
            "expiry_date": "2092-07-28",
        },
    )
    v = ok_envelope(response, "create-voucher")
    assert len(v["voucher_key"]) == 64 and v["voucher_key"] == v["voucher_key"].lower()
    assert isinstance(v["voucher_id"], int)
    assert v["voucher_status"] == "generated" and v["voucher_type"] == "basket"
    assert (v["voucher_amount_original"], v["voucher_amount_redeemed"], v["voucher_amount"]) == (
        12.5,
        0,
        12.5,
    )
    assert v["voucher_currency_id"] == 2 and v["voucher_currency_symbol"] == "€"
    assert v["campaign_id"] == world.campaign_id and v["campaign_type"] == "loyalty"
    assert v["campaign_title"] == "ACME Loyalty Campaign"
    assert v["voucher_expiry_datetime_utc"] == "2092-07-28 23:59:59"
    assert v["voucher_expiry_seconds_remaining"] > 0
    assert v["voucher_text"] == "Your voucher" and v["voucher_title"] == "Twelve fifty"
    assert v["user_id"] == world.user.user_id
    assert v["user_entity_card"] == {"type": "custom", "code": world.user.member_number}
    assert ledger(world, v["voucher_id"]) == [("issue", 1250, 1250)]


def test_create_voucher_variants_and_refusals(world: World) -> None:
    headers, extra = auth(world, "admin")
    pct = ok_envelope(
        world.call(
            "POST",
            "/create-voucher",
            headers,
            {
                **extra,
                "campaign_id": str(world.wallet_campaign_id),
                "voucher_type": "basket_pct",
                "voucher_discount_ratio": "0.25",
                "set_claimed": "1",
            },
        ),
        "create-voucher",
    )
    assert (pct["voucher_type"], pct["voucher_discount_ratio"], pct["voucher_status"]) == (
        "basket_pct",
        0.25,
        "claimed",
    )
    locked = ok_envelope(
        world.call(
            "POST",
            "/create-voucher",
            headers,
            {
                **extra,
                "campaign_id": str(world.campaign_id),
                "voucher_amount": "5",
                "voucher_lock_period": "300",
                "voucher_locking_code": "lockingcode123",
                "retailer_basket_code": "B-1",
            },
        ),
        "create-voucher",
    )
    assert locked["voucher_locked"] is True and locked["voucher_locking_code"] == "lockingcode123"
    signup = world.call(
        "POST",
        "/create-voucher",
        headers,
        {**extra, "campaign_id": str(world.signup_campaign_id), "voucher_amount": "5"},
    )
    error_envelope(signup, 400, 906, "campaign_type_not_allowed")
    missing_user = world.call(
        "POST",
        "/create-voucher",
        headers,
        {
            "chain_id": str(world.chain_id),
            "campaign_id": str(world.campaign_id),
            "voucher_amount": "5",
        },
    )
    error_envelope(missing_user, 400, 902, "user_identifier_required")
    bad_amount = world.call(
        "POST",
        "/create-voucher",
        headers,
        {**extra, "campaign_id": str(world.campaign_id), "voucher_amount": "5.001"},
    )
    error_envelope(bad_amount, 400, 907, "invalid_parameter")
    honour = world.call(
        "POST",
        "/create-voucher",
        headers,
        {**extra, "campaign_id": str(world.campaign_id), "voucher_type": "honour"},
    )
    error_envelope(honour, 400, 914, "voucher_type_not_supported")
    # End users cannot mint vouchers (voucherd keeps no wallet balances).
    refused_for_users(
        world,
        "POST",
        "/create-voucher",
        {"campaign_id": str(world.campaign_id), "voucher_amount": "5"},
    )


@pytest.mark.parametrize("kind", KINDS)
def test_claim_and_unclaim(world: World, kind: str) -> None:
    headers, extra = auth(world, kind)
    voucher = world.create(claimed=False)
    data = {"voucher_key": voucher["voucher_key"], **extra}
    claimed = ok_envelope(world.call("PUT", "/claim-voucher", headers, data), "claim-voucher")
    assert claimed["voucher_status"] == "claimed" and claimed["user_id"] == world.user.user_id
    # Claiming again is harmless and says so in a warning.
    again = world.call("POST", "/claim-voucher", headers, data)
    assert ok_envelope(again, "claim-voucher")["voucher_status"] == "claimed"
    assert again.json()["warnings"][0]["name"] == "voucher_already_claimed"
    unclaimed = ok_envelope(world.call("PUT", "/unclaim-voucher", headers, data), "unclaim-voucher")
    assert unclaimed["voucher_status"] == "generated"
    assert unclaimed["user_id"] == world.user.user_id  # still offered to the same user
    by_id = {"voucher_id": str(voucher["voucher_id"]), **extra}
    assert (
        ok_envelope(world.call("POST", "/claim-voucher", headers, by_id), "claim-voucher")[
            "voucher_status"
        ]
        == "claimed"
    )


@pytest.mark.parametrize("kind", ["admin", "privileged"])
def test_claim_vouchers_bulk(world: World, kind: str) -> None:
    headers, _ = auth(world, kind)
    first, second = world.create(claimed=False), world.create(claimed=False, amount="7")
    body = {
        "user": {"user_id": world.user.user_id},
        "entity": {"chain_id": world.chain_id},
        "vouchers": [{"voucher_key": first["voucher_key"]}, {"voucher_id": second["voucher_id"]}],
        "locking": {"retailer_basket_code": "20240462148435877", "voucher_lock_period": 3600},
    }
    response = world.http.post("/claim-vouchers", headers=headers, json=body)
    results = ok_envelope(response, "claim-vouchers")
    assert [v["voucher_status"] for v in results["vouchers"]] == ["claimed", "claimed"]
    assert all(v["voucher_locked"] for v in results["vouchers"])
    assert results["vouchers"][0]["voucher_retailer_basket_code_exclusive"] == "20240462148435877"
    too_many = {**body, "vouchers": [{"voucher_key": first["voucher_key"]}] * 11}
    error_envelope(
        world.http.post("/claim-vouchers", headers=headers, json=too_many),
        400,
        915,
        "too_many_vouchers",
    )
    bad_json = world.http.post(
        "/claim-vouchers", headers={**headers, "Content-Type": "application/json"}, content=b"{nope"
    )
    error_envelope(bad_json, 400, 916, "invalid_request_body")
    user_try = world.http.post("/claim-vouchers", headers=world.as_user(), json=body)
    error_envelope(user_try, 500, 68, "permission_denied_or_non_existent")


def test_claim_vouchers_is_atomic(world: World) -> None:
    good = world.create(claimed=False)
    before = world.snapshot(good["voucher_id"])
    body = {
        "user": {"user_id": world.user.user_id},
        "entity": {"chain_id": world.chain_id},
        "vouchers": [{"voucher_key": good["voucher_key"]}, {"voucher_key": "0" * 64}],
    }
    response = world.http.post("/claim-vouchers", headers=world.as_admin(), json=body)
    error_envelope(response, 404, 183, "voucher_not_found")
    assert world.snapshot(good["voucher_id"]) == before


@pytest.mark.parametrize("kind", KINDS)
def test_expire_voucher(world: World, kind: str) -> None:
    headers, extra = auth(world, kind)
    voucher = world.create()
    if kind == "user":  # multipart/form-data, as Spaaza also accepts
        response = world.http.post(
            "/expire-voucher",
            headers=headers,
            files={"voucher_key": (None, voucher["voucher_key"])},
        )
    else:
        response = world.call(
            "PUT", "/expire-voucher", headers, {"voucher_key": voucher["voucher_key"], **extra}
        )
    assert ok_envelope(response, "expire-voucher") == {
        "voucher_key": voucher["voucher_key"],
        "result_type": "expire-voucher",
    }
    listed = world.call("GET", "/get-user-vouchers", headers, params={**extra, "filter": "all"})
    (shown,) = ok_envelope(listed, "get-user-vouchers")["basket_vouchers"]
    assert shown["voucher_status"] == "claimed"  # expiry is not a status in Spaaza
    assert shown["voucher_expiry_seconds_remaining"] == 0
    # Without filter=all an expired voucher is no longer listed.
    listed = world.call("GET", "/get-user-vouchers", headers, params=extra)
    assert ok_envelope(listed, "get-user-vouchers")["basket_vouchers"] == []


@pytest.mark.parametrize("kind", KINDS)
def test_lock_and_unlock(world: World, kind: str) -> None:
    headers, extra = auth(world, kind)
    voucher = world.create()
    data = {
        "voucher_key": voucher["voucher_key"],
        "retailer_basket_code": "20190228-test-0001",
        "voucher_lock_period": "300",
        **extra,
    }
    locked = ok_envelope(world.call("PUT", "/lock-voucher", headers, data), "lock-voucher")
    assert locked["voucher_locked"] is True and locked["voucher_locked_until"]
    assert locked["voucher_retailer_basket_code_exclusive"] == "20190228-test-0001"
    other_basket = world.call(
        "PUT", "/lock-voucher", headers, {**data, "retailer_basket_code": "another-basket"}
    )
    error_envelope(other_basket, 400, 912, "voucher_locked")
    unlock = {"voucher_key": voucher["voucher_key"], **extra}
    if kind == "user":
        refused_for_users(world, "PUT", "/unlock-voucher", unlock)
        headers, _ = auth(world, "admin")
    unlocked = ok_envelope(world.call("PUT", "/unlock-voucher", headers, unlock), "unlock-voucher")
    assert unlocked["voucher_locked"] is False and unlocked["voucher_locked_until"] is None
    again = world.call("POST", "/unlock-voucher", headers, unlock)
    assert again.json()["warnings"][0]["name"] == "voucher_not_locked"


def test_user_cannot_unclaim_a_locked_voucher(world: World) -> None:
    voucher = world.create()
    world.call(
        "PUT",
        "/lock-voucher",
        world.as_user(),
        {"voucher_key": voucher["voucher_key"], "retailer_basket_code": "B"},
    )
    before = world.snapshot(voucher["voucher_id"])
    response = world.call(
        "PUT", "/unclaim-voucher", world.as_user(), {"voucher_key": voucher["voucher_key"]}
    )
    error_envelope(response, 400, 912, "voucher_locked")
    assert world.snapshot(voucher["voucher_id"]) == before
    headers, extra = auth(world, "admin")
    forced = world.call(
        "PUT", "/unclaim-voucher", headers, {"voucher_key": voucher["voucher_key"], **extra}
    )
    assert ok_envelope(forced, "unclaim-voucher")["voucher_status"] == "generated"


@pytest.mark.parametrize("kind", ["admin", "privileged"])
def test_redeem_full(world: World, kind: str) -> None:
    headers, _ = auth(world, kind)
    voucher = world.create(amount="20.00")
    data = {"voucher_key": voucher["voucher_key"], "chain_id": str(world.chain_id)}
    redeemed = ok_envelope(
        world.call("PUT", "/auth/redeem-voucher", headers, data), "redeem-voucher"
    )
    assert redeemed["voucher_status"] == "redeemed" and redeemed["voucher_redeemed_datetime"]
    assert (redeemed["voucher_amount_original"], redeemed["voucher_amount_redeemed"]) == (20, 20)
    assert redeemed["regenerated_voucher"] is None
    assert ledger(world, voucher["voucher_id"]) == [("issue", 2000, 2000), ("charge", -2000, 0)]
    refused_for_users(world, "PUT", "/auth/redeem-voucher", data)
    twice = world.call("POST", "/auth/redeem-voucher", headers, data)
    error_envelope(twice, 400, 910, "voucher_already_redeemed")


@pytest.mark.parametrize("kind", ["admin", "privileged"])
def test_redeem_partial_regenerates(world: World, kind: str) -> None:
    headers, _ = auth(world, kind)
    voucher = world.create(amount="10.00")
    data = {
        "voucher_id": str(voucher["voucher_id"]),
        "chain_id": str(world.chain_id),
        "user_id": str(world.user.user_id),
        "amount": "2",
    }
    redeemed = ok_envelope(
        world.call("POST", "/auth/redeem-voucher", headers, data), "redeem-voucher"
    )
    assert redeemed["voucher_status"] == "redeemed"
    assert (
        redeemed["voucher_amount_original"],
        redeemed["voucher_amount_redeemed"],
        redeemed["voucher_amount"],
    ) == (10, 2, 2)
    child = redeemed["regenerated_voucher"]
    assert child["voucher_status"] == "claimed" and child["user_id"] == world.user.user_id
    assert (child["voucher_amount_original"], child["voucher_amount"]) == (8, 8)
    assert child["parent_voucher"] == {
        "voucher_id": voucher["voucher_id"],
        "voucher_key": voucher["voucher_key"],
    }
    # The ledger records what was redeemed (2) and moves the rest (8) to the new voucher.
    assert ledger(world, voucher["voucher_id"]) == [
        ("issue", 1000, 1000),
        ("charge", -200, 800),
        ("transfer", -800, 0),
    ]
    assert ledger(world, child["voucher_id"]) == [("issue", 800, 800)]
    too_much = world.call(
        "POST",
        "/auth/redeem-voucher",
        headers,
        {"voucher_key": child["voucher_key"], "chain_id": str(world.chain_id), "amount": "8.01"},
    )
    error_envelope(too_much, 400, 913, "voucher_amount_insufficient")


def test_redeem_of_a_locked_voucher_needs_its_lock(world: World) -> None:
    headers, _ = auth(world, "admin")
    voucher = world.create()
    world.call(
        "PUT",
        "/lock-voucher",
        world.as_user(),
        {"voucher_key": voucher["voucher_key"], "retailer_basket_code": "B-9"},
    )
    data = {"voucher_key": voucher["voucher_key"], "chain_id": str(world.chain_id)}
    error_envelope(
        world.call("PUT", "/auth/redeem-voucher", headers, data), 400, 912, "voucher_locked"
    )
    ok = world.call("PUT", "/auth/redeem-voucher", headers, {**data, "retailer_basket_code": "B-9"})
    assert ok_envelope(ok, "redeem-voucher")["voucher_status"] == "redeemed"


@pytest.mark.parametrize("kind", KINDS)
def test_delete_voucher(world: World, kind: str) -> None:
    headers, extra = auth(world, kind)
    voucher = world.create()
    response = world.http.request(
        "DELETE",
        "/delete-voucher",
        headers=headers,
        data={"voucher_key": voucher["voucher_key"], **extra},
    )
    assert ok_envelope(response, "delete-voucher") == {
        "voucher_key": voucher["voucher_key"],
        "result_type": "delete-voucher",
    }
    gone = world.call(
        "PUT", "/claim-voucher", headers, {"voucher_key": voucher["voucher_key"], **extra}
    )
    error_envelope(gone, 404, 183, "voucher_not_found")


@pytest.mark.parametrize("kind", ["admin", "privileged"])
def test_get_vouchers(world: World, kind: str) -> None:
    headers, _ = auth(world, kind)
    mine = world.create()
    theirs = world.create(claimed=False, user=world.other)
    listed = ok_envelope(
        world.call("GET", "/get-vouchers", headers, params={"chain_id": world.chain_id}),
        "get-vouchers",
    )
    assert listed["results_count_total"] == 2
    by_key = {v["voucher_key"]: v for v in listed["vouchers"]}
    assert by_key[mine["voucher_key"]]["user"]["user_id"] == world.user.user_id
    assert by_key[theirs["voucher_key"]]["user"]["member_number"] == world.other.member_number
    filtered = world.call(
        "GET",
        "/get-vouchers",
        headers,
        params={"chain_id": world.chain_id, "member_number": world.other.member_number},
    )
    assert [v["voucher_key"] for v in ok_envelope(filtered, "get-vouchers")["vouchers"]] == [
        theirs["voucher_key"]
    ]
    page = world.call(
        "GET",
        "/get-vouchers",
        headers,
        params={"chain_id": world.chain_id, "number_results": 1, "results_offset": 1},
    )
    page_results = ok_envelope(page, "get-vouchers")
    assert page_results["results_count_total"] == 2 and len(page_results["vouchers"]) == 1
    world.call(
        "PUT",
        "/auth/redeem-voucher",
        world.as_admin(),
        {"voucher_key": mine["voucher_key"], "chain_id": str(world.chain_id)},
    )
    redeemed = world.call(
        "GET",
        "/get-vouchers",
        headers,
        params={"chain_id": world.chain_id, "show_redeemed": "true"},
    )
    assert [v["voucher_key"] for v in ok_envelope(redeemed, "get-vouchers")["vouchers"]] == [
        mine["voucher_key"]
    ]
    refused_for_users(world, "GET", "/get-vouchers", {})


@pytest.mark.parametrize("kind", KINDS)
def test_get_user_vouchers(world: World, kind: str) -> None:
    headers, extra = auth(world, kind)
    mine = world.create(claimed=False)
    world.create(user=world.other)
    params = dict(extra)
    if kind != "user":  # name the user by member number, as the vendor's collection does
        params = {"member_number": str(world.user.member_number)}
        if kind == "admin":
            params["chain_id"] = str(world.chain_id)
    results = ok_envelope(
        world.call("GET", "/get-user-vouchers", headers, params=params), "get-user-vouchers"
    )
    assert [v["voucher_key"] for v in results["basket_vouchers"]] == [mine["voucher_key"]]
    assert results["honour_vouchers"] == [] and results["var_price_vouchers"] == []


def test_a_date_bound_includes_its_whole_last_second(world: World) -> None:
    """``max_created_datetime=<day>`` keeps a voucher created at 23:59:59.5 of that day."""
    late, next_day = world.create(), world.create()
    stamps = {
        late["voucher_key"]: datetime(2031, 5, 4, 23, 59, 59, 500_000, tzinfo=UTC),
        next_day["voucher_key"]: datetime(2031, 5, 5, 0, 0, 0, tzinfo=UTC),
    }
    with world.engine.begin() as conn:
        for key, stamp in stamps.items():
            conn.execute(
                update(vouchers)
                .where(vouchers.c.tenant_id == world.chain_id, vouchers.c.public_id == key)
                .values(created_at=stamp)
            )

    def listed(**bounds: str) -> list[str]:
        response = world.call(
            "GET",
            "/get-vouchers",
            world.as_admin(),
            params={"chain_id": world.chain_id, **bounds},
        )
        return [v["voucher_key"] for v in ok_envelope(response, "get-vouchers")["vouchers"]]

    assert listed(max_created_datetime="2031-05-04") == [late["voucher_key"]]
    assert listed(max_created_datetime="2031-05-04 23:59:59") == [late["voucher_key"]]
    assert listed(min_created_datetime="2031-05-05", max_created_datetime="2031-05-05") == [
        next_day["voucher_key"]
    ]
