"""Request dependencies: the unit of work, the acting user, role guards and CSRF.

Every route declares who may call it with :func:`allow`; the role × endpoint matrix test
reads the same declarations back through :data:`ROUTE_ROLES` and then proves them by
calling every route as every role.
"""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Callable, Iterator
from typing import Annotated, Any

from fastapi import Depends, Path, Query, Request
from fastapi.security import APIKeyCookie, HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session

from kechuang.auth import tokens
from kechuang.auth.actor import Actor
from kechuang.auth.service import resolve_session
from kechuang.db import unit_of_work
from kechuang.kit.errors import Forbidden, KechuangError, NotAuthenticated

SESSION_COOKIE = "kc_session"
ANON_CSRF_COOKIE = "kc_csrf"
LANG_COOKIE = "kc_lang"
CSRF_HEADER = "x-csrf-token"
CSRF_FIELD = "csrf_token"
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def get_db(request: Request) -> Iterator[Session]:
    """The request's unit of work: committed when the endpoint returns, rolled back on error."""
    with unit_of_work(request.app.state.engine) as session:
        yield session


# scope="function": the commit happens when the endpoint returns, before the response is
# sent — so a failed commit is an error response, and the next request sees the change
DB = Annotated[Session, Depends(get_db, scope="function")]


def client_ip(request: Request) -> str:
    return request.client.host if request.client else "unknown"


#: the two ways to authenticate, as OpenAPI security schemes (issue 11 item 9): a
#: department system's API token, or the browser's session cookie
API_TOKEN = HTTPBearer(
    auto_error=False, scheme_name="apiToken", bearerFormat="kct_…",
    description="API token of a department system, made by a bureau administrator (page "
    "/api-tokens, `POST /api/v1/api-tokens` or `kechuang users token create`). It acts as its "
    "account — the same role and region scope — on /api/ paths only, needs no CSRF token, "
    "expires, can be revoked at once, and every use is audited.")
SESSION = APIKeyCookie(
    name=SESSION_COOKIE, auto_error=False, scheme_name="session",
    description="The browser session after logging in at /login; unsafe methods also need "
    "the session's CSRF token in the X-CSRF-Token header")


def _token_actor(request: Request, secret: str) -> Actor:
    """The account a bearer token acts as. The lookup, the audit row of the use (or the
    security event of a refusal) and ``last_used_at`` are one short transaction of their
    own, before the request's unit of work starts — so the record outlives a failed request
    and never holds the request's snapshot open on SQLite."""
    with unit_of_work(request.app.state.engine) as log:
        actor, refusal = tokens.use_token(log, secret, ip=client_ip(request),
                                          method=request.method, path=request.url.path)
    if refusal is not None or actor is None:
        request.state.actor = Actor.public(client_ip(request))
        raise refusal or tokens.TokenRefused("API 令牌无效", "The API token is not valid")
    return actor


def get_actor(request: Request, db: DB,
              _bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(API_TOKEN)],
              _cookie: Annotated[str | None, Depends(SESSION)]) -> Actor:
    """The acting account: a bearer API token when the request carries one (never mixed
    with a cookie), else the session cookie, else the public."""
    secret = tokens.bearer_secret(request.headers.get("authorization"))
    if secret is not None:
        by_token = _token_actor(request, secret)
        request.state.actor = by_token
        return by_token
    token = request.cookies.get(SESSION_COOKIE)
    actor = resolve_session(db, token, client_ip(request)) if token else None
    actor = actor or Actor.public(client_ip(request))
    request.state.actor = actor
    return actor


CurrentActor = Annotated[Actor, Depends(get_actor)]


class CSRFError(KechuangError):
    status_code = 403
    code = "csrf"


async def _submitted_csrf(request: Request) -> str | None:
    header = request.headers.get(CSRF_HEADER)
    if header:
        return header
    ctype = request.headers.get("content-type", "")
    if ctype.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
        form = await request.form()
        value = form.get(CSRF_FIELD)
        return value if isinstance(value, str) else None
    return None


async def check_csrf(request: Request, actor: CurrentActor) -> None:
    """Unsafe methods must echo the session's CSRF token (form field or ``X-CSRF-Token``);
    anonymous forms (the login form) echo a double-submit cookie instead. A request
    authenticated by an API token needs none: a browser never adds an ``Authorization``
    header to a cross-site request by itself, so there is nothing to forge."""
    if request.method not in UNSAFE_METHODS or actor.token_id is not None:
        return
    expected = actor.csrf_token if actor.is_authenticated else request.cookies.get(ANON_CSRF_COOKIE)
    submitted = await _submitted_csrf(request)
    if not expected or not submitted or not hmac.compare_digest(expected, submitted):
        raise CSRFError("表单已失效或来源不明（CSRF 校验失败），请刷新页面后重试",
                        "CSRF check failed; reload the page and try again")


def anon_csrf_token(request: Request) -> str:
    token = request.cookies.get(ANON_CSRF_COOKIE) or secrets.token_urlsafe(24)
    request.state.set_anon_csrf = token
    return token


PUBLIC = "public"
EVERYONE = frozenset({"bureau_admin", "bureau_staff", "department", "enterprise", "institute",
                      "expert", "bank", PUBLIC})
LOGGED_IN = EVERYONE - {PUBLIC}
BUREAU = frozenset({"bureau_admin", "bureau_staff"})


def allow(*roles: str | frozenset[str]) -> Any:
    """A dependency admitting only ``roles`` (and checking CSRF on unsafe methods)."""
    allowed: set[str] = set()
    for r in roles:
        allowed |= {r} if isinstance(r, str) else set(r)
    frozen = frozenset(allowed)

    async def guard(request: Request, actor: CurrentActor) -> Actor:
        if actor.role not in frozen:
            if not actor.is_authenticated:
                raise NotAuthenticated("请先登录", "Please log in")
            raise Forbidden("您的角色无权访问此功能", "Your role may not use this")
        await check_csrf(request, actor)
        return actor

    guard.allowed_roles = frozen  # type: ignore[attr-defined]
    return Depends(guard)


def allowed_roles_of(dependant_calls: list[Callable[..., Any]]) -> frozenset[str] | None:
    for call in dependant_calls:
        roles = getattr(call, "allowed_roles", None)
        if roles is not None:
            return frozenset(roles)
    return None


#: a row id in a URL path: bounded, so an absurd number is a 422, never a database error
RowId = Annotated[int, Path(ge=1, le=2**31 - 1)]
#: bounded query parameters shared by the JSON API and the pages
Year = Annotated[int, Query(ge=1900, le=2100)]
OptYear = Annotated[int | None, Query(ge=1900, le=2100)]
PageNo = Annotated[int, Query(ge=1, le=1_000_000)]
PageSize = Annotated[int, Query(ge=1, le=1000)]
Offset = Annotated[int, Query(ge=0, le=2**31 - 1)]
