"""The jobs framework: queued → running → done/failed in the job's own unit of work,
progress in separate short transactions, crash = failed with nothing left, recovery of jobs
a dead worker left running, scope of who sees a job, and the pages and JSON."""

from __future__ import annotations

import os
import socket
import time
from typing import Any

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from kechuang.auth.actor import Actor
from kechuang.db import unit_of_work
from kechuang.jobs import service as jobs
from kechuang.kit import audit
from kechuang.kit.errors import InvalidInput, NotFound
from kechuang.models import AuditEvent
from kechuang.models.jobs import Job
from tests.ingest.helpers import user_actor


def _ok(session: Session, actor: Actor, params: dict[str, Any], progress: Any) -> dict[str, Any]:
    progress("step one", 1, 2)
    # what a page polling in another connection sees now
    with session.get_bind().connect() as conn:  # type: ignore[union-attr]
        row = conn.execute(select(Job.progress_label, Job.progress_done, Job.progress_total)
                           .where(Job.id == params["_job_id"])).first()
    audit.record(session, actor, "test.job_work", "job", params["_job_id"])
    return {"sum": params["a"] + params["b"], "seen": list(row) if row else None,
            "actor": actor.username, "region": actor.region_code}


def _crash(session: Session, actor: Actor, params: dict[str, Any], progress: Any
           ) -> dict[str, Any]:
    audit.record(session, actor, "test.job_partial", "job", params["_job_id"])
    session.flush()  # the partial work reached the database inside the job's transaction
    progress("half", 1, 2)
    raise ZeroDivisionError("boom")


def _bad_input(session: Session, actor: Actor, params: dict[str, Any], progress: Any
               ) -> dict[str, Any]:
    raise InvalidInput("第 3 行“年度”不是年份", "row 3: bad year")


jobs.register_kind("test.ok", _ok)
jobs.register_kind("test.crash", _crash)
jobs.register_kind("test.bad_input", _bad_input)


@pytest.fixture
def quiet(engine: Engine) -> Engine:
    """The seeded database with the background thread off: tests run the queue themselves."""
    jobs.set_background(engine, False)
    return engine


def _submit(engine: Engine, actor: Actor, kind: str, params: dict[str, Any]) -> int:
    with unit_of_work(engine) as s:
        return jobs.submit(s, actor, kind, params).id


def _job(engine: Engine, job_id: int) -> Job:
    with unit_of_work(engine) as s:
        job = s.get(Job, job_id)
        assert job is not None
        s.expunge(job)
        return job


def test_a_job_runs_as_its_submitter_and_records_progress_and_result(quiet: Engine) -> None:
    staff = user_actor(quiet, "staff")
    jid = _submit(quiet, staff, "test.ok", {"a": 2, "b": 3})
    queued = _job(quiet, jid)
    assert queued.status == "queued" and queued.region_code == "320582"
    assert queued.actor == "staff" and queued.created_by == staff.user_id
    assert jobs.run_pending(quiet) == 1
    done = _job(quiet, jid)
    assert done.status == "done"
    assert done.result == {"sum": 5, "seen": ["step one", 1, 2], "actor": "staff",
                           "region": "320582"}
    assert done.started_at is not None and done.finished_at is not None
    assert done.progress_done == done.progress_total == 2
    with unit_of_work(quiet) as s:
        actions = set(s.scalars(select(AuditEvent.action).where(
            AuditEvent.object_id == str(jid))))
    assert {"job.submit", "test.job_work"} <= actions
    assert jobs.run_pending(quiet) == 0  # nothing left; a done job never runs again


def test_a_crashing_job_fails_with_its_message_and_leaves_nothing(quiet: Engine) -> None:
    admin = user_actor(quiet, "admin")
    jid = _submit(quiet, admin, "test.crash", {})
    jobs.run_pending(quiet)
    job = _job(quiet, jid)
    assert job.status == "failed" and job.result is None
    assert "ZeroDivisionError" in (job.error or "") and "boom" in (job.error or "")
    with unit_of_work(quiet) as s:
        partial = s.scalar(select(func.count()).select_from(AuditEvent).where(
            AuditEvent.action == "test.job_partial"))
    assert partial == 0
    bad = _submit(quiet, admin, "test.bad_input", {})
    jobs.run_pending(quiet)
    assert _job(quiet, bad).error == "第 3 行“年度”不是年份"


