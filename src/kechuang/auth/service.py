"""Account actions. Each state change is one ``do_*`` function that also writes its audit row;
the caller commits. Every SQL statement is in :mod:`kechuang.auth.repository`.

Login (ASVS V2): a password, then — for an account with a confirmed TOTP credential, or a
bureau administrator when ``totp_required_for_admins`` is on — a second step on a short-lived
login challenge. Failed logins are kept as evidence (never deleted on success) and limit
further attempts per account *and address*, per address, and — without ever locking the
account — per account from addresses that have not logged into it before.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy.orm import Session

from kechuang.auth import repository as repo
from kechuang.auth import totp
from kechuang.auth.actor import Actor
from kechuang.auth.passwords import hash_password, password_problem, verify_password
from kechuang.auth.scope import region_in_scope
from kechuang.config import get_settings
from kechuang.kit import audit
from kechuang.kit.errors import Conflict, Forbidden, InvalidInput, NotFound, TooManyRequests
from kechuang.models import ROLES, LoginSession, User, utcnow
from kechuang.models.security import LoginChallenge, TotpCredential

#: roles that must be tied to one party, and the column naming it
PARTY_OF_ROLE = {
    "department": "department_code",
    "enterprise": "enterprise_id",
    "institute": "institute_id",
    "expert": "expert_id",
    "bank": "bank_id",
}

#: minutes a password-checked login may wait for its second factor
CHALLENGE_MINUTES = 10
#: wrong codes on one challenge before it is spent
CHALLENGE_MAX_FAILURES = 5


def token_hash(token: str) -> str:
    key = get_settings().secret_key.encode()
    return hmac.new(key, token.encode(), hashlib.sha256).hexdigest()


def region_actor(session: Session, region_code: str) -> Actor:
    """The command line acting for one region (a county's demo records, a job run for a
    region): its scope is the region's subtree."""
    return Actor.command_line(region_code, repo.region_path(session, region_code) or "/")


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


def _check_password(password: str, username: str | None) -> None:
    problem = password_problem(password, username)
    if problem:
        raise InvalidInput(problem[0], problem[1], field="password")


# --------------------------------------------------------------------------- security events


def record_event(session: Session, kind: str, *, actor: Actor | None = None,
                 username: str | None = None, ip: str | None = None,
                 method: str | None = None, path: str | None = None,
                 status: int | None = None, detail: dict[str, Any] | None = None) -> None:
    """One security event in the caller's transaction (the web layer writes refusals in a
    transaction of their own, so that they outlive the request's rollback)."""
    who = actor if actor is not None and actor.is_authenticated else None
    repo.add_security_event(
        session, kind=kind[:48], username=(who.username if who else username),
        user_id=who.user_id if who else None, role=who.role if who else None,
        region_code=who.region_code if who else None,
        ip=(ip or (actor.ip if actor else None)),
        method=method, path=(path or "")[:300] or None, status=status,
        detail=None if detail is None else json.loads(json.dumps(detail, default=str)),
    )


# --------------------------------------------------------------------------- accounts


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
    _check_password(password, username)
    region = repo.region(session, region_code)
    if region is None:
        raise InvalidInput(f"区域代码不存在：{region_code}", f"Unknown region code: {region_code}")
    if actor.region_path != "/" and not region.path.startswith(actor.region_path):
        raise Forbidden("不能在本辖区之外创建账号", "Cannot create accounts outside your region")
    needed = PARTY_OF_ROLE.get(role)
    if needed and party.get(needed) is None:
        raise InvalidInput(f"角色 {role} 需要指定 {needed}", f"Role {role} requires {needed}")
    if repo.username_taken(session, username):
        raise Conflict(f"用户名已存在：{username}", f"Username already exists: {username}")
    user = User(
        username=username,
        display_name=display_name or username,
        password_hash=hash_password(password),
        role=role,
        region_code=region_code,
        **{k: v for k, v in party.items() if k in PARTY_OF_ROLE.values()},
    )
    repo.add(session, user)
    audit.record(session, actor, "user.create", "user", user.id, region_code=region_code,
                 after={"username": username, "role": role, "region_code": region_code,
                        **{k: v for k, v in party.items() if v is not None}})
    return user


