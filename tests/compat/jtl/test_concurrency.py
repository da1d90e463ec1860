"""Racing POS requests through the JTL face: value is never charged twice."""

from __future__ import annotations

import threading
from collections.abc import Callable

import httpx

from tests.compat.jtl.conftest import Jtl
from tests.conftest import LiveServer


def _race(
    live_server: LiveServer, jtl: Jtl, n: int, call: Callable[[httpx.Client, int], httpx.Response]
) -> list[httpx.Response]:
    gate = threading.Barrier(n)
    results: list[httpx.Response] = []
    headers = {"Authorization": str(jtl.http.headers["Authorization"])}

    def run(i: int) -> None:
        with httpx.Client(
            base_url=f"{live_server.url}/jtl/v1", headers=headers, timeout=60
        ) as http:
            gate.wait()
            results.append(call(http, i))

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def test_one_reservation_charged_by_four_tills_at_once(live_server: LiveServer, jtl: Jtl) -> None:
    voucher = jtl.voucher(amount="30.00", code="RACE-1")
    reservation = jtl.post(
        "/reservations", {"amount": "12.00", "currency": "EUR", "code": "RACE-1"}
    ).json()
    results = _race(
        live_server,
        jtl,
        4,
        lambda http, i: http.post(
            f"/reservations/{reservation['id']}/charge", json={"order_number": f"T-{i}"}
        ),
    )
    assert sorted(r.status_code for r in results) == [201, 409, 409, 409]
    assert {r.json()["code"] for r in results if r.status_code == 409} == {
        "RESERVATION.ALREADY_CHARGED"
    }
    assert jtl.get(f"/vouchers/{voucher['id']}").json()["amount"] == "18.00"
    assert jtl.get(f"/vouchers/{voucher['id']}/charges").json()["meta"]["total"] == 1


def test_parallel_refunds_never_exceed_the_charge(live_server: LiveServer, jtl: Jtl) -> None:
    voucher = jtl.voucher(amount="30.00", code="RACE-2")
    reservation = jtl.post(
        "/reservations", {"amount": "10.00", "currency": "EUR", "code": "RACE-2"}
    ).json()
    charge = jtl.post(f"/reservations/{reservation['id']}/charge", {"order_number": "R"}).json()
    results = _race(
        live_server,
        jtl,
        4,
        lambda http, i: http.post(
            f"/charges/{charge['id']}/refund", json={"amount": "4.00", "currency": "EUR"}
        ),
    )
    assert sorted(r.status_code for r in results) == [201, 201, 422, 422]
    refused = [r.json()["errors"][0]["code"] for r in results if r.status_code == 422]
    assert refused == ["CHARGE.REFUND.AMOUNT.REFUNDABLE"] * 2
    assert jtl.get(f"/vouchers/{voucher['id']}").json()["amount"] == "28.00"
