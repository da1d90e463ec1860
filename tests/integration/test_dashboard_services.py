"""The dashboard's services: voucher filters, customers, the audit feed, and the staff actions
with their role rules (SQLite and PostgreSQL)."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine, select

from tests.conftest import TenantFixture
from voucherd.db.tables import events
from voucherd.domain import errors
from voucherd.domain.vouchers import ValueKind
from voucherd.faces import csvout
from voucherd.services import browse, campaigns, staff, staff_actions, tenants, value
from voucherd.services import vouchers as voucher_service
from voucherd.services.changes import VoucherRef
from voucherd.services.unit_of_work import UnitOfWork
from voucherd.services.vouchers import NewVoucher

PASSWORD = "a long enough password"


def _staff(engine: Engine, tenant: TenantFixture, role: str) -> staff.StaffUser:
    email = f"{role}-{tenant.id}@shop.example"
    with UnitOfWork(engine) as uow:
        staff.create_user(uow, tenant.actor, email, role, PASSWORD)
        session = staff.login(uow, email, PASSWORD)
        uow.commit()
    return session.user


def _ids(page: browse.Page) -> list[str]:
    return [r["public_id"] for r in page.rows]


def test_voucher_filters_combine_and_page(engine: Engine, tenant: TenantFixture) -> None:
    actor = tenant.actor
    with UnitOfWork(engine) as uow:
        ann = tenants.create_customer(uow, actor, external_ref="ann-1", email="Ann@Shop.Example")
        bob = tenants.create_customer(uow, actor, external_ref="bob-1", name="Bob")
        spring = campaigns.create(
            uow, actor, name="Spring", key="spring", template=NewVoucher(currency="EUR", amount=1)
        )

        def make(public_id: str, **spec: object) -> None:
            voucher_service.create(
                uow,
                actor,
                NewVoucher(public_id=public_id, **spec),  # type: ignore[arg-type]
            )

        make(
            "v-ann-eur",
            code="ann code 1",
            currency="EUR",
            amount=500,
            holder_id=ann["id"],
            active=True,
        )
        make("v-ann-pct", kind=ValueKind.PERCENT_DISCOUNT, discount_bps=1000, holder_id=ann["id"])
        make("v-bob", currency="EUR", amount=700, holder_id=bob["id"], campaign_id=spring["id"])
        make("v-spring", currency="EUR", amount=100, campaign_id=spring["id"], active=True)
        uow.commit()

    def search(**fields: str) -> list[str]:
        with UnitOfWork(engine, readonly=True) as uow:
            filters = browse.parse_voucher_filters(fields)
            return _ids(browse.search_vouchers(uow, actor, filters))

    assert search(q=" Ann CODE 1 ") == ["v-ann-eur"]  # the code, normalised, exact
    assert search(q="ANN CODE") == []  # exact, not a prefix
    assert search(q="v-bob") == ["v-bob"]
    assert search(customer="ann-1") == ["v-ann-pct", "v-ann-eur"]  # newest first
    assert search(customer="ann@shop.example") == ["v-ann-pct", "v-ann-eur"]
    assert search(customer=str(bob["id"])) == ["v-bob"]
    assert search(campaign="spring") == ["v-spring", "v-bob"]
    assert search(campaign=str(spring["id"]), status="active") == ["v-spring"]
    assert search(kind="percent_discount") == ["v-ann-pct"]
    assert search(customer="ann-1", kind="stored_value", status="active") == ["v-ann-eur"]
    assert search(customer="nobody") == []
    for bad in ({"status": "lost"}, {"kind": "coupon"}, {"q": "x" * 300}):
        with pytest.raises(errors.ValidationFailed):
            browse.parse_voucher_filters(bad)

    with UnitOfWork(engine, readonly=True) as uow:
        everything = browse.VoucherFilters(status="inactive")
        first = browse.search_vouchers(uow, actor, everything, limit=1)
        second = browse.search_vouchers(uow, actor, everything, before=first.next_before, limit=1)
        assert _ids(first) == ["v-bob"] and _ids(second) == ["v-ann-pct"]
        assert second.next_before is None
        people = browse.search_customers(uow, actor, "ANN")
        assert [c["id"] for c in people.rows] == [ann["id"]]
        assert [c["id"] for c in browse.search_customers(uow, actor, "%").rows] == []
        dossier = browse.customer(uow, actor, bob["id"])
        assert _ids(dossier.vouchers) == ["v-bob"]
        with pytest.raises(errors.NotFound):
            browse.customer(uow, actor, 10**12)


def test_staff_actions_follow_the_role_table(engine: Engine, tenant: TenantFixture) -> None:
    with UnitOfWork(engine) as uow:
        row = voucher_service.create(
            uow, tenant.actor, NewVoucher(currency="EUR", amount=10_000, active=True)
        ).voucher
        other = voucher_service.create(
            uow, tenant.actor, NewVoucher(currency="EUR", amount=1_000, active=True)
        ).voucher
        entry = value.charge(uow, tenant.actor, VoucherRef(id=row["id"]), amount=3_000).entry
        other_entry = value.charge(uow, tenant.actor, VoucherRef(id=other["id"]), amount=500).entry
        uow.commit()
    pid = row["public_id"]
    clerk, auditor, manager = (_staff(engine, tenant, r) for r in ("clerk", "auditor", "manager"))
    refused = [
        (clerk, lambda uow, u: staff_actions.refund(uow, u, pid, str(entry["id"]), "", "x")),
        (clerk, lambda uow, u: staff_actions.recharge(uow, u, pid, "1", "x")),
        (clerk, lambda uow, u: staff_actions.deactivate(uow, u, pid, "x")),
        (clerk, lambda uow, u: staff_actions.extend(uow, u, pid, "2999-01-01", "x")),
        (auditor, lambda uow, u: staff.charge(uow, u, pid, "1")),
        (auditor, lambda uow, u: staff_actions.end(uow, u, pid, "x")),
    ]
    for user, act in refused:
        with UnitOfWork(engine) as uow, pytest.raises(errors.Forbidden):
            act(uow, user)

    with UnitOfWork(engine) as uow:
        with pytest.raises(errors.ValidationFailed):  # a reason is required
            staff_actions.deactivate(uow, manager, pid, "  ")
        with pytest.raises(errors.NotFound):  # another voucher's charge
            staff_actions.refund(uow, manager, pid, str(other_entry["id"]), "", "wrong card")
        with pytest.raises(errors.RefundExceedsCharge):
            staff_actions.refund(uow, manager, pid, str(entry["id"]), "31", "too much")
    with UnitOfWork(engine) as uow:
        staff_actions.refund(uow, manager, pid, str(entry["id"]), "10.00", "returned a shirt")
        staff_actions.recharge(uow, manager, pid, "5", "goodwill")
        staff_actions.deactivate(uow, manager, pid, "checking")
        staff_actions.activate(uow, manager, pid, "checked")
        ends = staff_actions.extend(uow, manager, pid, "2999-01-31", "loyal customer")
        assert ends["ends_at"] == datetime(2999, 2, 1, tzinfo=UTC) - timedelta(microseconds=1)
        ended = staff_actions.end(uow, manager, pid, "closing the card")
        uow.commit()
    assert ended["status"] == "expired" and ended["balance"] == 10_000 - 3_000 + 1_000 + 500
    with engine.connect() as conn:
        trail = conn.execute(
            select(events.c.operation, events.c.actor, events.c.reason)
            .where(events.c.voucher_id == row["id"], events.c.actor == manager.actor.name)
            .order_by(events.c.id)
        ).all()
    assert [tuple(t) for t in trail] == [
        ("refund", manager.actor.name, "returned a shirt"),
        ("recharge", manager.actor.name, "goodwill"),
        ("deactivate", manager.actor.name, "checking"),
        ("activate", manager.actor.name, "checked"),
        ("extend", manager.actor.name, "loyal customer"),
        ("end", manager.actor.name, "closing the card"),
    ]
    with UnitOfWork(engine) as uow, pytest.raises(errors.VoucherExpired):
        staff_actions.extend(uow, manager, pid, "2999-12-31", "too late")


def test_reservations_from_the_dashboard_check_the_role_and_the_voucher(
    engine: Engine, tenant: TenantFixture
) -> None:
    with UnitOfWork(engine) as uow:
        row, other = (
            voucher_service.create(
                uow, tenant.actor, NewVoucher(currency="EUR", amount=10_000, active=True)
            ).voucher
            for _ in range(2)
        )
        uow.commit()
    pid = row["public_id"]
    clerk, auditor = (_staff(engine, tenant, r) for r in ("clerk", "auditor"))
    for act in (
        lambda uow: staff_actions.reserve(uow, auditor, pid, "1", None),
        lambda uow: staff_actions.capture(uow, auditor, pid, "1"),
        lambda uow: staff_actions.release(uow, auditor, pid, "1"),
    ):
        with UnitOfWork(engine) as uow, pytest.raises(errors.Forbidden):
            act(uow)
    with UnitOfWork(engine) as uow:
        for minutes in ("0", "10081", "ten", "-5", "000000010000"):
            with pytest.raises(errors.ValidationFailed):
                staff_actions.reserve(uow, clerk, pid, "1", minutes)
        with pytest.raises(errors.InsufficientBalance):
            staff_actions.reserve(uow, clerk, pid, "100.01", None)
    with UnitOfWork(engine) as uow:
        held = staff_actions.reserve(uow, clerk, pid, "25.50", "45")
        elsewhere = staff_actions.reserve(uow, clerk, other["public_id"], "1", None)
        uow.commit()
    hold = held.reservation
    assert hold["amount"] == 2_550 and held.voucher["hold_id"] == hold["id"]
    assert hold["expires_at"] - hold["created_at"] == timedelta(minutes=45)
    assert elsewhere.reservation["expires_at"] - elsewhere.reservation["created_at"] == (
        value.RESERVATION_TTL
    )
    with UnitOfWork(engine) as uow:
        with pytest.raises(errors.NotFound):  # another voucher's reservation, by this page
            staff_actions.capture(uow, clerk, pid, str(elsewhere.reservation["id"]))
        with pytest.raises(errors.NotFound):
            staff_actions.release(uow, clerk, pid, "not a number")
    with UnitOfWork(engine) as uow:
        charged = staff_actions.capture(uow, clerk, pid, str(hold["id"]), " order-7 ")
        uow.commit()
    assert charged["balance"] == 10_000 - 2_550 and charged["hold_id"] is None
    with UnitOfWork(engine) as uow, pytest.raises(errors.ReservationClosed):
        staff_actions.release(uow, clerk, pid, str(hold["id"]))  # already charged
    with UnitOfWork(engine) as uow:
        released = staff_actions.release(
            uow, clerk, other["public_id"], str(elsewhere.reservation["id"])
        )
        uow.commit()
    assert released["status"] == "released"


def test_audit_feed_filters_and_its_csv(engine: Engine, tenant: TenantFixture) -> None:
    manager = _staff(engine, tenant, "manager")
    with UnitOfWork(engine) as uow:
        row = voucher_service.create(
            uow,
            tenant.actor,
            NewVoucher(code="AUDIT-ME-1", currency="EUR", amount=900, active=True),
        ).voucher
        uow.commit()
    with UnitOfWork(engine) as uow:
        staff.void(uow, manager, row["public_id"], "=lost")
        staff.reinstate(uow, manager, row["public_id"], "found")
        uow.commit()

    def feed(**fields: str) -> list[tuple[str, str]]:
        with UnitOfWork(engine, readonly=True) as uow:
            filters = browse.parse_audit_filters(fields)
            page = browse.audit_feed(uow, tenant.actor, filters)
        return [(r["operation"], r["actor"]) for r in page.rows]

    me = manager.actor.name
    assert feed(voucher="audit-me-1") == [
        ("reinstate", me),
        ("void", me),
        ("activate", tenant.actor.name),
        ("create", tenant.actor.name),
    ]
    assert feed(actor=manager.email.upper()) == [("reinstate", me), ("void", me), ("login", me)]
    assert feed(actor=me, operation="void") == [("void", me)]
    assert feed(actor="nobody@shop.example") == []
    today = datetime.now(UTC).date()
    assert ("void", me) in feed(since=today.isoformat(), until=today.isoformat())
    assert feed(until=(today - timedelta(days=1)).isoformat()) == []
    assert feed(since=(today + timedelta(days=1)).isoformat()) == []
    with pytest.raises(errors.ValidationFailed):
        browse.parse_audit_filters({"since": "yesterday"})

    # The export pages through every match, not one page.
    filters = browse.AuditFilters(voucher=row["public_id"])
    rows = list(browse.audit_rows(engine, tenant.actor, filters))
    assert [r[browse.AUDIT_COLUMNS.index("operation")] for r in rows] == [
        "reinstate",
        "void",
        "activate",
        "create",
    ]
    parsed = list(csv.DictReader(io.StringIO(csvout.text(browse.AUDIT_COLUMNS, rows))))
    assert parsed[1]["reason"] == "'=lost"  # never a spreadsheet formula
    assert parsed[1]["actor"] == me


def test_audit_export_pages_in_chunks(
    engine: Engine, tenant: TenantFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    with UnitOfWork(engine) as uow:
        for n in range(7):
            tenants.create_customer(uow, tenant.actor, external_ref=f"c{n}")
        uow.commit()
    monkeypatch.setattr(browse, "EXPORT_CHUNK", 3)
    rows = list(browse.audit_rows(engine, tenant.actor, browse.AuditFilters(operation="create")))
    with engine.connect() as conn:
        expected = conn.execute(
            select(events.c.id)
            .where(events.c.tenant_id == tenant.id, events.c.operation == "create")
            .order_by(events.c.id.desc())
        ).scalars()
        assert [r[0] for r in rows] == list(expected)
    assert len(rows) >= 7 + 1  # seven customers and the tenant's own creation: three chunks
