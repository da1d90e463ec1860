"""Voucher objects, lists and updates as a JTL integrator sees them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from tests.compat.jtl.conftest import Jtl, error
from tests.conftest import Api, LiveServer, TenantFixture
from voucherd.domain.vouchers import ValidityUnit, add_period

VOUCHER_FIELDS = {
    "id",
    "client_id",
    "sku",
    "batch",
    "amount",
    "currency",
    "valid_until",
    "validity_value",
    "validity_interval",
    "status",
    "type",
    "taxable",
    "tax_rate",
    "order_number",
    "data",
    "created_at",
    "updated_at",
}


def test_created_voucher_shape_and_defaults(jtl: Jtl) -> None:
    digital = jtl.post("/vouchers", {"amount": "10.53", "currency": "EUR"})
    printed = jtl.post("/vouchers", {"amount": "10.53", "currency": "EUR", "type": "print"})
    for response, kind in ((digital, "digital"), (printed, "print")):
        assert response.status_code == 201
        body = response.json()
        assert set(body) == VOUCHER_FIELDS | {"code", "pin"}
        assert (body["status"], body["type"], body["valid_until"]) == ("inactive", kind, None)
        assert (body["taxable"], body["tax_rate"], body["data"], body["sku"]) == (
            False,
            None,
            None,
            None,
        )
        assert body["pin"].isdigit() and len(body["code"]) == 12
        assert datetime.fromisoformat(body["created_at"]).utcoffset() == timedelta(0)
        assert set(jtl.get(f"/vouchers/{body['id']}").json()) == VOUCHER_FIELDS
    custom = jtl.voucher(
        id="4ZH83T0ACUUC14CW",
        code="test",
        pin="1234",
        tax_rate="7.5",
        taxable=True,
        amount="0.00",
        currency="jpy",
    )
    assert (custom["id"], custom["code"], custom["pin"], custom["tax_rate"]) == (
        "4ZH83T0ACUUC14CW",
        "TEST",
        "1234",
        "7.5",
    )
    assert (custom["amount"], custom["currency"], custom["status"]) == ("0.00", "JPY", "active")
    assert custom["valid_until"] is None  # no validity period: valid without end
    recharged = jtl.post(
        "/vouchers/recharge",
        {"amount": "1500.00", "currency": "JPY", "order_number": "R", "code": "test"},
    )
    assert recharged.json()["amount"] == "1500.00"
    assert jtl.get("/vouchers/4ZH83T0ACUUC14CW").json()["amount"] == "1500.00"


def test_activation_computes_valid_until_once(jtl: Jtl) -> None:
    voucher = jtl.voucher(status="inactive", validity_value=3, validity_interval="months")
    assert (voucher["validity_value"], voucher["validity_interval"]) == (3, "months")
    active = jtl.patch(f"/vouchers/{voucher['id']}/status", {"status": "active"}).json()
    activated_at = datetime.fromisoformat(active["updated_at"])
    until = datetime.fromisoformat(active["valid_until"])
    assert until == add_period(activated_at, 3, ValidityUnit.MONTHS)
    assert timedelta(days=88) <= until - activated_at <= timedelta(days=92)
    again = jtl.patch(f"/vouchers/{voucher['id']}/status", {"status": "active"})
    assert again.status_code == 200 and again.json() == active  # nothing changes
    off = jtl.patch(f"/vouchers/{voucher['id']}/status", {"status": "inactive"}).json()
    assert (off["status"], off["valid_until"]) == ("inactive", None)
    on = jtl.patch(f"/vouchers/{voucher['id']}/status", {"status": "active"}).json()
    assert on["valid_until"] == active["valid_until"]  # the period started at first activation


def test_update_sku_and_batch(jtl: Jtl) -> None:
    voucher = jtl.voucher(sku="A", batch="Winter")
    vid = voucher["id"]
    changed = jtl.patch(f"/vouchers/{vid}", {"batch": "Summer"}).json()
    assert (changed["sku"], changed["batch"]) == ("A", "Summer")
    cleared = jtl.patch(f"/vouchers/{vid}", {"sku": None}).json()
    assert (cleared["sku"], cleared["batch"]) == (None, "Summer")
    unchanged = jtl.patch(f"/vouchers/{vid}", {})
    assert unchanged.status_code == 200 and unchanged.json()["batch"] == "Summer"


def test_list_pagination_and_filters(jtl: Jtl) -> None:
    made = [
        jtl.voucher(
            batch="B1" if i % 2 else "B2",
            sku=f"S{i}",
            type="print" if i == 4 else "digital",
            status="inactive" if i == 0 else "active",
        )
        for i in range(5)
    ]
    page = jtl.get("/vouchers", params={"per_page": 2, "page": 2})
    assert page.status_code == 200
    body = page.json()
    assert [v["id"] for v in body["data"]] == [made[2]["id"], made[3]["id"]]
    assert set(body["data"][0]) == VOUCHER_FIELDS | {"remaining_amount", "deletable"}
    meta = body["meta"]
    assert {
        k: meta[k] for k in ("current_page", "per_page", "from", "to", "last_page", "total")
    } == {"current_page": 2, "per_page": 2, "from": 3, "to": 4, "last_page": 3, "total": 5}
    assert meta["path"].endswith("/jtl/v1/vouchers")
    links = body["links"]
    assert links["first"].endswith("page=1") and links["last"].endswith("page=3")
    assert links["prev"].endswith("page=1") and links["next"].endswith("page=3")
    assert "per_page=2" in links["next"]
    empty = jtl.get("/vouchers", params={"page": 9}).json()
    assert empty["data"] == [] and empty["meta"]["from"] is None and empty["links"]["next"] is None

    def ids(**params: str) -> list[str]:
        return [v["id"] for v in jtl.get("/vouchers", params=params).json()["data"]]

    assert ids(**{"filter[batch]": "B1"}) == [made[1]["id"], made[3]["id"]]
    assert ids(**{"filter[sku]": "S2"}) == [made[2]["id"]]
    assert ids(**{"filter[type]": "print"}) == [made[4]["id"]]
    assert ids(**{"filter[status]": "inactive"}) == [made[0]["id"]]
    assert len(ids(**{"filter[status]": "active"})) == 4
    listed = jtl.get("/vouchers").json()["data"]
    assert [v["deletable"] for v in listed] == [True, False, False, False, False]
    future = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    assert ids(**{"filter[created_from]": future}) == []
    assert len(ids(**{"filter[created_to]": future})) == 5
    assert len(ids(**{"filter[created_from]": "2020-01-01T00:00:00"})) == 5


def test_charges_list(jtl: Jtl) -> None:
    voucher = jtl.voucher(code="HIST")
    for amount in ("1.00", "2.00", "3.00"):
        reservation = jtl.post(
            "/reservations", {"amount": amount, "currency": "EUR", "code": "HIST"}
        ).json()
        jtl.post(f"/reservations/{reservation['id']}/charge", {"order_number": f"O-{amount}"})
    page = jtl.get(f"/vouchers/{voucher['id']}/charges", params={"per_page": 2}).json()
    assert [(c["type"], c["amount"], c["order_number"]) for c in page["data"]] == [
        ("charge", "1.00", "O-1.00"),
        ("charge", "2.00", "O-2.00"),
    ]
    assert set(page["data"][0]) == {
        "id",
        "voucher_id",
        "client_id",
        "type",
        "amount",
        "order_number",
        "created_at",
        "updated_at",
    }
    assert (page["meta"]["total"], page["meta"]["last_page"]) == (3, 2)
    assert jtl.get(f"/vouchers/{voucher['id']}").json()["amount"] == "44.00"


def test_native_vouchers_of_other_kinds_are_invisible(
    live_server: LiveServer, tenant: TenantFixture, jtl: Jtl
) -> None:
    native = Api(live_server.url, tenant.client_id, tenant.client_secret)
    discount = native.create_voucher(
        kind="fixed_discount", amount=None, discount_amount=500, code="TENOFF"
    )
    gift_card = native.create_voucher(code="NATIVE-GC")
    native.close()
    assert jtl.get(f"/vouchers/{discount['id']}").json() == error(
        404, "VOUCHER.NOT_FOUND", "The requested Voucher was not found."
    )
    assert [v["id"] for v in jtl.get("/vouchers").json()["data"]] == [gift_card["id"]]
    shown = jtl.get(f"/vouchers/{gift_card['id']}").json()
    assert (shown["amount"], shown["status"], shown["client_id"]) == (
        "100.00",
        "active",
        tenant.client_id,
    )


def test_money_renders_with_the_currency_exponent(
    live_server: LiveServer, tenant: TenantFixture, jtl: Jtl
) -> None:
    """KWD and BHD have three decimals: 1.234 KWD must not be shown (or charged) as 1.23."""
    native = Api(live_server.url, tenant.client_id, tenant.client_secret)
    kwd = native.create_voucher(currency="KWD", amount=1234)
    bhd = native.create_voucher(currency="BHD", amount=5)
    yen = native.create_voucher(currency="JPY", amount=1000)
    native.close()
    amounts = {
        v: jtl.get(f"/vouchers/{card['id']}").json()["amount"]
        for v, card in (("KWD", kwd), ("BHD", bhd), ("JPY", yen))
    }
    assert amounts == {"KWD": "1.234", "BHD": "0.005", "JPY": "1000.00"}
    listed = {v["id"]: v["remaining_amount"] for v in jtl.get("/vouchers").json()["data"]}
    assert listed[kwd["id"]] == "1.234"
