"""Matrix rows of kechuang.matching (pages and /api/v1/matching) and sample objects in 张家港."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from kechuang.models import Enterprise, Expert, Institute
from kechuang.models.matching import Achievement, Cooperation, MatchMark, SynonymEntry, TechDemand
from tests.support.seed import uscc

ALL = {"bureau_admin", "bureau_staff", "department", "enterprise", "institute", "expert", "bank",
       "public"}
LOGGED_IN = ALL - {"public"}
BUREAU = {"bureau_admin", "bureau_staff"}
DEMAND_EDITORS = BUREAU | {"enterprise"}
ACH_EDITORS = BUREAU | {"institute", "enterprise"}

ROUTES: dict[str, set[str]] = {
    "GET /matching": ALL,
    "GET /matching/demands": ALL,
    "GET /matching/demands/new": DEMAND_EDITORS,
    "POST /matching/demands": DEMAND_EDITORS,
    "GET /matching/demands/{demand_id}": ALL,
    "POST /matching/demands/{demand_id}/status": DEMAND_EDITORS,
    "GET /matching/demands/{demand_id}/matches": DEMAND_EDITORS,
    "POST /matching/demands/{demand_id}/marks": DEMAND_EDITORS,
    "GET /matching/achievements": ALL,
    "GET /matching/achievements/new": ACH_EDITORS,
    "POST /matching/achievements": ACH_EDITORS,
    "GET /matching/achievements/{achievement_id}": ALL,
    "POST /matching/achievements/{achievement_id}/visibility": ACH_EDITORS,
    "GET /matching/achievements/{achievement_id}/matches": ACH_EDITORS,
    "GET /matching/imports": ACH_EDITORS,
    "POST /matching/imports": ACH_EDITORS,
    "GET /matching/cooperations": BUREAU | {"enterprise", "institute"},
    "POST /matching/cooperations/{cooperation_id}/next-step": DEMAND_EDITORS,
    "GET /matching/experts": LOGGED_IN,
    "POST /matching/experts/{expert_id}/profile": BUREAU | {"institute", "expert"},
    "GET /matching/talent": ALL,
    "POST /matching/talent/positions": DEMAND_EDITORS,
    "POST /matching/talent/entries": BUREAU,
    "POST /matching/talent/applications": BUREAU,
    "GET /matching/services": DEMAND_EDITORS,
    "POST /matching/services/requests": DEMAND_EDITORS,
    "POST /matching/commissioners": BUREAU,
    "POST /matching/services/logs": BUREAU,
    "GET /matching/synonyms": BUREAU,
    "POST /matching/synonyms": BUREAU,
    "POST /matching/synonyms/{entry_id}/delete": BUREAU,
    "POST /matching/index/rebuild": BUREAU,
    # JSON API
    "GET /api/v1/matching/demands": ALL,
    "POST /api/v1/matching/demands": DEMAND_EDITORS,
    "PUT /api/v1/matching/demands/{demand_id}": DEMAND_EDITORS,
    "GET /api/v1/matching/demands/{demand_id}/matches": DEMAND_EDITORS,
    "POST /api/v1/matching/demands/{demand_id}/marks": DEMAND_EDITORS,
    "GET /api/v1/matching/achievements": ALL,
    "POST /api/v1/matching/achievements": ACH_EDITORS,
    "GET /api/v1/matching/achievements/{achievement_id}/matches": ACH_EDITORS,
}


def samples(session: Session) -> dict[str, str]:
    """A public demand of ent1, a public achievement of the seed's institute, a cooperation
    on them and a bureau synonym group — all in 张家港."""
    now = datetime.now(UTC)
    ent = session.scalar(select(Enterprise).where(Enterprise.uscc == uscc(1)))
    inst = session.scalar(select(Institute).where(Institute.code == "INST-1"))
    expert = session.scalar(select(Expert).where(Expert.code == "EXP-1"))
    assert ent is not None and inst is not None and expert is not None
    demand = TechDemand(enterprise_id=ent.id, title="芯片封装散热问题", description="结温过高",
                        targets="", industry_code=ent.industry_code, region_code=ent.region_code,
                        visibility="public", status="open", created_at=now, updated_at=now)
    ach = Achievement(code="SAMPLE-1", owner_kind="institute", institute_id=inst.id,
                      region_code=inst.region_code, title="高导热封装材料", abstract="芯片散热",
                      keywords="导热 封装", tech_field="materials", maturity="中试",
                      patent_numbers=[], transfer_modes=["许可"], visibility="public",
                      created_at=now, updated_at=now)
    session.add_all([demand, ach])
    session.flush()
    mark = MatchMark(demand_id=demand.id, supply_kind="achievement", supply_id=ach.id,
                     status="agreed", created_at=now, updated_at=now)
    session.add(mark)
    session.flush()
    coop = Cooperation(match_id=mark.id, demand_id=demand.id, enterprise_id=ent.id,
                       supply_kind="achievement", supply_id=ach.id, title="合作", created_at=now,
                       updated_at=now)
    syn = SynonymEntry(canonical="导热", variants=["散热"], created_at=now)
    session.add_all([coop, syn])
    session.flush()
    return {"demand_id": str(demand.id), "achievement_id": str(ach.id),
            "cooperation_id": str(coop.id), "expert_id": str(expert.id),
            "entry_id": str(syn.id)}
