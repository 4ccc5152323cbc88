"""API tokens: how department systems reach the JSON API (issue 11 item 9).

A bureau administrator makes a token for one account of their region (never for an
administrator account: a token would bypass the administrator's second factor). The
secret — ``kct_`` and 43 URL-safe characters, 256 random bits — is shown once; the database
keeps its SHA-256 (a fast unsalted hash is enough for a secret of that entropy, and unlike
an HMAC with ``secret_key`` it survives a key rotation) and its first 12 characters as the
``prefix`` people use to tell tokens apart. A request with ``Authorization: Bearer <secret>``
acts as the token's account — its role, region and party read afresh at every use — on
``/api/`` paths only (pages are for people and their forms; a token there is refused), and
needs no CSRF token (a browser never sends that header on its own). Every accepted use is an
``api_token.use`` audit row (prefix, method, path) and moves ``last_used_at``; an unknown,
expired or revoked token, or one used on a page, is a 401 and a ``token.refused`` security
event. Revocation takes effect at the next request: nothing is cached.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import replace
from datetime import timedelta

from sqlalchemy.orm import Session

from kechuang.auth import token_repository as repo
from kechuang.auth.actor import Actor
from kechuang.auth.schemas import TokenCreatedOut, TokenOut
from kechuang.auth.service import actor_for_user, record_event
from kechuang.config import get_settings
from kechuang.kit import audit
from kechuang.kit.errors import Conflict, Forbidden, InvalidInput, NotAuthenticated, NotFound
from kechuang.models import ROLES, User, utcnow
from kechuang.models.security import ApiToken

SECRET_START = "kct_"
PREFIX_LENGTH = 12
#: roles a token may act as: never an administrator (the token would bypass the second
#: factor an administrator's login needs), never the public
TOKEN_ROLES = frozenset(ROLES) - {"bureau_admin", "public"}
#: the only paths a token opens
API_PATHS = "/api/"


class TokenRefused(NotAuthenticated):
    """401 for a bearer token that does not open this request."""

    code = "token_refused"


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8", "surrogatepass")).hexdigest()


def bearer_secret(header: str | None) -> str | None:
    """The token of an ``Authorization: Bearer …`` header (None without such a header)."""
    if not header:
        return None
    scheme, _, value = header.strip().partition(" ")
    if scheme.lower() != "bearer":
        return None
    return value.strip()


def state_of(row: ApiToken) -> str:
    """``active``, ``expired`` or ``revoked``."""
    if row.revoked_at is not None:
        return "revoked"
    if row.expires_at <= utcnow():
        return "expired"
    return "active"


def token_out(row: ApiToken, user: User) -> TokenOut:
    return TokenOut(id=row.id, prefix=row.prefix, name=row.name, username=user.username,
                    role=user.role, region_code=user.region_code, state=state_of(row),
                    created_at=row.created_at, expires_at=row.expires_at,
                    revoked_at=row.revoked_at, last_used_at=row.last_used_at)


def command_line_admin(session: Session, region_code: str | None) -> Actor:
    """The shell's operator as an administrator of every region, or of ``region_code``."""
    if region_code is None:
        return Actor.command_line()
    path = repo.region_path(session, region_code)
    if path is None:
        raise NotFound(f"区域代码不存在：{region_code}", f"Unknown region code: {region_code}",
                       field="region")
    return Actor.command_line(region_code=region_code, region_path=path)


def _require_admin(actor: Actor) -> None:
    if actor.role != "bureau_admin":
        raise Forbidden("只有科技局管理员可以管理 API 令牌",
                        "Only a bureau administrator manages API tokens")


# --------------------------------------------------------------------------- managing


def do_create_token(session: Session, actor: Actor, *, username: str, name: str,
                    days: int) -> TokenCreatedOut:
    """A new token for an account of the administrator's region; the answer holds the
    secret, which is shown this once and never stored."""
    _require_admin(actor)
    user = repo.user_by_name_in_scope(session, actor, username.strip())
    if user is None:
        raise NotFound(f"账号 {username} 不存在或不在您的辖区内",
                       f"No account {username} in your region", field="username")
    name = name.strip()
    if not name:
        raise InvalidInput("请填写令牌用途（如“税务局数据接口”）",
                           "Say what the token is for", field="name")
    if user.role not in TOKEN_ROLES:
        raise InvalidInput("不能为科技局管理员账号创建 API 令牌（令牌会绕过动态口令）",
                           "No API token may act as an administrator (it would bypass the "
                           "second factor)", field="username")
    if not user.is_active:
        raise InvalidInput(f"账号 {user.username} 已停用", f"Account {user.username} is "
                           "deactivated", field="username")
    limit = get_settings().api_token_max_days
    if not 1 <= days <= limit:
        raise InvalidInput(f"有效期须为 1–{limit} 天", f"The lifetime must be 1–{limit} days",
                           field="days")
    secret = SECRET_START + secrets.token_urlsafe(32)
    row = ApiToken(user_id=user.id, name=name[:100], prefix=secret[:PREFIX_LENGTH],
                   token_hash=hash_secret(secret), created_by=actor.user_id,
                   expires_at=utcnow() + timedelta(days=days))
    repo.add(session, row)
    audit.record(session, actor, "api_token.create", "api_token", row.id,
                 region_code=user.region_code,
                 after={"account": user.username, "name": row.name, "prefix": row.prefix,
                        "expires_at": row.expires_at})
    record_event(session, "token.created", actor=actor,
                 detail={"token": row.prefix, "account": user.username, "days": days})
    return TokenCreatedOut(**token_out(row, user).model_dump(), secret=secret)


