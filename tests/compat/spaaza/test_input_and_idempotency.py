"""Input that can never succeed is refused in Spaaza's envelope before any work, and writes
honour ``Idempotency-Key`` (same key + same request: the first answer again, the change made
once; same key + another request: 923 in Spaaza's envelope, nothing changed)."""

from __future__ import annotations

import pytest

from tests.compat.spaaza.conftest import World, error_envelope, ok_envelope
from tests.compat.spaaza.test_calls import ledger

FULL_WIDTH_TEN = "\uff11\uff10"  # what int() and Decimal() read as 10
SUPERSCRIPT_TWO = "\u00b2"  # str.isdigit() is true for it
TOO_BIG = str(2**63)


def _redeem(world: World, key: str, **extra: str) -> dict[str, str]:
    return {"voucher_key": key, "chain_id": str(world.chain_id), **extra}


@pytest.mark.parametrize("amount", [FULL_WIDTH_TEN, "1_0", "1e1", " +10", "NaN", "true"])
def test_redeem_amount_must_be_an_ascii_decimal(world: World, amount: str) -> None:
    voucher = world.create(amount="50.00")
    before = world.snapshot(voucher["voucher_id"])
    response = world.call(
        "PUT",
        "/auth/redeem-voucher",
        world.as_admin(),
        _redeem(world, voucher["voucher_key"], amount=amount),
    )
    error_envelope(response, 400, 907, "invalid_parameter")
    assert world.snapshot(voucher["voucher_id"]) == before


def test_create_voucher_amount_and_ids_in_ascii_only(world: World) -> None:
    base = {
        "chain_id": str(world.chain_id),
        "user_id": str(world.user.user_id),
        "campaign_id": str(world.campaign_id),
        "voucher_amount": "5",
    }
    for field, bad in [
        ("voucher_amount", FULL_WIDTH_TEN),
        ("voucher_discount_ratio", "\uff10.5"),
        ("campaign_id", FULL_WIDTH_TEN),
        ("user_id", SUPERSCRIPT_TWO),
        ("expiry_date", "\uff12\uff10\uff19\uff12-07-28"),
    ]:
        data = {**base, field: bad}
        if field == "voucher_discount_ratio":
            data["voucher_type"] = "basket_pct"
        response = world.call("POST", "/create-voucher", world.as_admin(), data)
        error_envelope(response, 400, 907, "invalid_parameter")
    # nothing was created by any of them
    listed = world.call(
        "GET", "/get-vouchers", world.as_admin(), params={"chain_id": str(world.chain_id)}
    )
    assert ok_envelope(listed, "get-vouchers")["results_count_total"] == 0


@pytest.mark.parametrize("big", [TOO_BIG, "-" + str(2**63 + 1), "9" * 400])
def test_integers_outside_64_bits_are_refused_not_500(world: World, big: str) -> None:
    headers = world.as_admin()
    cases = [
        ("PUT", "/claim-voucher", {"voucher_id": big, "chain_id": str(world.chain_id)}),
        ("GET", "/get-vouchers", {"chain_id": str(world.chain_id), "campaign_id": big}),
        ("GET", "/get-vouchers", {"chain_id": big}),
        ("GET", "/get-user-vouchers", {"chain_id": str(world.chain_id), "user_id": big}),
    ]
    for method, path, data in cases:
        if method == "GET":
            response = world.call(method, path, headers, params=data)
        else:
            response = world.call(
                method, path, headers, {**data, "user_id": str(world.user.user_id)}
            )
        error_envelope(response, 400, 907, "invalid_parameter")
    # The largest id that exists in 64 bits is simply not found.
    response = world.call(
        "PUT",
        "/claim-voucher",
        headers,
        {
            "voucher_id": str(2**63 - 1),
            "chain_id": str(world.chain_id),
            "user_id": str(world.user.user_id),
        },
    )
    error_envelope(response, 404, 183, "voucher_not_found")
    # A session user id out of range is no valid session.
    stranger = {"X-Spaaza-Session-User-Id": big, "X-Spaaza-Session-Key": "k" * 64}
    response = world.call("GET", "/get-user-vouchers", stranger)
    error_envelope(response, 401, 6, "no_valid_session")