def do_change_password(session: Session, actor: Actor, *, current: str, new: str,
                       keep_token: str | None = None) -> int:
    """Change one's own password (every account may). The current password is asked again;
    every other session of the account is revoked. Returns how many were."""
    if not actor.is_authenticated or actor.user_id is None:
        raise Forbidden("请先登录", "Please log in")
    user = repo.user_by_id(session, actor.user_id)
    if user is None or not verify_password(user.password_hash, current):
        record_event(session, "password.change_failed", actor=actor)
        raise InvalidInput("当前密码不正确", "The current password is wrong", field="current")
    if hmac.compare_digest(current, new):
        raise InvalidInput("新密码不能与当前密码相同", "The new password must differ",
                           field="password")
    _check_password(new, user.username)
    user.password_hash = hash_password(new)
    revoked = repo.revoke_user_sessions(session, user.id,
                                        keep=token_hash(keep_token) if keep_token else None)
    audit.record(session, actor, "user.password_change", "user", user.id,
                 region_code=user.region_code, after={"sessions_revoked": revoked})
    record_event(session, "password.changed", actor=actor, detail={"sessions_revoked": revoked})
    return revoked


def _target_in_scope(session: Session, actor: Actor, user_id: int) -> User:
    if actor.role != "bureau_admin":
        raise Forbidden("只有科技局管理员可以管理账号",
                        "Only a bureau administrator manages accounts")
    user = repo.user_by_id(session, user_id)
    path = repo.region_path(session, user.region_code) if user is not None else None
    if user is None or path is None or not region_in_scope(actor, path):
        raise NotFound("账号不存在或不在您的辖区内", "No such account in your region")
    return user


def do_reset_password(session: Session, actor: Actor, user_id: int, new: str, *,
                      reset_totp: bool = False) -> int:
    """An administrator sets a new password for an account of their region: every session
    of the account is revoked (and, if asked, its second factor removed, so that it enrols
    again). Returns the number of sessions revoked."""
    user = _target_in_scope(session, actor, user_id)
    _check_password(new, user.username)
    user.password_hash = hash_password(new)
    revoked = repo.revoke_user_sessions(session, user.id)
    if reset_totp:
        repo.delete_totp(session, user.id)
    audit.record(session, actor, "user.password_reset", "user", user.id,
                 region_code=user.region_code,
                 after={"username": user.username, "sessions_revoked": revoked,
                        "totp_reset": reset_totp})
    record_event(session, "password.reset", actor=actor,
                 detail={"target": user.username, "sessions_revoked": revoked,
                         "totp_reset": reset_totp})
    return revoked


def do_revoke_sessions(session: Session, actor: Actor, user_id: int) -> int:
    """Revoke every open session of a user (an administrator's action, or one's own)."""
    target = repo.user_by_id(session, user_id)
    if target is None:
        raise NotFound("账号不存在", "No such account")
    if actor.user_id != user_id:
        target_path = repo.region_path(session, target.region_code)
        if actor.role != "bureau_admin" or not region_in_scope(actor, target_path or ""):
            raise Forbidden("无权注销他人会话", "Not allowed to revoke other users' sessions")
    revoked = repo.revoke_user_sessions(session, user_id)
    audit.record(session, actor, "session.revoke_all", "user", user_id,
                 after={"revoked": revoked})
    return revoked


def require_region_in_scope(session: Session, actor: Actor, region_code: str | None) -> None:
    """Refuse (403) an action on a region outside the actor's subtree — e.g. town staff
    starting work labelled with, or over, the whole county (reading what the public may
    read stays allowed elsewhere)."""
    if actor.region_path == "/":
        return
    path = repo.region_path(session, region_code)
    if path is None or not region_in_scope(actor, path):
        raise Forbidden(f"区域 {region_code} 不在您的辖区内，不能对其操作",
                        f"Region {region_code} is outside your region")


# --------------------------------------------------------------------------- login


@dataclass
class LoginResult:
    """Either an open session (``token``) or a pending second step (``challenge``)."""

    user: User
    token: str | None = None
    challenge: str | None = None
    purpose: str | None = None  # "verify" or "enrol"


def _throttled(session: Session, username: str, ip: str) -> bool:
    """Too many recent failures for this account from this address, or from this address
    overall, or — for an address that never logged into this account — for the account."""
    settings = get_settings()
    now = utcnow()
    since = now - timedelta(minutes=settings.login_window_minutes)
    last_ok_here = repo.last_success(session, username, ip)
    pair_since = max(since, last_ok_here) if last_ok_here else since
    if repo.failures(session, since=pair_since, username=username,
                     ip=ip) >= settings.login_max_failures:
        return True
    if repo.failures(session, since=since, ip=ip) >= settings.login_max_failures * 4:
        return True
    if repo.failures(session, since=since,
                     username=username) >= settings.login_account_max_failures:
        known_since = now - timedelta(days=settings.login_known_address_days)
        return last_ok_here is None or last_ok_here < known_since
    return False


def _fail(session: Session, username: str, ip: str, kind: str, detail: dict[str, Any] | None
          = None) -> None:
    repo.add_failed_attempt(session, username, ip)
    record_event(session, kind, username=username[:100], ip=ip, path="/login", status=422,
                 detail=detail)


