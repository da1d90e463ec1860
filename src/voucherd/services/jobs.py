"""Long jobs: bulk generate and import above a threshold, run by the worker in chunks.

The API queues a job (``queued``) and answers 202; the elected worker (``services/worker.py``)
runs one chunk per transaction: the chunk's vouchers and the job's progress (``done``) commit
together, so a worker killed mid-job resumes where the last chunk committed and never creates
a chunk twice. On SQLite no writer waits behind one long transaction. A business refusal of a
chunk (no room left in the code space, a code already in use) ends the job ``failed`` with the
error; what earlier chunks created stays.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import orjson
from sqlalchemy import Engine, insert, select, update

from voucherd.db import repositories as repo
from voucherd.db.tables import jobs
from voucherd.domain import codes, errors
from voucherd.services import campaigns
from voucherd.services.unit_of_work import Actor, UnitOfWork

QUEUED, RUNNING, SUCCEEDED, FAILED = "queued", "running", "succeeded", "failed"
GENERATE, IMPORT = "generate", "import"


def queue_generate(uow: UnitOfWork, actor: Actor, campaign_id: int, count: int) -> repo.Row:
    """Raises: NotFound, ValidationFailed, CodeSpaceTooSmall (checked now, for the whole job)."""
    if not 1 <= count <= 10_000_000:
        raise errors.ValidationFailed("count must be between 1 and 10000000", field="count")
    row = campaigns.get(uow, actor, id=campaign_id)
    spec = campaigns.code_spec(row)
    spec.ensure_room(count, repo.campaign_voucher_count(uow.conn, actor.tenant_id, row["id"]))
    return _queue(uow, actor, GENERATE, campaign_id, count, {"count": count})


def queue_import(
    uow: UnitOfWork, actor: Actor, campaign_id: int, custom_codes: Sequence[str]
) -> repo.Row:
    """Raises: NotFound, ValidationFailed, DuplicateCode (a code listed twice)."""
    campaigns.get(uow, actor, id=campaign_id)
    normalized = [codes.validate_custom(code) for code in custom_codes]
    if len(set(normalized)) != len(normalized):
        raise errors.DuplicateCode("the import lists a code twice", field="codes")
    return _queue(uow, actor, IMPORT, campaign_id, len(normalized), {"codes": normalized})


def _queue(
    uow: UnitOfWork, actor: Actor, kind: str, campaign_id: int, total: int, params: Any
) -> repo.Row:
    return (
        uow.conn.execute(
            insert(jobs)
            .values(
                tenant_id=actor.tenant_id,
                kind=kind,
                campaign_id=campaign_id,
                actor=actor.name,
                client_id=actor.client_id,
                status=QUEUED,
                total=total,
                done=0,
                params=orjson.dumps(params).decode(),
                created_at=uow.now,
                updated_at=uow.now,
            )
            .returning(*jobs.c)
        )
        .mappings()
        .one()
    )


def get(uow: UnitOfWork, actor: Actor, job_id: int) -> repo.Row:
    """Raises: NotFound (also another tenant's job)."""
    row = (
        uow.conn.execute(
            select(jobs).where(jobs.c.tenant_id == actor.tenant_id, jobs.c.id == job_id)
        )
        .mappings()
        .first()
    )
    if row is None:
        raise errors.NotFound("job", job_id)
    return row


def run_step(engine: Engine, chunk_size: int) -> bool:
    """One chunk of the oldest unfinished job, in one transaction; False when there is none.

    Only the elected worker runs jobs; the conditional UPDATE on ``done`` makes a chunk count
    once even if two ever raced.
    """
    with UnitOfWork(engine, readonly=True) as uow:
        job = (
            uow.conn.execute(
                select(jobs)
                .where(jobs.c.status.in_((QUEUED, RUNNING)))
                .order_by(jobs.c.id)
                .limit(1)
            )
            .mappings()
            .first()
        )
    if job is None:
        return False
    actor = Actor(int(job["tenant_id"]), str(job["actor"]), job["client_id"])
    done, total = int(job["done"]), int(job["total"])
    wanted = min(chunk_size, total - done)
    try:
        with UnitOfWork(engine) as uow:
            created = 0
            if wanted > 0:
                if job["kind"] == GENERATE:
                    created = campaigns.generate(uow, actor, int(job["campaign_id"]), wanted)
                else:
                    part = orjson.loads(job["params"])["codes"][done : done + wanted]
                    created = campaigns.import_codes(uow, actor, int(job["campaign_id"]), part)
            finished = done + created >= total
            values: dict[str, Any] = {
                "status": SUCCEEDED if finished else RUNNING,
                "done": done + created,
                "updated_at": uow.now,
            }
            if finished:
                values |= {
                    "finished_at": uow.now,
                    "result": {"created": done + created},
                    "params": "{}",  # an import's codes are not kept once they are vouchers
                }
            moved = uow.conn.execute(
                update(jobs)
                .where(jobs.c.tenant_id == actor.tenant_id, jobs.c.id == job["id"])
                .where(jobs.c.done == done, jobs.c.status.in_((QUEUED, RUNNING)))
                .values(**values)
            ).rowcount
            if moved == 1:
                uow.commit()
    except errors.VoucherdError as exc:
        with UnitOfWork(engine) as uow:
            uow.conn.execute(
                update(jobs)
                .where(jobs.c.tenant_id == actor.tenant_id, jobs.c.id == job["id"])
                .values(
                    status=FAILED,
                    updated_at=uow.now,
                    finished_at=uow.now,
                    result={"created": done},
                    errors=[{"code": exc.code, "message": exc.message}],
                    params="{}",
                )
            )
            uow.commit()
    return True


def for_campaign(
    uow: UnitOfWork, actor: Actor, campaign_id: int, *, limit: int = 10
) -> Sequence[repo.Row]:
    """The campaign's latest jobs, newest first (the dashboard's campaign page lists them)."""
    query = (
        select(jobs)
        .where(jobs.c.tenant_id == actor.tenant_id, jobs.c.campaign_id == campaign_id)
        .order_by(jobs.c.id.desc())
        .limit(limit)
    )
    return uow.conn.execute(query).mappings().all()
