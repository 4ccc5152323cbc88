"""JSON API of scoring runs under ``/api/v1`` (bureau roles): systems, runs, one run's
ranking and one enterprise's explanation — the same services as the pages."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from kechuang.scoring import repository as repo
from kechuang.scoring import service
from kechuang.web.deps import BUREAU, DB, CurrentActor, PageNo, PageSize, RowId, allow

router = APIRouter(tags=["scoring"])


@router.get("/scoring/systems", dependencies=[allow(BUREAU)])
def systems() -> list[dict[str, Any]]:
    """Every indicator-system version a run can use."""
    return [{"id": s.id, "version": s.version, "name": s.name,
             "effective_from": s.effective_from.isoformat(), "file": s.file,
             "indicators": s.indicators} for s in repo.available_systems()]


@router.get("/scoring/runs", dependencies=[allow(BUREAU)])
def runs(db: DB, actor: CurrentActor, system_id: str | None = None) -> list[dict[str, Any]]:
    """Runs visible to the caller, newest first."""
    return [service.run_dict(r) for r in repo.runs_of(db, actor, system_id)]


@router.get("/scoring/runs/{run_id}", dependencies=[allow(BUREAU)])
def run(db: DB, actor: CurrentActor, run_id: RowId) -> dict[str, Any]:
    """One run: system id/version/hash, parameters, input hash, counts, engine notes."""
    return service.run_dict(repo.get_run(db, actor, run_id))


@router.get("/scoring/runs/{run_id}/results", dependencies=[allow(BUREAU)])
def results(db: DB, actor: CurrentActor, run_id: RowId, industry: str | None = None,
            region: str | None = None, stage: str | None = None, tier: str | None = None,
            page: PageNo = 1, size: PageSize = 50) -> dict[str, Any]:
    """One page of the run's ranking over the caller's enterprises (filters optional)."""
    p = service.ranking(db, actor, run_id, industry=industry, region=region, stage=stage,
                        tier=tier, page=page, size=size)
    return {"total": p.total, "page": p.page, "pages": p.pages, "rows": p.rows}


@router.get("/scoring/runs/{run_id}/enterprises/{uscc}", dependencies=[allow(BUREAU)])
def explanation(db: DB, actor: CurrentActor, run_id: RowId, uscc: str) -> dict[str, Any]:
    """Per indicator raw → imputed → treated → normalised → weight → contribution with the
    facts and import batches behind it; places, group scores, list tier and veto."""
    return service.explain(db, actor, run_id, uscc).as_dict()
