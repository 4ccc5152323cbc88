"""JSON API of the matching registries under ``/api/v1/matching``: the same roles, scope and
rules as the pages (kechuang.matching.views). Money is an exact decimal string."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Query
from sqlalchemy import select

from kechuang.matching import repository as repo
from kechuang.matching import service, workflow
from kechuang.matching.views import ACH_EDITORS, DEMAND_EDITORS, RecordId
from kechuang.models import Enterprise
from kechuang.models.matching import Achievement, TechDemand
from kechuang.web.deps import DB, EVERYONE, CurrentActor, allow

router = APIRouter(prefix="/matching", tags=["matching"])
LIMIT = 500
Offset = Annotated[int, Query(ge=0, le=10_000_000)]


def _money(v: Any) -> str | None:
    return None if v is None else format(v, "f")


def demand_json(d: TechDemand, enterprise: str = "") -> dict[str, Any]:
    return {"id": d.id, "title": d.title, "description": d.description, "targets": d.targets,
            "enterprise": enterprise, "industry_code": d.industry_code,
            "region_code": d.region_code, "budget_min": _money(d.budget_min),
            "budget_max": _money(d.budget_max),
            "deadline": d.deadline.isoformat() if d.deadline else None,
            "visibility": d.visibility, "status": d.status}


def achievement_json(a: Achievement) -> dict[str, Any]:
    return {"id": a.id, "code": a.code, "title": a.title, "abstract": a.abstract,
            "keywords": a.keywords, "tech_field": a.tech_field, "maturity": a.maturity,
            "trl": a.trl, "patent_numbers": a.patent_numbers,
            "transfer_modes": a.transfer_modes, "price_min": _money(a.price_min),
            "price_max": _money(a.price_max), "visibility": a.visibility, "source": a.source}


@router.get("/demands", dependencies=[allow(EVERYONE)])
def list_demands(db: DB, actor: CurrentActor, offset: Offset = 0) -> list[dict[str, Any]]:
    """Demands the caller may see (public ones; an enterprise also its own; the bureau all
    in its region), newest first, at most 500 per call."""
    rows = db.execute(select(TechDemand, Enterprise.name).join(
        Enterprise, Enterprise.id == TechDemand.enterprise_id).where(repo.demand_visible(actor))
        .order_by(TechDemand.id.desc()).offset(max(0, offset)).limit(LIMIT)).all()
    return [demand_json(d, n) for d, n in rows]


@router.post("/demands", dependencies=[allow(DEMAND_EDITORS)], status_code=201)
def create_demand(db: DB, actor: CurrentActor,
                  body: dict[str, Any] = Body(...)) -> dict[str, Any]:  # noqa: B008
    """Post a demand (the bureau names the enterprise with ``enterprise_uscc``)."""
    return demand_json(service.do_create_demand(db, actor, body))


@router.put("/demands/{demand_id}", dependencies=[allow(DEMAND_EDITORS)])
def update_demand(db: DB, actor: CurrentActor, demand_id: RecordId,
                  body: dict[str, Any] = Body(...)) -> dict[str, Any]:  # noqa: B008
    return demand_json(service.do_update_demand(db, actor, demand_id, body))


@router.get("/demands/{demand_id}/matches", dependencies=[allow(DEMAND_EDITORS)])
def demand_matches(db: DB, actor: CurrentActor, demand_id: RecordId) -> dict[str, Any]:
    """Ranked achievements, experts and institutes, each with matched terms, fields,
    boosts and the mark people gave it."""
    return workflow.for_demand(db, actor, demand_id).as_dict()


@router.post("/demands/{demand_id}/marks", dependencies=[allow(DEMAND_EDITORS)])
def mark(db: DB, actor: CurrentActor, demand_id: RecordId,
         body: dict[str, Any] = Body(...)) -> dict[str, Any]:  # noqa: B008
    """``{"supply_kind", "supply_id", "status": contacted|declined|agreed, "reason_code"}``."""
    m, coop = service.do_mark_match(db, actor, demand_id, body)
    return {"id": m.id, "status": m.status, "reason_code": m.reason_code,
            "cooperation_id": coop.id if coop else None}


@router.get("/achievements", dependencies=[allow(EVERYONE)])
def list_achievements(db: DB, actor: CurrentActor, offset: Offset = 0) -> list[dict[str, Any]]:
    rows = db.scalars(select(Achievement).where(repo.achievement_visible(actor))
                      .order_by(Achievement.id).offset(max(0, offset)).limit(LIMIT))
    return [achievement_json(a) for a in rows]


@router.post("/achievements", dependencies=[allow(ACH_EDITORS)], status_code=201)
def create_achievement(db: DB, actor: CurrentActor,
                       body: dict[str, Any] = Body(...)) -> dict[str, Any]:  # noqa: B008
    return achievement_json(service.do_create_achievement(db, actor, body))


@router.get("/achievements/{achievement_id}/matches", dependencies=[allow(ACH_EDITORS)])
def achievement_matches(db: DB, actor: CurrentActor, achievement_id: RecordId) -> dict[str, Any]:
    """Ranked open public demands and enterprises in fitting industries."""
    return workflow.for_achievement(db, actor, achievement_id).as_dict()
