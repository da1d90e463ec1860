"""The vendor's own Python SDK (PyPI ``rmsdk``), unmodified, against our server.

rmsdk builds every URL in one place, ``Request.formatUrl`` (``https://{sb-}{open|oauth}
.revenuemonster.my/{endpoint}``); the test replaces only that function, which is exactly
"changing the base URLs". Signing, headers, nonces (64 hex chars), float timestamps
(``str(time())``) and the JSON handling are the SDK's own.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import rmsdk  # type: ignore[import-untyped]
import rmsdk.request  # type: ignore[import-untyped]
from rmsdk.exceptions import RMSDKAPIException  # type: ignore[import-untyped]
from sqlalchemy import Engine

from tests.compat.revenue_monster.conftest import RmMerchant, make_batch
from tests.conftest import Api, LiveServer
from voucherd.dialects.revenue_monster import merchants
from voucherd.domain.scopes import ALL_SCOPES
from voucherd.services import tenants
from voucherd.services.unit_of_work import UnitOfWork

ZERO = "0001-01-01T00:00:00Z"


@pytest.fixture
def sdk(
    live_server: LiveServer, merchant: RmMerchant, monkeypatch: pytest.MonkeyPatch
) -> Iterator[rmsdk.RMSDK]:
    base = f"{live_server.url}/rm"
    monkeypatch.setattr(
        rmsdk.request.Request,
        "formatUrl",
        lambda self, environment, auth, endpoint: f"{base}/{endpoint}",
    )
    yield rmsdk.RMSDK(
        {
            "clientID": merchant.client_id,
            "clientSecret": merchant.client_secret,
            "privateKey": str(merchant.key.private_path),
            "environment": "sandbox",
        }
    )


def test_token_from_the_sdk(sdk: rmsdk.RMSDK) -> None:
    assert sdk.accessToken and sdk.refreshToken
    access, refresh = sdk.auth.getRefreshToken(sdk.refreshToken)
    assert access and refresh and refresh != sdk.refreshToken


def test_issue_get_void_with_the_sdk(
    sdk: rmsdk.RMSDK, merchant: RmMerchant, engine: Engine
) -> None:
    key = make_batch(engine, merchant.tenant_id, type="CASH", amount=1500, quantity=2)
    issued = sdk.voucher.issueVoucher(sdk.accessToken, key)
    assert issued["code"] == "SUCCESS"
    code = issued["item"]["code"]
    assert f"/voucher/{code}?exp=" in issued["item"]["qrUrl"]  # signed, expiring

    got = sdk.voucher.getVoucherByCode(sdk.accessToken, code)
    assert got["item"]["code"] == code and got["item"]["amount"] == 1500
    assert got["item"]["status"] == "ISSUED" and got["item"]["voucherBatchKey"] == key

    voided = sdk.voucher.voidVoucher(sdk.accessToken, code)
    assert voided["code"] == "SUCCESS" and voided["item"]["status"] == "VOID"
    with pytest.raises(RMSDKAPIException) as refused:
        sdk.voucher.voidVoucher(sdk.accessToken, code)
    assert refused.value.message["error"]["code"] == "VOUCHER_NOT_ALLOW_VOID"
    assert sdk.voucher.getVoucherByCode(sdk.accessToken, code)["item"]["status"] == "VOID"


def test_batches_with_the_sdk(sdk: rmsdk.RMSDK, merchant: RmMerchant, engine: Engine) -> None:
    first = make_batch(engine, merchant.tenant_id, type="DISCOUNT", discount_rate=1500, quantity=2)
    second = make_batch(engine, merchant.tenant_id, type="GIFT", label="Coffee", quantity=1)
    listed = sdk.voucher.getVoucherBatches(sdk.accessToken)
    assert listed["code"] == "SUCCESS"
    assert [b["key"] for b in listed["items"]] == [first, second]
    assert listed["items"][0]["discountRate"] == 1500
    one = sdk.voucher.getVoucherBatchByKey(sdk.accessToken, second)
    assert one["item"]["key"] == second and one["item"]["label"] == "Coffee"
    assert one["item"]["type"] == "GIFT" and one["item"]["quantity"] == 1


def test_sdk_sees_rm_errors(sdk: rmsdk.RMSDK) -> None:
    with pytest.raises(RMSDKAPIException) as missing:
        sdk.voucher.getVoucherByCode(sdk.accessToken, "NOSUCHCODE")
    assert missing.value.message["error"]["code"] == "VOUCHER_NOT_FOUND"
    with pytest.raises(RMSDKAPIException) as bad_token:
        sdk.voucher.getVoucherBatches("not-a-token")
    assert bad_token.value.message["error"]["code"] == "TOKEN_INVALID"


def _sdk_call(sdk: rmsdk.RMSDK, method: str, endpoint: str, data: Any = None) -> Any:
    """An endpoint rmsdk has no method for, sent with rmsdk's own Request and signing (exactly
    what its methods do): member redeem and reinstate."""
    request = rmsdk.request.Request(environment="sandbox", endpoint=endpoint)
    headers, body = sdk.voucher.getHeadersAndData(
        accessToken=sdk.accessToken, data=data, requestUrl=request.baseUrl, method=method
    )
    send = request.doPatch if method == "patch" else request.doPost
    return send(headers=headers, data=body)


def test_seed_002_lifecycle_with_the_sdk(
    sdk: rmsdk.RMSDK, merchant: RmMerchant, engine: Engine, live_server: LiveServer
) -> None:
    """VALID -> issue -> ISSUED -> member redeem (collect) -> REDEEMED -> void at the shop ->
    VOID (usedAt) -> reinstate (PIN) -> REDEEMED -> void -> VOID; and a void before
    collection cancels an ISSUED voucher. The native view of the voucher agrees throughout."""
    merchants.configure(engine, merchant.tenant_id, reinstate_pin="4321")
    with UnitOfWork(engine) as uow:
        client = tenants.create_client(uow, merchant.tenant_id, "native", ALL_SCOPES)
        uow.commit()
    native = Api(live_server.url, client.client_id, client.client_secret)
    key = make_batch(engine, merchant.tenant_id, type="GIFT", label="Free Breakfast", quantity=2)
    batch = sdk.voucher.getVoucherBatchByKey(sdk.accessToken, key)["item"]
    assert batch["balanceQuantity"] == 2  # both VALID, waiting in the batch

    def rm(code: str) -> dict[str, Any]:
        item: dict[str, Any] = sdk.voucher.getVoucherByCode(sdk.accessToken, code)["item"]
        return item

    def agree(item: dict[str, Any]) -> dict[str, Any]:
        """The native view of the same voucher, checked against RM's status."""
        seen: dict[str, Any] = native.get(f"/v1/vouchers/{item['key']}").json()
        expected = {
            "ISSUED": ("active", 0),
            "REDEEMED": ("redeemed", 1),
            "VOID": ("void", seen["uses"]),
        }[item["status"]]
        assert (seen["status"], seen["uses"]) == expected, (item["status"], seen)
        assert (item["usedAt"] != ZERO) == (seen["voided_at"] is not None)
        return seen

    code = sdk.voucher.issueVoucher(sdk.accessToken, key)["item"]["code"]
    assert agree(rm(code))["customer_id"] is None and rm(code)["status"] == "ISSUED"

    member = "countryCode=60&phoneNumber=187824152"
    redeemed = _sdk_call(sdk, "post", f"v3/loyalty/me/voucher/{code}/redeem?{member}")["item"]
    assert redeemed["status"] == "REDEEMED" and redeemed["redeemedAt"] != ZERO
    assert redeemed["memberProfile"]["phoneNumber"] == "187824152"
    collected = agree(redeemed)
    assert collected["customer_id"] is not None

    voided = sdk.voucher.voidVoucher(sdk.accessToken, code)["item"]
    assert voided["status"] == "VOID" and voided["usedAt"] != ZERO
    assert agree(voided)["uses"] == 1  # the collected use stays taken

    with pytest.raises(RMSDKAPIException) as wrong:
        _sdk_call(sdk, "patch", f"v3/voucher/{code}/reinstate", {"pin": "0000"})
    assert wrong.value.message["error"]["code"] == "PIN_INVALID"
    back = _sdk_call(sdk, "patch", f"v3/voucher/{code}/reinstate", {"pin": "4321"})["item"]
    assert back["status"] == "REDEEMED" and back["usedAt"] == ZERO
    assert agree(back)["customer_id"] == collected["customer_id"]

    again = sdk.voucher.voidVoucher(sdk.accessToken, code)["item"]
    assert again["status"] == "VOID" and agree(again)["status"] == "void"
    history = native.get(f"/v1/vouchers/{again['key']}/ledger").json()["data"]
    assert [e["kind"] for e in history] == ["charge"]  # one use, voided twice

    # Cancel before collection: an ISSUED voucher is voided, and reinstated back to ISSUED.
    other = sdk.voucher.issueVoucher(sdk.accessToken, key)["item"]["code"]
    cancelled = sdk.voucher.voidVoucher(sdk.accessToken, other)["item"]
    assert cancelled["status"] == "VOID" and agree(cancelled)["uses"] == 0
    restored = _sdk_call(sdk, "patch", f"v3/voucher/{other}/reinstate", {"pin": "4321"})
    assert restored["item"]["status"] == "ISSUED" and agree(restored["item"])["uses"] == 0
    native.close()
