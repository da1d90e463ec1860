"""A point-of-sale integration played over real HTTP, checked against the native API."""

from __future__ import annotations

from datetime import datetime, timedelta

import httpx

from tests.compat.jtl.conftest import error, issue_pin
from tests.conftest import Api, LiveServer, TenantFixture
from voucherd.domain.vouchers import ValidityUnit, add_period


def test_pos_flow_end_to_end(live_server: LiveServer, tenant: TenantFixture) -> None:
    base = f"{live_server.url}/jtl"
    native = Api(live_server.url, tenant.client_id, tenant.client_secret)
    with httpx.Client(base_url=base, timeout=60) as pos:
        # 1. PIN connect: no token needed; the response carries the credentials.
        pin = issue_pin(live_server.engine, tenant.id, name="Till 7", client_type="pos")
        connected = pos.post("/v1/clients/connect", json={"pin": pin.lower()})
        assert connected.status_code == 200, connected.text
        client = connected.json()
        assert set(client) == {
            "id",
            "client_group_id",
            "name",
            "secret",
            "scopes",
            "created_at",
            "updated_at",
            "connected_at",
            "type",
        }
        assert client["name"] == "Till 7" and client["type"] == "pos"
        assert client["client_group_id"] == str(tenant.id)
        assert client["scopes"] == sorted(
            ["read", "read-lists", "read-secrets", "use", "manage", "update", "recharge"]
        )
        assert datetime.fromisoformat(client["connected_at"]).utcoffset() == timedelta(0)

        # 2. Token (standard OAuth2 client credentials, form encoded, with client_type).
        token = pos.post(
            "/oauth/token",
            data={
                "grant_type": "client_credentials",
                "client_id": client["id"],
                "client_secret": client["secret"],
                "client_type": "my_pos",
            },
        )
        assert token.status_code == 200, token.text
        assert token.json()["token_type"] == "Bearer"
        assert token.json()["expires_in"] > 0
        pos.headers["Authorization"] = f"Bearer {token.json()['access_token']}"

        # 3. Create: inactive by default, valid_until null, secrets shown once.
        created = pos.post(
            "/v1/vouchers",
            json={
                "amount": "25.00",
                "currency": "EUR",
                "type": "print",
                "validity_value": 2,
                "validity_interval": "years",
                "taxable": True,
                "tax_rate": "19",
                "sku": "GC-25",
                "batch": "Winter Campaign",
                "order_number": "Order 66",
                "data": '{"foo": "bar"}',
            },
        )
        assert created.status_code == 201, created.text
        voucher = created.json()
        vid, code = voucher["id"], voucher["code"]
        assert len(vid) == 16 and vid.isalnum() and vid.isupper()
        assert voucher["status"] == "inactive" and voucher["valid_until"] is None
        assert voucher["amount"] == "25.00" and voucher["currency"] == "EUR"
        assert voucher["pin"] is not None and len(voucher["pin"]) == 6
        assert (voucher["client_id"], voucher["type"], voucher["tax_rate"]) == (
            client["id"],
            "print",
            "19",
        )
        assert voucher["data"] == '{"foo": "bar"}' and voucher["batch"] == "Winter Campaign"
        shown = pos.get(f"/v1/vouchers/{vid}").json()
        assert "code" not in shown and "pin" not in shown
        complete = pos.get(f"/v1/vouchers/{vid}/complete").json()
        assert complete["code"] == code and complete["pin"] is None

        # Inactive: a reservation is refused.
        early = pos.post(
            "/v1/reservations", json={"amount": "5.00", "currency": "EUR", "code": code}
        )
        assert early.status_code == 409
        assert early.json() == error(
            409, "VOUCHER.INACTIVE", "The voucher is inactive and cannot be used."
        )

        # 4. Activate: valid_until = activation + 2 years.
        active = pos.patch(
            f"/v1/vouchers/{vid}/status", json={"status": "active", "comment": "paid at till 7"}
        )
        assert active.status_code == 200, active.text
        assert active.json()["status"] == "active"
        activated_at = datetime.fromisoformat(active.json()["updated_at"])
        assert datetime.fromisoformat(active.json()["valid_until"]) == add_period(
            activated_at, 2, ValidityUnit.YEARS
        )

        # 5. Reserve 10.53 (with the PIN), 6. charge it.
        reserved = pos.post(
            "/v1/reservations",
            json={
                "amount": "10.53",
                "currency": "eur",
                "code": code.lower(),
                "pin": voucher["pin"],
            },
        )
        assert reserved.status_code == 201, reserved.text
        reservation = reserved.json()
        assert reservation["voucher_id"] == vid and reservation["amount"] == "10.53"
        assert reservation["voucher_taxable"] is True and reservation["voucher_tax_rate"] == "19"
        assert datetime.fromisoformat(reservation["valid_until"]) - datetime.fromisoformat(
            reservation["created_at"]
        ) == timedelta(minutes=30)
        listed = pos.get("/v1/vouchers", params={"filter[sku]": "GC-25"}).json()["data"]
        assert [(v["id"], v["amount"], v["remaining_amount"], v["deletable"]) for v in listed] == [
            (vid, "25.00", "14.47", False)
        ]
        charged = pos.post(
            f"/v1/reservations/{reservation['id']}/charge", json={"order_number": "ORDER-62642"}
        )
        assert charged.status_code == 201, charged.text
        charge = charged.json()
        assert (
            charge["type"],
            charge["amount"],
            charge["voucher_id"],
            charge["order_number"],
            charge["client_id"],
        ) == ("charge", "10.53", vid, "ORDER-62642", client["id"])
        assert pos.get(f"/v1/vouchers/{vid}").json()["amount"] == "14.47"

        # 7. Partial refund.
        refunded = pos.post(
            f"/v1/charges/{charge['id']}/refund", json={"amount": "3.00", "currency": "EUR"}
        )
        assert refunded.status_code == 201, refunded.text
        assert (refunded.json()["type"], refunded.json()["amount"]) == ("refund", "3.00")

        # 8. Recharge by code.
        recharged = pos.post(
            "/v1/vouchers/recharge",
            json={"amount": "20.00", "currency": "EUR", "order_number": "TOPUP-1", "code": code},
        )
        assert recharged.status_code == 201, recharged.text
        assert recharged.json()["type"] == "recharge"
        assert pos.get(f"/v1/vouchers/{vid}").json()["amount"] == "37.47"

        # The same voucher through the native API: same balance, same history.
        seen = native.get(f"/v1/vouchers/{vid}")
        assert seen.status_code == 200, seen.text
        assert seen.json()["balance"] == 3747 and seen.json()["status"] == "active"
        ledger = native.get(f"/v1/vouchers/{vid}/ledger").json()["data"]
        assert [(e["kind"], e["amount"]) for e in ledger] == [
            ("issue", 2500),
            ("charge", -1053),
            ("refund", 300),
            ("recharge", 2000),
        ]
        charges = pos.get(f"/v1/vouchers/{vid}/charges").json()
        assert [(c["type"], c["amount"]) for c in charges["data"]] == [
            ("charge", "10.53"),
            ("refund", "3.00"),
            ("recharge", "20.00"),
        ]
        assert charges["meta"]["total"] == 3

        # 9. Deactivate: the next charge is refused.
        again = pos.post(
            "/v1/reservations", json={"amount": "1.00", "currency": "EUR", "code": code}
        ).json()
        off = pos.patch(f"/v1/vouchers/{vid}/status", json={"status": "inactive"})
        assert off.status_code == 200 and off.json()["status"] == "inactive"
        assert off.json()["valid_until"] is None
        refused = pos.post(
            f"/v1/reservations/{again['id']}/charge", json={"order_number": "ORDER-2"}
        )
        assert refused.status_code == 409
        assert refused.json() == error(
            409, "VOUCHER.INACTIVE", "The voucher is inactive and cannot be used."
        )
        assert native.get(f"/v1/vouchers/{vid}").json()["status"] == "inactive"
        trail = native.get(f"/v1/vouchers/{vid}/events").json()["data"]
        activation = next(e for e in trail if e["operation"] == "activate")
        assert (activation["actor"], activation["reason"]) == (
            f"jtl:{client['id']}",
            "paid at till 7",
        )

        # 10. Delete (comment required): gone from both faces.
        deleted = pos.request(
            "DELETE", f"/v1/vouchers/{vid}", json={"comment": "customer returned the card"}
        )
        assert deleted.status_code == 204 and deleted.content == b""
        assert pos.get(f"/v1/vouchers/{vid}").json() == error(
            404, "VOUCHER.NOT_FOUND", "The requested Voucher was not found."
        )
        assert native.get(f"/v1/vouchers/{vid}").status_code == 404
    native.close()
