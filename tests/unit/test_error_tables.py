"""Every engine error class by every face: the face's documented status and error body.

Each face's error table is looked up along the class hierarchy; this walks every concrete
``VoucherdError`` subclass (and the two infrastructure families) through every face and
checks that each lands on an answer of the face's own shape, never a 5xx for a business
refusal.
"""

from __future__ import annotations

import re
from typing import Any

import orjson
import pytest
from starlette.requests import Request

from voucherd.api.errors import NATIVE
from voucherd.dialects.jtl.errors import FACE as JTL
from voucherd.dialects.revenue_monster.errors import FACE as RM
from voucherd.dialects.shopee.errors import FACE as SHOPEE
from voucherd.dialects.spaaza.face import FACE as SPAAZA
from voucherd.domain import errors
from voucherd.faces.errors import Internal, TooManyAttempts, Unavailable, lookup
from voucherd.faces.runtime import Face, Inbound
from voucherd.services import idempotency
from voucherd.web.face import FACE as WEB


def _subclasses(cls: type[errors.VoucherdError]) -> list[type[errors.VoucherdError]]:
    found = []
    for sub in cls.__subclasses__():
        found.append(sub)
        found.extend(_subclasses(sub))
    return found


ENGINE_ERRORS = sorted(
    {errors.VoucherdError, *_subclasses(errors.VoucherdError)}, key=lambda c: c.__name__
)
assert idempotency.IdempotencyMismatch in ENGINE_ERRORS

FACES: list[Face] = [NATIVE, JTL, SPAAZA, RM, SHOPEE]

# A face whose documented answer to a business refusal is not a 4xx: Shopee sends the errors of
# a call as HTTP 200 with the error in its envelope (pyshopee drops non-2xx bodies; see
# docs/compat/shopee.md "Envelope and HTTP status codes"). Still never a 5xx.
BUSINESS_STATUS: dict[str, set[int]] = {"shopee": {200, 409, 422}}


def _documented(face: Face, status: int) -> bool:
    allowed = BUSINESS_STATUS.get(face.name)
    return status in allowed if allowed is not None else 400 <= status < 500


def sample_error(cls: type[BaseException]) -> BaseException:
    if issubclass(cls, errors.NotFound):
        return cls("voucher", "x")
    if issubclass(cls, errors.InvalidTransition):
        return cls("active", "charge")
    try:
        return cls("refused")
    except TypeError:
        return cls()


def sample_inbound() -> Inbound:
    scope: dict[str, Any] = {
        "type": "http",
        "method": "POST",
        "path": "/x",
        "headers": [],
        "query_string": b"",
        "state": {"request_id": "rid-1"},
    }
    return Inbound(Request(scope), b"")


@pytest.mark.parametrize("face", FACES, ids=lambda f: f.name)
@pytest.mark.parametrize("cls", ENGINE_ERRORS, ids=lambda c: c.__name__)
def test_every_engine_error_is_a_4xx_in_the_face_shape(face: Face, cls: type) -> None:
    exc = sample_error(cls)
    refusal = lookup(face.errors, exc)
    assert _documented(face, refusal.status), (face.name, cls.__name__, refusal)
    response = face.render_error(refusal, sample_inbound())
    assert response.status_code == refusal.status
    assert response.media_type == face.error_media_type
    orjson.loads(bytes(response.body))  # the face's JSON shape, never text/plain


@pytest.mark.parametrize("face", FACES, ids=lambda f: f.name)
def test_outage_and_internal_errors_in_the_face_shape(face: Face) -> None:
    outage = face.refusal_response(Unavailable(), sample_inbound())
    assert outage.status_code == 503
    assert outage.headers["retry-after"].isdigit()
    orjson.loads(bytes(outage.body))
    bug = face.refusal_response(RuntimeError("secret detail"), sample_inbound())
    assert bug.status_code == 500
    assert b"secret detail" not in bytes(bug.body)
    orjson.loads(bytes(bug.body))
    assert lookup(face.errors, Internal()).status == 500


