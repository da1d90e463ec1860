"""Services on a real, migrated database (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine, func, select, text

from tests.conftest import TenantFixture, make_tenant
from voucherd.db.tables import events, ledger_entries, vouchers
from voucherd.domain import codes, errors
from voucherd.domain.vouchers import ValueKind
from voucherd.services import campaigns, sweep, tenants, value, verify
from voucherd.services import vouchers as voucher_service
from voucherd.services.changes import VoucherRef
from voucherd.services.unit_of_work import UnitOfWork
from voucherd.services.vouchers import NewVoucher


def _create(engine: Engine, t: TenantFixture, **fields: object) -> dict[str, object]:
    with UnitOfWork(engine) as uow:
        spec = NewVoucher(**{"currency": "EUR", "amount": 1000, "active": True, **fields})  # type: ignore[arg-type]
        created = voucher_service.create(uow, t.actor, spec)
        uow.commit()
    return dict(created.voucher)


def test_unit_of_work_rolls_back_unless_committed(engine: Engine, tenant: TenantFixture) -> None:
    with UnitOfWork(engine) as uow:
        voucher_service.create(uow, tenant.actor, NewVoucher(currency="EUR", amount=5))
    with pytest.raises(errors.VoucherdError), UnitOfWork(engine) as uow:
        voucher_service.create(uow, tenant.actor, NewVoucher(currency="EUR", amount=5))
        raise errors.VoucherdError("boom")
    with engine.connect() as conn:
        count = conn.execute(
            select(func.count()).select_from(vouchers).where(vouchers.c.tenant_id == tenant.id)
        ).scalar_one()
    assert count == 0


def test_failed_operation_changes_nothing(engine: Engine, tenant: TenantFixture) -> None:
    voucher = _create(engine, tenant)
    with pytest.raises(errors.InsufficientBalance), UnitOfWork(engine) as uow:
        value.charge(uow, tenant.actor, VoucherRef(id=voucher["id"]), amount=1001)  # type: ignore[arg-type]
        uow.commit()
    with engine.connect() as conn:
        balance = conn.execute(
            select(vouchers.c.balance, vouchers.c.version).where(vouchers.c.id == voucher["id"])
        ).one()
        entries = conn.execute(
            select(func.count())
            .select_from(ledger_entries)
            .where(ledger_entries.c.voucher_id == voucher["id"])
        ).scalar_one()
    assert tuple(balance) == (1000, voucher["version"])
    assert entries == 1  # the issue entry only


def test_codes_are_unique_per_tenant_and_case_insensitive(engine: Engine) -> None:
    a, b = make_tenant(engine, "a"), make_tenant(engine, "b")
    _create(engine, a, code="Summer-2026")
    with pytest.raises(errors.DuplicateCode):
        _create(engine, a, code="summer-2026")
    _create(engine, b, code="SUMMER-2026")  # another tenant may use the same code
    with UnitOfWork(engine, readonly=True) as uow:
        row = voucher_service.get(uow, a.actor, VoucherRef(code=" summer-2026 "))
        assert row["code"] == "SUMMER-2026"
        with pytest.raises(errors.NotFound):
            voucher_service.get(uow, a.actor, VoucherRef(public_id=_create(engine, b)["public_id"]))  # type: ignore[arg-type]


def test_custom_public_id_must_be_free(engine: Engine, tenant: TenantFixture) -> None:
    _create(engine, tenant, public_id="CARD-1")
    with pytest.raises(errors.DuplicateId):
        _create(engine, tenant, public_id="CARD-1")


def test_every_kind_validates_its_fields(engine: Engine, tenant: TenantFixture) -> None:
    bad = [
        {"kind": ValueKind.FIXED_DISCOUNT, "amount": None},
        {"kind": ValueKind.PERCENT_DISCOUNT, "amount": None, "discount_bps": 0},
        {"kind": ValueKind.GIFT, "amount": None},
        {"kind": ValueKind.CASHBACK, "amount": None, "cashback_bps": 20000},
        {"currency": "XXX"},
        {
            "starts_at": datetime(2027, 1, 1, tzinfo=UTC),
            "ends_at": datetime(2026, 1, 1, tzinfo=UTC),
        },
        {"validity_value": 3},
    ]
    for fields in bad:
        with pytest.raises(errors.ValidationFailed):
            _create(engine, tenant, **fields)


def test_generate_and_import(engine: Engine, tenant: TenantFixture) -> None:
    with UnitOfWork(engine) as uow:
        campaign = campaigns.create(
            uow,
            tenant.actor,
            name="Winter",
            activate_on_create=True,
            template=NewVoucher(currency="EUR", amount=2500),
            code_spec=codes.CodeSpec(pattern="#####-#####", prefix="W-"),
        )
        seen: list[int] = []
        created = campaigns.generate(
            uow, tenant.actor, campaign["id"], 1200, chunk_size=500, progress=seen.append
        )
        imported = campaigns.import_codes(uow, tenant.actor, campaign["id"], ["own-1", "OWN-2"])
        uow.commit()
    assert created == 1200 and sum(seen) == 1200 and imported == 2
    with engine.connect() as conn:
        rows = conn.execute(
            select(vouchers.c.code, vouchers.c.status, vouchers.c.balance).where(
                vouchers.c.campaign_id == campaign["id"]
            )
        ).all()
        issue_total = conn.execute(
            select(func.sum(ledger_entries.c.amount))
            .join(vouchers, vouchers.c.id == ledger_entries.c.voucher_id)
            .where(vouchers.c.campaign_id == campaign["id"])
        ).scalar_one()
    assert len(rows) == 1202 and len({r.code for r in rows}) == 1202
    assert {r.status for r in rows} == {"active"} and issue_total == 1202 * 2500
    assert all(r.code.startswith("W-") for r in rows if not r.code.startswith("OWN"))
    with pytest.raises(errors.DuplicateCode), UnitOfWork(engine) as uow:
        campaigns.import_codes(uow, tenant.actor, campaign["id"], ["own-1"])


def test_code_space_too_small_is_refused(engine: Engine, tenant: TenantFixture) -> None:
    with UnitOfWork(engine) as uow:
        campaign = campaigns.create(
            uow,
            tenant.actor,
            name="tiny",
            template=NewVoucher(currency="EUR", amount=1),
            code_spec=codes.CodeSpec(charset="AB", length=4),
            pin_protected=True,  # printed stock: the 40-bit floor does not apply
        )
        with pytest.raises(errors.CodeSpaceTooSmall):
            campaigns.generate(uow, tenant.actor, campaign["id"], 2)


def test_sweep_expires_due_vouchers_and_lapsed_reservations(
    engine: Engine, tenant: TenantFixture
) -> None:
    soon = datetime.now(UTC) + timedelta(seconds=30)
    due = _create(engine, tenant, ends_at=soon)
    kept = _create(engine, tenant, ends_at=soon + timedelta(days=1))
    with UnitOfWork(engine) as uow:
        reserved = value.reserve(
            uow,
            tenant.actor,
            VoucherRef(id=kept["id"]),
            amount=100,  # type: ignore[arg-type]
            ttl=timedelta(seconds=10),
        )
        uow.commit()
    later = soon + timedelta(seconds=1)
    result = sweep.run(engine, now=later)
    assert result.expired_vouchers >= 1 and result.expired_reservations >= 1
    with UnitOfWork(engine, readonly=True) as uow:
        assert (
            voucher_service.get(uow, tenant.actor, VoucherRef(id=due["id"]))["status"] == "expired"
        )  # type: ignore[arg-type]
        kept_row = voucher_service.get(uow, tenant.actor, VoucherRef(id=kept["id"]))  # type: ignore[arg-type]
        assert kept_row["status"] == "active" and kept_row["hold_id"] is None
        reservation = value.get_reservation(uow, tenant.actor, reserved.reservation["id"])
        assert reservation["status"] == "expired"
        trail = voucher_service.history(
            uow,
            tenant.actor,
            VoucherRef(id=due["id"]),  # type: ignore[arg-type]
            after_id=None,
            limit=10,
        )
    assert trail[-1]["operation"] == "expire" and trail[-1]["actor"] == "system:sweep"


def test_sweep_lapses_reservations_in_batches_and_only_open_ones(
    engine: Engine, tenant: TenantFixture
) -> None:
    cards = [_create(engine, tenant) for _ in range(7)]
    reserved = []
    with UnitOfWork(engine) as uow:
        for card in cards:
            held = value.reserve(
                uow,
                tenant.actor,
                VoucherRef(id=card["id"]),  # type: ignore[arg-type]
                amount=100,
                ttl=timedelta(seconds=10),
            )
            reserved.append(held.reservation["id"])
        uow.commit()
    with UnitOfWork(engine) as uow:  # released before it lapses: the sweep must leave it so
        value.release(uow, tenant.actor, reserved[0])
        uow.commit()
    result = sweep.run(engine, now=datetime.now(UTC) + timedelta(minutes=1), batch_size=3)
    assert result.expired_reservations >= 6
    with UnitOfWork(engine, readonly=True) as uow:
        states = [value.get_reservation(uow, tenant.actor, r)["status"] for r in reserved]
        holds = [
            voucher_service.get(uow, tenant.actor, VoucherRef(id=c["id"]))["hold_id"]  # type: ignore[arg-type]
            for c in cards
        ]
    assert states == ["released"] + ["expired"] * 6
    assert holds == [None] * 7


def test_create_with_an_unknown_campaign_is_not_found(
    engine: Engine, tenant: TenantFixture
) -> None:
    with pytest.raises(errors.NotFound) as caught, UnitOfWork(engine) as uow:
        voucher_service.create(
            uow, tenant.actor, NewVoucher(currency="EUR", amount=5, campaign_id=987654321)
        )
    assert caught.value.code == "not_found"


def test_verify_detects_a_tampered_balance(engine: Engine, tenant: TenantFixture) -> None:
    voucher = _create(engine, tenant)
    with engine.connect() as conn:
        _, _, before = verify.run(conn)
    assert all(r.ok for r in before), [r for r in before if not r.ok]
    with engine.begin() as conn:
        conn.execute(
            text("UPDATE vouchers SET balance = balance + 1 WHERE id = :id"), {"id": voucher["id"]}
        )
    with engine.connect() as conn:
        _, _, after = verify.run(conn)
    failed = {r.name: r.violations for r in after if not r.ok}
    assert voucher["id"] in failed["balance_equals_ledger_sum"]
    with engine.begin() as conn:  # put it back so later tests on this database verify clean
        conn.execute(
            text("UPDATE vouchers SET balance = balance - 1 WHERE id = :id"), {"id": voucher["id"]}
        )


def test_events_record_actor_reason_before_and_after(engine: Engine, tenant: TenantFixture) -> None:
    voucher = _create(engine, tenant, active=False)
    with UnitOfWork(engine) as uow:
        voucher_service.activate(uow, tenant.actor, VoucherRef(id=voucher["id"]), "paid")  # type: ignore[arg-type]
        uow.commit()
    with engine.connect() as conn:
        rows = (
            conn.execute(
                select(events).where(events.c.voucher_id == voucher["id"]).order_by(events.c.id)
            )
            .mappings()
            .all()
        )
    assert [r["operation"] for r in rows] == ["create", "activate"]
    activation = rows[-1]
    assert activation["actor"] == tenant.actor.name and activation["reason"] == "paid"
    assert activation["before"]["status"] == "inactive"
    assert activation["after"]["status"] == "active"


def test_client_secrets_are_stored_hashed(engine: Engine, tenant: TenantFixture) -> None:
    with engine.connect() as conn:
        stored = conn.execute(
            text("SELECT secret_hash FROM clients WHERE id = :id"), {"id": tenant.client_id}
        ).scalar_one()
    assert tenant.client_secret not in stored
    with UnitOfWork(engine, readonly=True) as uow:
        assert tenants.authenticate_client(uow, tenant.client_id, tenant.client_secret)
        assert tenants.authenticate_client(uow, tenant.client_id, "wrong") is None


def test_imported_codes_keep_backslashes(engine: Engine, tenant: TenantFixture) -> None:
    with UnitOfWork(engine) as uow:
        campaign = campaigns.create(
            uow, tenant.actor, name="odd", template=NewVoucher(currency="EUR", amount=1)
        )
        campaigns.import_codes(uow, tenant.actor, campaign["id"], ["A\\B", "C\\\\D"])
        uow.commit()
    with UnitOfWork(engine, readonly=True) as uow:
        assert voucher_service.get(uow, tenant.actor, VoucherRef(code="a\\b"))["code"] == "A\\B"
        assert voucher_service.get(uow, tenant.actor, VoucherRef(code="C\\\\D"))


def test_bulk_ids_are_unique_and_from_the_alphabet() -> None:
    from voucherd.services.hashing import ID_ALPHABET, random_ids

    ids = random_ids(5000)
    assert len(ids) == len(set(ids)) == 5000
    assert all(len(i) == 16 and set(i) <= set(ID_ALPHABET) for i in ids)


def test_redeem_and_split_moves_the_rest_to_a_new_voucher(
    engine: Engine, tenant: TenantFixture
) -> None:
    voucher = _create(engine, tenant, amount=5000)
    with UnitOfWork(engine) as uow:
        split = value.redeem_and_split(
            uow,
            tenant.actor,
            VoucherRef(id=voucher["id"]),
            amount=1200,  # type: ignore[arg-type]
            metadata={"parent": voucher["public_id"]},
        )
        uow.commit()
    assert split.charged.entry["amount"] == -1200 and split.charged.entry["kind"] == "charge"
    assert split.charged.voucher["status"] == "redeemed" and split.charged.voucher["balance"] == 0
    assert split.remainder is not None and split.remainder["balance"] == 3800
    assert split.remainder["status"] == "active"
    with UnitOfWork(engine, readonly=True) as uow:
        original = value.ledger(
            uow,
            tenant.actor,
            VoucherRef(id=voucher["id"]),  # type: ignore[arg-type]
            after_id=None,
            limit=10,
        )
    assert [(e["kind"], e["amount"], e["balance_after"]) for e in original] == [
        ("issue", 5000, 5000),
        ("charge", -1200, 3800),
        ("transfer", -3800, 0),
    ]
    with engine.connect() as conn:
        _, _, results = verify.run(conn)
    assert all(r.ok for r in results), [(r.name, r.violations) for r in results if not r.ok]
    with UnitOfWork(engine) as uow:  # a split of the whole balance leaves nothing to move
        whole = value.redeem_and_split(
            uow, tenant.actor, VoucherRef(id=split.remainder["id"]), amount=3800
        )
    assert whole.remainder is None
