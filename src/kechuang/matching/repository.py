"""SQL of the matching registries: who sees which record, as predicates, and the reads.

Visibility rules (one place, used by pages, API and the matcher):
- demands: the public sees ``public`` ones; an enterprise also its own; the bureau every
  demand in its region subtree;
- achievements: the public sees ``public`` ones; the owner (institute or enterprise) also its
  own; the bureau every achievement in its region subtree;
- talent pool entries: the bureau in its region; an enterprise only the people who applied
  to one of its positions; nobody else.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, and_, false, func, or_, select, true
from sqlalchemy.orm import Session

from kechuang.auth.actor import Actor
from kechuang.auth.scope import enterprise_visible, region_code_in_scope
from kechuang.kit.errors import NotFound
from kechuang.models import Enterprise, Expert, Industry, Institute
from kechuang.models.matching import (
    Achievement,
    Commissioner,
    Cooperation,
    ExpertProfile,
    MatchMark,
    ServiceLog,
    ServiceRequest,
    SynonymEntry,
    TalentApplication,
    TalentEntry,
    TalentPosition,
    TechDemand,
)


def demand_visible(actor: Actor) -> ColumnElement[bool]:
    if actor.is_bureau:
        return region_code_in_scope(actor, TechDemand.region_code)
    public = TechDemand.visibility == "public"
    if actor.role == "enterprise" and actor.enterprise_id is not None:
        return or_(public, TechDemand.enterprise_id == actor.enterprise_id)
    return public


def demand_manageable(actor: Actor) -> ColumnElement[bool]:
    """Demands the actor may change and act on (marks): the owner and the bureau."""
    if actor.is_bureau:
        return region_code_in_scope(actor, TechDemand.region_code)
    if actor.role == "enterprise" and actor.enterprise_id is not None:
        return TechDemand.enterprise_id == actor.enterprise_id
    return false()


def achievement_visible(actor: Actor) -> ColumnElement[bool]:
    if actor.is_bureau:
        return region_code_in_scope(actor, Achievement.region_code)
    public = Achievement.visibility == "public"
    return or_(public, achievement_owned(actor))


def achievement_owned(actor: Actor) -> ColumnElement[bool]:
    if actor.is_bureau:
        return region_code_in_scope(actor, Achievement.region_code)
    if actor.role == "institute" and actor.institute_id is not None:
        return Achievement.institute_id == actor.institute_id
    if actor.role == "enterprise" and actor.enterprise_id is not None:
        return Achievement.enterprise_id == actor.enterprise_id
    return false()


def talent_entry_visible(actor: Actor) -> ColumnElement[bool]:
    if actor.is_bureau:
        return region_code_in_scope(actor, TalentEntry.region_code)
    if actor.role == "enterprise" and actor.enterprise_id is not None:
        return TalentEntry.id.in_(select(TalentApplication.entry_id).where(
            TalentApplication.enterprise_id == actor.enterprise_id))
    return false()


def position_visible(actor: Actor) -> ColumnElement[bool]:
    """Positions are a public catalogue (人才需求目录); only the owner and the bureau manage."""
    return true()


def position_manageable(actor: Actor) -> ColumnElement[bool]:
    if actor.is_bureau:
        return region_code_in_scope(actor, TalentPosition.region_code)
    if actor.role == "enterprise" and actor.enterprise_id is not None:
        return TalentPosition.enterprise_id == actor.enterprise_id
    return false()


def cooperation_visible(actor: Actor) -> ColumnElement[bool]:
    if actor.is_bureau:
        return Cooperation.demand_id.in_(select(TechDemand.id).where(demand_manageable(actor)))
    if actor.role == "enterprise" and actor.enterprise_id is not None:
        return Cooperation.enterprise_id == actor.enterprise_id
    if actor.role == "institute" and actor.institute_id is not None:
        return and_(Cooperation.supply_kind == "achievement", Cooperation.supply_id.in_(
            select(Achievement.id).where(Achievement.institute_id == actor.institute_id)))
    return false()


def get_demand(session: Session, actor: Actor, demand_id: int,
               manage: bool = False) -> TechDemand:
    pred = demand_manageable(actor) if manage else demand_visible(actor)
    demand = session.scalar(select(TechDemand).where(TechDemand.id == demand_id, pred))
    if demand is None:
        raise NotFound(f"技术需求 {demand_id} 不存在或无权查看",
                       f"Demand {demand_id} not found")
    return demand


def get_achievement(session: Session, actor: Actor, achievement_id: int,
                    manage: bool = False) -> Achievement:
    pred = achievement_owned(actor) if manage else achievement_visible(actor)
    item = session.scalar(select(Achievement).where(Achievement.id == achievement_id, pred))
    if item is None:
        raise NotFound(f"科技成果 {achievement_id} 不存在或无权查看",
                       f"Achievement {achievement_id} not found")
    return item


def enterprise_by_uscc(session: Session, actor: Actor, uscc: str) -> Enterprise:
    ent = session.scalar(select(Enterprise).where(Enterprise.uscc == uscc,
                                                  enterprise_visible(actor)))
    if ent is None:
        raise NotFound(f"企业 {uscc} 不存在或不在您的管辖范围内",
                       f"Enterprise {uscc} not found")
    return ent


def institute_by_code(session: Session, actor: Actor, code: str) -> Institute:
    inst = session.scalar(select(Institute).where(
        Institute.code == code, region_code_in_scope(actor, Institute.region_code)))
    if inst is None:
        raise NotFound(f"机构 {code} 不存在或不在您的管辖范围内", f"Institute {code} not found")
    return inst



# ------------------------------------------------------------------ pages (moved from views)
def hub_counts(session: Session, actor: Actor, with_charts: bool
               ) -> tuple[int, int, dict[str, int], dict[str | None, int]]:
    """(visible demands, visible achievements, demands per status, achievements per
    field) — the two breakdowns only ``with_charts``."""
    demands = session.scalar(select(func.count()).select_from(TechDemand)
                             .where(demand_visible(actor))) or 0
    achievements = session.scalar(select(func.count()).select_from(Achievement)
                                  .where(achievement_visible(actor))) or 0
    by_status: dict[str, int] = {}
    by_field: dict[str | None, int] = {}
    if with_charts:
        by_status = dict(session.execute(select(TechDemand.status, func.count()).where(
            demand_visible(actor)).group_by(TechDemand.status)).all())
        by_field = dict(session.execute(select(Achievement.tech_field, func.count()).where(
            achievement_visible(actor)).group_by(Achievement.tech_field)).all())
    return int(demands), int(achievements), by_status, by_field


def demand_page(session: Session, actor: Actor, q: str, status: str | None, page: int,
                per_page: int) -> tuple[int, list[Any]]:
    """(total, rows of (demand, enterprise name)) of the visible demands, newest first,
    optionally whose title contains ``q`` / of one status."""
    query = select(TechDemand, Enterprise.name).join(
        Enterprise, Enterprise.id == TechDemand.enterprise_id).where(demand_visible(actor))
    if q:
        query = query.where(TechDemand.title.contains(q, autoescape=True))
    if status:
        query = query.where(TechDemand.status == status)
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = session.execute(query.order_by(TechDemand.id.desc()).offset((page - 1) * per_page)
                           .limit(per_page)).all()
    return int(total), list(rows)


def get_enterprise(session: Session, enterprise_id: int | None) -> Enterprise | None:
    return session.get(Enterprise, enterprise_id) if enterprise_id else None


def get_institute(session: Session, institute_id: int | None) -> Institute | None:
    return session.get(Institute, institute_id) if institute_id else None


def can_manage_demand(session: Session, actor: Actor, demand_id: int) -> bool:
    return session.scalar(select(TechDemand.id).where(
        TechDemand.id == demand_id, demand_manageable(actor))) is not None


def can_manage_achievement(session: Session, actor: Actor, achievement_id: int) -> bool:
    return session.scalar(select(Achievement.id).where(
        Achievement.id == achievement_id, achievement_owned(actor))) is not None


def _achievement_base(actor: Actor, field: str | None) -> Any:
    base = select(Achievement, Institute.name).outerjoin(
        Institute, Institute.id == Achievement.institute_id).where(achievement_visible(actor))
    if field:
        base = base.where(Achievement.tech_field == field)
    return base


def achievements_by_ids(session: Session, actor: Actor, field: str | None,
                        ids: list[int]) -> dict[int, Any]:
    """id → (achievement, institute name) of those of ``ids`` that are visible."""
    base = _achievement_base(actor, field)
    return {a.id: (a, n) for a, n in session.execute(base.where(Achievement.id.in_(ids)))}


def achievement_page(session: Session, actor: Actor, field: str | None, page: int,
                     per_page: int) -> tuple[int, list[Any]]:
    """(total, rows of (achievement, institute name)), newest first."""
    base = _achievement_base(actor, field)
    total = session.scalar(select(func.count()).select_from(base.subquery())) or 0
    rows = list(session.execute(base.order_by(Achievement.id.desc())
                                .offset((page - 1) * per_page).limit(per_page)).all())
    return int(total), rows


def experts_with_profiles(session: Session, limit: int = 500) -> list[Any]:
    """(expert, profile or None, institute name) rows, by id."""
    return list(session.execute(select(Expert, ExpertProfile, Institute.name)
                                .outerjoin(ExpertProfile, ExpertProfile.expert_id == Expert.id)
                                .outerjoin(Institute, Institute.id == Expert.institute_id)
                                .order_by(Expert.id).limit(limit)).all())


def open_positions(session: Session, limit: int = 300) -> list[Any]:
    """(position, enterprise name) of open talent positions, newest first."""
    return list(session.execute(select(TalentPosition, Enterprise.name).join(
        Enterprise, Enterprise.id == TalentPosition.enterprise_id)
        .where(TalentPosition.status == "open").order_by(TalentPosition.id.desc())
        .limit(limit)).all())


def services_overview(session: Session, actor: Actor, limit: int = 300
                      ) -> tuple[list[Commissioner], list[Any], list[Any]]:
    """(commissioners, (request, enterprise name) rows, (log, commissioner name, enterprise
    name) rows) that ``actor`` may see: the bureau's region, or an enterprise's own."""
    if actor.is_bureau:
        coms = list(session.scalars(select(Commissioner).where(
            region_code_in_scope(actor, Commissioner.region_code)).order_by(Commissioner.id)))
        req_pred = region_code_in_scope(actor, ServiceRequest.region_code)
        log_pred = region_code_in_scope(actor, Enterprise.region_code)
    else:
        coms = []
        req_pred = ServiceRequest.enterprise_id == actor.enterprise_id
        log_pred = ServiceLog.enterprise_id == actor.enterprise_id
    requests_ = list(session.execute(select(ServiceRequest, Enterprise.name).join(
        Enterprise, Enterprise.id == ServiceRequest.enterprise_id).where(req_pred)
        .order_by(ServiceRequest.id.desc()).limit(limit)).all())
    logs = list(session.execute(
        select(ServiceLog, Commissioner.name, Enterprise.name)
        .join(Commissioner, Commissioner.id == ServiceLog.commissioner_id)
        .join(Enterprise, Enterprise.id == ServiceLog.enterprise_id)
        .where(log_pred).order_by(ServiceLog.visited_on.desc()).limit(limit)).all())
    return coms, requests_, logs


def local_synonyms(session: Session) -> list[SynonymEntry]:
    return list(session.scalars(select(SynonymEntry).order_by(SynonymEntry.canonical)))



# ------------------------------------------------------------------ rows by id, new rows
def get(session: Session, model: Any, key: Any) -> Any:
    """A row of ``model`` by primary key, unscoped (None when missing): the service checks
    scope or ownership itself."""
    return session.get(model, key)


def add(session: Session, row: Any) -> Any:
    """Stage a new row and flush it (for its id)."""
    session.add(row)
    session.flush()
    return row


def add_unflushed(session: Session, row: Any) -> Any:
    """Stage a new row (written at the next flush)."""
    session.add(row)
    return row



def delete_row(session: Session, row: Any) -> None:
    session.delete(row)


# ------------------------------------------------------------------ lookups of the service
def achievement_count(session: Session) -> int:
    return int(session.scalar(select(func.count()).select_from(Achievement)) or 0)


def achievement_code_taken(session: Session, code: str) -> bool:
    return session.scalar(select(Achievement.id).where(Achievement.code == code)) is not None


def expert_in_scope(session: Session, actor: Actor, expert_id: int) -> bool:
    return session.scalar(select(Expert.id).where(
        Expert.id == expert_id, region_code_in_scope(actor, Expert.region_code))) is not None


def visible_talent_entry(session: Session, actor: Actor, entry_id: int) -> TalentEntry | None:
    return session.scalar(select(TalentEntry).where(
        TalentEntry.id == entry_id, talent_entry_visible(actor)))


def manageable_position(session: Session, actor: Actor,
                        position_id: int) -> TalentPosition | None:
    return session.scalar(select(TalentPosition).where(
        TalentPosition.id == position_id, position_manageable(actor)))


def application_exists(session: Session, entry_id: int, position_id: int) -> bool:
    return session.scalar(select(TalentApplication.id).where(
        TalentApplication.entry_id == entry_id,
        TalentApplication.position_id == position_id)) is not None


def talent_entries(session: Session, actor: Actor, limit: int = 500) -> list[TalentEntry]:
    return list(session.scalars(select(TalentEntry).where(talent_entry_visible(actor))
                                .order_by(TalentEntry.id).limit(limit)))


def commissioner_in_scope(session: Session, actor: Actor,
                          commissioner_id: int) -> Commissioner | None:
    return session.scalar(select(Commissioner).where(
        Commissioner.id == commissioner_id,
        region_code_in_scope(actor, Commissioner.region_code)))


def public_achievement(session: Session, achievement_id: int) -> Achievement | None:
    return session.scalar(select(Achievement).where(
        Achievement.id == achievement_id, Achievement.visibility == "public"))


def match_mark(session: Session, demand_id: int, kind: str, supply_id: int) -> MatchMark | None:
    return session.scalar(select(MatchMark).where(
        MatchMark.demand_id == demand_id, MatchMark.supply_kind == kind,
        MatchMark.supply_id == supply_id))


def visible_cooperation(session: Session, actor: Actor,
                        cooperation_id: int) -> Cooperation | None:
    return session.scalar(select(Cooperation).where(
        Cooperation.id == cooperation_id, cooperation_visible(actor)))


def marks_of(session: Session, demand_id: int) -> list[MatchMark]:
    return list(session.scalars(select(MatchMark).where(MatchMark.demand_id == demand_id)))


def cooperations(session: Session, actor: Actor, limit: int = 500) -> list[Cooperation]:
    return list(session.scalars(select(Cooperation).where(cooperation_visible(actor))
                                .order_by(Cooperation.id.desc()).limit(limit)))


def synonym_entry(session: Session, canonical: str) -> SynonymEntry | None:
    return session.scalar(select(SynonymEntry).where(SynonymEntry.canonical == canonical))



# ------------------------------------------------------------------ the matcher's reads
def synonym_entries(session: Session) -> list[SynonymEntry]:
    """The bureau's synonym groups, oldest first."""
    return list(session.scalars(select(SynonymEntry).order_by(SynonymEntry.id)))


