"""JSON API of the profile under ``/api/v1``: the same service, scope and audit as the page."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Body, Request

from kechuang.profile import i18n as _i18n  # noqa: F401  (labels in the output)
from kechuang.profile import service, whatif
from kechuang.profile.schemas import ProfileOut, WhatIfOut, parse_request
from kechuang.registry.views import DETAIL_ROLES
from kechuang.web.deps import DB, CurrentActor, allow
from kechuang.web.render import locale_of

router = APIRouter(tags=["profile"])

_EXAMPLE = {"system_id": None, "changes": [{"metric": "rd_staff", "delta": 3},
                                           {"metric": "rd_expense", "delta": 200}]}


@router.get("/enterprises/{uscc}/profile", dependencies=[allow(*DETAIL_ROLES)],
            response_model=ProfileOut)
def get_profile(request: Request, db: DB, actor: CurrentActor, uscc: str,
                system: str | None = None) -> ProfileOut:
    """Points, ranks, radar, trend, strongest/weakest indicators and provenance of one
    enterprise from the latest run of a system (``system``: its id; default the newest).
    404 when the enterprise does not exist or lies outside the caller's scope."""
    return service.profile(db, actor, uscc, system, locale_of(request))


@router.post("/enterprises/{uscc}/profile/whatif", dependencies=[allow(*DETAIL_ROLES)],
             response_model=WhatIfOut)
def post_whatif(request: Request, db: DB, actor: CurrentActor, uscc: str,
                body: dict[str, Any] = Body(default_factory=dict, examples=[_EXAMPLE])
                ) -> WhatIfOut:
    """Recompute points, rank and eligibility with changed inputs (``delta`` added to, or
    ``value`` replacing, the run year's value; amounts in 万元). Nothing is written."""
    question = parse_request(body)
    return whatif.what_if(db, actor, uscc, question, locale=locale_of(request))
