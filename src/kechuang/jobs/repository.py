"""Every SQL statement of the job queue (the ``job`` table)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, select, update
from sqlalchemy.orm import Session

from kechuang.auth.actor import Actor
from kechuang.auth.scope import region_code_in_scope
from kechuang.models.jobs import Job


def add_job(session: Session, job: Job) -> Job:
    """Stage a new job row and flush it (for its id)."""
    session.add(job)
    session.flush()
    return job


def write_progress(conn: Connection, job_id: int, label: str, done: int, total: int) -> None:
    """Write a job's progress on its own connection and commit it at once, never waiting
    for a lock on SQLite (a busy file: the caller keeps the value in memory)."""
    sqlite = conn.dialect.name == "sqlite"
    if sqlite:
        conn.exec_driver_sql("PRAGMA busy_timeout=0")
    try:
        conn.execute(update(Job).where(Job.id == job_id).values(
            progress_label=label, progress_done=int(done), progress_total=int(total)))
        conn.commit()
    finally:
        if sqlite:
            conn.exec_driver_sql("PRAGMA busy_timeout=30000")


def queued_ids(session: Session, job_id: int | None = None) -> list[int]:
    """The oldest queued jobs (up to 5), or ``job_id`` if it is queued."""
    stmt = select(Job.id).where(Job.status == "queued").order_by(Job.id).limit(5)
    if job_id is not None:
        stmt = select(Job.id).where(Job.id == job_id, Job.status == "queued")
    return [int(i) for i in session.scalars(stmt).all()]


def claim(session: Session, job_id: int, when: datetime, worker: str) -> bool:
    """Mark a queued job running for ``worker``; False when another worker was faster."""
    res = session.execute(
        update(Job).where(Job.id == job_id, Job.status == "queued")
        .values(status="running", started_at=when, worker=worker))
    return getattr(res, "rowcount", 0) == 1


def get(session: Session, job_id: int) -> Job | None:
    """A job by id, unscoped (the worker's own reads)."""
    return session.get(Job, job_id)


def set_values(session: Session, job_id: int, values: dict[str, Any]) -> None:
    """Update columns of one job."""
    session.execute(update(Job).where(Job.id == job_id).values(**values))


def running(session: Session) -> list[tuple[int, str | None]]:
    """(id, worker) of every running job."""
    return [(int(i), w) for i, w in
            session.execute(select(Job.id, Job.worker).where(Job.status == "running"))]


def fail_running(session: Session, ids: list[int], when: datetime, error: str) -> None:
    """Mark failed those of ``ids`` that are still running."""
    session.execute(update(Job).where(Job.id.in_(ids), Job.status == "running").values(
        status="failed", finished_at=when, error=error))


def job_visible(actor: Actor) -> Any:
    """Jobs an actor may see: those submitted within its region scope (bureau roles), or
    its own."""
    own = Job.created_by == actor.user_id if actor.user_id is not None else Job.id < 0
    if actor.is_bureau:
        if actor.region_path == "/":
            return Job.id.is_not(None)
        return region_code_in_scope(actor, Job.region_code) | own
    return own


def visible_job(session: Session, actor: Actor, job_id: int) -> Job | None:
    return session.scalars(select(Job).where(Job.id == job_id, job_visible(actor))).first()


def visible_jobs(session: Session, actor: Actor, limit: int) -> list[Job]:
    return list(session.scalars(select(Job).where(job_visible(actor))
                                .order_by(Job.id.desc()).limit(limit)))
