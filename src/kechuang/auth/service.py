"""Account actions. Each state change is one ``do_*`` function that also writes its audit row;
the caller commits."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import timedelta
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from kechuang.auth.actor import Actor
from kechuang.auth.passwords import hash_password, password_problem, verify_password
from kechuang.auth.scope import region_in_scope
from kechuang.config import get_settings
from kechuang.kit import audit
from kechuang.kit.errors import Conflict, Forbidden, InvalidInput, NotFound, TooManyRequests
from kechuang.models import ROLES, LoginAttempt, LoginSession, Region, User, utcnow

#: roles that must be tied to one party, and the column naming it
PARTY_OF_ROLE = {
    "department": "department_code",
    "enterprise": "enterprise_id",
    "institute": "institute_id",
    "expert": "expert_id",
    "bank": "bank_id",
}


def token_hash(token: str) -> str:
    key = get_settings().secret_key.encode()
    return hmac.new(key, token.encode(), hashlib.sha256).hexdigest()


def actor_for_user(user: User, region_path: str, ip: str | None = None,
                   csrf_token: str | None = None) -> Actor:
    return Actor(
        username=user.username,
        role=user.role,
        region_code=user.region_code,
        region_path=region_path,
        user_id=user.id,
        department_code=user.department_code,
        enterprise_id=user.enterprise_id,
        institute_id=user.institute_id,
        expert_id=user.expert_id,
        bank_id=user.bank_id,
        ip=ip,
        display_name=user.display_name,
        csrf_token=csrf_token,
        locale=user.locale,
    )


def do_create_user(
    session: Session,
    actor: Actor,
    *,
    username: str,
    password: str,
    role: str,
    region_code: str,
    display_name: str | None = None,
    **party: object,
) -> User:
    """Create an account. Only a bureau administrator, inside their own region subtree."""
    if actor.role != "bureau_admin":
        raise Forbidden("只有科技局管理员可以创建账号",
                        "Only a bureau administrator can create accounts")
    if role not in ROLES or role == "public":
        raise InvalidInput(f"未知角色：{role}", f"Unknown role: {role}")
    problem = password_problem(password)
    if problem:
        raise InvalidInput(problem, "Password too weak")
    region = session.get(Region, region_code)
    if region is None:
        raise InvalidInput(f"区域代码不存在：{region_code}", f"Unknown region code: {region_code}")
    if actor.region_path != "/" and not region.path.startswith(actor.region_path):
        raise Forbidden("不能在本辖区之外创建账号", "Cannot create accounts outside your region")
    needed = PARTY_OF_ROLE.get(role)
    if needed and party.get(needed) is None:
        raise InvalidInput(f"角色 {role} 需要指定 {needed}", f"Role {role} requires {needed}")
    if session.scalar(select(User.id).where(User.username == username)) is not None:
        raise Conflict(f"用户名已存在：{username}", f"Username already exists: {username}")
    user = User(
        username=username,
        display_name=display_name or username,
        password_hash=hash_password(password),
        role=role,
        region_code=region_code,
        **{k: v for k, v in party.items() if k in PARTY_OF_ROLE.values()},
    )
    session.add(user)
    session.flush()
    audit.record(session, actor, "user.create", "user", user.id, region_code=region_code,
                 after={"username": username, "role": role, "region_code": region_code,
                        **{k: v for k, v in party.items() if v is not None}})
    return user


def _recent_failures(session: Session, column: Any, value: str) -> int:
    settings = get_settings()
    since = utcnow() - timedelta(minutes=settings.login_window_minutes)
    query = select(func.count()).select_from(LoginAttempt).where(
        column == value, LoginAttempt.at >= since)
    return session.scalar(query) or 0


def do_login(session: Session, username: str, password: str, ip: str,
             user_agent: str | None = None) -> tuple[str, LoginSession, User]:
    """Verify a password and open a session. Returns the cookie token (only its hash is kept).

    Failed attempts are counted per account and per address; past the limit every attempt is
    refused with 429 — also one with the right password — until the window has passed.
    """
    settings = get_settings()
    if (_recent_failures(session, LoginAttempt.username, username) >= settings.login_max_failures
            or _recent_failures(session, LoginAttempt.ip, ip) >= settings.login_max_failures * 4):
        raise TooManyRequests(
            f"登录失败次数过多，请{settings.login_window_minutes}分钟后再试",
            f"Too many failed logins; try again in {settings.login_window_minutes} minutes",
        )
    user = session.scalar(select(User).where(User.username == username))
    if not verify_password(user.password_hash if user else None, password) or user is None \
            or not user.is_active:
        session.add(LoginAttempt(username=username, ip=ip))
        raise InvalidInput("用户名或密码错误", "Wrong username or password")
    session.execute(delete(LoginAttempt).where(LoginAttempt.username == username))
    token = secrets.token_urlsafe(32)
    now = utcnow()
    login = LoginSession(
        token_hash=token_hash(token),
        user_id=user.id,
        csrf_token=secrets.token_urlsafe(32),
        created_at=now,
        expires_at=now + timedelta(hours=settings.session_hours),
        ip=ip,
        user_agent=(user_agent or "")[:300],
    )
    session.add(login)
    user.last_login_at = now
    session.flush()
    region_path = session.scalar(select(Region.path).where(Region.code == user.region_code)) or "/"
    audit.record(session, actor_for_user(user, region_path, ip), "session.login", "user", user.id,
                 region_code=user.region_code)
    return token, login, user


def resolve_session(session: Session, token: str, ip: str | None = None) -> Actor | None:
    """The actor behind a session cookie, or ``None`` when it is unknown, expired or revoked."""
    row = session.execute(
        select(LoginSession, User, Region.path)
        .join(User, User.id == LoginSession.user_id)
        .join(Region, Region.code == User.region_code)
        .where(LoginSession.token_hash == token_hash(token))
    ).first()
    if row is None:
        return None
    login, user, path = row
    if login.revoked_at is not None or login.expires_at <= utcnow() or not user.is_active:
        return None
    return actor_for_user(user, path, ip, csrf_token=login.csrf_token)


def do_logout(session: Session, actor: Actor, token: str) -> None:
    session.execute(
        update(LoginSession)
        .where(LoginSession.token_hash == token_hash(token), LoginSession.revoked_at.is_(None))
        .values(revoked_at=utcnow())
    )
    audit.record(session, actor, "session.logout", "user", actor.user_id)


def do_revoke_sessions(session: Session, actor: Actor, user_id: int) -> int:
    """Revoke every open session of a user (an administrator's action, or one's own)."""
    target = session.get(User, user_id)
    if target is None:
        raise NotFound("账号不存在", "No such account")
    if actor.user_id != user_id:
        target_path = session.scalar(select(Region.path).where(Region.code == target.region_code))
        if actor.role != "bureau_admin" or not region_in_scope(actor, target_path or ""):
            raise Forbidden("无权注销他人会话", "Not allowed to revoke other users' sessions")
    result = session.execute(
        update(LoginSession)
        .where(LoginSession.user_id == user_id, LoginSession.revoked_at.is_(None))
        .values(revoked_at=utcnow())
    )
    audit.record(session, actor, "session.revoke_all", "user", user_id,
                 after={"revoked": result.rowcount})  # type: ignore[attr-defined]
    return int(result.rowcount)  # type: ignore[attr-defined]
