"""Native webhooks: subscriptions, their outbox deliveries, signed POSTs with retries.

Every engine event (whatever face made the change: they all write events through
``services.changes`` or the bulk paths) is offered once by ``outbox.dispatch`` to
``NativeWebhooks``, which creates one delivery per matching subscription (subscriber
``webhook:<id>``; the outbox's unique key makes that at most one per event and subscription).
``deliver_due`` then claims deliveries with conditional UPDATEs and POSTs them signed per
Standard Webhooks (``webhook-id``, ``webhook-timestamp``, ``webhook-signature``). A voucher's
deliveries to one subscription go out in event order: a delivery waits while an earlier one of
the same voucher is still pending. A failed attempt is retried after the pauses of
``Settings.webhook_retry_schedule`` (about 27.6 hours in all by default), then the delivery is
``failed``; ``replay`` sends it once more.
"""

from __future__ import annotations

import base64
import re
import secrets
import urllib.error
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import orjson
from sqlalchemy import Engine, and_, exists, func, insert, or_, select, update
from sqlalchemy.orm import aliased
from standardwebhooks import Webhook

from voucherd.config import Settings
from voucherd.db import repositories as repo
from voucherd.db import sealed
from voucherd.db.tables import deliveries, delivery_attempts, webhooks
from voucherd.domain import errors
from voucherd.services import outbox
from voucherd.services.changes import record_event
from voucherd.services.outbox import DELIVERED, DELIVERING, FAILED, PENDING
from voucherd.services.unit_of_work import Actor, UnitOfWork

PREFIX = "webhook:"
_TYPE = re.compile(r"^(\*|[a-z_]{1,32}\.(\*|[a-z_]{1,32}))$")
# Fields of an event that never leave the service (codes and PIN hashes).
_HIDDEN = frozenset({"code", "pin", "pin_hash", "secret"})
MAX_SUBSCRIPTIONS = 20
# Events about the webhook configuration itself (``webhook.create`` / ``webhook.delete``) are
# audit-only: the trail shows who added or removed an endpoint, but no subscription is sent
# them, not even ``*`` (another endpoint's URL is not a subscriber's business; docs/decisions.md).
AUDIT_SUBJECT = "webhook"


def subscriber(webhook_id: int) -> str:
    return f"{PREFIX}{webhook_id}"


def event_type(event: Any) -> str:
    return f"{event.subject}.{event.operation}"


def matches(patterns: Sequence[str], kind: str) -> bool:
    subject = kind.split(".", 1)[0]
    return any(p in ("*", kind, f"{subject}.*") for p in patterns)


# --- subscriptions --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Created:
    row: repo.Row
    secret: str  # shown once


def _check(url: str, event_types: Sequence[str]) -> None:
    if not url.lower().startswith(("http://", "https://")) or len(url) > 1024:
        raise errors.ValidationFailed(
            "url must be an http(s) URL of at most 1024 characters", "url"
        )
    if not event_types or len(event_types) > 50:
        raise errors.ValidationFailed("give 1 to 50 event types", field="event_types")
    for kind in event_types:
        if not _TYPE.match(kind):
            raise errors.ValidationFailed(
                f"event type {kind!r} is not '*', 'subject.*' or 'subject.operation'",
                field="event_types",
            )


def create(
    uow: UnitOfWork,
    actor: Actor,
    *,
    url: str,
    event_types: Sequence[str],
    description: str | None = None,
) -> Created:
    """Raises: ValidationFailed (bad URL or event type; too many subscriptions)."""
    _check(url, event_types)
    count = uow.conn.execute(
        select(func.count())
        .select_from(webhooks)
        .where(webhooks.c.tenant_id == actor.tenant_id, webhooks.c.deleted_at.is_(None))
    ).scalar_one()
    if count >= MAX_SUBSCRIPTIONS:
        raise errors.ValidationFailed(
            f"at most {MAX_SUBSCRIPTIONS} webhook subscriptions per tenant", field="url"
        )
    secret = "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()
    row = (
        uow.conn.execute(
            insert(webhooks)
            .values(
                tenant_id=actor.tenant_id,
                url=url,
                event_types=sorted(set(event_types)),
                secret="",  # sealed below: the seal names the row, whose id is known only now
                description=description,
                created_at=uow.now,
            )
            .returning(*webhooks.c)
        )
        .mappings()
        .one()
    )
    sealed_secret = sealed.seal(sealed.kek_of(uow.conn), secret, secret_place(int(row["id"])))
    uow.conn.execute(
        update(webhooks).where(webhooks.c.id == row["id"]).values(secret=sealed_secret)
    )
    record_event(
        uow,
        actor,
        operation="create",
        subject=AUDIT_SUBJECT,
        subject_id=str(row["id"]),
        after={"url": url, "event_types": row["event_types"], "description": description},
    )
    return Created(row, secret)