def test_native_bodies() -> None:
    response = NATIVE.render_error(
        lookup(NATIVE.errors, errors.VoucherExpired("active", "charge")), sample_inbound()
    )
    body = orjson.loads(bytes(response.body))
    assert (response.status_code, body["code"], body["request_id"]) == (
        409,
        "voucher_expired",
        "rid-1",
    )
    response = NATIVE.render_error(
        lookup(NATIVE.errors, errors.NotFound("voucher", 1)), sample_inbound()
    )
    assert (response.status_code, orjson.loads(bytes(response.body))["resource"]) == (
        404,
        "voucher",
    )


def test_shopee_bodies() -> None:
    def answer(exc: BaseException) -> tuple[int, dict[str, Any]]:
        response = SHOPEE.refusal_response(exc, sample_inbound())
        return response.status_code, orjson.loads(bytes(response.body))

    status, body = answer(errors.VoucherExpired("expired", "end"))
    assert (status, body["error"], body["response"]) == (
        200,
        "voucher.update_end_voucher_error",
        "",
    )
    assert answer(errors.VoucherNotStarted("active", "end"))[1]["error"] == (
        "voucher.end_voucher_status_error"
    )
    assert answer(errors.VoucherRedeemed("redeemed", "delete"))[1]["error"] == (
        "voucher.delete_voucher_error"
    )
    assert answer(errors.NotFound("voucher", 1))[1]["error"] == "common.error_not_found"
    assert (
        answer(errors.ValidationFailed("x", field="ends_at", rule="shorten_only"))[1]["error"]
        == "voucher.voucher_end_time_reduce_error"
    )
    assert answer(idempotency.IdempotencyMismatch("other body"))[0] == 422
    assert answer(idempotency.IdempotencyInFlight("busy"))[0] == 409
    assert answer(errors.ConcurrentModification("raced"))[0] == 409
    status, body = answer(Unavailable())
    assert (status, body["error"]) == (503, "error_server")
    assert re.fullmatch(r"[0-9a-f]{32}", body["request_id"])


def test_jtl_bodies() -> None:
    """JTL: ``{"status", "code", "message"}``; a 422 adds ``errors`` under the route's prefix."""

    def body(exc: BaseException) -> tuple[int, Any]:
        response = JTL.render_error(lookup(JTL.errors, exc), sample_inbound())
        return response.status_code, orjson.loads(bytes(response.body))

    assert body(errors.VoucherExpired("active", "charge")) == (
        409,
        {"status": 409, "code": "VOUCHER.EXPIRED", "message": "The voucher has expired."},
    )
    assert body(errors.NotFound("reservation", 1))[1]["code"] == "RESERVATION.NOT_FOUND"
    status, mismatch = body(idempotency.IdempotencyMismatch("other body"))
    assert (status, mismatch["code"], mismatch["errors"][0]["property"]) == (
        422,
        "REQUEST.UNPROCESSABLE_ENTITY",
        "Idempotency-Key",
    )
    assert body(idempotency.IdempotencyInFlight("running"))[0] == 409
    outage = JTL.refusal_response(Unavailable(), sample_inbound())
    assert orjson.loads(bytes(outage.body)) == {
        "status": 503,
        "code": "SERVICE_UNAVAILABLE",
        "message": "The service is temporarily unavailable. Please try again later.",
    }
    assert orjson.loads(bytes(JTL.refusal_response(KeyError("x"), sample_inbound()).body)) == {
        "status": 500,
        "code": "SERVER_ERROR",
        "message": "An internal error occurred.",
    }


