"""Bureau pages of commissioner dispatch: open requests with a run button, a run's result
(assignments, total fit, proof, unserved requests with the binding constraint, alternates),
and per-request confirm / re-dispatch as HTMX partial updates of one table row.

A run is computed within the POST request (2,000 requests take about a second or two;
docs/bench-notes/dispatch.md).
"""

from __future__ import annotations

import json
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse

from kechuang.dispatch import i18n as _i18n  # noqa: F401  (registers the UI strings)
from kechuang.dispatch import service
from kechuang.dispatch.jobs import KIND
from kechuang.jobs.service import submit
from kechuang.web import nav
from kechuang.web.deps import BUREAU, DB, CurrentActor, RowId, allow
from kechuang.web.render import locale_of, render

router = APIRouter(include_in_schema=False)
nav.register("/dispatch", "dispatch.title", BUREAU, 60, "policy")


@router.get("/dispatch", dependencies=[allow(BUREAU)])
def dispatch_home(request: Request, db: DB, actor: CurrentActor):
    return render(request, "dispatch/home.html", service.overview(db, actor))


@router.post("/dispatch/run", dependencies=[allow(BUREAU)])
def dispatch_run(db: DB, actor: CurrentActor,
                 alternates: Annotated[int, Form(ge=0, le=20)] = service.DEFAULT_ALTERNATES):
    job = submit(db, actor, KIND, {"alternates": alternates})
    return RedirectResponse(f"/jobs/{job.id}", status_code=303)


def _fit_histogram(rows: list[service.RunRow]) -> str:
    """ECharts option: assignments per fit band (the run's quality at a glance)."""
    edges = [0.0, 0.2, 0.4, 0.6, 0.8, 1.0, 1.2, 1.4]
    counts = [0] * len(edges)
    for r in rows:
        for a, _ in r.assignments:
            if a.status != "replaced":
                band = sum(1 for e in edges[1:] if a.fit >= e)
                counts[band] += 1
    labels = [f"≥{e:.1f}" for e in edges]
    return json.dumps({"xAxis": {"type": "category", "data": labels},
                       "yAxis": {"type": "value", "minInterval": 1},
                       "grid": {"left": 40, "right": 10, "top": 10, "bottom": 30},
                       "series": [{"type": "bar", "data": counts}]})


@router.get("/dispatch/runs/{run_id}", dependencies=[allow(BUREAU)])
def run_page(request: Request, db: DB, actor: CurrentActor, run_id: RowId):
    run, rows = service.run_detail(db, actor, run_id, locale_of(request))
    return render(request, "dispatch/run.html",
                  {"run": run, "rows": rows, "chart_json": _fit_histogram(rows)})


def _row(request: Request, db: DB, actor: CurrentActor, run_id: RowId, request_id: int):
    run, rows = service.run_detail(db, actor, run_id, locale_of(request))
    row = next(r for r in rows if r.request.id == request_id)
    return render(request, "dispatch/_row.html", {"run": run, "r": row})


@router.post("/dispatch/assignments/{assignment_id}/confirm", dependencies=[allow(BUREAU)])
def confirm(request: Request, db: DB, actor: CurrentActor, assignment_id: RowId):
    a = service.do_confirm(db, actor, assignment_id)
    db.flush()
    if request.headers.get("hx-request") == "true":
        return _row(request, db, actor, a.run_id, a.request_id)
    return RedirectResponse(f"/dispatch/runs/{a.run_id}", status_code=303)


@router.post("/dispatch/assignments/{assignment_id}/redispatch", dependencies=[allow(BUREAU)])
def redispatch(request: Request, db: DB, actor: CurrentActor, assignment_id: RowId,
               commissioner_id: Annotated[str, Form()] = ""):
    chosen = int(commissioner_id) if commissioner_id.strip().isdigit() else None
    a = service.do_redispatch(db, actor, assignment_id, chosen)
    if request.headers.get("hx-request") == "true":
        return _row(request, db, actor, a.run_id, a.request_id)
    return RedirectResponse(f"/dispatch/runs/{a.run_id}", status_code=303)
