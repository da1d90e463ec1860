"""Callbacks: when a voucher's RM status changes, POST it to the merchant, signed.

The engine's outbox (``services/outbox.py``) offers every event to the ``RmCallbacks``
subscriber exactly once; for a status change of a merchant with a callback URL it creates a
delivery (subscriber ``rm_callback``). The built-in worker (``services/worker.py``: elected
among ``voucherd serve`` processes and ``voucherd worker``) dispatches the outbox and sends due
deliveries, claiming each with a conditional UPDATE so that no delivery is sent twice. A
delivery is tried ``callback_attempts`` times, the merchant's retry interval apart, until the
receiver answers 200; every attempt is recorded.
"""

from __future__ import annotations

import base64
import logging
import secrets
import urllib.error
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine, and_, or_, select, update

from voucherd.db import repositories as repo
from voucherd.db.projections import rm_stored_status
from voucherd.db.tables import deliveries
from voucherd.dialects.revenue_monster import merchants, render, signing
from voucherd.dialects.revenue_monster.settings import RmSettings
from voucherd.dialects.revenue_monster.tables import rm_merchants
from voucherd.services import outbox
from voucherd.services.outbox import DELIVERED, DELIVERING, FAILED, PENDING
from voucherd.services.unit_of_work import UnitOfWork

log = logging.getLogger("voucherd.rm.callbacks")


def changes_rm_status(event: Any) -> bool:
    """Whether an engine event changes what RM calls the voucher's status
    (``db.projections.rm_stored_status`` of the facts before and after it). A fact the event
    does not carry did not change; an unknown status is taken as active."""
    if event.subject != "voucher" or event.voucher_id is None or event.operation == "create":
        return False
    after, before = event.after or {}, event.before or {}
    if "status" not in after and "uses" not in after:
        return False

    def side(facts: Any, other: Any) -> str:
        status = facts.get("status", other.get("status", "active"))
        uses = facts.get("uses", other.get("uses", 0))
        return rm_stored_status(str(status), int(uses or 0))

    return side(before, after) != side(after, before)


# --- outbox -> deliveries -------------------------------------------------------------------

SUBSCRIBER = "rm_callback"


class RmCallbacks:
    """The outbox subscriber: one delivery per voucher whose RM status changed, for every
    merchant with a callback URL that was set before the event (``last_event_id``)."""

    kind = SUBSCRIBER

    def __init__(self, engine: Engine, settings: RmSettings) -> None:
        self.engine, self.settings = engine, settings

    def tenants(self, uow: UnitOfWork) -> set[int]:
        called = select(rm_merchants.c.tenant_id).where(rm_merchants.c.callback_url.is_not(None))
        return {int(tenant_id) for tenant_id in uow.conn.execute(called).scalars()}

    def accept(self, uow: UnitOfWork, batch: Sequence[Any]) -> int:
        wanted = [e for e in batch if changes_rm_status(e)]
        if not wanted:
            return 0
        tenant_ids = sorted({int(e.tenant_id) for e in wanted})
        merchants = {
            int(m["tenant_id"]): m
            for m in uow.conn.execute(
                select(rm_merchants).where(
                    rm_merchants.c.tenant_id.in_(tenant_ids),
                    rm_merchants.c.callback_url.is_not(None),
                )
            ).mappings()
        }
        created = 0
        for tenant_id, merchant in merchants.items():
            base_url = merchant["public_url"] or self.settings.public_url.rstrip("/")
            renderer = render.Renderer(uow, tenant_id, base_url)
            # One callback per voucher per batch: it carries the voucher as it is now anyway.
            latest = {
                e.voucher_id: e
                for e in wanted
                if e.tenant_id == tenant_id and e.id > merchant["last_event_id"]
            }
            for event in sorted(latest.values(), key=lambda e: int(e.id)):
                voucher = repo.find_voucher(
                    uow.conn, tenant_id, id=event.voucher_id, include_deleted=True
                )
                if voucher is None:
                    continue
                body = {"item": renderer.voucher(voucher), "code": "SUCCESS"}
                outbox.enqueue(
                    uow,
                    subscriber=SUBSCRIBER,
                    tenant_id=tenant_id,
                    event_id=int(event.id),
                    voucher_id=int(event.voucher_id),
                    url=merchant["callback_url"],
                    payload=signing.canonical_json(body),
                )
                created += 1
        return created