def _needs_second_factor(session: Session, user: User) -> str | None:
    if repo.totp_enabled(session, user.id):
        return "verify"
    if user.role == "bureau_admin" and get_settings().totp_required_for_admins:
        return "enrol"
    return None


def _open_session(session: Session, user: User, ip: str, user_agent: str | None,
                  method: str) -> str:
    settings = get_settings()
    token = secrets.token_urlsafe(32)
    now = utcnow()
    repo.add(session, LoginSession(
        token_hash=token_hash(token), user_id=user.id, csrf_token=secrets.token_urlsafe(32),
        created_at=now, expires_at=now + timedelta(hours=settings.session_hours), ip=ip,
        user_agent=(user_agent or "")[:300]))
    user.last_login_at = now
    path = repo.region_path(session, user.region_code) or "/"
    actor = actor_for_user(user, path, ip)
    audit.record(session, actor, "session.login", "user", user.id, region_code=user.region_code,
                 after={"method": method})
    record_event(session, "login.ok", actor=actor, path="/login", status=303,
                 detail={"method": method})
    return token


def do_login(session: Session, username: str, password: str, ip: str,
             user_agent: str | None = None) -> LoginResult:
    """Verify a password. Opens a session, or a login challenge when a second factor is due.

    Refused with 429 (also for the right password) while :func:`_throttled`; every failure
    and refusal is kept as login evidence (the caller commits it even though it fails)."""
    settings = get_settings()
    if _throttled(session, username, ip):
        record_event(session, "login.throttled", username=username[:100], ip=ip, path="/login",
                     status=429)
        raise TooManyRequests(
            f"登录失败次数过多，请{settings.login_window_minutes}分钟后再试",
            f"Too many failed logins; try again in {settings.login_window_minutes} minutes",
        )
    user = repo.user_by_name(session, username)
    if not verify_password(user.password_hash if user else None, password) or user is None \
            or not user.is_active:
        _fail(session, username, ip, "login.failed",
              {"reason": "inactive" if user is not None and user.is_active is False
               and verify_password(user.password_hash, password) else "password"})
        raise InvalidInput("用户名或密码错误", "Wrong username or password")
    purpose = _needs_second_factor(session, user)
    if purpose is None:
        return LoginResult(user=user, token=_open_session(session, user, ip, user_agent,
                                                          "password"))
    challenge = secrets.token_urlsafe(32)
    now = utcnow()
    repo.add(session, LoginChallenge(token_hash=token_hash(challenge), user_id=user.id,
                                     purpose=purpose, created_at=now, ip=ip,
                                     expires_at=now + timedelta(minutes=CHALLENGE_MINUTES)))
    if purpose == "enrol" and repo.totp_of(session, user.id) is None:
        repo.add(session, TotpCredential(user_id=user.id, secret=totp.new_secret()))
    record_event(session, "login.password_ok", username=user.username, ip=ip, path="/login",
                 detail={"next": purpose})
    return LoginResult(user=user, challenge=challenge, purpose=purpose)


def pending_challenge(session: Session, challenge: str) -> tuple[LoginChallenge, User] | None:
    row = repo.challenge(session, token_hash(challenge))
    if row is None or row.used_at is not None or row.expires_at <= utcnow() \
            or row.failures >= CHALLENGE_MAX_FAILURES:
        return None
    user = repo.user_by_id(session, row.user_id)
    if user is None or not user.is_active:
        return None
    return row, user


def enrolment_secret(session: Session, user: User) -> tuple[str, str]:
    """The secret being enrolled and its ``otpauth://`` URI (for the authenticator app)."""
    cred = repo.totp_of(session, user.id)
    if cred is None:
        raise NotFound("没有待绑定的动态口令", "No second factor is being enrolled")
    return cred.secret, totp.otpauth_uri(cred.secret, user.username, get_settings().totp_issuer)


def _accept_code(session: Session, user: User, code: str) -> bool:
    cred = repo.totp_of(session, user.id)
    if cred is None:
        return False
    step = totp.matching_step(cred.secret, code)
    return step is not None and repo.use_totp_step(session, user.id, step)


