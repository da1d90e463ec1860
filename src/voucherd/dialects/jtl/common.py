"""Helpers shared by the JTL routes: JSON responses and the vouchers JTL can show."""

from __future__ import annotations

from typing import Any

import orjson
from starlette.responses import Response

from voucherd.db.repositories import Row
from voucherd.dialects.jtl.errors import not_found
from voucherd.dialects.jtl.schemas import storable
from voucherd.domain.vouchers import ValueKind
from voucherd.services.changes import VoucherRef, find
from voucherd.services.unit_of_work import Actor, UnitOfWork


def json(data: Any, status: int = 200) -> Response:
    return Response(orjson.dumps(data), status_code=status, media_type="application/json")


def created(data: Any) -> Response:
    return json(data, 201)


def no_content(_result: object = None) -> Response:
    return Response(status_code=204)


def storable_ref(ref: VoucherRef) -> None:
    """VOUCHER.NOT_FOUND for an id or code no stored voucher can have (checked before the
    database is asked)."""
    if not all(storable(text) for text in (ref.public_id, ref.code) if text is not None):
        raise not_found("voucher")


def only_stored_value(row: Row) -> None:
    """A guard (``services.changes.Guard``): JTL shows stored-value cards only."""
    if row["kind"] != ValueKind.STORED_VALUE.value:
        raise not_found("voucher")


def stored_value(
    uow: UnitOfWork, actor: Actor, ref: VoucherRef, *, for_update: bool = False
) -> Row:
    """The voucher, if it is one JTL can show (a stored-value card); else VOUCHER.NOT_FOUND."""
    storable_ref(ref)
    row = find(uow, actor, ref, for_update=for_update)
    only_stored_value(row)
    return row
