"""JSON API of dispatch under ``/api/v1`` (bureau only): run a dispatch, read a run."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel

from kechuang.dispatch import service
from kechuang.dispatch.schemas import RunRequest
from kechuang.web.deps import BUREAU, DB, CurrentActor, RowId, allow

router = APIRouter(tags=["dispatch"])


class ExplanationOut(BaseModel):
    """Why seats stay empty (kind: no_candidates, all_conflicted, zero_capacity,
    total_capacity, hall)."""

    kind: str
    task_ids: list[str]
    demand: int
    supply: int
    missing: int
    message_zh: str
    message_en: str


class AssignmentOut(BaseModel):
    id: int
    commissioner_id: int
    name: str
    fit: float
    status: str


class AlternateOut(BaseModel):
    commissioner_id: int
    name: str
    rank: int
    fit: float


class RequestDetailOut(BaseModel):
    request_id: int
    title: str
    status: str
    assignments: list[AssignmentOut]
    alternates: list[AlternateOut]
    unserved: list[str]


class DispatchRunOut(BaseModel):
    """A persisted dispatch run: counts, total fit, weights, optimality proof, and per
    request its assignments, alternates and why seats stayed empty."""

    id: int
    region_code: str | None
    requests: int
    commissioners: int
    seats_needed: int
    seats_filled: int
    total_fit: float
    weights: dict[str, Any]
    proof: dict[str, Any]
    created_at: str
    actor: str | None
    explanations: list[ExplanationOut]
    requests_detail: list[RequestDetailOut]


@router.post("/dispatch/runs", dependencies=[allow(BUREAU)])
def create_run(db: DB, actor: CurrentActor, body: RunRequest) -> DispatchRunOut:
    """Dispatch every open request in the actor's region (optionally a sub-region): the
    persisted run with assignments, alternates, total fit, optimality proof and the
    explanation of every unserved request."""
    summary = service.do_dispatch(db, actor, region_code=body.region_code,
                                  weights=body.fit_weights(), alternates=body.alternates)
    db.flush()
    run, rows = service.run_detail(db, actor, summary.run_id)
    return DispatchRunOut.model_validate(service.run_as_dict(run, rows))


@router.get("/dispatch/runs/{run_id}", dependencies=[allow(BUREAU)])
def get_run(db: DB, actor: CurrentActor, run_id: RowId) -> DispatchRunOut:
    """One dispatch run of the caller's region."""
    run, rows = service.run_detail(db, actor, run_id)
    return DispatchRunOut.model_validate(service.run_as_dict(run, rows))
