"""Pages of tiered cultivation (bureau): snapshots per year, the Sankey of transitions
between two years, the cultivation pool per tier with HTMX filters."""

from __future__ import annotations

import json
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse

from kechuang.kit.errors import InvalidInput, KechuangError
from kechuang.tiers import i18n as _i18n  # noqa: F401  (registers the UI strings)
from kechuang.tiers import repository as repo
from kechuang.tiers import service
from kechuang.tiers.schemas import rules
from kechuang.web import nav
from kechuang.web.deps import BUREAU, DB, CurrentActor, OptYear, allow
from kechuang.web.render import locale_of, render

router = APIRouter(include_in_schema=False)

nav.register("/tiers", "tiers.title", BUREAU, 43, "assess")


def _pool_context(db: DB, actor: CurrentActor, tier: str | None, year: int | None,
                  q: str | None) -> dict[str, object]:
    rs = rules()
    tier = tier if tier in {t.id for t in rs.tiers} else rs.tiers[1].id
    try:
        rows = service.pool(db, actor, tier, year, q)
    except InvalidInput:
        rows = []  # no policy run yet: an empty pool, the page says why elsewhere
    return {"pool": rows, "filters": {"tier": tier, "q": q or "", "year": year}}


@router.get("/tiers", dependencies=[allow(BUREAU)])
def tiers_page(request: Request, db: DB, actor: CurrentActor, tier: str | None = None,
               q: str | None = None, year_from: OptYear = None,
               year_to: OptYear = None, done: int | None = None):
    overview = service.snapshot_overview(db, actor)
    years = [o["year"] for o in overview]
    sankey = None
    transitions = []
    y_from: int | None = None
    y_to: int | None = None
    if len(years) >= 2:
        y_from = year_from if year_from in years else int(years[-2])
        y_to = year_to if year_to in years else int(years[-1])
        assert y_from is not None and y_to is not None
        try:
            transitions = service.transitions(db, actor, y_from, y_to)
            sankey = json.dumps(service.sankey_option(transitions, y_from, y_to,
                                                      locale_of(request)), ensure_ascii=False)
        except KechuangError:
            sankey = None
    pool_year = years[-1] if years else None
    rs = rules()
    return render(request, "tiers/index.html", {
        "overview": overview, "years": years, "sankey": sankey, "transitions": transitions,
        "year_from": y_from, "year_to": y_to, "tiers": rs.tiers, "rules": rs, "done": done,
        "label": rs.label, "policy_years": repo.policy_years(db),
        **_pool_context(db, actor, tier, pool_year, q)})


@router.get("/tiers/pool", dependencies=[allow(BUREAU)])
def pool_partial(request: Request, db: DB, actor: CurrentActor, tier: str | None = None,
                 q: str | None = None, year: OptYear = None):
    return render(request, "tiers/_pool.html", _pool_context(db, actor, tier, year, q))


@router.post("/tiers/snapshot", dependencies=[allow(BUREAU)])
def take_snapshot(db: DB, actor: CurrentActor, year: Annotated[str | None, Form()] = None):
    y: int | None = None
    if year and year.strip():
        if not year.strip().isdigit():
            raise InvalidInput(f"年度应为四位数字：{year}", f"year must be four digits: {year}")
        y = int(year.strip())
    summary = service.do_snapshot(db, actor, y)
    return RedirectResponse(f"/tiers?done={summary.year}", status_code=303)
