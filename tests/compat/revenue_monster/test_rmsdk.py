"""The vendor's own Python SDK (PyPI ``rmsdk``), unmodified, against our server.

rmsdk builds every URL in one place, ``Request.formatUrl`` (``https://{sb-}{open|oauth}
.revenuemonster.my/{endpoint}``); the test replaces only that function, which is exactly
"changing the base URLs". Signing, headers, nonces (64 hex chars), float timestamps
(``str(time())``) and the JSON handling are the SDK's own.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import rmsdk  # type: ignore[import-untyped]
import rmsdk.request  # type: ignore[import-untyped]
from rmsdk.exceptions import RMSDKAPIException  # type: ignore[import-untyped]
from sqlalchemy import Engine

from tests.compat.revenue_monster.conftest import RmMerchant, make_batch
from tests.conftest import LiveServer


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
    assert issued["item"]["qrUrl"].endswith(f"/voucher/{code}")

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