def do_complete_login(session: Session, challenge: str, code: str, ip: str,
                      user_agent: str | None = None) -> tuple[str, User]:
    """The second step: a TOTP code for the pending challenge (which, for an enrolment,
    also confirms the new credential). Returns the session token."""
    pending = pending_challenge(session, challenge)
    if pending is None:
        raise InvalidInput("登录已过期，请重新输入用户名和密码",
                           "The login has expired; enter your user name and password again")
    row, user = pending
    if not _accept_code(session, user, code):
        row.failures += 1
        repo.add_failed_attempt(session, user.username, ip)
        record_event(session, "login.totp_failed", username=user.username, ip=ip,
                     path="/login/totp", status=422, detail={"failures": row.failures})
        raise InvalidInput("动态口令不正确", "Wrong one-time code", field="code")
    row.used_at = utcnow()
    if row.purpose == "enrol":
        cred = repo.totp_of(session, user.id)
        assert cred is not None
        cred.enabled_at = utcnow()
        path = repo.region_path(session, user.region_code) or "/"
        audit.record(session, actor_for_user(user, path, ip), "user.totp_enable", "user",
                     user.id, region_code=user.region_code)
    return _open_session(session, user, ip, user_agent, "password+totp"), user


def do_start_totp(session: Session, actor: Actor) -> tuple[str, str]:
    """A logged-in user starts enrolling a second factor: a fresh secret (replacing an
    unconfirmed one; a confirmed one must be removed first)."""
    if actor.user_id is None:
        raise Forbidden("请先登录", "Please log in")
    cred = repo.totp_of(session, actor.user_id)
    if cred is not None and cred.enabled_at is not None:
        raise Conflict("已启用动态口令", "A second factor is already enabled")
    cred = repo.fresh_totp(session, actor.user_id, totp.new_secret())
    audit.record(session, actor, "user.totp_start", "user", actor.user_id,
                 region_code=actor.region_code)
    return cred.secret, totp.otpauth_uri(cred.secret, actor.username, get_settings().totp_issuer)


def do_confirm_totp(session: Session, actor: Actor, code: str) -> None:
    if actor.user_id is None:
        raise Forbidden("请先登录", "Please log in")
    user = repo.user_by_id(session, actor.user_id)
    cred = repo.totp_of(session, actor.user_id)
    if user is None or cred is None or cred.enabled_at is not None:
        raise Conflict("没有待确认的动态口令", "No second factor is waiting for confirmation")
    if not _accept_code(session, user, code):
        record_event(session, "totp.confirm_failed", actor=actor)
        raise InvalidInput("动态口令不正确", "Wrong one-time code", field="code")
    cred.enabled_at = utcnow()
    audit.record(session, actor, "user.totp_enable", "user", actor.user_id,
                 region_code=actor.region_code)
    record_event(session, "totp.enabled", actor=actor)


def do_disable_totp(session: Session, actor: Actor, password: str) -> None:
    """Remove one's own second factor (the password is asked again). Refused for a bureau
    administrator while the setting requires one."""
    if actor.user_id is None:
        raise Forbidden("请先登录", "Please log in")
    if actor.role == "bureau_admin" and get_settings().totp_required_for_admins:
        raise Forbidden("科技局管理员必须使用动态口令",
                        "Bureau administrators must keep a second factor")
    user = repo.user_by_id(session, actor.user_id)
    if user is None or not verify_password(user.password_hash, password):
        record_event(session, "totp.disable_failed", actor=actor)
        raise InvalidInput("当前密码不正确", "The current password is wrong", field="password")
    repo.delete_totp(session, actor.user_id)
    audit.record(session, actor, "user.totp_disable", "user", actor.user_id,
                 region_code=actor.region_code)
    record_event(session, "totp.disabled", actor=actor)


def totp_state(session: Session, actor: Actor) -> str:
    """"enabled", "pending" (started, not confirmed) or "off"."""
    if actor.user_id is None:
        return "off"
    cred = repo.totp_of(session, actor.user_id)
    if cred is None:
        return "off"
    return "enabled" if cred.enabled_at is not None else "pending"


def resolve_session(session: Session, token: str, ip: str | None = None) -> Actor | None:
    """The actor behind a session cookie, or ``None`` when it is unknown, expired or revoked."""
    row = repo.session_with_user(session, token_hash(token))
    if row is None:
        return None
    login, user, path = row
    if login.revoked_at is not None or login.expires_at <= utcnow() or not user.is_active:
        return None
    return actor_for_user(user, path, ip, csrf_token=login.csrf_token)


def do_logout(session: Session, actor: Actor, token: str) -> None:
    repo.revoke_session(session, token_hash(token))
    audit.record(session, actor, "session.logout", "user", actor.user_id)


def enterprise_id_of(session: Session, uscc: str) -> int:
    """The id of the enterprise with credit code ``uscc`` (for binding an account)."""
    ent_id = repo.enterprise_id_of(session, uscc)
    if ent_id is None:
        raise InvalidInput(f"企业不存在：{uscc}", f"no enterprise with credit code {uscc}",
                           field="enterprise")
    return ent_id