def secret_place(webhook_id: int) -> str:
    """Where a subscription's sealed secret belongs (``db/sealed.py``)."""
    return f"webhooks.secret:{webhook_id}"


def get(uow: UnitOfWork, actor: Actor, webhook_id: int) -> repo.Row:
    """Raises: NotFound (also another tenant's or a deleted subscription)."""
    row = (
        uow.conn.execute(
            select(webhooks).where(
                webhooks.c.tenant_id == actor.tenant_id,
                webhooks.c.id == webhook_id,
                webhooks.c.deleted_at.is_(None),
            )
        )
        .mappings()
        .first()
    )
    if row is None:
        raise errors.NotFound("webhook", webhook_id)
    return row


def list_all(uow: UnitOfWork, actor: Actor) -> list[repo.Row]:
    return list(
        uow.conn.execute(
            select(webhooks)
            .where(webhooks.c.tenant_id == actor.tenant_id, webhooks.c.deleted_at.is_(None))
            .order_by(webhooks.c.id)
        ).mappings()
    )


def delete(uow: UnitOfWork, actor: Actor, webhook_id: int) -> None:
    """Stop the subscription; its pending deliveries are marked failed. Raises: NotFound."""
    row = get(uow, actor, webhook_id)
    record_event(
        uow,
        actor,
        operation="delete",
        subject=AUDIT_SUBJECT,
        subject_id=str(webhook_id),
        before={"url": row["url"], "event_types": row["event_types"]},
    )
    uow.conn.execute(
        update(webhooks)
        .where(webhooks.c.tenant_id == actor.tenant_id, webhooks.c.id == webhook_id)
        .values(deleted_at=uow.now)
    )
    uow.conn.execute(
        update(deliveries)
        .where(
            deliveries.c.tenant_id == actor.tenant_id,
            deliveries.c.subscriber == subscriber(webhook_id),
            deliveries.c.status == PENDING,
        )
        .values(status=FAILED, last_error="subscription deleted")
    )


def deliveries_page(
    uow: UnitOfWork, actor: Actor, webhook_id: int, *, after_id: int | None, limit: int
) -> list[repo.Row]:
    """The delivery log of one subscription, oldest first. Raises: NotFound."""
    get(uow, actor, webhook_id)
    query = select(deliveries).where(
        deliveries.c.tenant_id == actor.tenant_id,
        deliveries.c.subscriber == subscriber(webhook_id),
    )
    if after_id is not None:
        query = query.where(deliveries.c.id > after_id)
    return list(uow.conn.execute(query.order_by(deliveries.c.id).limit(limit)).mappings())


def replay(uow: UnitOfWork, actor: Actor, webhook_id: int, delivery_id: int) -> repo.Row:
    """Send a delivery once more, now (a delivered one again, a failed one after all).

    Raises: NotFound; InvalidState while it is being sent.
    """
    get(uow, actor, webhook_id)
    updated = (
        uow.conn.execute(
            update(deliveries)
            .where(
                deliveries.c.tenant_id == actor.tenant_id,
                deliveries.c.subscriber == subscriber(webhook_id),
                deliveries.c.id == delivery_id,
                deliveries.c.status != DELIVERING,
            )
            .values(status=PENDING, next_attempt_at=uow.now, last_error=None)
            .returning(*deliveries.c)
        )
        .mappings()
        .first()
    )
    if updated is None:
        found = uow.conn.execute(
            select(deliveries.c.id).where(
                deliveries.c.tenant_id == actor.tenant_id,
                deliveries.c.subscriber == subscriber(webhook_id),
                deliveries.c.id == delivery_id,
            )
        ).first()
        if found is None:
            raise errors.NotFound("delivery", delivery_id)
        raise errors.DeliveryInFlight("the delivery is being sent right now; try again shortly")
    return updated


