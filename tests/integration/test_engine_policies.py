"""Vendor policies and guards through the services, on a real database (SQLite, PostgreSQL)."""

from __future__ import annotations

import threading
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import Engine

from tests.conftest import TenantFixture
from voucherd.db import repositories as repo
from voucherd.domain import errors, policies
from voucherd.domain.vouchers import ValueKind
from voucherd.services import campaigns, tenants, value
from voucherd.services import vouchers as voucher_service
from voucherd.services.changes import VoucherRef
from voucherd.services.unit_of_work import UnitOfWork
from voucherd.services.vouchers import NewVoucher


def _voucher(engine: Engine, t: TenantFixture, **fields: Any) -> repo.Row:
    with UnitOfWork(engine) as uow:
        spec = NewVoucher(**{"currency": "EUR", "amount": 1000, "active": True, **fields})
        row = voucher_service.create(uow, t.actor, spec).voucher
        uow.commit()
    return row


def _campaign(engine: Engine, t: TenantFixture, count: int, **fields: Any) -> repo.Row:
    with UnitOfWork(engine) as uow:
        template = NewVoucher(kind=ValueKind.GIFT, gift_description="coffee", **fields)
        row = campaigns.create(uow, t.actor, name="batch", template=template)
        campaigns.generate(uow, t.actor, row["id"], count)
        uow.commit()
    return row


def test_issue_next_gives_each_concurrent_caller_its_own_voucher(
    engine: Engine, tenant: TenantFixture
) -> None:
    campaign = _campaign(engine, tenant, 6)
    issued: list[int] = []
    failures: list[BaseException] = []
    start = threading.Barrier(6)

    def issue() -> None:
        try:
            start.wait()
            with UnitOfWork(engine) as uow:
                row = campaigns.issue_next(uow, tenant.actor, campaign, reason="test")
                uow.commit()
            issued.append(int(row["id"]))
        except BaseException as exc:
            failures.append(exc)

    threads = [threading.Thread(target=issue) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not failures, failures
    assert len(issued) == len(set(issued)) == 6
    with pytest.raises(errors.CampaignExhausted), UnitOfWork(engine) as uow:
        campaigns.issue_next(uow, tenant.actor, campaign)
    with UnitOfWork(engine, readonly=True) as uow:
        rows = [voucher_service.get(uow, tenant.actor, VoucherRef(id=i)) for i in issued]
    assert {r["status"] for r in rows} == {"active"}


def test_issue_next_claims_for_a_holder_and_refuses_an_ended_campaign(
    engine: Engine, tenant: TenantFixture
) -> None:
    campaign = _campaign(engine, tenant, 2)
    with UnitOfWork(engine) as uow:
        customer = tenants.create_customer(uow, tenant.actor, external_ref="m-1")
        row = campaigns.issue_next(uow, tenant.actor, campaign, holder_id=customer["id"])
        uow.commit()
    assert (row["status"], row["holder_id"]) == ("active", customer["id"])
    ended = {**campaign, "ends_at": row["created_at"] - timedelta(seconds=1)}
    with pytest.raises(errors.CampaignEnded), UnitOfWork(engine) as uow:
        campaigns.issue_next(uow, tenant.actor, ended)


def test_a_guard_sees_the_locked_row_and_its_refusal_writes_nothing(
    engine: Engine, tenant: TenantFixture
) -> None:
    card = _voucher(engine, tenant)
    seen: list[int] = []

    class Refused(Exception):
        pass

    def guard(row: repo.Row) -> None:
        seen.append(int(row["version"]))
        raise Refused

    with pytest.raises(Refused), UnitOfWork(engine) as uow:
        value.charge(uow, tenant.actor, VoucherRef(id=card["id"]), amount=100, guard=guard)
        uow.commit()
    with pytest.raises(Refused), UnitOfWork(engine) as uow:
        voucher_service.void(uow, tenant.actor, VoucherRef(id=card["id"]), guard=guard)
    with UnitOfWork(engine, readonly=True) as uow:
        after = voucher_service.get(uow, tenant.actor, VoucherRef(id=card["id"]))
    assert seen == [card["version"], card["version"]]
    assert (after["balance"], after["status"], after["version"]) == (
        1000,
        "active",
        card["version"],
    )


def test_charge_claims_for_a_customer_and_books_the_whole_balance(
    engine: Engine, tenant: TenantFixture
) -> None:
    card = _voucher(engine, tenant, amount=700)
    taken = _voucher(engine, tenant, amount=700)
    with UnitOfWork(engine) as uow:
        ada = tenants.create_customer(uow, tenant.actor, external_ref="ada")
        bob = tenants.create_customer(uow, tenant.actor, external_ref="bob")
        voucher_service.claim(uow, tenant.actor, VoucherRef(id=taken["id"]), bob["id"])
        charged = value.charge(
            uow,
            tenant.actor,
            VoucherRef(id=card["id"]),
            customer_id=ada["id"],
            claim=True,
            whole_balance=True,
        )
        uow.commit()
    assert (charged.voucher["holder_id"], charged.voucher["status"]) == (ada["id"], "redeemed")
    assert (charged.entry["amount"], charged.entry["customer_id"]) == (-700, ada["id"])
    with pytest.raises(errors.AlreadyClaimed), UnitOfWork(engine) as uow:
        value.charge(
            uow, tenant.actor, VoucherRef(id=taken["id"]), customer_id=ada["id"], claim=True
        )
    with UnitOfWork(engine) as uow:
        booked = value.charge(
            uow, tenant.actor, VoucherRef(id=taken["id"]), whole_balance=True, for_holder=True
        )
        uow.commit()
    assert booked.entry["customer_id"] == bob["id"] and booked.entry["amount"] == -700


def test_policies_through_the_services(engine: Engine, tenant: TenantFixture) -> None:
    # JTL: an active voucher is not deleted; the native API may.
    card = _voucher(engine, tenant)
    with pytest.raises(errors.NotAllowedByPolicy), UnitOfWork(engine) as uow:
        voucher_service.delete(
            uow, tenant.actor, VoucherRef(id=card["id"]), "x", policies=policies.JTL
        )
    # Shopee: a used-up voucher inside its window is ended; it stays redeemed.
    gift = _voucher(
        engine, tenant, kind=ValueKind.GIFT, amount=None, gift_description="tea", max_uses=1
    )
    with UnitOfWork(engine) as uow:
        value.charge(uow, tenant.actor, VoucherRef(id=gift["id"]))
        ended = voucher_service.end(
            uow, tenant.actor, VoucherRef(id=gift["id"]), policies=policies.SHOPEE
        )
        uow.commit()
    assert ended["status"] == "redeemed" and ended["ends_at"] is not None
    # RM: a used-up voucher is voided at the shop and reinstated back to redeemed.
    other = _voucher(
        engine, tenant, kind=ValueKind.GIFT, amount=None, gift_description="tea", max_uses=1
    )
    ref = VoucherRef(id=other["id"])
    with UnitOfWork(engine) as uow:
        value.charge(uow, tenant.actor, ref)
        with pytest.raises(errors.VoucherRedeemed):
            voucher_service.void(uow, tenant.actor, ref)
        voided = voucher_service.void(uow, tenant.actor, ref, policies=policies.REVENUE_MONSTER)
        back = voucher_service.reinstate(uow, tenant.actor, ref)
        uow.commit()
    assert (voided["status"], back["status"], back["uses"]) == ("void", "redeemed", 1)
