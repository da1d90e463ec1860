"""A charge may bring the voucher's campaign with the voucher's read (RM renders the batch of
every voucher it redeems): the campaign as ``find_campaign`` reads it, in the same statement."""

from __future__ import annotations

from sqlalchemy import Engine

from tests.conftest import TenantFixture
from voucherd.db import repositories as repo
from voucherd.services import campaigns, value
from voucherd.services import vouchers as voucher_service
from voucherd.services.changes import VoucherRef
from voucherd.services.unit_of_work import UnitOfWork
from voucherd.services.vouchers import NewVoucher


def test_a_charge_brings_the_campaign_it_was_asked_for(
    engine: Engine, tenant: TenantFixture
) -> None:
    with UnitOfWork(engine) as uow:
        campaign = campaigns.create(
            uow,
            tenant.actor,
            name="Spring",
            activate_on_create=True,
            template=NewVoucher(currency="EUR", amount=2500),
        )
        campaigns.generate(uow, tenant.actor, campaign["id"], 2)
        of_campaign = repo.list_vouchers(
            uow.conn, tenant.id, after_id=None, limit=2, filters={"campaign_id": campaign["id"]}
        )
        alone = voucher_service.create(
            uow, tenant.actor, NewVoucher(currency="EUR", amount=900, active=True)
        ).voucher
        uow.commit()

    with UnitOfWork(engine) as uow:
        first = value.charge(
            uow, tenant.actor, VoucherRef(code=of_campaign[0]["code"]), amount=100,
            with_campaign=True,
        )  # fmt: skip
        plain = value.charge(uow, tenant.actor, VoucherRef(code=of_campaign[1]["code"]), amount=1)
        none = value.charge(
            uow, tenant.actor, VoucherRef(id=alone["id"]), amount=100, with_campaign=True
        )
        expected = repo.find_campaign(uow.conn, tenant.id, id=campaign["id"])
        uow.commit()
    assert expected is not None
    assert first.campaign == dict(expected)
    assert first.voucher["balance"] == 2400 and first.entry["amount"] == -100
    assert "campaign__id" not in first.voucher  # the row returned is the voucher's own
    assert plain.campaign is None  # not asked for
    assert none.campaign is None and none.voucher["balance"] == 800
