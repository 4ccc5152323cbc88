"""Pages of carbon efficiency: the bureau's overview (grade shares over time, a month by town
and by industry, the month's alerts with the send-after-review button, CSV export) and an
enterprise's own page (grade, ranks, trend)."""

from __future__ import annotations

import csv
import io
import json
from typing import Annotated, Any

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import RedirectResponse, Response

from kechuang.carbon import i18n as _i18n  # noqa: F401  (registers the UI strings)
from kechuang.carbon import service
from kechuang.carbon.schemas import GradeOut, OverviewOut
from kechuang.kit.errors import NotFound
from kechuang.kit.safe_export import neutralise_row
from kechuang.web import nav
from kechuang.web.deps import BUREAU, DB, CurrentActor, allow
from kechuang.web.i18n import translate
from kechuang.web.render import locale_of, render

router = APIRouter(include_in_schema=False)
Period = Annotated[str | None, Query(pattern=r"^\d{4}-(0[1-9]|1[0-2])$")]

nav.register("/carbon", "carbon.title", BUREAU, 47, "watch")
nav.register("/carbon/me", "carbon.title", {"enterprise"}, 47, "watch")

GRADE_COLOURS = ["#1a9850", "#91cf60", "#fee08b", "#fc8d59", "#d73027", "#999999"]


def shares_chart(ov: OverviewOut, locale: str) -> str:
    grades = sorted({g for s in ov.shares for g in s.counts}, key=int)
    series = []
    for i, g in enumerate(grades):
        series.append({
            "name": translate("carbon.col.grade_n", locale, grade=g), "type": "bar",
            "stack": "share", "itemStyle": {"color": GRADE_COLOURS[min(i, 5)]},
            "data": [round(100 * s.counts.get(g, 0) / s.graded, 1) if s.graded else 0
                     for s in ov.shares]})
    return json.dumps({
        "tooltip": {"trigger": "axis", "valueFormatter": None}, "legend": {"top": 0},
        "grid": {"left": 40, "right": 10, "top": 30, "bottom": 25},
        "xAxis": {"type": "category", "data": [s.period for s in ov.shares]},
        "yAxis": {"type": "value", "max": 100, "axisLabel": {"formatter": "{value}%"}},
        "series": series}, ensure_ascii=False)


def trend_chart(rows: list[GradeOut], locale: str) -> str:
    return json.dumps({
        "tooltip": {"trigger": "axis"}, "legend": {"top": 0},
        "grid": {"left": 45, "right": 45, "top": 30, "bottom": 25},
        "xAxis": {"type": "category", "data": [r.period for r in rows]},
        "yAxis": [{"type": "value", "name": translate("carbon.chart.intensity", locale)},
                  {"type": "value", "name": translate("carbon.chart.grade", locale),
                   "inverse": True, "min": 1, "max": 5, "interval": 1}],
        "series": [
            {"name": translate("carbon.chart.intensity", locale), "type": "line",
             "data": [r.intensity for r in rows]},
            {"name": translate("carbon.chart.grade", locale), "type": "line", "step": "middle",
             "yAxisIndex": 1, "data": [r.grade for r in rows]}]}, ensure_ascii=False)


def alert_label(alert: str, locale: str) -> str:
    sep = "; " if locale == "en" else "；"
    return sep.join(translate(f"carbon.alert.{a}", locale) for a in alert.split(";") if a)


def basis_label(level: str | None, locale: str) -> str:
    if not level:
        return ""
    if level.startswith("published:"):
        return (translate("carbon.basis.published", locale) + " · "
                + translate(f"carbon.basis.{level.split(':', 1)[1]}", locale).split("（")[0])
    return translate(f"carbon.basis.{level}", locale)


def _helpers(locale: str) -> dict[str, Any]:
    return {"alert_label": lambda a: alert_label(a, locale),
            "basis_label": lambda b: basis_label(b, locale),
            "level_label": lambda lv: translate(f"carbon.level.{lv}", locale) if lv else ""}


@router.get("/carbon", dependencies=[allow(BUREAU)])
def carbon_page(request: Request, db: DB, actor: CurrentActor, period: Period = None,
                done: int | None = None, notified: int | None = None,
                already: int | None = None):
    locale = locale_of(request)
    ov = service.overview(db, actor, period)
    alerts = service.grades(db, actor, period=ov.period, alerts_only=True, limit=500) \
        if ov.period else None
    evaluations = service.evaluations(db, actor)[:1]
    return render(request, "carbon/index.html", {
        "ov": ov, "alerts": alerts, "chart": shares_chart(ov, locale) if ov.shares else None,
        "evaluation": evaluations[0] if evaluations else None, "done": done,
        "notified": notified, "already": already, **_helpers(locale)})


@router.post("/carbon/evaluate", dependencies=[allow(BUREAU)])
def evaluate(db: DB, actor: CurrentActor):
    ev = service.do_evaluate(db, actor)
    return RedirectResponse(f"/carbon?done={ev.id}", status_code=303)


@router.post("/carbon/alerts/notify", dependencies=[allow(BUREAU)])
def notify(db: DB, actor: CurrentActor,
           period: Annotated[str, Form(pattern=r"^\d{4}-(0[1-9]|1[0-2])$")]):
    r = service.do_notify_alerts(db, actor, period=period)
    return RedirectResponse(f"/carbon?period={period}&notified={r.notified}&already={r.already}",
                            status_code=303)


@router.get("/carbon/export.csv", dependencies=[allow(BUREAU)])
def export(request: Request, db: DB, actor: CurrentActor, period: Period = None):
    page = service.grades(db, actor, period=period, limit=10**9)
    buf = io.StringIO()
    w = csv.writer(buf)
    cols = ["uscc", "name", "industry_code", "region_code", "period", "intensity",
            "carbon_level", "benchmark", "benchmark_level", "ratio", "grade", "industry_rank",
            "industry_count", "region_rank", "region_count", "alert"]
    w.writerow(cols)
    for g in page.items:
        d = g.model_dump()
        w.writerow(neutralise_row(["" if d[c] is None else d[c] for c in cols]))
    name = f"carbon-{page.period or 'none'}.csv"
    return Response("\ufeff" + buf.getvalue(), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})


@router.get("/carbon/me", dependencies=[allow("enterprise")])
def my_page(db: DB, actor: CurrentActor):
    uscc = service.own_uscc(db, actor)
    return RedirectResponse(f"/carbon/enterprise/{uscc}", status_code=303)


@router.get("/carbon/enterprise/{uscc}", dependencies=[allow(BUREAU, "enterprise")])
def enterprise_page(request: Request, db: DB, actor: CurrentActor, uscc: str):
    locale = locale_of(request)
    ent = service.enterprise_head(db, actor, uscc)
    if ent is None:
        raise NotFound("找不到该企业", "enterprise not found")
    rows = service.enterprise_grades(db, actor, uscc)
    graded = [r for r in rows if r.grade is not None]
    return render(request, "carbon/enterprise.html", {
        "ent": ent, "rows": rows, "latest": graded[-1] if graded else None,
        "chart": trend_chart(rows, locale) if rows else None, **_helpers(locale)})
