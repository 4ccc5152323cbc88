"""JSON API of robustness analyses under ``/api/v1`` (bureau roles; the scoring run's scope)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, Field

from kechuang.jobs.service import submit
from kechuang.kit.errors import InvalidInput
from kechuang.robustness import repository as repo
from kechuang.robustness import service
from kechuang.robustness.jobs import KIND
from kechuang.web.deps import BUREAU, DB, CurrentActor, Offset, PageSize, RowId, allow

router = APIRouter(tags=["robustness"])


class AnalysisOut(BaseModel):
    """One analysis: configuration, the robustness rule, sensitivity indices per factor
    (label, levels, S1, ST with confidence)."""

    id: int
    scoring_run_id: int
    replications: int
    seed: int | None
    unstable: int | None
    ranked: Any
    parameters: dict[str, Any] | None
    rule: dict[str, Any] | None
    sensitivity: dict[str, dict[str, Any]]
    job_id: int | None
    actor: str | None
    created_at: str | None


class QueuedOut(BaseModel):
    job_id: int
    status: str
    job_url: str


class AnalysisResultOut(BaseModel):
    enterprise_id: int
    uscc: str
    name: str
    points: float | None
    rank: int | None
    stage: str | None
    list_tier: str | None
    median_rank: float
    rank_p05: float
    rank_p95: float
    width: float
    robust: bool


class AnalysisResultsOut(BaseModel):
    total: int
    limit: int
    offset: int
    results: list[AnalysisResultOut]


class StartAnalysis(BaseModel):
    replications: int | None = Field(default=None, ge=1, le=100_000)
    seed: int | None = Field(default=None, ge=0, lt=2**31)


@router.get("/robustness/runs/{scoring_run_id}", dependencies=[allow(BUREAU)])
def run_analyses(db: DB, actor: CurrentActor, scoring_run_id: RowId) -> list[AnalysisOut]:
    """The analyses of one scoring run, newest first."""
    run = service.get_scoring_run(db, actor, scoring_run_id)
    return [AnalysisOut.model_validate(service.analysis_dict(db, a))
            for a in repo.analyses_of(db, run.id)]


@router.post("/robustness/runs/{scoring_run_id}", dependencies=[allow(BUREAU)],
             status_code=202)
def start_analysis(db: DB, actor: CurrentActor, scoring_run_id: RowId,
                   body: StartAnalysis | None = None) -> QueuedOut:
    """Queue an analysis of a scoring run as a job (kind ``robustness``); poll
    ``/api/v1/jobs/{id}`` for progress, its result names the analysis."""
    run = service.get_run_to_analyse(db, actor, scoring_run_id)
    if service.results_count_of_run(db, run.id) == 0:
        raise InvalidInput(f"评分运行 {run.id} 没有任何企业结果，无法做稳健性分析",
                           f"scoring run {run.id} has no results")
    b = body or StartAnalysis()
    job = submit(db, actor, KIND, {"run_id": run.id, "replications": b.replications,
                                   "seed": b.seed})
    return QueuedOut(job_id=job.id, status=job.status, job_url=f"/api/v1/jobs/{job.id}")


@router.get("/robustness/{analysis_id}", dependencies=[allow(BUREAU)])
def analysis(db: DB, actor: CurrentActor, analysis_id: RowId) -> AnalysisOut:
    """One analysis: configuration, rule, sensitivity indices (S1, ST with confidence)."""
    return AnalysisOut.model_validate(
        service.analysis_dict(db, service.get_analysis(db, actor, analysis_id)))


@router.get("/robustness/{analysis_id}/results", dependencies=[allow(BUREAU)])
def analysis_results(db: DB, actor: CurrentActor, analysis_id: RowId,
                     only_unstable: bool = False, limit: PageSize = 100, offset: Offset = 0
                     ) -> AnalysisResultsOut:
    """Per enterprise (in the actor's scope), widest interval first: median rank, 5th and
    95th percentile rank, robust, with the run's points, rank, stage and list tier."""
    rr = service.get_analysis(db, actor, analysis_id)
    limit = max(1, min(limit, 1000))
    total, rows = repo.results_page(db, actor, rr, only_unstable=only_unstable, limit=limit,
                                    offset=max(0, offset))
    return AnalysisResultsOut.model_validate(
        {"total": total, "limit": limit, "offset": max(0, offset), "results": rows})
