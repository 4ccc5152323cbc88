"""JSON API of jobs under ``/api/v1``: poll one job's status, progress and result."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel

from kechuang.jobs import service
from kechuang.web.deps import DB, LOGGED_IN, CurrentActor, RowId, allow

router = APIRouter(tags=["jobs"])


class ProgressOut(BaseModel):
    label: str
    done: int
    total: int
    percent: float | None


class JobOut(BaseModel):
    """A job: ``status`` queued|running|done|failed, its progress, then ``result`` (what
    the work returned, e.g. ``{"run_id": 7, "url": "/scoring/runs/7"}``) or ``error``."""

    id: int
    kind: str
    status: str
    params: dict[str, Any] | None
    progress: ProgressOut
    result: dict[str, Any] | None
    error: str | None
    actor: str | None
    created_at: str | None
    started_at: str | None
    finished_at: str | None


@router.get("/jobs/{job_id}", dependencies=[allow(LOGGED_IN)])
def job(db: DB, actor: CurrentActor, job_id: RowId) -> JobOut:
    """One job visible to the caller (submitted within its region scope, or its own):
    ``status`` queued|running|done|failed, ``progress`` {label, done, total, percent},
    ``result`` (e.g. ``{"run_id": 7, "url": "/scoring/runs/7"}``) or ``error``."""
    return JobOut.model_validate(service.job_dict(db, service.get_job(db, actor, job_id)))