def test_spaaza_bodies() -> None:
    def answer(exc: BaseException) -> tuple[int, dict[str, Any], str | None]:
        response = SPAAZA.refusal_response(exc, sample_inbound())
        return (
            response.status_code,
            orjson.loads(bytes(response.body)),
            response.headers.get("retry-after"),
        )

    failed = {"code": 2, "status": "error"}
    status, body, _ = answer(errors.VoucherExpired("active", "charge"))
    assert (status, body["result"], body["error"]["code"]) == (400, failed, 911)
    assert set(body) == {"result", "error"}
    status, body, _ = answer(errors.NotFound("voucher", 1))
    assert (status, body["error"]["code"], body["error"]["name"]) == (404, 183, "voucher_not_found")
    status, body, _ = answer(idempotency.IdempotencyMismatch("other body"))
    assert (status, body["error"]["code"]) == (422, 923)
    status, body, retry = answer(Unavailable())
    assert (status, body["result"], body["error"]["code"], body["error"]["name"]) == (
        503,
        failed,
        921,
        "service_unavailable",
    )
    assert retry is not None and retry.isdigit()
    status, body, _ = answer(RuntimeError("secret detail"))
    assert (status, body["error"]["code"], body["error"]["name"]) == (500, 922, "internal_error")
    # Spaaza documents HTTP 500 for code 68 (permission_denied_or_non_existent): the one
    # business refusal answered with a 5xx, kept as documented (docs/compat/spaaza.md).
    status, body, _ = answer(errors.NotFound("tenant", 1))
    assert (status, body["error"]["code"]) == (500, 68)


def test_rm_bodies() -> None:
    def answer(exc: BaseException) -> tuple[int, dict[str, Any]]:
        response = RM.refusal_response(exc, sample_inbound())
        return response.status_code, orjson.loads(bytes(response.body))

    assert answer(errors.NotFound("campaign", "vb_x")) == (
        404,
        {"error": {"code": "VOUCHER_BATCH_NOT_FOUND", "message": "Voucher batch not found"}},
    )
    assert answer(errors.VoucherRedeemed("redeemed", "void"))[1]["error"]["code"] == (
        "VOUCHER_NOT_ALLOW_VOID"
    )
    assert answer(errors.VoucherRedeemed("redeemed", "charge"))[1]["error"]["code"] == (
        "VOUCHER_REDEEMED"
    )
    assert answer(errors.VoucherExpired("inactive", "activate"))[1]["error"]["code"] == (
        "VOUCHER_BATCH_EXPIRED"
    )
    assert answer(idempotency.IdempotencyMismatch("x"))[0] == 422
    outage = RM.refusal_response(Unavailable(), sample_inbound())
    assert orjson.loads(bytes(outage.body))["error"]["code"] == "TEMPORARY_UNAVAILABLE"
    assert answer(RuntimeError("boom")) == (
        500,
        {"error": {"code": "INTERNAL_ERROR", "message": "Internal error"}},
    )


def test_every_problem_type_is_listed_in_the_api_docs() -> None:
    from pathlib import Path

    listed = (Path(__file__).resolve().parents[2] / "docs" / "api.md").read_text()
    codes = {cls.code for cls in ENGINE_ERRORS if cls is not errors.VoucherdError}
    codes |= {"unauthorized", "invalid_token", "insufficient_scope", "malformed_json"}
    codes |= {"service_unavailable", "internal_error"}
    missing = sorted(c for c in codes if f"https://voucherd.dev/problems/{c}`" not in listed)
    assert not missing, missing


@pytest.mark.parametrize("face", [*FACES, WEB], ids=lambda f: f.name)
def test_too_many_attempts_is_a_429_with_retry_after_in_every_face(face: Face) -> None:
    """A spent budget of failed attempts (faces/limits.py) in each face's own shape."""
    refusal = lookup(face.errors, TooManyAttempts("guess", 17))
    assert refusal.status == 429
    assert refusal.headers["Retry-After"] == "17"
    response = face.refusal_response(TooManyAttempts("guess", 17), sample_inbound())
    assert response.status_code == 429
    assert response.headers["retry-after"] == "17"
    if face is not WEB:
        assert response.headers["content-type"].startswith("application/")
