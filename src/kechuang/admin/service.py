"""Administration: reading the audit log of one's region, and account actions.

Account actions check that the target account lies in the administrator's region subtree
(answering 404 otherwise, like the registry) before they change anything; each writes its
audit row in the caller's transaction.
"""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from kechuang.admin import repository as repo
from kechuang.admin.schemas import (
    AUDIT_PER_PAGE,
    AuditFilters,
    AuditPage,
    AuditRow,
    Change,
    SecurityFilters,
    SecurityPage,
    SecurityRow,
)
from kechuang.auth.actor import Actor
from kechuang.auth.service import (
    PARTY_OF_ROLE,
    do_create_user,
    do_reset_password,
    do_revoke_sessions,
)
from kechuang.config import get_settings
from kechuang.kit import audit
from kechuang.kit.errors import Forbidden, InvalidInput, NotFound
from kechuang.models import User


def _local_midnight_utc(day: Any) -> datetime:
    zone = ZoneInfo(get_settings().timezone)
    return datetime.combine(day, time.min, tzinfo=zone).astimezone(UTC)


def _show(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False, sort_keys=True)
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def changes_of(before: dict[str, Any] | None, after: dict[str, Any] | None) -> list[Change]:
    """Before/after as one line per key, in the order the keys first appear."""
    before, after = before or {}, after or {}
    keys = list(before) + [k for k in after if k not in before]
    return [Change(k, _show(before.get(k)), _show(after.get(k))) for k in keys]


def list_audit(session: Session, actor: Actor, filters: AuditFilters) -> AuditPage:
    """Audit events in the administrator's scope, newest first; dates are local days."""
    if filters.date_from and filters.date_to and filters.date_from > filters.date_to:
        raise InvalidInput("起始日期晚于截止日期", "The start date is after the end date",
                           field="date_from")
    since = _local_midnight_utc(filters.date_from) if filters.date_from else None
    until = (_local_midnight_utc(filters.date_to + timedelta(days=1))
             if filters.date_to else None)
    where = repo.audit_predicates(actor, filters.action.strip(), filters.user.strip(),
                                  since, until)
    total = repo.count_audit(session, where)
    pages = max(1, math.ceil(total / AUDIT_PER_PAGE))
    page = min(filters.page, pages)
    rows = repo.audit_rows(session, where, (page - 1) * AUDIT_PER_PAGE, AUDIT_PER_PAGE)
    items = [AuditRow(id=e.id, at=e.at, actor=e.actor, action=e.action,
                      object_type=e.object_type, object_id=e.object_id,
                      region_code=e.region_code, ip=e.ip, changes=changes_of(e.before, e.after))
             for e in rows]
    return AuditPage(total=total, page=page, pages=pages, items=items)


def list_security_events(session: Session, actor: Actor,
                         filters: SecurityFilters) -> SecurityPage:
    """Security events (logins, refusals, CSRF failures, downloads …) of the administrator's
    region and of anonymous callers, newest first; dates are local days."""
    if actor.role != "bureau_admin":
        raise Forbidden("只有科技局管理员可以查看安全事件",
                        "Only a bureau administrator reads security events")
    if filters.date_from and filters.date_to and filters.date_from > filters.date_to:
        raise InvalidInput("起始日期晚于截止日期", "The start date is after the end date",
                           field="date_from")
    since = _local_midnight_utc(filters.date_from) if filters.date_from else None
    until = (_local_midnight_utc(filters.date_to + timedelta(days=1))
             if filters.date_to else None)
    where = repo.security_event_predicates(actor, kind=filters.kind.strip(),
                                           username=filters.user.strip(),
                                           ip=filters.ip.strip(), path=filters.path.strip(),
                                           status=filters.status, since=since, until=until)
    total = repo.count_security_events(session, where)
    pages = max(1, math.ceil(total / AUDIT_PER_PAGE))
    page = min(filters.page, pages)
    rows = repo.security_events(session, where, (page - 1) * AUDIT_PER_PAGE, AUDIT_PER_PAGE)
    items = [SecurityRow(id=e.id, at=e.at, kind=e.kind, username=e.username, ip=e.ip,
                         method=e.method, path=e.path, status=e.status,
                         detail_text=_show(e.detail) or "") for e in rows]
    return SecurityPage(total=total, page=page, pages=pages, items=items)


