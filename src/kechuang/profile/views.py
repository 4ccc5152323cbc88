"""The profile page and its what-if panel (an HTMX form whose result replaces one block).

Charts are ECharts options built here as JSON and drawn by ``static/profile-charts.js``
(the CSP forbids inline scripts); the radar and the trend need no round trip after load.
"""

from __future__ import annotations

import json
import math
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse
from starlette.concurrency import run_in_threadpool

from kechuang.kit.errors import InvalidInput
from kechuang.profile import i18n as _i18n  # noqa: F401  (registers the UI strings)
from kechuang.profile import service, whatif
from kechuang.profile.schemas import ProfileOut, parse_form
from kechuang.registry import service as registry_service
from kechuang.registry.views import DETAIL_ROLES
from kechuang.web import nav
from kechuang.web.deps import DB, CurrentActor, allow
from kechuang.web.i18n import translate
from kechuang.web.render import locale_of, render

router = APIRouter(include_in_schema=False)

nav.register("/enterprises/me/profile", "profile.nav", {"enterprise"}, 11, "data")


def _r(x: float | None, places: int = 2) -> float | None:
    return None if x is None or (isinstance(x, float) and math.isnan(x)) else round(x, places)


def _nice_max(values: list[float | None]) -> float:
    """The radar's axis maximum: 100 for 0–100 scores, else the next round number."""
    top = max([v for v in values if v is not None] or [1.0])
    if top <= 100:
        return 100.0
    step = 10 ** math.floor(math.log10(top))
    return float(math.ceil(top / step) * step)


def radar_option(p: ProfileOut, locale: str) -> dict[str, Any] | None:
    if p.radar is None or not p.radar.dimensions:
        return None
    t = lambda key: translate(key, locale)  # noqa: E731
    dims = p.radar.dimensions
    indicator = [{"name": d.name, "max": _nice_max([d.max, d.value, d.p90, d.median])}
                 for d in dims]
    series = [
        {"name": t("profile.series.self"), "value": [_r(d.value) for d in dims]},
        {"name": t("profile.series.median"), "value": [_r(d.median) for d in dims]},
        {"name": t("profile.series.p90"), "value": [_r(d.p90) for d in dims]},
    ]
    return {
        "tooltip": {"trigger": "item"},
        "legend": {"top": 0, "data": [s["name"] for s in series]},
        "radar": {"indicator": indicator, "center": ["50%", "56%"], "radius": "62%"},
        "series": [{"type": "radar", "data": series, "areaStyle": {"opacity": 0.08}}],
    }


def trend_option(p: ProfileOut, locale: str) -> dict[str, Any] | None:
    if not p.trend:
        return None
    t = lambda key: translate(key, locale)  # noqa: E731
    return {
        "tooltip": {"trigger": "axis"},
        "legend": {"top": 0},
        "grid": {"left": 8, "right": 16, "top": 36, "bottom": 8, "containLabel": True},
        "xAxis": {"type": "category", "data": [str(tp.year) for tp in p.trend]},
        "yAxis": [{"type": "value", "name": t("profile.points")},
                  {"type": "value", "name": t("profile.rank"), "inverse": True,
                   "minInterval": 1}],
        "series": [
            {"name": t("profile.points"), "type": "line", "connectNulls": False,
             "data": [_r(tp.points) for tp in p.trend]},
            {"name": t("profile.rank"), "type": "line", "yAxisIndex": 1, "connectNulls": False,
             "data": [tp.rank for tp in p.trend]},
        ],
    }


def _json(option: dict[str, Any] | None) -> str | None:
    return json.dumps(option, ensure_ascii=False) if option else None


@router.get("/enterprises/me/profile", dependencies=[allow("enterprise")])
def my_profile(db: DB, actor: CurrentActor):
    uscc = registry_service.own_uscc(db, actor)
    return RedirectResponse(f"/enterprises/{uscc}/profile", status_code=303)


@router.get("/enterprises/{uscc}/profile", dependencies=[allow(*DETAIL_ROLES)])
def profile_page(request: Request, db: DB, actor: CurrentActor, uscc: str,
                 system: str | None = None):
    locale = locale_of(request)
    p = service.profile(db, actor, uscc, system, locale)
    return render(request, "profile/page.html", {
        "p": p, "radar_json": _json(radar_option(p, locale)),
        "trend_json": _json(trend_option(p, locale)),
    })


@router.post("/enterprises/{uscc}/profile/whatif", dependencies=[allow(*DETAIL_ROLES)])
async def whatif_panel(request: Request, db: DB, actor: CurrentActor, uscc: str):
    """The what-if result block (HTMX); a bad input shows its message in the block. The
    recomputation runs in the thread pool, never on the event loop (it takes seconds)."""
    form = await request.form()
    fields = {k: v for k, v in form.items() if isinstance(v, str)}
    locale = locale_of(request)
    try:
        question = parse_form(fields)
        result = await run_in_threadpool(whatif.what_if, db, actor, uscc, question,
                                         locale=locale)
    except InvalidInput as exc:
        return render(request, "profile/_whatif.html",
                      {"error": exc.message(locale), "problems": exc.details.get("problems"),
                       "result": None})
    return render(request, "profile/_whatif.html",
                  {"error": None, "result": result, "unchanged": not question.changes})