# --- deliveries -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Outcome:
    status_code: int | None
    error: str | None


def post(url: str, payload: str, private_key_pem: str, timeout: float, now: datetime) -> Outcome:
    """One signed POST (headers as RM sends them; ``requestUrl`` is not signed)."""
    if not url.lower().startswith(("http://", "https://")):
        return Outcome(None, "callback URL must be http or https")
    nonce = secrets.token_hex(16)
    timestamp = str(int(now.timestamp()))
    text = signing.plaintext(
        data=base64.b64encode(payload.encode()).decode(),
        method="post",
        nonce_str=nonce,
        request_url=None,
        timestamp=timestamp,
    )
    signature = signing.sign(signing.load_private_key(private_key_pem), text)
    request = urllib.request.Request(  # noqa: S310 - scheme checked above
        url,
        data=payload.encode(),
        method="POST",
        headers={
            "Content-Type": "application/json",
            "X-Nonce-Str": nonce,
            "X-Timestamp": timestamp,
            "X-Signature": signing.header_value(signature),
            "User-Agent": "voucherd-rm-callback",
        },
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
            return Outcome(int(response.status), None)
    except urllib.error.HTTPError as exc:
        return Outcome(int(exc.code), None)
    except (urllib.error.URLError, OSError, ValueError) as exc:
        return Outcome(None, str(exc)[:255])


def _due(now: datetime) -> tuple[Any, Any]:
    return deliveries.c.subscriber == SUBSCRIBER, or_(
        and_(deliveries.c.status == PENDING, deliveries.c.next_attempt_at <= now),
        and_(deliveries.c.status == DELIVERING, deliveries.c.locked_until < now),
    )


def deliver_due(engine: Engine, settings: RmSettings, limit: int = 20) -> int:
    """Send every due delivery this worker can claim; returns how many it attempted."""
    with UnitOfWork(engine, readonly=True) as uow:
        due = uow.conn.execute(
            select(deliveries.c.id, deliveries.c.tenant_id)
            .where(*_due(uow.now))
            .order_by(deliveries.c.next_attempt_at)
            .limit(limit)
        ).all()
    done = 0
    for delivery_id, tenant_id in due:
        done += _deliver_one(engine, settings, int(tenant_id), int(delivery_id))
    return done


def _deliver_one(engine: Engine, settings: RmSettings, tenant_id: int, delivery_id: int) -> int:
    lock = timedelta(seconds=settings.callback_timeout_seconds + 30)
    with UnitOfWork(engine) as uow:
        locked_until = uow.now + lock
        claimed = uow.conn.execute(
            update(deliveries)
            .where(
                deliveries.c.tenant_id == tenant_id,
                deliveries.c.id == delivery_id,
                *_due(uow.now),
            )
            .values(status=DELIVERING, locked_until=locked_until)
        ).rowcount
        if claimed != 1:
            return 0  # another worker has it
        delivery = (
            uow.conn.execute(
                select(deliveries).where(
                    deliveries.c.tenant_id == tenant_id, deliveries.c.id == delivery_id
                )
            )
            .mappings()
            .one()
        )
        merchant = (
            uow.conn.execute(select(rm_merchants).where(rm_merchants.c.tenant_id == tenant_id))
            .mappings()
            .one()
        )
        uow.commit()
    outcome = post(
        delivery["url"],
        delivery["payload"],
        merchants.private_key(engine.url, merchant),
        settings.callback_timeout_seconds,
        uow.clock(),
    )
    interval = merchant["retry_interval_seconds"] or settings.callback_retry_seconds
    with UnitOfWork(engine) as uow:
        attempt = int(delivery["attempts"]) + 1
        if outcome.status_code == 200:
            values: dict[str, Any] = {"status": DELIVERED, "delivered_at": uow.now}
        elif attempt >= settings.callback_attempts:
            values = {"status": FAILED}
        else:
            values = {
                "status": PENDING,
                "next_attempt_at": uow.now + timedelta(seconds=float(interval)),
            }
        recorded = outbox.record_attempt(
            uow,
            tenant_id,
            delivery_id,
            locked_until=locked_until,
            attempt=attempt,
            status_code=outcome.status_code,
            error=outcome.error,
            outcome=values,
        )
        if not recorded:
            return 0  # our lock lapsed and another worker took over; it records its own
        uow.commit()
    return 1
