"""Job pages: the list of jobs in the actor's scope, one job with an HTMX-polled progress
partial (the partial stops polling once the job has finished)."""

from __future__ import annotations

from fastapi import APIRouter, Request

from kechuang.jobs import i18n as _i18n  # noqa: F401  (registers the UI strings)
from kechuang.jobs import service
from kechuang.web import nav
from kechuang.web.deps import BUREAU, DB, LOGGED_IN, CurrentActor, RowId, allow
from kechuang.web.render import render

router = APIRouter(include_in_schema=False)

nav.register("/jobs", "jobs.title", BUREAU, 90)

TONES = {"queued": "muted", "running": "warn", "done": "ok", "failed": "bad"}


def _context(request: Request, db: DB, job_id: RowId, actor: CurrentActor) -> dict[str, object]:
    job = service.get_job(db, actor, job_id)
    data = service.job_dict(db, job)
    return {"job": job, "data": data, "tone": TONES.get(job.status, "muted"),
            "finished": job.status in ("done", "failed")}


@router.get("/jobs", dependencies=[allow(BUREAU)])
def job_list(request: Request, db: DB, actor: CurrentActor):
    jobs = service.list_jobs(db, actor)
    rows = [{**service.job_dict(db, j), "job": j} for j in jobs]
    return render(request, "jobs/list.html", {"rows": rows, "tones": TONES})


@router.get("/jobs/{job_id}", dependencies=[allow(LOGGED_IN)])
def job_page(request: Request, db: DB, actor: CurrentActor, job_id: RowId):
    return render(request, "jobs/detail.html", _context(request, db, job_id, actor))


@router.get("/jobs/{job_id}/progress", dependencies=[allow(LOGGED_IN)])
def job_progress(request: Request, db: DB, actor: CurrentActor, job_id: RowId):
    return render(request, "jobs/_progress.html", _context(request, db, job_id, actor))