def synonym_rows(session: Session) -> list[Any]:
    """(id, canonical, variants) of the bureau's synonym groups, oldest first."""
    return list(session.execute(select(SynonymEntry.id, SynonymEntry.canonical,
                                       SynonymEntry.variants).order_by(SynonymEntry.id)).all())


def industry_names(session: Session) -> dict[str, str]:
    """GB/T 4754 code → name."""
    return dict(session.execute(select(Industry.code, Industry.name)).all())


def achievements_since(session: Session, since: Any) -> Any:
    """(achievement, institute name, enterprise name) changed since ``since`` (all when
    None), by id."""
    qa = (select(Achievement, Institute.name, Enterprise.name)
          .outerjoin(Institute, Institute.id == Achievement.institute_id)
          .outerjoin(Enterprise, Enterprise.id == Achievement.enterprise_id))
    if since is not None:
        qa = qa.where(Achievement.updated_at >= since)
    return session.execute(qa.order_by(Achievement.id))


def demands_since(session: Session, since: Any) -> Any:
    """(demand, enterprise name) changed since ``since`` (all when None), by id."""
    qd = select(TechDemand, Enterprise.name).join(
        Enterprise, Enterprise.id == TechDemand.enterprise_id)
    if since is not None:
        qd = qd.where(TechDemand.updated_at >= since)
    return session.execute(qd.order_by(TechDemand.id))


