"""JSON API of the matching registries under ``/api/v1/matching``: the same roles, scope and
rules as the pages (kechuang.matching.views). Money is an exact decimal string."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Query
from pydantic import BaseModel, Field

from kechuang.matching import repository as repo
from kechuang.matching import service, workflow
from kechuang.matching.views import ACH_EDITORS, DEMAND_EDITORS, RecordId
from kechuang.models.matching import Achievement, TechDemand
from kechuang.web.deps import DB, EVERYONE, CurrentActor, allow

router = APIRouter(prefix="/matching", tags=["matching"])
LIMIT = 500
Offset = Annotated[int, Query(ge=0, le=10_000_000)]


class DemandOut(BaseModel):
    """A technology demand; money is an exact decimal string."""

    id: int
    title: str
    description: str
    targets: str
    enterprise: str
    industry_code: str | None
    region_code: str | None
    budget_min: str | None
    budget_max: str | None
    deadline: str | None
    visibility: str
    status: str


class AchievementOut(BaseModel):
    """A scientific achievement; money is an exact decimal string."""

    id: int
    code: str
    title: str
    abstract: str
    keywords: str
    tech_field: str | None
    maturity: str | None
    trl: int | None
    patent_numbers: list[Any]
    transfer_modes: list[Any]
    price_min: str | None
    price_max: str | None
    visibility: str
    source: str | None


class MarkStateOut(BaseModel):
    status: str
    reason_code: str | None


class MatchOut(BaseModel):
    """One ranked match with why: matched terms and fields, synonyms used, boosts."""

    kind: str
    id: int
    title: str
    score: float
    lexical: float
    confidence: float = Field(description="idf-weighted share of the query's words the "
                                          "record contains, 0–1")
    strong: bool = Field(description="confidence at or above the calibrated threshold")
    matched_terms: list[str] = Field(description="whole words of the query found")
    matched_fields: list[str] = Field(description="title, text, keywords or industry")
    synonyms: list[str]
    boosts: list[str] = Field(description="field_fit or same_county")
    owner: str
    mark: MarkStateOut | None = None


class ReasonOut(BaseModel):
    kind: str = Field(description="achievement, expert, demand or industry")
    text: str


class RankedOut(BaseModel):
    """An institute or enterprise ranked by its best matches."""

    id: int
    name: str
    score: float
    reasons: list[ReasonOut]
    why: str = Field(description="related (n related records), published_demands or "
                                 "industry_fit")
    related: int
    mark: MarkStateOut | None = None


class DemandMatchesOut(BaseModel):
    strong: bool = Field(description="at least one achievement or expert is a strong match; "
                                     "otherwise the page offers the next steps")
    achievements: list[MatchOut]
    experts: list[MatchOut]
    institutes: list[RankedOut]


class AchievementMatchesOut(BaseModel):
    strong: bool
    demands: list[MatchOut]
    enterprises: list[RankedOut]


class MarkOut(BaseModel):
    id: int
    status: str
    reason_code: str | None
    cooperation_id: int | None


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
def list_demands(db: DB, actor: CurrentActor, offset: Offset = 0) -> list[DemandOut]:
    """Demands the caller may see (public ones; an enterprise also its own; the bureau all
    in its region), newest first, at most 500 per call."""
    rows = repo.demands_with_names(db, actor, offset, LIMIT)
    return [DemandOut.model_validate(demand_json(d, n)) for d, n in rows]


@router.post("/demands", dependencies=[allow(DEMAND_EDITORS)], status_code=201)
def create_demand(db: DB, actor: CurrentActor,
                  body: dict[str, Any] = Body(...)) -> DemandOut:  # noqa: B008
    """Post a demand (the bureau names the enterprise with ``enterprise_uscc``)."""
    return DemandOut.model_validate(demand_json(service.do_create_demand(db, actor, body)))


@router.put("/demands/{demand_id}", dependencies=[allow(DEMAND_EDITORS)])
def update_demand(db: DB, actor: CurrentActor, demand_id: RecordId,
                  body: dict[str, Any] = Body(...)) -> DemandOut:  # noqa: B008
    """Change a demand (its owner or the bureau)."""
    return DemandOut.model_validate(
        demand_json(service.do_update_demand(db, actor, demand_id, body)))


@router.get("/demands/{demand_id}/matches", dependencies=[allow(DEMAND_EDITORS)])
def demand_matches(db: DB, actor: CurrentActor, demand_id: RecordId) -> DemandMatchesOut:
    """Ranked achievements, experts and institutes, each with matched terms, fields,
    boosts and the mark people gave it."""
    return DemandMatchesOut.model_validate(workflow.for_demand(db, actor, demand_id).as_dict())


@router.post("/demands/{demand_id}/marks", dependencies=[allow(DEMAND_EDITORS)])
def mark(db: DB, actor: CurrentActor, demand_id: RecordId,
         body: dict[str, Any] = Body(...)) -> MarkOut:  # noqa: B008
    """``{"supply_kind", "supply_id", "status": contacted|declined|agreed, "reason_code"}``."""
    m, coop = service.do_mark_match(db, actor, demand_id, body)
    return MarkOut(id=m.id, status=m.status, reason_code=m.reason_code,
                   cooperation_id=coop.id if coop else None)


@router.get("/achievements", dependencies=[allow(EVERYONE)])
def list_achievements(db: DB, actor: CurrentActor, offset: Offset = 0) -> list[AchievementOut]:
    """Achievements the caller may see, by id, at most 500 per call."""
    rows = repo.achievements_page(db, actor, offset, LIMIT)
    return [AchievementOut.model_validate(achievement_json(a)) for a in rows]


@router.post("/achievements", dependencies=[allow(ACH_EDITORS)], status_code=201)
def create_achievement(db: DB, actor: CurrentActor,
                       body: dict[str, Any] = Body(...)) -> AchievementOut:  # noqa: B008
    """Register an achievement (an institute its own; the bureau any)."""
    return AchievementOut.model_validate(
        achievement_json(service.do_create_achievement(db, actor, body)))


@router.get("/achievements/{achievement_id}/matches", dependencies=[allow(ACH_EDITORS)])
def achievement_matches(db: DB, actor: CurrentActor,
                        achievement_id: RecordId) -> AchievementMatchesOut:
    """Ranked open public demands and enterprises in fitting industries."""
    return AchievementMatchesOut.model_validate(
        workflow.for_achievement(db, actor, achievement_id).as_dict())