def do_revoke_token(session: Session, actor: Actor, token_id: int) -> TokenOut:
    """Revoke a token at once: its next request is refused."""
    _require_admin(actor)
    found = repo.token_in_scope(session, actor, token_id)
    if found is None:
        raise NotFound(f"令牌 {token_id} 不存在或不在您的辖区内",
                       f"No token {token_id} in your region")
    row, user = found
    if row.revoked_at is not None:
        raise Conflict(f"令牌 {row.prefix}… 已撤销", f"Token {row.prefix}… is already revoked")
    if repo.revoke(session, row, actor.user_id) == 0:  # revoked meanwhile
        raise Conflict(f"令牌 {row.prefix}… 已撤销", f"Token {row.prefix}… is already revoked")
    audit.record(session, actor, "api_token.revoke", "api_token", row.id,
                 region_code=user.region_code,
                 before={"revoked_at": None},
                 after={"account": user.username, "prefix": row.prefix,
                        "revoked_at": row.revoked_at})
    record_event(session, "token.revoked", actor=actor,
                 detail={"token": row.prefix, "account": user.username})
    return token_out(row, user)


def list_tokens(session: Session, actor: Actor) -> list[TokenOut]:
    """The tokens of the accounts an administrator manages, newest first."""
    _require_admin(actor)
    return [token_out(row, user) for row, user in repo.tokens_in_scope(session, actor)]


def token_accounts(session: Session, actor: Actor) -> list[User]:
    """Active accounts of the administrator's region a token may be made for."""
    _require_admin(actor)
    return repo.users_in_scope(session, actor, TOKEN_ROLES)


# --------------------------------------------------------------------------- using


def use_token(session: Session, secret: str, *, ip: str | None, method: str,
              path: str) -> tuple[Actor | None, TokenRefused | None]:
    """The actor a bearer token acts as for this request (with its audit row written), or
    the refusal (with its ``token.refused`` security event written). The caller commits —
    in a transaction of its own, so that the record outlives the request's rollback."""
    found = repo.token_with_user(session, hash_secret(secret)) if secret else None
    why: str | None = None
    if found is None:
        why = "unknown"
    else:
        row, user, region_path = found
        why = None if state_of(row) == "active" else state_of(row)
        if why is None and (not user.is_active or user.role not in TOKEN_ROLES):
            why = "account"
        if why is None and not path.startswith(API_PATHS):
            why = "not_api"
    if why is not None:
        prefix = secret[:PREFIX_LENGTH] if secret.startswith(SECRET_START) else None
        record_event(session, "token.refused", ip=ip, method=method, path=path,
                     username=None if found is None else found[1].username, status=401,
                     detail={"token": prefix, "why": why})
        return None, TokenRefused(*_REFUSAL[why], why=why)
    actor = replace(actor_for_user(user, region_path, ip), token_id=row.id)
    repo.note_use(session, row.id)
    audit.record(session, actor, "api_token.use", "api_token", row.id,
                 region_code=user.region_code,
                 after={"prefix": row.prefix, "method": method, "path": path[:300]})
    return actor, None


_REFUSAL: dict[str, tuple[str, str]] = {
    "unknown": ("API 令牌无效（不存在）", "The API token is not valid"),
    "expired": ("API 令牌已过期，请联系科技局管理员重新签发",
                "The API token has expired; ask a bureau administrator for a new one"),
    "revoked": ("API 令牌已被撤销", "The API token has been revoked"),
    "account": ("API 令牌所属账号已停用或无权使用令牌",
                "The API token's account is deactivated or may not use tokens"),
    "not_api": ("API 令牌只能用于 /api/ 接口，不能打开页面",
                "An API token opens the /api/ endpoints only, never pages"),
}

