"""Pages of monitoring: the director's indicator dashboard (cards with target, progress and
YoY; towns and parks compared in a chart; export; targets and uploads) and the key-task
list (flags, per-department summary, dispatch reports as XLSX and PDF, task detail with the
department's report form)."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Annotated

from fastapi import APIRouter, File, Form, Query, Request, UploadFile
from fastapi.responses import RedirectResponse, Response

from kechuang.kit.errors import InvalidInput
from kechuang.monitoring import i18n as _i18n  # noqa: F401  (registers the UI strings)
from kechuang.monitoring import parameters, reports, service
from kechuang.monitoring.schemas import Dashboard, ReportIn, TaskIn
from kechuang.web import nav
from kechuang.web.deps import BUREAU, DB, CurrentActor, RowId, allow
from kechuang.web.i18n import translate
from kechuang.web.render import locale_of, render

router = APIRouter(include_in_schema=False)
TASK_ROLES = BUREAU | {"department"}
YearQ = Annotated[int | None, Query(ge=2000, le=2100)]
MAX_UPLOAD = 5 * 1024 * 1024

nav.register("/monitoring", "monitoring.title", BUREAU, 48, "watch")
nav.register("/monitoring/tasks", "monitoring.tasks.title", TASK_ROLES, 49, "watch")


def compare_chart(d: Dashboard, locale: str) -> str:
    ind = parameters.indicator_system().by_id()[d.compare_indicator]
    return json.dumps({
        "tooltip": {"trigger": "axis"},
        "grid": {"left": 150, "right": 20, "top": 10, "bottom": 25},
        "xAxis": {"type": "value", "name": ind.unit_label(locale)},
        "yAxis": {"type": "category", "inverse": True,
                  "data": [r.name for r in d.regions]},
        "series": [{"type": "bar", "name": ind.label(locale), "itemStyle": {"color": "#3a6ea5"},
                    "data": [r.value for r in d.regions]}]}, ensure_ascii=False)


def _fmt(v: float | None) -> str:
    if v is None:
        return "—"
    return f"{v:,.2f}".rstrip("0").rstrip(".") if abs(v) < 1e6 else f"{v:,.0f}"


@router.get("/monitoring", dependencies=[allow(BUREAU)])
def dashboard_page(request: Request, db: DB, actor: CurrentActor, year: YearQ = None,
                   compare: str | None = None, region: str | None = None,
                   saved: int | None = None):
    locale = locale_of(request)
    d = service.dashboard(db, actor, region_code=region, year=year, compare=compare,
                          locale=locale)
    system = parameters.indicator_system()
    return render(request, "monitoring/index.html", {
        "d": d, "chart": compare_chart(d, locale), "fmt": _fmt, "saved": saved,
        "indicators": [(i.id, i.label(locale)) for i in system.indicators],
        "uploaded": {k: request.query_params.get(k, "") for k in ("rows", "inserted", "updated")}
        if request.query_params.get("rows") else None})


@router.get("/monitoring/export.xlsx", dependencies=[allow(BUREAU)])
def export(request: Request, db: DB, actor: CurrentActor, year: YearQ = None,
           region: str | None = None):
    locale = locale_of(request)
    d = service.dashboard(db, actor, region_code=region, year=year, locale=locale)
    table = service.indicator_table(db, actor, d.region_code, [d.year - 1, d.year])
    system = parameters.indicator_system()
    names = {r.region_code: r.name for r in d.regions}
    header = [translate("monitoring.col.region", locale), translate("monitoring.year", locale)]
    header += [f"{i.label(locale)}（{i.unit_label(locale)}）" for i in system.indicators]
    rows = []
    for code, name in names.items():
        for y in (d.year - 1, d.year):
            sub = table[(table["region_code"] == code) & (table["year"] == y)]
            vals = dict(zip(sub["indicator_id"], sub["value"], strict=False))
            rows.append([name, y, *[None if vals.get(i.id) is None or vals[i.id] != vals[i.id]
                                    else float(vals[i.id]) for i in system.indicators]])
    body = reports.indicators_xlsx(d, rows, header, locale)
    return Response(body, media_type="application/vnd.openxmlformats-officedocument."
                    "spreadsheetml.sheet", headers={
                        "Content-Disposition": f'attachment; filename="indicators-{d.year}.xlsx"'})


@router.post("/monitoring/targets", dependencies=[allow(BUREAU)])
def set_target(db: DB, actor: CurrentActor,
               indicator_id: Annotated[str, Form(max_length=64)],
               year: Annotated[int, Form(ge=2000, le=2100)],
               target: Annotated[str, Form(max_length=40)],
               region: Annotated[str | None, Form(max_length=12)] = None):
    try:
        value = Decimal(target.replace(",", "").strip())
    except InvalidOperation:
        raise InvalidInput(f"目标值“{target}”不是数字", f"target {target!r} is not a number") \
            from None
    if not value.is_finite():
        raise InvalidInput(f"目标值“{target}”不是数字", f"target {target!r} is not a number")
    service.do_set_target(db, actor, region_code=region or actor.region_code or "",
                          indicator_id=indicator_id, year=year, target=value)
    return RedirectResponse(f"/monitoring?year={year}&saved=1", status_code=303)


@router.post("/monitoring/upload", dependencies=[allow(BUREAU)])
def upload(db: DB, actor: CurrentActor, file: Annotated[UploadFile, File()],
           kind: Annotated[str, Form(pattern="^(values|targets)$")] = "values"):
    data = file.file.read(MAX_UPLOAD + 1)
    if len(data) > MAX_UPLOAD:
        raise InvalidInput("文件超过 5 MB", "file larger than 5 MB")
    s = service.do_upload_bytes(db, actor, data, file.filename or "upload.csv", kind=kind)
    return RedirectResponse(f"/monitoring?rows={s.rows}&inserted={s.inserted}"
                            f"&updated={s.updated}", status_code=303)


# --------------------------------------------------------------------------- tasks
def _task_context(request: Request, db: DB, actor: CurrentActor, department: str | None,
                  year: int | None) -> dict[str, object]:
    locale = locale_of(request)
    items = service.tasks(db, actor, department=department or None, year=year, locale=locale)
    return {"items": items, "summary": service.dispatch_summary(items),
            "departments": service.department_choices(db, locale),
            "filters": {"department": department or "", "year": year or ""}}


@router.get("/monitoring/tasks", dependencies=[allow(TASK_ROLES)])
def tasks_page(request: Request, db: DB, actor: CurrentActor, department: str | None = None,
               year: YearQ = None, created: int | None = None):
    return render(request, "monitoring/tasks.html", {
        **_task_context(request, db, actor, department, year), "created": created,
        "today": service.today()})


@router.post("/monitoring/tasks", dependencies=[allow(BUREAU)])
def create_task(db: DB, actor: CurrentActor,
                code: Annotated[str, Form(max_length=32)],
                title: Annotated[str, Form(max_length=200)],
                department_code: Annotated[str, Form(max_length=32)],
                deadline: Annotated[date, Form()],
                description: Annotated[str, Form(max_length=4000)] = "",
                milestones: Annotated[str, Form(max_length=4000)] = ""):
    ms = []
    for n, line in enumerate(milestones.splitlines(), start=1):
        if not line.strip():
            continue
        name, _, day = line.replace("，", ",").rpartition(",")
        try:
            ms.append((name.strip(), date.fromisoformat(day.strip())))
        except ValueError:
            raise InvalidInput(f"里程碑第 {n} 行：应为“名称,日期（如 2025-06-30）”",
                               f"milestone line {n}: expected 'title,date'") from None
    t = service.do_create_task(db, actor, TaskIn(
        code=code.strip(), title=title.strip(), description=description.strip(),
        department_code=department_code, year=deadline.year, deadline=deadline, milestones=ms))
    return RedirectResponse(f"/monitoring/tasks?created={t.id}", status_code=303)


def _report_file(request: Request, db: DB, actor: CurrentActor, department: str | None,
                 year: int | None, fmt: str) -> Response:
    locale = locale_of(request)
    items = service.tasks(db, actor, department=department or None, year=year, locale=locale)
    summary = service.dispatch_summary(items)
    day = service.today()
    title = (f"重点任务调度报告（{day.isoformat()}）" if locale == "zh"
             else f"Key-task dispatch report ({day.isoformat()})")
    service.do_record_export(db, actor, fmt=fmt, department=department, tasks=len(items))
    if fmt == "pdf":
        body = reports.dispatch_pdf(title, day, summary, items, locale)
        media = "application/pdf"
    else:
        body = reports.dispatch_xlsx(title, day, summary, items, locale)
        media = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    name = f"dispatch-{department or 'all'}-{day.isoformat()}.{fmt}"
    return Response(body, media_type=media,
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})


@router.get("/monitoring/tasks/report.xlsx", dependencies=[allow(TASK_ROLES)])
def report_xlsx(request: Request, db: DB, actor: CurrentActor, department: str | None = None,
                year: YearQ = None):
    return _report_file(request, db, actor, department, year, "xlsx")


@router.get("/monitoring/tasks/report.pdf", dependencies=[allow(TASK_ROLES)])
def report_pdf(request: Request, db: DB, actor: CurrentActor, department: str | None = None,
               year: YearQ = None):
    return _report_file(request, db, actor, department, year, "pdf")


@router.get("/monitoring/tasks/{task_id}", dependencies=[allow(TASK_ROLES)])
def task_page(request: Request, db: DB, actor: CurrentActor, task_id: RowId,
              saved: int | None = None):
    t = service.task_detail(db, actor, task_id, locale_of(request))
    return render(request, "monitoring/task.html", {
        "t": t, "saved": saved,
        "can_report": actor.role == "department" and actor.department_code == t.department_code
        and t.status == "open"})


@router.post("/monitoring/tasks/{task_id}/report", dependencies=[allow("department")])
def file_report(db: DB, actor: CurrentActor, task_id: RowId,
                progress: Annotated[int, Form(ge=0, le=100)],
                status: Annotated[str, Form(pattern="^(on_track|at_risk|delayed|done)$")],
                note: Annotated[str, Form(max_length=2000)] = "",
                milestone: Annotated[list[int] | None, Form()] = None):
    service.do_report(db, actor, task_id, ReportIn(progress=progress, status=status,
                                                   note=note, milestones_done=milestone or []))
    return RedirectResponse(f"/monitoring/tasks/{task_id}?saved=1", status_code=303)
