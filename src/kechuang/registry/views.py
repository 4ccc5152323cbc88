"""Pages of the enterprise registry: the searchable list (HTMX partial updates) and one
enterprise's detail page with every fact and where it came from."""

from __future__ import annotations

import json
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import RedirectResponse

from kechuang.registry import i18n as _i18n  # noqa: F401  (registers the UI strings)
from kechuang.registry import service
from kechuang.registry.schemas import QUALIFICATIONS, EnterpriseFilters
from kechuang.web.deps import BUREAU, DB, CurrentActor, allow
from kechuang.web.render import locale_of, render

router = APIRouter(include_in_schema=False)

#: roles that may ask for one enterprise; scope decides what each actually sees
DETAIL_ROLES = (BUREAU, "enterprise", "bank", "expert")
ROWS_TARGET = "enterprise-rows"


def _is_partial(request: Request) -> bool:
    """An HTMX request aimed at the table gets the rows only; a history restore (cache miss
    after Back) and a direct link get the whole page."""
    return (request.headers.get("hx-request") == "true"
            and request.headers.get("hx-history-restore-request") != "true"
            and request.headers.get("hx-target") == ROWS_TARGET)


@router.get("/enterprises", dependencies=[allow(BUREAU)])
def enterprise_list(request: Request, db: DB, actor: CurrentActor,
                    filters: Annotated[EnterpriseFilters, Query()]):
    result = service.list_enterprises(db, actor, filters, locale_of(request))
    context = {"filters": filters, "result": result, "qualifications": QUALIFICATIONS}
    headers = {"Vary": "HX-Request, HX-Target"}
    if _is_partial(request):
        return render(request, "registry/_enterprise_rows.html", context, headers=headers)
    context["options"] = service.filter_options(db, actor)
    return render(request, "registry/list.html", context, headers=headers)


@router.get("/enterprises/me", dependencies=[allow("enterprise")])
def my_enterprise(db: DB, actor: CurrentActor):
    return RedirectResponse(f"/enterprises/{service.own_uscc(db, actor)}", status_code=303)


@router.get("/enterprises/{uscc}", dependencies=[allow(*DETAIL_ROLES)])
def enterprise_page(request: Request, db: DB, actor: CurrentActor, uscc: str):
    locale = locale_of(request)
    detail = service.enterprise_detail(db, actor, uscc, locale)
    view = service.arrange(db, detail, locale)
    chart = json.dumps(view.chart, ensure_ascii=False) if view.chart else None
    return render(request, "registry/detail.html",
                  {"e": detail, "view": view, "chart_json": chart})
