"""The home page ``/``: the bureau workbench for bureau accounts, a "what next" page for
every other role, the platform's welcome for visitors."""

from __future__ import annotations

import json

from fastapi import APIRouter, Request

from kechuang.web.deps import DB, EVERYONE, CurrentActor, allow
from kechuang.web.render import locale_of, render, set_demo_probe
from kechuang.workbench import i18n as _i18n  # noqa: F401  (registers the UI strings)
from kechuang.workbench import service

router = APIRouter(include_in_schema=False)

set_demo_probe(lambda request: service.holds_demo(request.app.state.engine))


@router.get("/", dependencies=[allow(EVERYONE)])
def home(request: Request, db: DB, actor: CurrentActor):
    locale = locale_of(request)
    context: dict[str, object] = {"region": service.region(db, actor)}
    if actor.is_bureau:
        board = service.dashboard(db, actor, locale)
        context["board"] = board
        context["chart_json"] = json.dumps(board.chart, ensure_ascii=False) if board.chart \
            else None
        return render(request, "workbench/bureau.html", context)
    context["steps"] = service.next_steps(actor)
    context["me"] = service.enterprise_home(db, actor)
    return render(request, "workbench/home.html", context)
