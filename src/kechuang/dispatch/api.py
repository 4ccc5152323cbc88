"""JSON API of dispatch under ``/api/v1`` (bureau only): run a dispatch, read a run."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from kechuang.dispatch import service
from kechuang.dispatch.schemas import RunRequest
from kechuang.web.deps import BUREAU, DB, CurrentActor, RowId, allow

router = APIRouter(tags=["dispatch"])


@router.post("/dispatch/runs", dependencies=[allow(BUREAU)])
def create_run(db: DB, actor: CurrentActor, body: RunRequest) -> dict[str, Any]:
    """Dispatch every open request in the actor's region (optionally a sub-region): the
    persisted run with assignments, alternates, total fit, optimality proof and the
    explanation of every unserved request."""
    summary = service.do_dispatch(db, actor, region_code=body.region_code,
                                  weights=body.fit_weights(), alternates=body.alternates)
    db.flush()
    run, rows = service.run_detail(db, actor, summary.run_id)
    return service.run_as_dict(run, rows)


@router.get("/dispatch/runs/{run_id}", dependencies=[allow(BUREAU)])
def get_run(db: DB, actor: CurrentActor, run_id: RowId) -> dict[str, Any]:
    run, rows = service.run_detail(db, actor, run_id)
    return service.run_as_dict(run, rows)
