"""JSON API of scoring runs under ``/api/v1`` (bureau roles): systems, runs, one run's
ranking and one enterprise's explanation — the same services as the pages."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel

from kechuang.scoring import repository as repo
from kechuang.scoring import service
from kechuang.web.deps import BUREAU, DB, CurrentActor, PageNo, PageSize, RowId, allow

router = APIRouter(tags=["scoring"])


# --------------------------------------------------------------------------- responses
class SystemOut(BaseModel):
    id: str
    version: str
    name: str
    effective_from: str
    file: str
    indicators: int


class RunOut(BaseModel):
    id: int
    system_id: str
    system_version: str
    system_name: str
    system_hash: str
    year: int
    parameters: dict[str, Any] | None
    input_hash: str | None
    region_code: str | None
    enterprises: int | None
    vetoed: int | None
    indicators: list[str] | None
    groups: list[str] | None
    notes: list[Any] | None
    published: bool | None
    job_id: int | None
    actor: str | None
    created_at: str | None


class RankingRowOut(BaseModel):
    uscc: str
    name: str
    points: float | None
    rank: int | None
    list_rank: int | None
    percentile: float | None
    rank_industry: int | None
    rank_region: int | None
    rank_cohort: int | None
    industry_section: str | None
    region_code: str | None
    region_name: str | None
    stage: str | None
    list_tier: str | None
    list_tier_name: str | None
    veto: str | None
    prev_points: float | None
    prev_rank: int | None
    change: float | None
    rank_change: int | None
    groups: dict[str, float | None] | None


class RankingOut(BaseModel):
    total: int
    page: int
    pages: int
    rows: list[RankingRowOut]


class FactUsedOut(BaseModel):
    metric: str
    metric_name: str
    year: int
    value: str | None
    department: str | None
    department_name: str | None
    batch_id: int
    filename: str
    imported_at: str | None


class IndicatorOut(BaseModel):
    code: str
    name: str
    path: list[str]
    formula: str
    direction: int
    source: str | None
    raw: float | None
    imputed: float | None
    treated: float | None
    normalised: float | None
    weight: float | None
    contribution: float | None
    facts: list[FactUsedOut]


class GroupScoreOut(BaseModel):
    code: str
    name: str
    score: float | None
    rank: int | None


class ExplanationOut(BaseModel):
    run_id: int
    system_id: str
    system_version: str
    system_name: str
    year: int
    run_at: str | None
    enterprise_id: int
    uscc: str
    name: str
    points: float | None
    rank: int | None
    list_rank: int | None
    percentile: float | None
    rank_industry: int | None
    rank_region: int | None
    rank_cohort: int | None
    industry_section: str | None
    region_code: str | None
    stage: str | None
    list_tier: str | None
    list_tier_name: str | None
    veto: list[dict[str, str]]
    prev_points: float | None
    prev_rank: int | None
    change: float | None
    groups: list[GroupScoreOut]
    indicators: list[IndicatorOut]


@router.get("/scoring/systems", dependencies=[allow(BUREAU)])
def systems() -> list[SystemOut]:
    """Every indicator-system version a run can use."""
    return [SystemOut(**{"id": s.id, "version": s.version, "name": s.name,
             "effective_from": s.effective_from.isoformat(), "file": s.file,
             "indicators": s.indicators}) for s in repo.available_systems()]


@router.get("/scoring/runs", dependencies=[allow(BUREAU)])
def runs(db: DB, actor: CurrentActor, system_id: str | None = None) -> list[RunOut]:
    """Runs visible to the caller, newest first."""
    return [RunOut(**service.run_dict(r)) for r in repo.runs_of(db, actor, system_id)]


@router.get("/scoring/runs/{run_id}", dependencies=[allow(BUREAU)])
def run(db: DB, actor: CurrentActor, run_id: RowId) -> RunOut:
    """One run: system id/version/hash, parameters, input hash, counts, engine notes."""
    return RunOut(**service.run_dict(repo.get_run(db, actor, run_id)))


@router.get("/scoring/runs/{run_id}/results", dependencies=[allow(BUREAU)])
def results(db: DB, actor: CurrentActor, run_id: RowId, industry: str | None = None,
            region: str | None = None, stage: str | None = None, tier: str | None = None,
            page: PageNo = 1, size: PageSize = 50) -> RankingOut:
    """One page of the run's ranking over the caller's enterprises (filters optional)."""
    p = service.ranking(db, actor, run_id, industry=industry, region=region, stage=stage,
                        tier=tier, page=page, size=size)
    return RankingOut.model_validate(
        {"total": p.total, "page": p.page, "pages": p.pages, "rows": p.rows})


@router.get("/scoring/runs/{run_id}/enterprises/{uscc}", dependencies=[allow(BUREAU)])
def explanation(db: DB, actor: CurrentActor, run_id: RowId, uscc: str) -> ExplanationOut:
    """Per indicator raw → imputed → treated → normalised → weight → contribution with the
    facts and import batches behind it; places, group scores, list tier and veto."""
    return ExplanationOut.model_validate(service.explain(db, actor, run_id, uscc).as_dict())
