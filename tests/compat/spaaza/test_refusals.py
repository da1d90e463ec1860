"""Refusals change nothing: each is checked against a snapshot of the stored voucher, its
ledger, the chain's events and its voucher count, taken before and after the call."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import update

from tests.compat.spaaza.conftest import World, error_envelope, ok_envelope
from tests.compat.spaaza.test_calls import auth
from voucherd.db.tables import vouchers


@pytest.mark.parametrize("kind", ["user", "admin", "privileged"])
def test_expire_of_a_generated_voucher_is_refused(world: World, kind: str) -> None:
    headers, extra = auth(world, kind)
    voucher = world.create(claimed=False)
    before = world.snapshot(voucher["voucher_id"])
    response = world.call(
        "PUT", "/expire-voucher", headers, {"voucher_key": voucher["voucher_key"], **extra}
    )
    error_envelope(response, 400, 908, "voucher_not_claimed")
    assert world.snapshot(voucher["voucher_id"]) == before
    # and the voucher can still be claimed and used
    claimed = world.call(
        "PUT", "/claim-voucher", headers, {"voucher_key": voucher["voucher_key"], **extra}
    )
    assert ok_envelope(claimed, "claim-voucher")["voucher_expiry_datetime_utc"] is None


@pytest.mark.parametrize("amount", [None, "1.00"], ids=["full", "partial"])
@pytest.mark.parametrize("kind", ["admin", "privileged"])
def test_redeem_of_an_expired_voucher_is_refused(
    world: World, kind: str, amount: str | None
) -> None:
    headers, _ = auth(world, kind)
    voucher = world.create(amount="10.00")
    expired = world.call(
        "PUT", "/expire-voucher", world.as_user(), {"voucher_key": voucher["voucher_key"]}
    )
    ok_envelope(expired, "expire-voucher")
    before = world.snapshot(voucher["voucher_id"])
    data = {"voucher_key": voucher["voucher_key"], "chain_id": str(world.chain_id)}
    if amount:
        data["amount"] = amount
    response = world.call("PUT", "/auth/redeem-voucher", headers, data)
    error_envelope(response, 400, 911, "voucher_expired")
    after = world.snapshot(voucher["voucher_id"])
    assert after == before  # no charge, no regenerated voucher, no event
    assert after["voucher"]["balance"] == 1000


def test_redeem_of_a_voucher_past_its_expiry_date_is_refused(world: World) -> None:
    voucher = world.create(amount="10.00")
    # Move the expiry date into the past, as time passing would.
    with world.engine.begin() as conn:
        conn.execute(
            update(vouchers)
            .where(vouchers.c.id == voucher["voucher_id"])
            .values(ends_at=datetime(2020, 1, 1, tzinfo=UTC))
        )
    before = world.snapshot(voucher["voucher_id"])
    response = world.call(
        "PUT",
        "/auth/redeem-voucher",
        world.as_admin(),
        {"voucher_key": voucher["voucher_key"], "chain_id": str(world.chain_id)},
    )
    error_envelope(response, 400, 911, "voucher_expired")
    assert world.snapshot(voucher["voucher_id"]) == before


CALLS = [
    ("PUT", "/claim-voucher"),
    ("PUT", "/unclaim-voucher"),
    ("PUT", "/expire-voucher"),
    ("PUT", "/lock-voucher"),
    ("DELETE", "/delete-voucher"),
]


def test_user_touching_another_users_voucher_is_refused(world: World) -> None:
    for claimed in (True, False):  # claimed by the other user, or generated for them
        theirs = world.create(claimed=claimed, user=world.other)
        before = world.snapshot(theirs["voucher_id"])
        for method, path in CALLS:
            for ident in (
                {"voucher_key": theirs["voucher_key"]},
                {"voucher_id": str(theirs["voucher_id"])},
            ):
                # even naming oneself as the user does not help
                data = {**ident, "user_id": str(world.user.user_id), "retailer_basket_code": "B"}
                response = world.call(method, path, world.as_user(), data)
                error_envelope(response, 500, 68, "permission_denied_or_non_existent")
        assert world.snapshot(theirs["voucher_id"]) == before, claimed
    # and none of them shows up in the user's own list, whatever user_id is sent
    mine = ok_envelope(
        world.call(
            "GET",
            "/get-user-vouchers",
            world.as_user(),
            params={"filter": "all", "user_id": world.other.user_id},
        ),
        "get-user-vouchers",
    )
    assert mine["user_id"] == world.user.user_id and mine["basket_vouchers"] == []


def test_admin_naming_the_wrong_user_is_refused(world: World) -> None:
    theirs = world.create(user=world.other)
    before = world.snapshot(theirs["voucher_id"])
    headers, extra = auth(world, "admin")  # names world.user, but the voucher is other's
    for path in ("/expire-voucher", "/unclaim-voucher"):
        response = world.call("PUT", path, headers, {"voucher_key": theirs["voucher_key"], **extra})
        error_envelope(response, 500, 68, "permission_denied_or_non_existent")
    claim = world.call(
        "PUT", "/claim-voucher", headers, {"voucher_key": theirs["voucher_key"], **extra}
    )
    error_envelope(claim, 400, 909, "voucher_already_claimed")
    assert world.snapshot(theirs["voucher_id"]) == before


def test_other_refusals_change_nothing(world: World) -> None:
    headers, extra = auth(world, "admin")
    generated = world.create(claimed=False)
    claimed = world.create()
    cases = [
        # delete-voucher only for a claimed voucher
        (
            "DELETE",
            "/delete-voucher",
            {"voucher_key": generated["voucher_key"], **extra},
            generated,
            (400, 908, "voucher_not_claimed"),
        ),
        # admin calls must name the chain (claim) and the user (expire)
        (
            "PUT",
            "/claim-voucher",
            {"voucher_key": generated["voucher_key"], "user_id": str(world.user.user_id)},
            generated,
            (400, 903, "chain_id_required"),
        ),
        (
            "PUT",
            "/expire-voucher",
            {"voucher_key": claimed["voucher_key"], "chain_id": str(world.chain_id)},
            claimed,
            (400, 902, "user_identifier_required"),
        ),
        # identification
        ("PUT", "/expire-voucher", {**extra}, claimed, (400, 901, "voucher_identifier_required")),
        (
            "PUT",
            "/expire-voucher",
            {"voucher_key": "f" * 64, **extra},
            claimed,
            (404, 183, "voucher_not_found"),
        ),
        (
            "PUT",
            "/expire-voucher",
            {
                "voucher_key": claimed["voucher_key"],
                "voucher_id": str(generated["voucher_id"]),
                **extra,
            },
            claimed,
            (404, 183, "voucher_not_found"),
        ),
        (
            "PUT",
            "/expire-voucher",
            {"voucher_id": "abc", **extra},
            claimed,
            (400, 907, "invalid_parameter"),
        ),
        (
            "PUT",
            "/claim-voucher",
            {
                "voucher_key": generated["voucher_key"],
                "chain_id": str(world.chain_id),
                "user_id": "999999999",
            },
            generated,
            (404, 904, "user_not_found"),
        ),
        (
            "PUT",
            "/lock-voucher",
            {"voucher_key": claimed["voucher_key"], "voucher_lock_period": "-5"},
            claimed,
            (400, 907, "invalid_parameter"),
        ),
    ]
    for method, path, data, voucher, (status, code, name) in cases:
        before = world.snapshot(voucher["voucher_id"])
        response = world.call(method, path, headers, data)
        error_envelope(response, status, code, name)
        assert world.snapshot(voucher["voucher_id"]) == before, (path, data)
    # a redeemed voucher cannot change any more
    world.call(
        "PUT",
        "/auth/redeem-voucher",
        headers,
        {"voucher_key": claimed["voucher_key"], "chain_id": str(world.chain_id)},
    )
    before = world.snapshot(claimed["voucher_id"])
    for method, path in (
        ("PUT", "/lock-voucher"),
        ("PUT", "/unclaim-voucher"),
        ("PUT", "/expire-voucher"),
        ("DELETE", "/delete-voucher"),
    ):
        response = world.call(
            method, path, headers, {"voucher_key": claimed["voucher_key"], **extra}
        )
        error_envelope(response, 400, 910, "voucher_already_redeemed")
    assert world.snapshot(claimed["voucher_id"]) == before


def test_unknown_call_and_method(world: World) -> None:
    error_envelope(world.http.get("/no-such-call"), 404, 919, "not_found")
    error_envelope(world.http.get("/claim-voucher"), 405, 920, "method_not_allowed")


def test_openapi_document(world: World) -> None:
    doc = world.http.get("/openapi.json").json()
    assert doc["servers"] == [{"url": "/spaaza"}]
    surface = {(method.upper(), path) for path, ops in doc["paths"].items() for method in ops}
    assert surface == {
        ("POST", "/create-voucher"),
        ("POST", "/claim-voucher"),
        ("PUT", "/claim-voucher"),
        ("POST", "/claim-vouchers"),
        ("POST", "/unclaim-voucher"),
        ("PUT", "/unclaim-voucher"),
        ("POST", "/expire-voucher"),
        ("PUT", "/expire-voucher"),
        ("PUT", "/lock-voucher"),
        ("POST", "/lock-voucher"),
        ("PUT", "/unlock-voucher"),
        ("POST", "/unlock-voucher"),
        ("POST", "/auth/redeem-voucher"),
        ("PUT", "/auth/redeem-voucher"),
        ("DELETE", "/delete-voucher"),
        ("GET", "/get-vouchers"),
        ("GET", "/get-user-vouchers"),
        ("POST", "/auth/login"),
        ("GET", "/auth/get-login-status"),
        ("DELETE", "/auth/logout"),
    }
    assert "Privileged" in doc["components"]["securitySchemes"]


def test_ownership_is_checked_on_the_locked_row(world: World) -> None:
    """A voucher given to another user while a user's expire waits for its row lock is
    refused (68) when the lock is granted: the check sees the row the write would change, not
    the one the request could read before (on PostgreSQL an unlocked read sees the old holder)."""
    import threading
    import time

    import httpx

    voucher = world.create()
    answers: list[httpx.Response] = []
    with world.engine.connect() as conn:
        tx = conn.begin()
        conn.execute(  # holds the row lock (PostgreSQL) / the write lock (SQLite) until commit
            update(vouchers)
            .where(vouchers.c.id == voucher["voucher_id"])
            .values(holder_id=world.other.user_id, version=vouchers.c.version + 1)
        )
        request = threading.Thread(
            target=lambda: answers.append(
                world.call(
                    "PUT",
                    "/expire-voucher",
                    world.as_user(),
                    {"voucher_key": voucher["voucher_key"]},
                )
            )
        )
        request.start()
        time.sleep(0.5)  # the request is now waiting for the lock
        tx.commit()
    request.join(timeout=30)
    error_envelope(answers[0], 500, 68, "permission_denied_or_non_existent")
    after = world.snapshot(voucher["voucher_id"])["voucher"]
    assert (after["holder_id"], after["ends_at"]) == (world.other.user_id, None)
