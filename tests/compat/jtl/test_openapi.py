"""Schemathesis over /jtl/openapi.json against the live server: no 5xx, nothing undocumented."""

from __future__ import annotations

from typing import Any

import httpx
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis.generation import GenerationMode
from schemathesis.specs.openapi.checks import positive_data_acceptance

from tests.compat.jtl.conftest import Jtl
from tests.conftest import LiveServer

EXAMPLES = 8  # per operation and generation mode: the whole run stays well under a minute
# Every check runs except ``positive_data_acceptance``: a schema-valid request may still break
# a business rule the document cannot express (an unknown PIN, "XYZ" as a currency, "0.00" to
# charge, a currency not the voucher's), and JTL answers those with a documented 422.


def _run(
    operation: Any, mode: GenerationMode, base_url: str, headers: dict[str, str], **fixed: Any
) -> None:
    @given(case=operation.as_strategy(generation_mode=mode, **fixed))
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
        phases=[Phase.explicit, Phase.generate],
    )
    def check(case: Any) -> None:
        case.call_and_validate(
            base_url=base_url, headers=headers, excluded_checks=[positive_data_acceptance]
        )

    check()


def _seed(jtl: Jtl) -> dict[str, str]:
    """Real objects, so that generated requests also reach the 200/201/409 paths."""
    voucher = jtl.voucher(amount="99.00", code="SCHEMA-CARD")
    reservation = jtl.post(
        "/reservations", {"amount": "5.00", "currency": "EUR", "code": "SCHEMA-CARD"}
    ).json()
    charge = jtl.post(f"/reservations/{reservation['id']}/charge", {"order_number": "S-1"}).json()
    second = jtl.post(
        "/reservations", {"amount": "1.00", "currency": "EUR", "code": "SCHEMA-CARD"}
    ).json()
    return {
        "/v1/vouchers/": voucher["id"],
        "/v1/charges/": charge["id"],
        "/v1/reservations/": second["id"],
    }


SURFACE = {
    ("post", "/oauth/token"),
    ("post", "/v1/clients/connect"),
    ("post", "/v1/vouchers"),
    ("get", "/v1/vouchers"),
    ("get", "/v1/vouchers/{id}"),
    ("get", "/v1/vouchers/{id}/complete"),
    ("patch", "/v1/vouchers/{id}"),
    ("patch", "/v1/vouchers/{id}/status"),
    ("delete", "/v1/vouchers/{id}"),
    ("post", "/v1/vouchers/recharge"),
    ("get", "/v1/vouchers/{id}/charges"),
    ("post", "/v1/reservations"),
    ("post", "/v1/reservations/{id}/charge"),
    ("delete", "/v1/reservations/{id}"),
    ("post", "/v1/charges/{id}/refund"),
}


def test_document_describes_exactly_the_jtl_surface(live_server: LiveServer) -> None:
    doc = httpx.get(f"{live_server.url}/jtl/openapi.json").json()
    assert doc["servers"] == [{"url": "/jtl"}]
    assert {(m, p) for p, ops in doc["paths"].items() for m in ops} == SURFACE
    scheme = doc["components"]["securitySchemes"]["BearerAuth"]
    assert scheme["flows"]["clientCredentials"]["tokenUrl"] == "/jtl/oauth/token"
    assert set(scheme["flows"]["clientCredentials"]["scopes"]) == {
        "read",
        "read-lists",
        "read-secrets",
        "use",
        "manage",
        "update",
        "recharge",
    }
    security = {
        (m, p): op.get("security") for p, ops in doc["paths"].items() for m, op in ops.items()
    }
    assert security[("post", "/v1/clients/connect")] is None
    assert security[("patch", "/v1/vouchers/{id}/status")] == [{"BearerAuth": ["use"]}]
    assert security[("get", "/v1/vouchers/{id}/complete")] == [{"BearerAuth": ["read-secrets"]}]
    amount = doc["components"]["schemas"]["Voucher"]["properties"]["amount"]
    assert (amount["pattern"], amount["minLength"], amount["maxLength"]) == (
        r"^[0-9]{1,5}\.[0-9]{2}$",
        4,
        9,
    )
    assert "HTTPValidationError" not in doc["components"]["schemas"]


def test_schemathesis_no_5xx_and_conforming_responses(live_server: LiveServer, jtl: Jtl) -> None:
    document = httpx.get(f"{live_server.url}/jtl/openapi.json")
    assert document.status_code == 200
    assert document.json()["info"] == {
        "title": "JTL-Voucher Cloud API",
        "version": "1.8",
        "description": document.json()["info"]["description"],
    }
    schema = schemathesis.openapi.from_url(f"{live_server.url}/jtl/openapi.json")
    base_url = f"{live_server.url}/jtl"
    headers = {"Authorization": str(jtl.http.headers["Authorization"])}
    real_ids = _seed(jtl)
    operations = 0
    unnegatable: list[str] = []
    for result in schema.get_all_operations():
        operation = result.ok()  # type: ignore[union-attr]  # an Err would raise here
        operations += 1
        _run(operation, GenerationMode.POSITIVE, base_url, headers)
        try:
            _run(operation, GenerationMode.NEGATIVE, base_url, headers)
        except Unsatisfiable:
            # Nothing in this operation can be made schema-invalid (e.g. one free-form
            # string path parameter and no body).
            unnegatable.append(operation.label)
        real = next((v for k, v in real_ids.items() if operation.path.startswith(k)), None)
        if real is not None and "{id}" in operation.path:
            _run(
                operation, GenerationMode.POSITIVE, base_url, headers, path_parameters={"id": real}
            )
    assert operations == 15, unnegatable
    assert unnegatable == [
        "GET /v1/vouchers/{id}",
        "GET /v1/vouchers/{id}/complete",
        "DELETE /v1/reservations/{id}",
    ]


def test_every_protected_operation_refuses_a_missing_token(live_server: LiveServer) -> None:
    open_operations = {("post", "/oauth/token"), ("post", "/v1/clients/connect")}
    with httpx.Client(base_url=f"{live_server.url}/jtl") as http:
        for method, path in sorted(SURFACE - open_operations):
            response = http.request(method.upper(), path.replace("{id}", "1"), json={})
            assert response.status_code == 401, (method, path)
            assert response.json() == {
                "status": 401,
                "code": "AUTH.UNAUTHENTICATED",
                "message": "Unauthenticated.",
            }
