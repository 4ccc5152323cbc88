"""JSON API of monitoring under ``/api/v1``: the dashboard, the indicator table, key tasks
and the department's progress reports."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request

from kechuang.monitoring import service
from kechuang.monitoring.schemas import Dashboard, IndicatorRow, ReportIn, ReportOut, TaskOut
from kechuang.web.deps import BUREAU, DB, CurrentActor, RowId, allow
from kechuang.web.render import locale_of

router = APIRouter(tags=["monitoring"])
TASK_ROLES = BUREAU | {"department"}
YearQ = Annotated[int | None, Query(ge=2000, le=2100)]


@router.get("/monitoring/dashboard", dependencies=[allow(BUREAU)], response_model=Dashboard)
def dashboard(request: Request, db: DB, actor: CurrentActor, year: YearQ = None,
              region: str | None = None, compare: str | None = None) -> Dashboard:
    """Every indicator of the region (default: the actor's) in ``year`` with the year
    before, YoY change, target and progress; one indicator across towns and parks."""
    return service.dashboard(db, actor, region_code=region, year=year, compare=compare,
                             locale=locale_of(request))


@router.get("/monitoring/indicators", dependencies=[allow(BUREAU)],
            response_model=list[IndicatorRow])
def indicators(db: DB, actor: CurrentActor, region: str | None = None,
               year_from: YearQ = None, year_to: YearQ = None) -> list[IndicatorRow]:
    """Every indicator for the region and each of its towns and parks, per year (default:
    the last five years)."""
    years = service.default_years()
    if year_from or year_to:
        lo = year_from or year_to or years[0]
        hi = year_to or year_from or years[-1]
        years = list(range(min(lo, hi), max(lo, hi) + 1))[:20]
    return service.indicator_rows(db, actor, region, years)


@router.get("/monitoring/tasks", dependencies=[allow(TASK_ROLES)], response_model=list[TaskOut])
def tasks(request: Request, db: DB, actor: CurrentActor, department: str | None = None,
          year: YearQ = None) -> list[TaskOut]:
    """Key tasks with their latest report and flags (a department: its own)."""
    return service.tasks(db, actor, department=department, year=year,
                         locale=locale_of(request))


@router.get("/monitoring/tasks/{task_id}", dependencies=[allow(TASK_ROLES)],
            response_model=TaskOut)
def task(request: Request, db: DB, actor: CurrentActor, task_id: RowId) -> TaskOut:
    return service.task_detail(db, actor, task_id, locale_of(request))


@router.post("/monitoring/tasks/{task_id}/reports", dependencies=[allow("department")],
             response_model=ReportOut)
def report(db: DB, actor: CurrentActor, task_id: RowId, body: ReportIn) -> ReportOut:
    """A progress report by the owner department's account."""
    r = service.do_report(db, actor, task_id, body)
    return ReportOut(id=r.id, progress=r.progress, status=r.status, note=r.note,
                     actor=r.actor, reported_at=r.reported_at.isoformat())