def attempts(uow: UnitOfWork, tenant_id: int, delivery_ids: Sequence[int]) -> dict[int, int]:
    if not delivery_ids:
        return {}
    rows = uow.conn.execute(
        select(delivery_attempts.c.delivery_id, func.count())
        .where(
            delivery_attempts.c.tenant_id == tenant_id,
            delivery_attempts.c.delivery_id.in_(delivery_ids),
        )
        .group_by(delivery_attempts.c.delivery_id)
    ).all()
    return {int(d): int(n) for d, n in rows}


def recent_deliveries(
    uow: UnitOfWork, actor: Actor, webhook_id: int, *, limit: int = 10
) -> list[repo.Row]:
    """The newest deliveries of one subscription, newest first (the dashboard's view).

    Raises: NotFound.
    """
    get(uow, actor, webhook_id)
    query = (
        select(deliveries)
        .where(
            deliveries.c.tenant_id == actor.tenant_id,
            deliveries.c.subscriber == subscriber(webhook_id),
        )
        .order_by(deliveries.c.id.desc())
        .limit(limit)
    )
    return list(uow.conn.execute(query).mappings())


# --- outbox -> deliveries -------------------------------------------------------------------


def payload(event: Any) -> str:
    """The JSON body of one event (Standard Webhooks' ``type``/``timestamp``/``data``)."""
    created: datetime = event.created_at
    data = {
        "event_id": str(event.id),
        "subject": event.subject,
        "subject_id": event.subject_id,
        "operation": event.operation,
        "actor": event.actor,
        "reason": event.reason,
        "before": {k: v for k, v in (event.before or {}).items() if k not in _HIDDEN},
        "after": {k: v for k, v in (event.after or {}).items() if k not in _HIDDEN},
    }
    if event.subject == "voucher":
        data["voucher_id"] = event.subject_id
    body = {"type": event_type(event), "timestamp": created.isoformat(), "data": data}
    return orjson.dumps(body).decode()


class NativeWebhooks:
    """The outbox subscriber: a delivery per event and matching live subscription."""

    kind = "webhook"

    def tenants(self, uow: UnitOfWork) -> set[int]:
        live = select(webhooks.c.tenant_id).where(webhooks.c.deleted_at.is_(None)).distinct()
        return {int(tenant_id) for tenant_id in uow.conn.execute(live).scalars()}

    def accept(self, uow: UnitOfWork, batch: Sequence[Any]) -> int:
        tenant_ids = sorted({int(e.tenant_id) for e in batch})
        subscriptions: dict[int, list[repo.Row]] = {}
        for row in uow.conn.execute(
            select(webhooks).where(
                webhooks.c.tenant_id.in_(tenant_ids), webhooks.c.deleted_at.is_(None)
            )
        ).mappings():
            subscriptions.setdefault(int(row["tenant_id"]), []).append(row)
        if not subscriptions:
            return 0
        created = 0
        for event in batch:
            if event.subject == AUDIT_SUBJECT:
                continue
            kind = event_type(event)
            body: str | None = None
            for sub in subscriptions.get(int(event.tenant_id), ()):
                if event.created_at < sub["created_at"] or not matches(sub["event_types"], kind):
                    continue
                body = body or payload(event)
                outbox.enqueue(
                    uow,
                    subscriber=subscriber(int(sub["id"])),
                    tenant_id=int(event.tenant_id),
                    event_id=int(event.id),
                    voucher_id=int(event.voucher_id) if event.voucher_id is not None else None,
                    url=sub["url"],
                    payload=body,
                )
                created += 1
        return created


