"""JSON API of jobs under ``/api/v1``: poll one job's status, progress and result."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from kechuang.jobs import service
from kechuang.web.deps import DB, LOGGED_IN, CurrentActor, RowId, allow

router = APIRouter(tags=["jobs"])


@router.get("/jobs/{job_id}", dependencies=[allow(LOGGED_IN)])
def job(db: DB, actor: CurrentActor, job_id: RowId) -> dict[str, Any]:
    """One job visible to the caller (submitted within its region scope, or its own):
    ``status`` queued|running|done|failed, ``progress`` {label, done, total, percent},
    ``result`` (e.g. ``{"run_id": 7, "url": "/scoring/runs/7"}``) or ``error``."""
    return service.job_dict(db, service.get_job(db, actor, job_id))