def institute_names(session: Session) -> dict[int, str]:
    return {i: n for i, n in session.execute(select(Institute.id, Institute.name))}


def experts_since(session: Session, since: Any) -> Any:
    """(expert, profile or None) created or whose profile changed since ``since``."""
    qe = select(Expert, ExpertProfile).outerjoin(
        ExpertProfile, ExpertProfile.expert_id == Expert.id)
    if since is not None:
        qe = qe.where(or_(Expert.created_at >= since,
                          and_(ExpertProfile.updated_at.is_not(None),
                               ExpertProfile.updated_at >= since)))
    return session.execute(qe.order_by(Expert.id))


def created_up_to(session: Session, kind: str, watermark: Any) -> tuple[int, int]:
    """(count, max id) of the rows of ``kind`` created up to ``watermark``."""
    model: Any = {"achievement": Achievement, "demand": TechDemand, "expert": Expert}[kind]
    row = session.execute(select(func.count(), func.max(model.id)).where(
        model.created_at <= watermark)).one()
    return (int(row[0]), int(row[1] or 0))


def existing_achievement_codes(session: Session, codes: list[str]) -> set[str]:
    return set(session.scalars(select(Achievement.code).where(Achievement.code.in_(codes))))


def names_of(session: Session, model: Any, ids: list[int]) -> dict[int, str]:
    """id → name of rows of ``model`` (Institute, Enterprise)."""
    if not ids:
        return {}
    return dict(session.execute(select(model.id, model.name).where(model.id.in_(ids))).all())



