"""The outbox reads in full only the events of tenants a subscriber could want, marks all."""

from __future__ import annotations

from sqlalchemy import Engine, select

from tests.conftest import make_tenant
from voucherd.db.tables import deliveries, events
from voucherd.services import outbox, vouchers, webhooks
from voucherd.services.unit_of_work import Actor, UnitOfWork
from voucherd.services.vouchers import NewVoucher


def _voucher_created(engine: Engine, actor: Actor) -> int:
    with UnitOfWork(engine) as uow:
        created = vouchers.create(uow, actor, NewVoucher(currency="EUR", amount=500))
        uow.commit()
    return int(created.voucher["id"])


def _events(engine: Engine, voucher_id: int) -> list[tuple[int, bool]]:
    with UnitOfWork(engine, readonly=True) as uow:
        rows = uow.conn.execute(
            select(events.c.id, events.c.dispatched).where(events.c.voucher_id == voucher_id)
        ).all()
    return [(int(r.id), bool(r.dispatched)) for r in rows]


def _deliveries(engine: Engine, event_ids: list[int]) -> list[str]:
    with UnitOfWork(engine, readonly=True) as uow:
        return list(
            uow.conn.execute(
                select(deliveries.c.subscriber).where(deliveries.c.event_id.in_(event_ids))
            ).scalars()
        )


def test_events_of_tenants_without_subscriptions_are_marked_without_deliveries(
    engine: Engine,
) -> None:
    subscribed = make_tenant(engine, "subscribed")
    quiet = make_tenant(engine, "quiet")
    gone = make_tenant(engine, "gone")
    with UnitOfWork(engine) as uow:
        hook = webhooks.create(
            uow, subscribed.actor, url="http://127.0.0.1:9/", event_types=["*"]
        ).row
        dropped = webhooks.create(uow, gone.actor, url="http://127.0.0.1:9/", event_types=["*"])
        webhooks.delete(uow, gone.actor, int(dropped.row["id"]))
        uow.commit()
    try:
        wanted = _voucher_created(engine, subscribed.actor)
        unwanted = [_voucher_created(engine, quiet.actor), _voucher_created(engine, gone.actor)]
        subscriber = webhooks.NativeWebhooks()
        with UnitOfWork(engine, readonly=True) as uow:
            live = subscriber.tenants(uow)
        assert subscribed.id in live
        assert quiet.id not in live and gone.id not in live

        outbox.dispatch(engine, [subscriber], batch_size=2)  # several batches

        wanted_events = _events(engine, wanted)
        assert wanted_events and all(done for _id, done in wanted_events)
        assert _deliveries(engine, [i for i, _done in wanted_events]) == [
            webhooks.subscriber(int(hook["id"]))
        ] * len(wanted_events)
        for voucher_id in unwanted:
            marked = _events(engine, voucher_id)
            assert marked and all(done for _id, done in marked)
            assert _deliveries(engine, [i for i, _done in marked]) == []
    finally:
        with UnitOfWork(engine) as uow:
            webhooks.delete(uow, subscribed.actor, int(hook["id"]))
            uow.commit()
