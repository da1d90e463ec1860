"""Every documented error path of /jtl/v1, with its exact body."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import update

from tests.compat.jtl.conftest import Jtl, connect, error, invalid
from tests.conftest import LiveServer, make_tenant
from voucherd.db.tables import reservations, vouchers

NOT_FOUND = error(404, "VOUCHER.NOT_FOUND", "The requested Voucher was not found.")
CURRENCY = "Currency must be a valid currency code"


def test_create_validation(jtl: Jtl) -> None:
    cases = [
        ({"amount": "10.53", "currency": "XYZ"}, [("currency", "valid_currency", CURRENCY)]),
        (
            {},
            [
                ("amount", "required", "The amount field is required."),
                ("currency", "required", "The currency field is required."),
            ],
        ),
        (
            {"amount": 10.53, "currency": "EUR"},
            [("amount", "string", "The amount must be a string.")],
        ),
        (
            {"amount": "10.5", "currency": "EUR"},
            [("amount", "regex", "The amount format is invalid.")],
        ),
        (
            {"amount": "123456.00", "currency": "EUR"},
            [("amount", "regex", "The amount format is invalid.")],
        ),
        (
            {"amount": "1.00", "currency": "EUR", "taxable": True},
            [("tax_rate", "required_if", "The tax rate field is required when taxable is true.")],
        ),
        (
            {"amount": "1.00", "currency": "EUR", "tax_rate": "101"},
            [("tax_rate", "max", "The tax rate may not be greater than 100.")],
        ),
        (
            {"amount": "1.00", "currency": "EUR", "validity_value": 3},
            [
                (
                    "validity_interval",
                    "required_with",
                    "The validity interval field is required when validity value is present.",
                )
            ],
        ),
        (
            {"amount": "1.00", "currency": "EUR", "validity_interval": "days"},
            [
                (
                    "validity_value",
                    "required_with",
                    "The validity value field is required when validity interval is present.",
                )
            ],
        ),
        (
            {"amount": "1.00", "currency": "EUR", "validity_value": 0, "validity_interval": "days"},
            [("validity_value", "min", "The validity value must be at least 1.")],
        ),
        (
            {"amount": "1.00", "currency": "EUR", "type": "plastic"},
            [("type", "in", "The selected type is invalid.")],
        ),
        (
            {"amount": "1.00", "currency": "EUR", "taxable": "yes"},
            [("taxable", "boolean", "The taxable field must be true or false.")],
        ),
        (
            {"amount": "1.00", "currency": "EUR", "batch": "b" * 31},
            [("batch", "max", "The batch may not be greater than 30 characters.")],
        ),
        (
            {"amount": "1.00", "currency": "EUR", "data": "{nope"},
            [("data", "json", "The data must be a valid JSON string.")],
        ),
        (
            {"amount": "1.00", "currency": "EUR", "data": "[1]"},
            [("data", "json", "The data must be a JSON object string.")],
        ),
        (
            {"amount": "1.00", "currency": "EUR", "id": "a/b"},
            [("id", "regex", "The id format is invalid.")],
        ),
        (
            {"amount": "10.50", "currency": "JPY"},
            [("amount", "valid_amount", "10.50 has more decimal places than JPY allows (0)")],
        ),
        ([1, 2], [("body", "object", "The request body must be a JSON object.")]),
    ]
    for body, items in cases:
        response = jtl.post("/vouchers", body)
        assert response.status_code == 422, body
        assert response.json() == invalid("VOUCHER.CREATE", *items), body
    assert (
        jtl.post("/vouchers", {"amount": "10.53", "currency": "XYZ"}).json()["errors"][0]["code"]
        == "VOUCHER.CREATE.CURRENCY.VALID_CURRENCY"
    )
    broken = jtl.http.post(
        "/v1/vouchers", content=b'{"amount": ', headers={"Content-Type": "application/json"}
    )
    assert broken.json() == invalid(
        "VOUCHER.CREATE", ("body", "json", "The request body must be valid JSON.")
    )
    jtl.voucher(id="CARD-1", code="CODE-1")
    taken = [
        jtl.post("/vouchers", {"amount": "1.00", "currency": "EUR", "id": "CARD-1"}),
        jtl.post("/vouchers", {"amount": "1.00", "currency": "EUR", "code": "code-1"}),
    ]
    assert [r.json() for r in taken] == [
        invalid("VOUCHER.CREATE", ("id", "unique", "The id has already been taken.")),
        invalid("VOUCHER.CREATE", ("code", "unique", "The code has already been taken.")),
    ]


def test_not_found_everywhere_and_tenant_isolation(live_server: LiveServer, jtl: Jtl) -> None:
    other = connect(live_server, make_tenant(live_server.engine).id)
    other.login()
    foreign = other.voucher(code="FOREIGN")
    for response in (
        jtl.get(f"/vouchers/{foreign['id']}"),
        jtl.get(f"/vouchers/{foreign['id']}/complete"),
        jtl.get(f"/vouchers/{foreign['id']}/charges"),
        jtl.patch(f"/vouchers/{foreign['id']}", {"sku": "X"}),
        jtl.patch(f"/vouchers/{foreign['id']}/status", {"status": "inactive"}),
        jtl.delete(f"/vouchers/{foreign['id']}", {"comment": "x"}),
        jtl.post(
            "/vouchers/recharge",
            {"amount": "1.00", "currency": "EUR", "order_number": "1", "id": foreign["id"]},
        ),
        jtl.post("/reservations", {"amount": "1.00", "currency": "EUR", "code": "FOREIGN"}),
    ):
        assert (response.status_code, response.json()) == (404, NOT_FOUND)
    reservation = other.post(
        "/reservations", {"amount": "1.00", "currency": "EUR", "code": "FOREIGN"}
    ).json()
    for rid in (reservation["id"], "abc", "0", "99999999999999999999"):
        response = jtl.post(f"/reservations/{rid}/charge", {"order_number": "1"})
        assert response.json() == error(
            404, "RESERVATION.NOT_FOUND", "The requested Reservation was not found."
        )
        assert jtl.delete(f"/reservations/{rid}").status_code == 404
    charge = other.post(f"/reservations/{reservation['id']}/charge", {"order_number": "1"}).json()
    for cid in (charge["id"], "x1"):
        response = jtl.post(f"/charges/{cid}/refund", {"amount": "1.00", "currency": "EUR"})
        assert response.json() == error(
            404, "CHARGE.NOT_FOUND", "The requested Charge was not found."
        )
    other.http.close()
    odd = jtl.get("/vouchers/a%0Ab/charges")  # a newline in the id stays in this dialect
    assert (odd.status_code, odd.json()) == (404, NOT_FOUND)
    unknown_route = jtl.get("/nothing-here")
    assert unknown_route.json() == error(404, "NOT_FOUND", "The requested resource was not found.")
    wrong_method = jtl.http.put("/v1/vouchers")
    assert wrong_method.json() == error(
        405, "METHOD_NOT_ALLOWED", "The method is not allowed for this resource."
    )


def test_list_validation(jtl: Jtl) -> None:
    cases = [
        ({"per_page": 101}, ("per_page", "max", "The per page may not be greater than 100.")),
        ({"page": 0}, ("page", "min", "The page must be at least 1.")),
        ({"page": "x"}, ("page", "integer", "The page must be an integer.")),
        (
            {"filter[status]": "used"},
            ("filter[status]", "in", "The selected filter[status] is invalid."),
        ),
        (
            {"filter[created_from]": "yesterday"},
            (
                "filter[created_from]",
                "date",
                "The filter[created_from] is not a valid RFC 3339 date.",
            ),
        ),
    ]
    for params, item in cases:
        response = jtl.get("/vouchers", params=params)
        assert response.status_code == 422, params
        assert response.json() == invalid("VOUCHER.LIST", item), params
    assert (
        jtl.get("/vouchers", params={"filter[status]": "used"}).json()["errors"][0]["code"]
        == "VOUCHER.LIST.FILTER.STATUS.IN"
    )


def test_status_update_and_delete_errors(jtl: Jtl) -> None:
    voucher = jtl.voucher(amount="5.00", code="USED-UP")
    vid = voucher["id"]
    bad = jtl.patch(f"/vouchers/{vid}/status", {"status": "used"})
    assert bad.json() == invalid(
        "VOUCHER.STATUS", ("status", "in", "The selected status is invalid.")
    )
    assert jtl.patch(f"/vouchers/{vid}", {"sku": 5}).json() == invalid(
        "VOUCHER.UPDATE", ("sku", "string", "The sku must be a string.")
    )
    not_deletable = jtl.delete(f"/vouchers/{vid}", {"comment": "gone"})
    assert not_deletable.status_code == 409
    assert not_deletable.json() == error(
        409, "VOUCHER.NOT_DELETABLE", "An active voucher cannot be deleted. Deactivate it first."
    )
    for body, rule, message in (
        (None, "required", "The comment field is required."),
        ({}, "required", "The comment field is required."),
        ({"comment": "  "}, "required", "The comment field is required."),
        ({"comment": "c" * 256}, "max", "The comment may not be greater than 255 characters."),
    ):
        assert jtl.delete(f"/vouchers/{vid}", body).json() == invalid(
            "VOUCHER.DELETE", ("comment", rule, message)
        )
    # Used up: still "active" for JTL; it cannot be deactivated.
    reservation = jtl.post(
        "/reservations", {"amount": "5.00", "currency": "EUR", "code": "USED-UP"}
    ).json()
    jtl.post(f"/reservations/{reservation['id']}/charge", {"order_number": "1"})
    shown = jtl.get(f"/vouchers/{vid}").json()
    assert (shown["status"], shown["amount"]) == ("active", "0.00")
    used = jtl.patch(f"/vouchers/{vid}/status", {"status": "inactive"})
    assert used.status_code == 409
    assert used.json() == error(
        409, "VOUCHER.USED_UP", "The voucher has been used up and has no balance left."
    )
    more = jtl.post("/reservations", {"amount": "1.00", "currency": "EUR", "code": "USED-UP"})
    assert more.json() == error(
        409, "VOUCHER.USED_UP", "The voucher has been used up and has no balance left."
    )
    # ... but it can be deleted as it is.
    assert jtl.get("/vouchers").json()["data"][0]["deletable"] is True
    assert jtl.delete(f"/vouchers/{vid}", {"comment": "used up"}).status_code == 204


def test_expired_voucher(live_server: LiveServer, jtl: Jtl) -> None:
    voucher = jtl.voucher(code="OLD-CARD", validity_value=1, validity_interval="days")
    with live_server.engine.begin() as conn:
        conn.execute(
            update(vouchers)
            .where(vouchers.c.public_id == voucher["id"], vouchers.c.tenant_id == jtl.tenant_id)
            .values(ends_at=datetime.now(UTC) - timedelta(seconds=1))
        )
    refused = jtl.post("/reservations", {"amount": "1.00", "currency": "EUR", "code": "OLD-CARD"})
    assert refused.status_code == 409
    assert refused.json() == error(409, "VOUCHER.EXPIRED", "The voucher has expired.")


def test_reservation_errors(live_server: LiveServer, jtl: Jtl) -> None:
    voucher = jtl.voucher(amount="20.00", code="RES-CARD", pin="4711")
    reserve = {"amount": "5.00", "currency": "EUR", "code": "RES-CARD"}
    cases = [
        (
            {**reserve, "amount": "20.01"},
            409,
            error(
                409,
                "VOUCHER.INSUFFICIENT_BALANCE",
                "The voucher balance is too low for this amount.",
            ),
        ),
        (
            {**reserve, "currency": "USD"},
            422,
            invalid(
                "RESERVATION.CREATE",
                (
                    "currency",
                    "voucher_currency",
                    "The currency must match the currency of the voucher.",
                ),
            ),
        ),
        (
            {**reserve, "pin": "0000"},
            422,
            invalid("RESERVATION.CREATE", ("pin", "valid_pin", "The pin is invalid.")),
        ),
        (
            {**reserve, "amount": "0.00"},
            422,
            invalid("RESERVATION.CREATE", ("amount", "min", "The amount must be at least 0.01.")),
        ),
        ({**reserve, "code": "NO-SUCH-CODE"}, 404, NOT_FOUND),
        (
            {"amount": "1.00", "currency": "EUR"},
            422,
            invalid("RESERVATION.CREATE", ("code", "required", "The code field is required.")),
        ),
    ]
    for body, status, expected in cases:
        response = jtl.post("/reservations", body)
        assert (response.status_code, response.json()) == (status, expected), body
    first = jtl.post("/reservations", {**reserve, "pin": "4711"}).json()
    second = jtl.post("/reservations", reserve).json()
    expired = error(409, "RESERVATION.EXPIRED", "The reservation has expired.")
    superseded = jtl.post(f"/reservations/{first['id']}/charge", {"order_number": "1"})
    assert (superseded.status_code, superseded.json()) == (409, expired)
    assert jtl.post(f"/reservations/{second['id']}/charge", {}).json() == invalid(
        "RESERVATION.CHARGE", ("order_number", "required", "The order number field is required.")
    )
    assert (
        jtl.post(f"/reservations/{second['id']}/charge", {"order_number": "A-1"}).status_code == 201
    )
    twice = jtl.post(f"/reservations/{second['id']}/charge", {"order_number": "A-1"})
    assert twice.json() == error(
        409, "RESERVATION.ALREADY_CHARGED", "The reservation has already been charged."
    )
    assert jtl.delete(f"/reservations/{second['id']}").json() == twice.json()
    # Cancel: idempotent, frees the held value; the cancelled one cannot be charged.
    held = jtl.post("/reservations", {**reserve, "amount": "15.00"}).json()
    listed = jtl.get("/vouchers").json()["data"][0]
    assert (listed["amount"], listed["remaining_amount"]) == ("15.00", "0.00")
    assert jtl.delete(f"/reservations/{held['id']}").status_code == 204
    assert jtl.delete(f"/reservations/{held['id']}").status_code == 204
    assert jtl.get("/vouchers").json()["data"][0]["remaining_amount"] == "15.00"
    cancelled = jtl.post(f"/reservations/{held['id']}/charge", {"order_number": "1"})
    assert cancelled.json() == error(
        409, "RESERVATION.CANCELLED", "The reservation has been cancelled."
    )
    # Lapsed after 30 minutes.
    late = jtl.post("/reservations", reserve).json()
    past = datetime.now(UTC) - timedelta(seconds=1)
    with live_server.engine.begin() as conn:
        conn.execute(
            update(reservations)
            .where(reservations.c.id == int(late["id"]), reservations.c.tenant_id == jtl.tenant_id)
            .values(expires_at=past)
        )
        conn.execute(
            update(vouchers)
            .where(vouchers.c.public_id == voucher["id"], vouchers.c.tenant_id == jtl.tenant_id)
            .values(hold_expires_at=past)
        )
    lapsed = jtl.post(f"/reservations/{late['id']}/charge", {"order_number": "1"})
    assert (lapsed.status_code, lapsed.json()) == (409, expired)


def test_refund_and_recharge_errors(jtl: Jtl) -> None:
    voucher = jtl.voucher(amount="99990.00", code="BIG-CARD")
    reservation = jtl.post(
        "/reservations", {"amount": "10.00", "currency": "EUR", "code": "BIG-CARD"}
    ).json()
    charge = jtl.post(f"/reservations/{reservation['id']}/charge", {"order_number": "1"}).json()
    refund_path = f"/charges/{charge['id']}/refund"
    too_much = jtl.post(refund_path, {"amount": "10.01", "currency": "EUR"})
    assert (too_much.status_code, too_much.json()) == (
        422,
        invalid(
            "CHARGE.REFUND",
            (
                "amount",
                "refundable",
                "The amount may not be greater than what is left of the charge.",
            ),
        ),
    )
    assert jtl.post(refund_path, {"amount": "1.00", "currency": "GBP"}).json() == invalid(
        "CHARGE.REFUND",
        ("currency", "voucher_currency", "The currency must match the currency of the voucher."),
    )
    assert jtl.post(refund_path, {"amount": "1.00"}).json() == invalid(
        "CHARGE.REFUND", ("currency", "required", "The currency field is required.")
    )
    refund = jtl.post(refund_path, {"amount": "4.00", "currency": "EUR"}).json()
    not_a_charge = jtl.post(
        f"/charges/{refund['id']}/refund", {"amount": "1.00", "currency": "EUR"}
    )
    assert (not_a_charge.status_code, not_a_charge.json()) == (
        409,
        error(409, "CHARGE.NOT_REFUNDABLE", "Only charges of type charge can be refunded."),
    )
    # Recharge: who, how much at most, which currency.
    recharge = {"amount": "1.00", "currency": "EUR", "order_number": "R-1"}
    assert jtl.post("/vouchers/recharge", recharge).json() == invalid(
        "VOUCHER.RECHARGE",
        ("code", "required_without", "The code field is required when id is not present."),
    )
    assert jtl.post("/vouchers/recharge", {**recharge, "code": "NOPE"}).json() == NOT_FOUND
    over = jtl.post("/vouchers/recharge", {**recharge, "id": voucher["id"], "amount": "16.00"})
    assert over.json() == invalid(
        "VOUCHER.RECHARGE",
        ("amount", "max_balance", "The balance of the voucher may not exceed 99999.99."),
    )
    assert jtl.get(f"/vouchers/{voucher['id']}").json()["amount"] == "99984.00"
    assert jtl.post(
        "/vouchers/recharge", {**recharge, "id": voucher["id"], "currency": "CHF"}
    ).json() == invalid(
        "VOUCHER.RECHARGE",
        ("currency", "voucher_currency", "The currency must match the currency of the voucher."),
    )
    assert jtl.post("/vouchers/recharge", {"id": voucher["id"]}).json() == invalid(
        "VOUCHER.RECHARGE",
        ("amount", "required", "The amount field is required."),
        ("currency", "required", "The currency field is required."),
        ("order_number", "required", "The order number field is required."),
    )
    full = jtl.post("/vouchers/recharge", {**recharge, "id": voucher["id"], "amount": "15.99"})
    assert full.status_code == 201
    assert jtl.get(f"/vouchers/{voucher['id']}").json()["amount"] == "99999.99"
    overflow = jtl.post(refund_path, {"amount": "0.01", "currency": "EUR"})
    assert overflow.json() == invalid(
        "CHARGE.REFUND",
        ("amount", "max_balance", "The balance of the voucher may not exceed 99999.99."),
    )
    assert jtl.get(f"/vouchers/{voucher['id']}/charges").json()["meta"]["total"] == 3


def test_text_a_database_cannot_store_is_refused_cleanly(jtl: Jtl) -> None:
    message = "The value must be UTF-8 text without NUL characters."
    nul = jtl.post("/vouchers", {"amount": "1.00", "currency": "EUR", "sku": "a\u0000b"})
    assert nul.json() == invalid("VOUCHER.CREATE", ("sku", "utf8", message))
    surrogate = jtl.http.post(
        "/v1/reservations",
        content=b'{"amount": "1.00", "currency": "EUR", "code": "\\udb45"}',
        headers={"Content-Type": "application/json"},
    )
    assert surrogate.json() == invalid("RESERVATION.CREATE", ("code", "utf8", message))
    assert jtl.get("/vouchers/a%00b").json() == NOT_FOUND
    listed = jtl.get("/vouchers", params={"filter[sku]": "a\u0000"})
    assert listed.json() == invalid("VOUCHER.LIST", ("filter[sku]", "utf8", message))
    token = jtl.http.post(
        "/oauth/token",
        data={"grant_type": "client_credentials", "client_id": "a\u0000", "client_secret": "x"},
    )
    assert (token.status_code, token.json()) == (
        400,
        {
            "error": "invalid_request",
            "error_description": "the form holds NUL or invalid characters",
        },
    )