def test_claim_vouchers_json_values(world: World) -> None:
    voucher = world.create(claimed=False)
    before = world.snapshot(voucher["voucher_id"])

    def bulk(body: object) -> None:
        response = world.http.post("/claim-vouchers", headers=world.as_privileged(), json=body)
        error_envelope(response, 400, 907, "invalid_parameter")

    user = {"user_id": world.user.user_id}
    # Booleans and floats are not integers.
    bulk({"user": user, "vouchers": [{"voucher_id": True}]})
    bulk({"user": user, "vouchers": [{"voucher_id": float(voucher["voucher_id"])}]})
    bulk(
        {
            "user": user,
            "vouchers": [{"voucher_key": voucher["voucher_key"]}],
            "locking": {"voucher_lock_period": True},
        }
    )
    bulk({"user": {"user_id": 2**64}, "vouchers": [{"voucher_key": voucher["voucher_key"]}]})
    assert world.snapshot(voucher["voucher_id"]) == before


@pytest.mark.parametrize("depth", [300, 100_000])
def test_deeply_nested_json_is_refused(world: World, depth: int) -> None:
    voucher = world.create(claimed=False)
    before = world.snapshot(voucher["voucher_id"])
    nested = "[" * depth + "]" * depth
    key = voucher["voucher_key"]
    body = (
        f'{{"user": {{"user_id": {world.user.user_id}, "x": {nested}}}, '
        f'"vouchers": [{{"voucher_key": "{key}"}}]}}'
    ).encode()
    response = world.http.post(
        "/claim-vouchers",
        headers={**world.as_privileged(), "Content-Type": "application/json"},
        content=body,
    )
    error_envelope(response, 400, 916, "invalid_request_body")
    assert world.snapshot(voucher["voucher_id"]) == before


def test_idempotent_partial_redeem_replays_and_books_once(world: World) -> None:
    voucher = world.create(amount="20.00")
    headers = {**world.as_admin(), "Idempotency-Key": "till-7-receipt-0042"}
    data = _redeem(world, voucher["voucher_key"], amount="5")
    first = world.call("PUT", "/auth/redeem-voucher", headers, data)
    results = ok_envelope(first, "redeem-voucher")
    assert results["regenerated_voucher"]["voucher_amount"] == 15
    again = world.call("PUT", "/auth/redeem-voucher", headers, data)
    assert again.status_code == 200 and again.content == first.content
    assert again.headers["idempotent-replayed"] == "true"
    assert "idempotent-replayed" not in first.headers
    # Booked once: one charge of 5 and one transfer of the rest, one regenerated voucher.
    assert ledger(world, voucher["voucher_id"]) == [
        ("issue", 2000, 2000),
        ("charge", -500, 1500),
        ("transfer", -1500, 0),
    ]
    child = results["regenerated_voucher"]
    assert ledger(world, child["voucher_id"]) == [("issue", 1500, 1500)]
    # The same key with another request is refused in Spaaza's envelope and changes nothing.
    before = world.snapshot(child["voucher_id"])
    other = world.call(
        "PUT", "/auth/redeem-voucher", headers, _redeem(world, child["voucher_key"], amount="1")
    )
    error_envelope(other, 422, 923, "idempotency_key_reused")
    assert world.snapshot(child["voucher_id"]) == before


def test_idempotency_key_is_per_caller_and_forms_compare_by_value(world: World) -> None:
    """Multipart and urlencoded forms of the same parameters are the same request."""
    voucher = world.create(claimed=False)
    key = {"Idempotency-Key": "claim-1"}
    data = {"voucher_key": voucher["voucher_key"], "user_id": str(world.user.user_id)}
    first = world.http.put("/claim-voucher", headers={**world.as_privileged(), **key}, data=data)
    ok_envelope(first, "claim-voucher")
    multipart = world.http.put(
        "/claim-voucher",
        headers={**world.as_privileged(), **key},
        files={k: (None, v) for k, v in data.items()},
    )
    assert multipart.content == first.content
    assert multipart.headers["idempotent-replayed"] == "true"
    # Another caller (the user's own session) has its own keys: this one runs, with a warning.
    mine = world.http.put(
        "/claim-voucher",
        headers={**world.as_user(), **key},
        data={"voucher_key": voucher["voucher_key"]},
    )
    assert ok_envelope(mine, "claim-voucher")["voucher_status"] == "claimed"
    assert "idempotent-replayed" not in mine.headers
    assert mine.json()["warnings"][0]["name"] == "voucher_already_claimed"