# --- sending --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Outcome:
    status_code: int | None
    error: str | None

    @property
    def ok(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


def post(url: str, body: str, secret: str, msg_id: str, now: datetime, timeout: float) -> Outcome:
    """One signed POST."""
    if not url.lower().startswith(("http://", "https://")):
        return Outcome(None, "webhook URL must be http or https")
    signature = Webhook(secret).sign(msg_id, now, body)
    request = urllib.request.Request(  # noqa: S310 - scheme checked above
        url,
        data=body.encode(),
        method="POST",
        headers={
            "Content-Type": "application/json",
            "webhook-id": msg_id,
            "webhook-timestamp": str(int(now.timestamp())),
            "webhook-signature": signature,
            "User-Agent": "voucherd-webhooks",
        },
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
            return Outcome(int(response.status), None)
    except urllib.error.HTTPError as exc:
        return Outcome(int(exc.code), None)
    except (urllib.error.URLError, OSError, ValueError) as exc:
        return Outcome(None, str(exc)[:255])


def _due(now: datetime) -> Any:
    return and_(
        deliveries.c.subscriber.startswith(PREFIX),
        or_(
            and_(deliveries.c.status == PENDING, deliveries.c.next_attempt_at <= now),
            and_(deliveries.c.status == DELIVERING, deliveries.c.locked_until < now),
        ),
    )


def _in_order() -> Any:
    """No earlier delivery of the same voucher to the same subscription is still unsent."""
    earlier = aliased(deliveries)
    return or_(
        deliveries.c.voucher_id.is_(None),
        ~exists().where(
            earlier.c.tenant_id == deliveries.c.tenant_id,
            earlier.c.subscriber == deliveries.c.subscriber,
            earlier.c.voucher_id == deliveries.c.voucher_id,
            earlier.c.event_id < deliveries.c.event_id,
            earlier.c.status.in_((PENDING, DELIVERING)),
        ),
    )


def deliver_due(engine: Engine, settings: Settings, limit: int = 50) -> int:
    """Send due deliveries this worker can claim; returns how many it attempted."""
    with UnitOfWork(engine, readonly=True) as uow:
        due = uow.conn.execute(
            select(deliveries.c.id, deliveries.c.tenant_id)
            .where(_due(uow.now), _in_order())
            .order_by(deliveries.c.event_id)
            .limit(limit)
        ).all()
    done = 0
    for delivery_id, tenant_id in due:
        done += _deliver_one(engine, settings, int(tenant_id), int(delivery_id))
    return done


def _deliver_one(engine: Engine, settings: Settings, tenant_id: int, delivery_id: int) -> int:
    lock = timedelta(seconds=settings.webhook_timeout_seconds + 30)
    with UnitOfWork(engine) as uow:
        locked_until = uow.now + lock
        claimed = uow.conn.execute(
            update(deliveries)
            .where(
                deliveries.c.tenant_id == tenant_id,
                deliveries.c.id == delivery_id,
                _due(uow.now),
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
        webhook_id = int(delivery["subscriber"].removeprefix(PREFIX))
        hook = (
            uow.conn.execute(
                select(webhooks).where(
                    webhooks.c.tenant_id == tenant_id, webhooks.c.id == webhook_id
                )
            )
            .mappings()
            .first()
        )
        uow.commit()
    secret = None
    if hook is not None and hook["deleted_at"] is None:
        try:
            kek = sealed.kek_for(sealed.url_of(engine.url))
            secret = sealed.unseal(kek, hook["secret"], secret_place(webhook_id))
        except (sealed.Undecryptable, sealed.KeyMissing):
            secret = None  # an attempt that fails, retried on schedule; verify names it
    if hook is None or hook["deleted_at"] is not None:
        outcome = Outcome(None, "subscription deleted")
    elif secret is None:
        outcome = Outcome(None, "the subscription's secret does not decrypt")
    else:
        outcome = post(
            delivery["url"],
            delivery["payload"],
            secret,
            f"evt_{delivery['event_id']}",
            uow.clock(),
            settings.webhook_timeout_seconds,
        )
    schedule = settings.webhook_retries()
    with UnitOfWork(engine) as uow:
        attempt = int(delivery["attempts"]) + 1
        if outcome.ok:
            values: dict[str, Any] = {"status": DELIVERED, "delivered_at": uow.now}
        elif hook is None or hook["deleted_at"] is not None or attempt > len(schedule):
            values = {"status": FAILED}
        else:
            pause = schedule[attempt - 1]
            values = {"status": PENDING, "next_attempt_at": uow.now + timedelta(seconds=pause)}
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
