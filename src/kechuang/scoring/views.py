"""Pages of scoring runs (bureau roles): the run list with the form that starts a run as a
job, one run's ranking (filters and pages swapped in with HTMX) with a distribution chart,
and one enterprise's explanation."""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse
from sqlalchemy.orm import Session

from kechuang.auth.actor import Actor
from kechuang.jobs.service import submit
from kechuang.kit.errors import InvalidInput
from kechuang.scoring import i18n as _i18n  # noqa: F401  (registers the UI strings)
from kechuang.scoring import repository as repo
from kechuang.scoring import service
from kechuang.scoring.jobs import KIND
from kechuang.web import nav
from kechuang.web.deps import BUREAU, DB, CurrentActor, PageNo, RowId, allow
from kechuang.web.render import render

router = APIRouter(include_in_schema=False)

nav.register("/scoring", "scoring.nav", BUREAU, 50, "assess")

BUCKET = 5.0


def _histogram(db: Session, actor: Actor, run_id: RowId) -> dict[str, Any]:
    """Counts of points per 5-point bucket and stage, over the enterprises the actor sees."""
    rows = service.histogram(db, actor, run_id, BUCKET)
    if not rows:
        return {"buckets": [], "series": {}}
    lo = int(min(r[1] for r in rows))
    hi = int(max(r[1] for r in rows))
    labels = [f"{b * BUCKET:g}–{(b + 1) * BUCKET:g}" for b in range(lo, hi + 1)]
    series: dict[str, list[int]] = {}
    for stage, b, n in rows:
        key = stage or "—"
        series.setdefault(key, [0] * len(labels))[int(b) - lo] += int(n)
    return {"buckets": labels, "series": series}


@router.get("/scoring", dependencies=[allow(BUREAU)])
def run_list(request: Request, db: DB, actor: CurrentActor):
    runs = repo.runs_of(db, actor, None)
    return render(request, "scoring/runs.html", {
        "runs": runs, "systems": repo.available_systems(),
        "latest_year": service.latest_data_year(db, actor)})


@router.post("/scoring/runs", dependencies=[allow(BUREAU)])
def start_run(db: DB, actor: CurrentActor, system: Annotated[str, Form()],
              year: Annotated[str | None, Form()] = None,
              version: Annotated[str | None, Form()] = None):
    y: int | None = None
    if year and year.strip():
        try:
            y = int(year.strip())
        except ValueError as exc:
            raise InvalidInput(f"评分年度应为四位数字年份：{year}",
                               f"year must be a four-digit year: {year}") from exc
    sys_ = repo.load_system(system.strip(), (version or "").strip() or None)
    job = submit(db, actor, KIND, {"system_id": sys_.id, "version": sys_.version, "year": y})
    return RedirectResponse(f"/jobs/{job.id}", status_code=303)


def _filters(industry: str | None, region: str | None, stage: str | None,
             tier: str | None) -> dict[str, str | None]:
    return {"industry": industry or None, "region": region or None, "stage": stage or None,
            "tier": tier or None}


@router.get("/scoring/runs/{run_id}", dependencies=[allow(BUREAU)])
def run_page(request: Request, db: DB, actor: CurrentActor, run_id: RowId,
             industry: str | None = None, region: str | None = None,
             stage: str | None = None, tier: str | None = None, page: PageNo = 1):
    run = repo.get_run(db, actor, run_id)
    chosen = _filters(industry, region, stage, tier)
    ranking = service.ranking(db, actor, run_id, page=page, industry=chosen["industry"],
                              region=chosen["region"], stage=chosen["stage"],
                              tier=chosen["tier"])
    ctx = {"run": run, "ranking": ranking, "chosen": chosen,
           "query": {k: v for k, v in chosen.items() if v}}
    if request.headers.get("hx-request"):
        return render(request, "scoring/_rows.html", ctx)
    ctx.update(filters=service.run_filters(db, actor, run_id),
               chart_json=json.dumps(_histogram(db, actor, run_id), ensure_ascii=False),
               previous=(run.parameters or {}).get("previous_run_id"))
    return render(request, "scoring/run.html", ctx)


@router.get("/scoring/runs/{run_id}/enterprises/{uscc}", dependencies=[allow(BUREAU)])
def explain_page(request: Request, db: DB, actor: CurrentActor, run_id: RowId, uscc: str):
    exp = service.explain(db, actor, run_id, uscc)
    return render(request, "scoring/explain.html", {"e": exp})