def security_kinds(session: Session) -> list[str]:
    return repo.security_event_kinds(session)


def reset_password(session: Session, actor: Actor, user_id: int, password: str,
                   reset_totp: bool) -> tuple[User, int]:
    """An administrator's password reset of an account of their region (sessions revoked)."""
    user = _target(session, actor, user_id)
    return user, do_reset_password(session, actor, user.id, password, reset_totp=reset_totp)


def _target(session: Session, actor: Actor, user_id: int) -> User:
    if actor.role != "bureau_admin":
        raise Forbidden("只有科技局管理员可以管理账号",
                        "Only a bureau administrator manages accounts")
    user = repo.user_in_scope(session, actor, user_id)
    if user is None:
        raise NotFound("账号不存在或不在您的辖区内", "No such account in your region")
    return user


def revoke_sessions(session: Session, actor: Actor, user_id: int) -> tuple[User, int]:
    """Revoke every open session of an account of the administrator's region."""
    user = _target(session, actor, user_id)
    return user, do_revoke_sessions(session, actor, user.id)


def do_deactivate_user(session: Session, actor: Actor, user_id: int) -> User:
    """Deactivate an account. Its sessions stop working at once (session lookup checks
    ``is_active``); they are also revoked so that reactivation does not revive them."""
    user = _target(session, actor, user_id)
    if user.id == actor.user_id:
        raise InvalidInput("不能停用自己的账号", "You cannot deactivate your own account")
    if not user.is_active:
        return user
    user.is_active = False
    revoked = repo.revoke_open_sessions(session, user.id)
    audit.record(session, actor, "user.deactivate", "user", user.id,
                 region_code=user.region_code,
                 before={"username": user.username, "is_active": True},
                 after={"username": user.username, "is_active": False,
                        "sessions_revoked": revoked})
    repo.flush(session)
    return user


def do_activate_user(session: Session, actor: Actor, user_id: int) -> User:
    """Reactivate a deactivated account (it logs in afresh; old sessions stay revoked)."""
    user = _target(session, actor, user_id)
    if user.is_active:
        return user
    user.is_active = True
    audit.record(session, actor, "user.activate", "user", user.id, region_code=user.region_code,
                 before={"username": user.username, "is_active": False},
                 after={"username": user.username, "is_active": True})
    repo.flush(session)
    return user


def create_user(session: Session, actor: Actor, form: dict[str, str]) -> User:
    """The account form: blanks mean "not given"; an enterprise is named by its credit code
    and must be one the administrator can see."""
    party: dict[str, object] = {}
    if form.get("department_code"):
        party["department_code"] = form["department_code"]
    uscc = (form.get("enterprise_uscc") or "").strip().upper()
    if uscc:
        eid = repo.visible_enterprise_id(session, actor, uscc)
        if eid is None:
            raise InvalidInput(f"企业信用代码“{uscc}”不存在或不在您的辖区内",
                               f"Unknown enterprise credit code in your region: {uscc}",
                               field="enterprise_uscc")
        party["enterprise_id"] = eid
    for key in ("institute_id", "expert_id", "bank_id"):
        raw = (form.get(key) or "").strip()
        if raw:
            if not raw.isdigit():
                raise InvalidInput(f"{key} 无效", f"Invalid {key}", field=key)
            party[key] = int(raw)
    role = form.get("role", "")
    # a party field given for a role that has none would silently be ignored: refuse it
    stray = set(party) - {PARTY_OF_ROLE.get(role)}
    if stray:
        raise InvalidInput(f"角色 {role} 不应关联 {', '.join(sorted(stray))}",
                           f"Role {role} takes no {', '.join(sorted(stray))}", field="role")
    username = (form.get("username") or "").strip()
    if not username:
        raise InvalidInput("请填写用户名", "Username is required", field="username")
    return do_create_user(session, actor, username=username, password=form.get("password", ""),
                          role=role, region_code=form.get("region_code", ""),
                          display_name=(form.get("display_name") or "").strip() or None, **party)


def users(session: Session, actor: Actor) -> list[Any]:
    return repo.users_in_scope(session, actor)


def form_options(session: Session, actor: Actor) -> dict[str, Any]:
    return {"regions": repo.account_regions(session, actor), **repo.parties(session, actor)}