def enterprises_in_industries(session: Session, actor: Actor, prefixes: list[str],
                              limit: int) -> list[Any]:
    """(id, name, industry code) of visible enterprises whose industry starts with one of
    ``prefixes``, high-tech enterprises first."""
    return list(session.execute(
        select(Enterprise.id, Enterprise.name, Enterprise.industry_code)
        .where(enterprise_visible(actor),
               or_(*[Enterprise.industry_code.startswith(p) for p in prefixes]))
        .order_by(Enterprise.hte_cert_no.is_(None), Enterprise.id).limit(limit)).all())


def demands_with_names(session: Session, actor: Actor, offset: int, limit: int) -> list[Any]:
    """(demand, enterprise name) of visible demands, newest first."""
    return list(session.execute(select(TechDemand, Enterprise.name).join(
        Enterprise, Enterprise.id == TechDemand.enterprise_id).where(demand_visible(actor))
        .order_by(TechDemand.id.desc()).offset(max(0, offset)).limit(limit)).all())


def achievements_page(session: Session, actor: Actor, offset: int,
                      limit: int) -> list[Achievement]:
    """Visible achievements by id."""
    return list(session.scalars(select(Achievement).where(achievement_visible(actor))
                                .order_by(Achievement.id).offset(max(0, offset)).limit(limit)))
