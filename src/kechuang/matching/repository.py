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

from sqlalchemy import ColumnElement, and_, false, or_, select, true
from sqlalchemy.orm import Session

from kechuang.auth.actor import Actor
from kechuang.auth.scope import enterprise_visible, region_code_in_scope
from kechuang.kit.errors import NotFound
from kechuang.models import Enterprise, Institute
from kechuang.models.matching import (
    Achievement,
    Cooperation,
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
