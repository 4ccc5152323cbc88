"""Pages of robustness analyses (bureau roles): the scoring runs with their latest analysis,
one run's analyses with the form that starts a new one as a job, and one analysis with the
sensitivity table and chart and the least robust enterprises (pages swapped in with HTMX)."""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse

from kechuang.jobs.service import submit
from kechuang.kit.errors import InvalidInput
from kechuang.robustness import i18n as _i18n  # noqa: F401  (registers the UI strings)
from kechuang.robustness import repository as repo
from kechuang.robustness import service
from kechuang.robustness.jobs import KIND
from kechuang.scoring import service as scoring_service
from kechuang.web import nav
from kechuang.web.deps import BUREAU, DB, CurrentActor, PageNo, RowId, allow
from kechuang.web.i18n import translate
from kechuang.web.render import locale_of, render

router = APIRouter(include_in_schema=False)

nav.register("/robustness", "robustness.nav", BUREAU, 52, "assess")

PAGE = 50


def parse_int(value: str | None, label: str, low: int, high: int) -> int | None:
    """A form number, or None when empty; a clear message when it is not in [low, high]."""
    if value is None or not value.strip():
        return None
    try:
        n = int(value.strip())
    except ValueError:
        raise InvalidInput(f"{label}应为整数：{value}", f"{label} must be an integer") from None
    if not low <= n <= high:
        raise InvalidInput(f"{label}应在 {low} 到 {high} 之间，实为 {n}",
                           f"{label} must be between {low} and {high}")
    return n


@router.get("/robustness", dependencies=[allow(BUREAU)])
def index(request: Request, db: DB, actor: CurrentActor):
    runs = scoring_service.runs_of(db, actor, None, limit=100)
    latest: dict[int, Any] = {}
    for a in repo.recent_analyses(db, [r.id for r in runs], limit=500):
        latest.setdefault(a.scoring_run_id, a)
    return render(request, "robustness/index.html", {"runs": runs, "latest": latest})


@router.get("/robustness/runs/{scoring_run_id}", dependencies=[allow(BUREAU)])
def run_page(request: Request, db: DB, actor: CurrentActor, scoring_run_id: RowId):
    run = service.get_scoring_run(db, actor, scoring_run_id)
    return render(request, "robustness/run.html", {
        "run": run, "analyses": repo.analyses_of(db, run.id),
        "defaults": service.load_config()})


@router.post("/robustness/runs/{scoring_run_id}", dependencies=[allow(BUREAU)])
def start(db: DB, actor: CurrentActor, scoring_run_id: RowId,
          replications: Annotated[str | None, Form()] = None,
          seed: Annotated[str | None, Form()] = None):
    run = service.get_run_to_analyse(db, actor, scoring_run_id)
    params = {"run_id": run.id,
              "replications": parse_int(replications, "重复次数", 1, 100_000),
              "seed": parse_int(seed, "随机种子", 0, 2**31 - 1)}
    if service.results_count_of_run(db, run.id) == 0:
        raise InvalidInput(f"评分运行 {run.id} 没有任何企业结果，无法做稳健性分析",
                           f"scoring run {run.id} has no results")
    job = submit(db, actor, KIND, params)
    return RedirectResponse(f"/jobs/{job.id}", status_code=303)


def _rows_context(db: Any, actor: Any, analysis_id: RowId, page: int, only_unstable: bool
                  ) -> dict[str, Any]:
    rr = service.get_analysis(db, actor, analysis_id)
    page = max(1, page)
    total, rows = repo.results_page(db, actor, rr, only_unstable=only_unstable, limit=PAGE,
                                    offset=(page - 1) * PAGE)
    return {"rr": rr, "rows": rows, "total": total, "page": page,
            "pages": max(1, -(-total // PAGE)), "only_unstable": only_unstable}


@router.get("/robustness/{analysis_id}", dependencies=[allow(BUREAU)])
def analysis_page(request: Request, db: DB, actor: CurrentActor, analysis_id: RowId,
                  page: PageNo = 1, only_unstable: bool = True):
    ctx = _rows_context(db, actor, analysis_id, page, only_unstable)
    rr = ctx["rr"]
    factors = service.sensitivity_rows(rr)
    run = service.get_scoring_run(db, actor, rr.scoring_run_id)
    locale = locale_of(request)
    labels = {f.factor: translate(f"robustness.factor.{f.factor}", locale) for f in factors}
    labels.update(S1=translate("robustness.s1", locale), ST=translate("robustness.st", locale))
    ctx.update(run=run, factors=factors, params=rr.parameters or {}, rule=rr.rule or {},
               chart_json=json.dumps(service.chart_option(factors, labels),
                                     ensure_ascii=False),
               has_sensitivity=any(f.st is not None for f in factors))
    return render(request, "robustness/analysis.html", ctx)


@router.get("/robustness/{analysis_id}/rows", dependencies=[allow(BUREAU)])
def analysis_rows(request: Request, db: DB, actor: CurrentActor, analysis_id: RowId,
                  page: PageNo = 1, only_unstable: bool = False):
    return render(request, "robustness/_rows.html",
                  _rows_context(db, actor, analysis_id, page, only_unstable))
