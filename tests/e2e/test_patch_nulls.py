"""PATCH /v1/vouchers/{id}: an explicit null on a field that cannot be empty is a 422, not a 500.

Found by schemathesis (``{"taxable": null}`` failed the NOT NULL constraint: 500).
"""

from __future__ import annotations

import pytest

from tests.conftest import Api


@pytest.mark.parametrize("field", ["taxable", "medium", "metadata"])
def test_null_on_a_not_nullable_field_is_refused_and_changes_nothing(api: Api, field: str) -> None:
    voucher = api.create_voucher()
    response = api.patch(f"/v1/vouchers/{voucher['id']}", {field: None, "label": "kept?"})
    assert response.status_code == 422, response.text
    body = response.json()
    assert body["code"] == "validation_failed"
    assert [e["field"] for e in body["errors"]] == [field]
    after = api.get(f"/v1/vouchers/{voucher['id']}").json()
    assert after["label"] == voucher["label"] != "kept?"
    assert after[field] == voucher[field]
    assert after["updated_at"] == voucher["updated_at"]


def test_nullable_fields_still_clear_and_set(api: Api) -> None:
    voucher = api.create_voucher(label="before")
    cleared = api.patch(f"/v1/vouchers/{voucher['id']}", {"label": None, "taxable": True})
    assert cleared.status_code == 200, cleared.text
    assert cleared.json()["label"] is None and cleared.json()["taxable"] is True
