"""JSON API of carbon efficiency under ``/api/v1``: the bureau's overview and a month's
grades, an enterprise's months, the evaluations and a new evaluation."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from kechuang.carbon import service
from kechuang.carbon.schemas import EvaluationOut, GradeOut, GradePage, OverviewOut
from kechuang.web.deps import BUREAU, DB, CurrentActor, allow

router = APIRouter(tags=["carbon"])
Period = Annotated[str | None, Query(pattern=r"^\d{4}-(0[1-9]|1[0-2])$")]


@router.get("/carbon/overview", dependencies=[allow(BUREAU)], response_model=OverviewOut)
def overview(db: DB, actor: CurrentActor, period: Period = None) -> OverviewOut:
    """Share of enterprises per grade and month; one month by town and by industry."""
    return service.overview(db, actor, period)


@router.get("/carbon/grades", dependencies=[allow(BUREAU)], response_model=GradePage)
def grades(db: DB, actor: CurrentActor, period: Period = None, alerts: bool = False,
           limit: Annotated[int, Query(ge=1, le=1000)] = 200,
           offset: Annotated[int, Query(ge=0)] = 0) -> GradePage:
    """One month's grades in the actor's scope, best ratio first (``alerts=true``: alerted
    enterprises only)."""
    return service.grades(db, actor, period=period, alerts_only=alerts, limit=limit,
                          offset=offset)


@router.get("/carbon/enterprises/{uscc}", dependencies=[allow(BUREAU, "enterprise")],
            response_model=list[GradeOut])
def enterprise(db: DB, actor: CurrentActor, uscc: str) -> list[GradeOut]:
    """An enterprise's months, oldest first (its own account, or the bureau in scope)."""
    return service.enterprise_grades(db, actor, uscc)


@router.get("/carbon/evaluations", dependencies=[allow(BUREAU)],
            response_model=list[EvaluationOut])
def evaluations(db: DB, actor: CurrentActor) -> list[EvaluationOut]:
    return service.evaluations(db, actor)


@router.post("/carbon/evaluations", dependencies=[allow(BUREAU)], response_model=EvaluationOut)
def evaluate(db: DB, actor: CurrentActor, region_code: str | None = None) -> EvaluationOut:
    """Grade every month of the monthly facts in the actor's scope and store it."""
    return service.do_evaluate(db, actor, region_code=region_code)
