"""A client of tenant A gets 404 for every endpoint that names an object of tenant B."""

from __future__ import annotations

import pytest

from tests.conftest import Api, LiveServer, make_tenant


@pytest.fixture
def other(live_server: LiveServer) -> dict[str, object]:
    """Objects of tenant B: a voucher, a charge, a reservation, a campaign, a customer."""
    b = make_tenant(live_server.engine, "tenant-b")
    api_b = Api(live_server.url, b.client_id, b.client_secret)
    voucher = api_b.create_voucher(amount=5000)
    reserved_voucher = api_b.create_voucher(amount=5000)
    charge = api_b.post("/v1/charges", {"voucher_id": voucher["id"], "amount": 100}).json()
    reservation = api_b.post(
        "/v1/reservations", {"voucher_id": reserved_voucher["id"], "amount": 100}
    ).json()
    campaign = api_b.post(
        "/v1/campaigns", {"name": "B", "template": {"currency": "EUR", "amount": 100}}
    ).json()
    customer = api_b.post("/v1/customers", {"external_ref": "b-1"}).json()
    api_b.close()
    return {
        "voucher": voucher,
        "charge": charge["entry"],
        "reservation": reservation,
        "campaign": campaign,
        "customer": customer,
    }


def test_every_endpoint_hides_other_tenants_objects(api: Api, other: dict[str, dict]) -> None:  # type: ignore[type-arg]
    v = other["voucher"]["id"]
    c = other["charge"]["id"]
    r = other["reservation"]["id"]
    k = other["campaign"]["id"]
    u = other["customer"]["id"]
    mine = api.create_voucher()
    calls = [
        ("GET", f"/v1/vouchers/{v}", None),
        ("GET", f"/v1/vouchers/{v}/secret", None),
        ("GET", f"/v1/vouchers/{v}/events", None),
        ("GET", f"/v1/vouchers/{v}/ledger", None),
        ("PATCH", f"/v1/vouchers/{v}", {"sku": "x"}),
        ("DELETE", f"/v1/vouchers/{v}", {"reason": "x"}),
        ("POST", "/v1/vouchers/lookup", {"code": other["voucher"]["code"]}),
        ("POST", "/v1/charges", {"voucher_id": v, "amount": 1}),
        ("POST", "/v1/charges", {"code": other["voucher"]["code"], "amount": 1}),
        ("GET", f"/v1/charges/{c}", None),
        ("POST", f"/v1/charges/{c}/refund", {"amount": 1}),
        ("POST", f"/v1/vouchers/{v}/recharge", {"amount": 1}),
        ("POST", "/v1/reservations", {"voucher_id": v, "amount": 1}),
        ("GET", f"/v1/reservations/{r}", None),
        ("POST", f"/v1/reservations/{r}/capture", {}),
        ("POST", f"/v1/reservations/{r}/release", None),
        ("GET", f"/v1/campaigns/{k}", None),
        ("POST", f"/v1/campaigns/{k}/generate", {"count": 1}),
        ("POST", f"/v1/campaigns/{k}/import", {"codes": ["ZZZ-1"]}),
        ("GET", f"/v1/customers/{u}", None),
        ("POST", f"/v1/vouchers/{mine['id']}/claim", {"customer_id": u}),
    ]
    for name in (
        "activate",
        "deactivate",
        "end",
        "expire",
        "void",
        "reinstate",
        "unclaim",
        "unlock",
    ):
        calls.append(("POST", f"/v1/vouchers/{v}/{name}", {}))
    calls.append(("POST", f"/v1/vouchers/{v}/claim", {"customer_id": u}))
    calls.append(("POST", f"/v1/vouchers/{v}/lock", {"lock_seconds": 60}))
    for method, path, body in calls:
        response = api.http.request(method, path, json=body)
        assert response.status_code == 404, (method, path, response.status_code, response.text)
        assert response.headers["content-type"] == "application/problem+json"
    listed = api.get("/v1/vouchers", params={"limit": 500}).json()["data"]
    assert v not in {item["id"] for item in listed}
