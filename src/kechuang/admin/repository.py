"""SQL of the administration pages. An administrator sees audit events and accounts of their
own region subtree only (``kechuang.auth.scope``)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, func, or_, select, true, update
from sqlalchemy.orm import Session

from kechuang.auth.actor import Actor
from kechuang.auth.scope import enterprise_visible, region_code_in_scope, regions_in_scope
from kechuang.models import (
    AuditEvent,
    Bank,
    Department,
    Enterprise,
    Expert,
    Institute,
    LoginSession,
    Region,
    User,
    utcnow,
)
from kechuang.models.security import SecurityEvent


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


# --------------------------------------------------------------------------- security events


def security_event_scope(actor: Actor) -> Any:
    """Events about the administrator's region or its accounts, and anonymous events (an
    unknown user name or no session belongs to no region)."""
    if actor.region_path == "/":
        return true()
    return or_(
        region_code_in_scope(actor, SecurityEvent.region_code),
        SecurityEvent.user_id.in_(select(User.id).where(region_code_in_scope(actor,
                                                                             User.region_code))),
        and_(SecurityEvent.user_id.is_(None), SecurityEvent.region_code.is_(None)),
    )


def security_event_predicates(actor: Actor, *, kind: str = "", username: str = "",
                              ip: str = "", path: str = "", status: int | None = None,
                              since: datetime | None = None,
                              until: datetime | None = None) -> list[Any]:
    where: list[Any] = [security_event_scope(actor)]
    if kind:
        where.append(SecurityEvent.kind.startswith(kind, autoescape=True))
    if username:
        where.append(SecurityEvent.username == username)
    if ip:
        where.append(SecurityEvent.ip == ip)
    if path:
        where.append(SecurityEvent.path.startswith(path, autoescape=True))
    if status is not None:
        where.append(SecurityEvent.status == status)
    if since is not None:
        where.append(SecurityEvent.at >= since)
    if until is not None:
        where.append(SecurityEvent.at < until)
    return where


def count_security_events(session: Session, where: list[Any]) -> int:
    return session.scalar(select(func.count()).select_from(SecurityEvent).where(*where)) or 0


def security_events(session: Session, where: list[Any], offset: int,
                    limit: int) -> list[SecurityEvent]:
    return list(session.scalars(select(SecurityEvent).where(*where)
                                .order_by(SecurityEvent.at.desc(), SecurityEvent.id.desc())
                                .offset(offset).limit(limit)))


def security_event_kinds(session: Session) -> list[str]:
    return list(session.scalars(select(SecurityEvent.kind).distinct()
                                .order_by(SecurityEvent.kind)))


# --------------------------------------------------------------------------- account actions


def revoke_open_sessions(session: Session, user_id: int) -> int:
    result = session.execute(
        update(LoginSession)
        .where(LoginSession.user_id == user_id, LoginSession.revoked_at.is_(None))
        .values(revoked_at=utcnow()))
    return int(result.rowcount)  # type: ignore[attr-defined]


def visible_enterprise_id(session: Session, actor: Actor, uscc: str) -> int | None:
    return session.scalar(select(Enterprise.id).where(Enterprise.uscc == uscc,
                                                      enterprise_visible(actor)))


def flush(session: Session) -> None:
    """Send pending changes so constraint errors appear inside the action."""
    session.flush()
