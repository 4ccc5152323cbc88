"""JSON API of the registry under ``/api/v1``: the same filters, pagination and scope as the
pages, over the same service. Decimal values travel as strings."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request

from kechuang.registry import i18n as _i18n  # noqa: F401  (badge labels)
from kechuang.registry import service
from kechuang.registry.schemas import EnterpriseDetail, EnterpriseFilters, EnterprisePage
from kechuang.registry.views import DETAIL_ROLES
from kechuang.web.deps import BUREAU, DB, CurrentActor, allow
from kechuang.web.render import locale_of

router = APIRouter(tags=["enterprises"])


@router.get("/enterprises", dependencies=[allow(BUREAU)], response_model=EnterprisePage)
def list_enterprises(request: Request, db: DB, actor: CurrentActor,
                     filters: Annotated[EnterpriseFilters, Query()]) -> EnterprisePage:
    """Enterprises in the caller's region scope, 50 per page, filtered like the list page."""
    return service.list_enterprises(db, actor, filters, locale_of(request))


@router.get("/enterprises/{uscc}", dependencies=[allow(*DETAIL_ROLES)],
            response_model=EnterpriseDetail)
def get_enterprise(request: Request, db: DB, actor: CurrentActor, uscc: str) -> EnterpriseDetail:
    """One enterprise with its current facts (each with its batch id) and superseded values.
    404 when it does not exist or lies outside the caller's scope."""
    return service.enterprise_detail(db, actor, uscc, locale_of(request))
