"""Job pages: the list of jobs in the actor's scope, one job with an HTMX-polled progress
partial (the partial stops polling once the job has finished)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from kechuang.jobs import i18n as _i18n  # noqa: F401  (registers the UI strings)
from kechuang.jobs import service
from kechuang.web import nav
from kechuang.web.deps import BUREAU, DB, LOGGED_IN, CurrentActor, RowId, allow
from kechuang.web.i18n import translate
from kechuang.web.render import locale_of, render

router = APIRouter(include_in_schema=False)

nav.register("/jobs", "jobs.title", BUREAU, 90, "system")

TONES = {"queued": "muted", "running": "warn", "done": "ok", "failed": "bad"}


def kind_label(kind: str, locale: str) -> str:
    """A job kind in words (the code itself when the catalogue has no label)."""
    key = f"jobs.kind.{kind}"
    text = translate(key, locale)
    return kind if text == key else text


def _flat(value: Any) -> Any:
    if isinstance(value, list | tuple):
        return "、".join(str(v) for v in value) if value else "—"
    if isinstance(value, dict):
        return "，".join(f"{k} {v}" for k, v in value.items())
    return value


def result_sentence(kind: str, result: dict[str, Any] | None, locale: str) -> str:
    """A finished job's result as a sentence a bureau reads (never JSON)."""
    result = dict(result or {})
    if kind == "policy.run":
        result.setdefault("policies", len(result.get("runs") or []))
    if kind == "matching.index.rebuild":
        result.update({k: v for k, v in (result.get("counts") or {}).items()})
    key = f"jobs.result.{kind}"
    try:
        text = translate(key, locale, **{k: _flat(v) for k, v in result.items()})
    except (KeyError, IndexError, ValueError):
        text = key
    if text == key or "{" in text:  # no sentence for this kind, or a field missing
        return translate("jobs.result.generic", locale)
    return text


def param_rows(params: dict[str, Any] | None, locale: str) -> list[tuple[str, str]]:
    """A job's parameters as (label, value) rows."""
    rows = []
    for name, value in (params or {}).items():
        key = f"jobs.param.{name}"
        label = translate(key, locale)
        rows.append((name if label == key else label, str(_flat(value))))
    return rows


def _context(request: Request, db: DB, job_id: RowId, actor: CurrentActor) -> dict[str, object]:
    job = service.get_job(db, actor, job_id)
    data = service.job_dict(db, job)
    locale = locale_of(request)
    return {"job": job, "data": data, "tone": TONES.get(job.status, "muted"),
            "finished": job.status in ("done", "failed"),
            "kind_label": kind_label(job.kind, locale),
            "sentence": result_sentence(job.kind, job.result, locale)
            if job.status == "done" else None,
            "params": param_rows(job.params, locale)}


@router.get("/jobs", dependencies=[allow(BUREAU)])
def job_list(request: Request, db: DB, actor: CurrentActor):
    jobs = service.list_jobs(db, actor)
    locale = locale_of(request)
    rows = [{**service.job_dict(db, j), "job": j, "kind_label": kind_label(j.kind, locale)}
            for j in jobs]
    return render(request, "jobs/list.html", {"rows": rows, "tones": TONES})


@router.get("/jobs/{job_id}", dependencies=[allow(LOGGED_IN)])
def job_page(request: Request, db: DB, actor: CurrentActor, job_id: RowId):
    return render(request, "jobs/detail.html", _context(request, db, job_id, actor))


@router.get("/jobs/{job_id}/progress", dependencies=[allow(LOGGED_IN)])
def job_progress(request: Request, db: DB, actor: CurrentActor, job_id: RowId):
    return render(request, "jobs/_progress.html", _context(request, db, job_id, actor))
