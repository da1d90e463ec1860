"""The database boundary holds the input limits for every caller (SQLite and PostgreSQL).

A face that forgets a check still gets a typed ``ValidationFailed`` (its own 4xx), never a
driver error or a stored value that breaks another face's read.
"""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import Engine, select

from tests.conftest import TenantFixture
from voucherd.db.tables import events
from voucherd.domain import errors
from voucherd.domain.inputs import JSON_MAX_BYTES, JSON_MAX_DEPTH
from voucherd.services import value
from voucherd.services import vouchers as voucher_service
from voucherd.services.changes import VoucherRef
from voucherd.services.unit_of_work import UnitOfWork
from voucherd.services.vouchers import NewVoucher


def nested(depth: int) -> Any:
    value: Any = 1
    for _ in range(depth):
        value = {"a": value}
    return value


def _create(engine: Engine, t: TenantFixture, metadata: dict[str, Any]) -> str:
    with UnitOfWork(engine) as uow:
        spec = NewVoucher(currency="EUR", amount=1000, active=True, metadata=metadata)
        created = voucher_service.create(uow, t.actor, spec)
        uow.commit()
    return str(created.voucher["public_id"])


@pytest.mark.parametrize(
    ("metadata", "rule"),
    [
        (nested(JSON_MAX_DEPTH + 1), "depth"),
        ({"a": "x" * JSON_MAX_BYTES}, "size"),
        ({"a\x00": 1}, "text"),
        ({"\ud800": 1}, "text"),
        ({"a": 2**64}, "range"),
        ({"a": float("nan")}, "number"),
    ],
)
def test_json_beyond_the_limits_is_refused_on_write(
    engine: Engine, tenant: TenantFixture, metadata: dict[str, Any], rule: str
) -> None:
    with pytest.raises(errors.ValidationFailed) as caught, UnitOfWork(engine) as uow:
        spec = NewVoucher(currency="EUR", amount=1000, metadata=metadata)
        voucher_service.create(uow, tenant.actor, spec)
    assert caught.value.rule in (rule, "no_nul")
    public_id = _create(engine, tenant, {"kept": 1})
    with pytest.raises(errors.ValidationFailed), UnitOfWork(engine) as uow:
        voucher_service.update(
            uow, tenant.actor, VoucherRef(public_id=public_id), {"metadata": metadata}
        )
    with UnitOfWork(engine, readonly=True) as uow:
        row = voucher_service.get(uow, tenant.actor, VoucherRef(public_id=public_id))
    assert row["metadata"] == {"kept": 1}


def test_a_full_size_value_fits_its_audit_event(engine: Engine, tenant: TenantFixture) -> None:
    """An event records the changed fields by name: one level and one value more."""
    deepest = nested(JSON_MAX_DEPTH)
    largest = {"a": "é" * ((JSON_MAX_BYTES - 8) // 2)}
    public_id = _create(engine, tenant, deepest)
    ref = VoucherRef(public_id=public_id)
    with UnitOfWork(engine) as uow:
        voucher_service.update(uow, tenant.actor, ref, {"metadata": largest, "sku": "s" * 255})
        uow.commit()
    with UnitOfWork(engine) as uow:
        voucher_service.update(uow, tenant.actor, ref, {"metadata": deepest})
        uow.commit()
    with engine.connect() as conn:
        rows = conn.execute(
            select(events.c.before, events.c.after)
            .where(events.c.tenant_id == tenant.id, events.c.subject_id == public_id)
            .order_by(events.c.id)
        ).all()
    assert rows[-1].before == {"metadata": largest}
    assert rows[-1].after == {"metadata": deepest}


@pytest.mark.parametrize("entry_id", [2**63, -(2**63) - 1, 2**70])
def test_integers_beyond_64_bits_never_reach_the_driver(
    engine: Engine, tenant: TenantFixture, entry_id: int
) -> None:
    # Faces answer these as "not found" before any work; the boundary is the backstop.
    with pytest.raises(errors.ValidationFailed) as caught, UnitOfWork(engine) as uow:
        value.get_entry(uow, tenant.actor, entry_id)
    assert caught.value.rule == "range"
    # and the connection is still good
    with UnitOfWork(engine, readonly=True) as uow, pytest.raises(errors.NotFound):
        value.get_entry(uow, tenant.actor, 2**63 - 1)