def test_unknown_kind_and_unserialisable_params_are_refused(quiet: Engine) -> None:
    admin = user_actor(quiet, "admin")
    with unit_of_work(quiet) as s, pytest.raises(InvalidInput, match="未知的任务类型"):
        jobs.submit(s, admin, "no.such.kind", {})
    with unit_of_work(quiet) as s, pytest.raises(InvalidInput, match="JSON"):
        jobs.submit(s, admin, "test.ok", {"a": object()})


def test_jobs_left_running_by_a_dead_worker_are_failed_on_start_up(quiet: Engine) -> None:
    admin = user_actor(quiet, "admin")
    here = socket.gethostname()
    ids = [_submit(quiet, admin, "test.ok", {"a": 1, "b": 1}) for _ in range(3)]
    workers = [f"{here}:99999999", f"{here}:{os.getpid()}", "another-host:1"]
    with unit_of_work(quiet) as s:
        for jid, worker in zip(ids, workers, strict=True):
            job = s.get(Job, jid)
            assert job is not None
            job.status, job.worker = "running", worker
    assert jobs.recover_stale(quiet) == 1
    dead, alive, remote = (_job(quiet, j) for j in ids)
    assert dead.status == "failed" and "中断" in (dead.error or "")
    assert alive.status == "running" and remote.status == "running"


def test_a_job_is_visible_within_its_creators_region_scope(quiet: Engine) -> None:
    staff = user_actor(quiet, "staff")
    jid = _submit(quiet, staff, "test.ok", {"a": 1, "b": 2})
    with unit_of_work(quiet) as s:
        assert jobs.get_job(s, user_actor(quiet, "admin"), jid).id == jid
        assert jobs.get_job(s, Actor.command_line(), jid).id == jid
        with pytest.raises(NotFound):
            jobs.get_job(s, user_actor(quiet, "other_admin"), jid)
        with pytest.raises(NotFound):
            jobs.get_job(s, user_actor(quiet, "ent1"), jid)
        assert [j.id for j in jobs.list_jobs(s, user_actor(quiet, "other_admin"))] == []


def test_run_inline_runs_the_work_in_the_callers_transaction(quiet: Engine) -> None:
    admin = user_actor(quiet, "admin")
    seen: list[tuple[str, int, int]] = []
    with unit_of_work(quiet) as s:
        out = jobs.run_inline(s, admin, "test.ok", {"a": 4, "b": 5, "_job_id": -1},
                              lambda label, d, t: seen.append((label, d, t)))
        assert s.scalar(select(func.count()).select_from(Job)) == 0  # no job row
    assert out["sum"] == 9 and out["seen"] is None and seen == [("step one", 1, 2)]
    with unit_of_work(quiet) as s:  # the work's audit row was committed by the caller
        assert s.scalar(select(func.count()).select_from(AuditEvent).where(
            AuditEvent.action == "test.job_work", AuditEvent.object_id == "-1")) == 1


def test_the_background_worker_runs_a_job_submitted_through_a_commit(engine: Engine) -> None:
    jobs.set_background(engine, True)
    admin = user_actor(engine, "admin")
    jid = _submit(engine, admin, "test.ok", {"a": 20, "b": 22})
    deadline = time.monotonic() + 120
    while _job(engine, jid).status in ("queued", "running") and time.monotonic() < deadline:
        time.sleep(0.2)
    job = _job(engine, jid)
    assert job.status == "done" and job.result is not None and job.result["sum"] == 42


def test_job_page_progress_partial_and_json(client: Any, engine: Engine,
                                            login_as: Any) -> None:
    jobs.set_background(engine, False)
    admin = user_actor(engine, "admin")
    jid = _submit(engine, admin, "test.ok", {"a": 1, "b": 1})
    login_as("staff")
    page = client.get(f"/jobs/{jid}")
    assert page.status_code == 200
    assert f'hx-get="/jobs/{jid}/progress"' in page.text and 'data-status="queued"' in page.text
    assert client.get(f"/api/v1/jobs/{jid}").json()["status"] == "queued"
    jobs.run_pending(engine)
    part = client.get(f"/jobs/{jid}/progress", headers={"HX-Request": "true"})
    assert 'data-status="done"' in part.text and "hx-trigger" not in part.text
    body = client.get(f"/api/v1/jobs/{jid}").json()
    assert body["status"] == "done" and body["result"]["sum"] == 2
    assert body["progress"] == {"label": "step one", "done": 2, "total": 2, "percent": 100.0}
    assert str(jid) in client.get("/jobs").text
    login_as("other_admin")
    assert client.get(f"/api/v1/jobs/{jid}").status_code == 404
    assert client.get(f"/jobs/{jid}").status_code == 404
