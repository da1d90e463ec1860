"""Helpers shared by the JTL routes: scopes, JSON responses, documented error responses."""

from __future__ import annotations

from typing import Any, Final

import orjson
from fastapi import Request, Security
from sqlalchemy import Engine
from starlette.responses import Response

from voucherd.db.repositories import Row
from voucherd.dialects.jtl.auth import principal
from voucherd.dialects.jtl.errors import not_found
from voucherd.dialects.jtl.schemas import Error, ValidationFailure, storable
from voucherd.domain.scopes import Scope
from voucherd.domain.vouchers import ValueKind
from voucherd.services.changes import VoucherRef, find
from voucherd.services.unit_of_work import Actor, UnitOfWork

MAX_ID: Final = 2**63 - 1

_DESCRIPTIONS: Final = {
    401: "Missing, invalid or expired access token (AUTH.UNAUTHENTICATED,"
    " AUTH.TOKEN_INVALID, AUTH.TOKEN_EXPIRED)",
    403: "The token lacks a scope this operation needs (AUTH.INSUFFICIENT_SCOPE)",
    404: "The requested resource could not be found",
    409: "The voucher's or reservation's current state does not allow this",
    422: "The request was well-formed but was unable to be followed due to semantic errors",
}


def errors_doc(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """Documented error responses; 422 always (it replaces FastAPI's own 422 schema)."""
    statuses = tuple(sorted({*statuses, 422}))
    return {
        status: {
            "model": ValidationFailure if status == 422 else Error,
            "description": _DESCRIPTIONS[status],
        }
        for status in statuses
    }


def scoped(scope: Scope) -> Any:
    return Security(principal, scopes=[scope.value])


def engine(request: Request) -> Engine:
    value: Engine = request.app.state.engine
    return value


def json(data: Any, status: int = 200) -> Response:
    return Response(orjson.dumps(data), status_code=status, media_type="application/json")


def numeric_id(text: str, kind: str) -> int:
    """Path ids of reservations and charges are the engine's integer ids, as strings."""
    if not text.isascii() or not text.isdigit() or int(text) > MAX_ID or int(text) < 1:
        raise not_found(kind)
    return int(text)


def stored_value(
    uow: UnitOfWork, actor: Actor, ref: VoucherRef, *, for_update: bool = False
) -> Row:
    """The voucher, if it is one JTL can show (a stored-value card); else VOUCHER.NOT_FOUND."""
    if not all(storable(text) for text in (ref.public_id, ref.code) if text is not None):
        raise not_found("voucher")  # no stored id or code holds such characters
    row = find(uow, actor, ref, for_update=for_update)
    if row["kind"] != ValueKind.STORED_VALUE.value:
        raise not_found("voucher")
    return row
