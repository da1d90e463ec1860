"""Bulk generate and import above the job threshold: 202, a job, done by the worker in chunks."""

from __future__ import annotations

import time
from typing import Any

from sqlalchemy import func, select

from tests.conftest import Api, LiveServer, make_tenant
from voucherd.db.tables import vouchers


def _campaign(api: Api) -> dict[str, Any]:
    response = api.post(
        "/v1/campaigns",
        {"name": "bulk", "template": {"kind": "stored_value", "currency": "EUR", "amount": 500}},
    )
    assert response.status_code == 201, response.text
    result: dict[str, Any] = response.json()
    return result


def _finished(api: Api, job_id: int) -> dict[str, Any]:
    deadline = time.monotonic() + 120
    while True:
        job: dict[str, Any] = api.get(f"/v1/jobs/{job_id}").json()
        if job["status"] in ("succeeded", "failed"):
            return job
        assert time.monotonic() < deadline, job
        time.sleep(0.2)


def _count(live_server: LiveServer, campaign_id: int) -> int:
    with live_server.engine.connect() as conn:
        return int(
            conn.execute(
                select(func.count())
                .select_from(vouchers)
                .where(vouchers.c.campaign_id == campaign_id)
            ).scalar_one()
        )


def test_generate_above_the_threshold_is_a_job_with_the_right_count(
    api: Api, live_server: LiveServer
) -> None:
    assert live_server.settings.job_threshold == 500
    campaign = _campaign(api)
    small = api.post(f"/v1/campaigns/{campaign['id']}/generate", {"count": 500})
    assert small.status_code == 201 and small.json()["created"] == 500
    queued = api.post(f"/v1/campaigns/{campaign['id']}/generate", {"count": 1234})
    assert queued.status_code == 202, queued.text
    job = queued.json()
    assert job["kind"] == "generate" and job["total"] == 1234
    assert job["status"] in ("queued", "running")
    done = _finished(api, job["id"])
    assert done["status"] == "succeeded", done
    assert done["done"] == 1234 and done["result"] == {"created": 1234} and done["progress"] == 1
    assert done["errors"] == []
    assert _count(live_server, campaign["id"]) == 500 + 1234


def test_import_above_the_threshold_is_a_job_and_a_taken_code_fails_it(
    api: Api, live_server: LiveServer
) -> None:
    campaign = _campaign(api)
    codes = [f"JOB-{i:05d}" for i in range(700)]
    queued = api.post(f"/v1/campaigns/{campaign['id']}/import", {"codes": codes})
    assert queued.status_code == 202, queued.text
    done = _finished(api, queued.json()["id"])
    assert done["status"] == "succeeded" and done["result"] == {"created": 700}
    assert _count(live_server, campaign["id"]) == 700

    again = [f"NEW-{i:05d}" for i in range(600)] + ["JOB-00001"]
    failed = _finished(
        api, api.post(f"/v1/campaigns/{campaign['id']}/import", {"codes": again}).json()["id"]
    )
    assert failed["status"] == "failed"
    assert failed["errors"][0]["code"] == "duplicate_code"
    assert failed["result"]["created"] == failed["done"] < 601  # whole chunks before the clash


def test_jobs_are_per_tenant(api: Api, live_server: LiveServer) -> None:
    campaign = _campaign(api)
    job = api.post(f"/v1/campaigns/{campaign['id']}/generate", {"count": 501}).json()
    other = make_tenant(live_server.engine, "other")
    stranger = Api(live_server.url, other.client_id, other.client_secret)
    assert stranger.get(f"/v1/jobs/{job['id']}").status_code == 404
    stranger.close()
    assert _finished(api, job["id"])["status"] == "succeeded"
