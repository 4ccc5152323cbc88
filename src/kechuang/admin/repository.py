"""SQL of the administration pages. An administrator sees audit events and accounts of their
own region subtree only (``kechuang.auth.scope``)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, func, or_, select, true
from sqlalchemy.orm import Session

from kechuang.auth.actor import Actor
from kechuang.auth.scope import region_code_in_scope, regions_in_scope
from kechuang.models import AuditEvent, Bank, Department, Expert, Institute, Region, User


def _in_scope(actor: Actor, column: Any) -> ColumnElement[bool]:
    """``region_code_in_scope`` for any region-code column (nullable ones included)."""
    return region_code_in_scope(actor, column)


def audit_scope(actor: Actor) -> ColumnElement[bool]:
    """Events about the subtree (their region) or done by one of its accounts."""
    if actor.region_path == "/":
        return true()
    return or_(
        _in_scope(actor, AuditEvent.region_code),
        AuditEvent.actor_id.in_(
            select(User.id).where(_in_scope(actor, User.region_code))
        ),
    )


def audit_predicates(actor: Actor, action: str, user: str, since: datetime | None,
                     until: datetime | None) -> list[ColumnElement[bool]]:
    where = [audit_scope(actor)]
    if action:
        where.append(AuditEvent.action == action)
    if user:
        where.append(AuditEvent.actor == user)
    if since is not None:
        where.append(AuditEvent.at >= since)
    if until is not None:
        where.append(AuditEvent.at < until)
    return where


def count_audit(session: Session, where: list[ColumnElement[bool]]) -> int:
    return int(session.scalar(select(func.count()).select_from(AuditEvent).where(*where)) or 0)


def audit_rows(session: Session, where: list[ColumnElement[bool]], offset: int,
               limit: int) -> list[AuditEvent]:
    return list(session.scalars(select(AuditEvent).where(*where)
                                .order_by(AuditEvent.at.desc(), AuditEvent.id.desc())
                                .offset(offset).limit(limit)))


def audit_actions(session: Session, actor: Actor) -> list[str]:
    return list(session.scalars(select(AuditEvent.action).where(audit_scope(actor))
                                .distinct().order_by(AuditEvent.action)))


def users_in_scope(session: Session, actor: Actor) -> list[Any]:
    return list(session.execute(
        select(User, Region.name.label("region_name"))
        .join(Region, Region.code == User.region_code)
        .where(_in_scope(actor, User.region_code))
        .order_by(User.role, User.username)
    ))


def user_in_scope(session: Session, actor: Actor, user_id: int) -> User | None:
    return session.scalar(select(User).where(
        User.id == user_id, _in_scope(actor, User.region_code)))


def account_regions(session: Session, actor: Actor) -> list[Any]:
    """Regions an administrator may give a new account: their own and those below, down to
    towns and parks."""
    return list(session.execute(
        select(Region.code, Region.name, Region.level)
        .where(regions_in_scope(actor), Region.level.in_(("province", "city", "county",
                                                          "town", "park")))
        .order_by(Region.path).limit(500)
    ))


def parties(session: Session, actor: Actor) -> dict[str, list[Any]]:
    """Departments, institutes, experts and banks a new account may be tied to."""
    return {
        "departments": list(session.execute(
            select(Department.code, Department.name_zh, Department.name_en)
            .order_by(Department.code))),
        "institutes": list(session.execute(
            select(Institute.id, Institute.name)
            .where(_in_scope(actor, Institute.region_code))
            .order_by(Institute.name))),
        "experts": list(session.execute(
            select(Expert.id, Expert.name)
            .where(_in_scope(actor, Expert.region_code))
            .order_by(Expert.name))),
        "banks": list(session.execute(
            select(Bank.id, Bank.name)
            .where(_in_scope(actor, Bank.region_code))
            .order_by(Bank.name))),
    }
