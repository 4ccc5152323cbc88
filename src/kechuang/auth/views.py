"""Login (password, then the second factor when due), logout, one's own account (password
change, TOTP enrolment), the language switch and the administrators' page of API tokens
for department systems (the home page is kechuang.workbench)."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlparse

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse
from starlette.responses import Response

from kechuang.auth import i18n as _i18n  # noqa: F401  (registers the UI strings)
from kechuang.auth import repository as repo
from kechuang.auth import service
from kechuang.auth import tokens as api_tokens
from kechuang.auth.service import LoginResult, do_login, do_logout
from kechuang.config import get_settings
from kechuang.kit.errors import KechuangError
from kechuang.web import nav
from kechuang.web.deps import (
    DB,
    EVERYONE,
    LANG_COOKIE,
    LOGGED_IN,
    PUBLIC,
    SESSION_COOKIE,
    CurrentActor,
    RowId,
    allow,
    client_ip,
)
from kechuang.web.i18n import LOCALES, translate
from kechuang.web.render import locale_of, render

router = APIRouter(include_in_schema=False)

#: the cookie holding a login that waits for its second factor
CHALLENGE_COOKIE = "kc_login"

nav.register("/account", "auth.nav.account", LOGGED_IN, 95, "account")


def _safe_next(target: str | None) -> str:
    """Only same-site relative paths are followed after login (no open redirect)."""
    if not target:
        return "/"
    parsed = urlparse(target)
    if parsed.scheme or parsed.netloc or not target.startswith("/") or target.startswith("//"):
        return "/"
    return target


@router.get("/login", dependencies=[allow(EVERYONE)])
def login_form(request: Request, next: str | None = None):
    return render(request, "login.html", {"next": _safe_next(next), "error": None})


def _session_response(token: str, target: str | None) -> RedirectResponse:
    response = RedirectResponse(_safe_next(target), status_code=303)
    settings = get_settings()
    response.set_cookie(SESSION_COOKIE, token, httponly=True, samesite="lax",
                        secure=settings.cookie_secure, max_age=settings.session_hours * 3600)
    response.delete_cookie(CHALLENGE_COOKIE)
    return response


@router.post("/login", dependencies=[allow(PUBLIC, LOGGED_IN)])
def login(
    request: Request,
    db: DB,
    username: Annotated[str, Form(max_length=64)],
    password: Annotated[str, Form(max_length=200)],
    next: Annotated[str | None, Form()] = None,
):
    try:
        result: LoginResult = do_login(db, username.strip(), password, client_ip(request),
                                       request.headers.get("user-agent"))
    except KechuangError as exc:
        # the failed attempt is login evidence: it is kept although the request fails
        db.commit()
        return render(request, "login.html",
                      {"next": _safe_next(next), "error": exc.message(locale_of(request)),
                       "username": username}, status_code=exc.status_code)
    if result.token is not None:
        return _session_response(result.token, next)
    assert result.challenge is not None
    target = "/login/totp?" + ("next=" + _safe_next(next) if next else "")
    response = RedirectResponse(target.rstrip("?"), status_code=303)
    response.set_cookie(CHALLENGE_COOKIE, result.challenge, httponly=True, samesite="strict",
                        secure=get_settings().cookie_secure,
                        max_age=service.CHALLENGE_MINUTES * 60)
    return response


def _totp_page(request: Request, db: DB, next: str | None, error: str | None = None,
               status_code: int = 200) -> Response:
    pending = service.pending_challenge(db, request.cookies.get(CHALLENGE_COOKIE, ""))
    if pending is None:  # expired, spent or never started: back to the password
        message = error or translate("auth.totp.expired", locale_of(request))
        return render(request, "login.html", {"next": _safe_next(next), "error": message},
                      status_code=status_code)
    challenge, user = pending
    context: dict[str, object] = {"next": _safe_next(next), "error": error,
                                  "enrol": challenge.purpose == "enrol"}
    if challenge.purpose == "enrol":
        context["secret"], context["uri"] = service.enrolment_secret(db, user)
    return render(request, "auth/totp.html", context, status_code=status_code)


@router.get("/login/totp", dependencies=[allow(PUBLIC, LOGGED_IN)])
def totp_form(request: Request, db: DB, next: str | None = None):
    return _totp_page(request, db, next)


@router.post("/login/totp", dependencies=[allow(PUBLIC, LOGGED_IN)])
def totp_submit(request: Request, db: DB, code: Annotated[str, Form(max_length=12)] = "",
                next: Annotated[str | None, Form()] = None):
    try:
        token, _user = service.do_complete_login(
            db, request.cookies.get(CHALLENGE_COOKIE, ""), code, client_ip(request),
            request.headers.get("user-agent"))
    except KechuangError as exc:
        db.commit()  # the failed code is login evidence and counts against the challenge
        return _totp_page(request, db, next, exc.message(locale_of(request)), exc.status_code)
    return _session_response(token, next)


def _account_page(request: Request, db: DB, actor: CurrentActor, *, notice: str | None = None,
                  error: str | None = None, secret: str | None = None,
                  uri: str | None = None, status_code: int = 200) -> Response:
    state = service.totp_state(db, actor)
    if state == "pending" and secret is None:
        user = repo.user_by_id(db, actor.user_id or 0)
        if user is not None:
            secret, uri = service.enrolment_secret(db, user)
    return render(request, "auth/account.html", {
        "notice": notice, "error": error, "totp": state, "secret": secret, "uri": uri,
        "min_length": get_settings().password_min_length}, status_code=status_code)


@router.get("/account", dependencies=[allow(LOGGED_IN)])
def account(request: Request, db: DB, actor: CurrentActor):
    notice = None
    done = request.query_params.get("done")
    locale = locale_of(request)
    if done == "password":
        notice = translate("auth.account.changed", locale, n=request.query_params.get("n", "0"))
    elif done in ("totp_enabled", "totp_disabled"):
        notice = translate(f"auth.account.{done}", locale)
    return _account_page(request, db, actor, notice=notice)


@router.post("/account/password", dependencies=[allow(LOGGED_IN)])
def change_password(request: Request, db: DB, actor: CurrentActor,
                    current: Annotated[str, Form(max_length=200)] = "",
                    new: Annotated[str, Form(max_length=200)] = "",
                    confirm: Annotated[str, Form(max_length=200)] = ""):
    locale = locale_of(request)
    if new != confirm:
        return _account_page(request, db, actor, status_code=422,
                             error=translate("auth.account.mismatch", locale))
    try:
        n = service.do_change_password(db, actor, current=current, new=new,
                                       keep_token=request.cookies.get(SESSION_COOKIE))
    except KechuangError as exc:
        db.rollback()
        return _account_page(request, db, actor, error=exc.message(locale),
                             status_code=exc.status_code)
    return RedirectResponse(f"/account?done=password&n={n}", status_code=303)


@router.post("/account/totp/start", dependencies=[allow(LOGGED_IN)])
def totp_start(request: Request, db: DB, actor: CurrentActor):
    secret, uri = service.do_start_totp(db, actor)
    return _account_page(request, db, actor, secret=secret, uri=uri)


@router.post("/account/totp/confirm", dependencies=[allow(LOGGED_IN)])
def totp_confirm(request: Request, db: DB, actor: CurrentActor,
                 code: Annotated[str, Form(max_length=12)] = ""):
    try:
        service.do_confirm_totp(db, actor, code)
    except KechuangError as exc:
        db.commit()  # keep the failure's security event
        return _account_page(request, db, actor, error=exc.message(locale_of(request)),
                             status_code=exc.status_code)
    return RedirectResponse("/account?done=totp_enabled", status_code=303)


@router.post("/account/totp/disable", dependencies=[allow(LOGGED_IN)])
def totp_disable(request: Request, db: DB, actor: CurrentActor,
                 password: Annotated[str, Form(max_length=200)] = ""):
    try:
        service.do_disable_totp(db, actor, password)
    except KechuangError as exc:
        db.commit()  # keep the failure's security event
        return _account_page(request, db, actor, error=exc.message(locale_of(request)),
                             status_code=exc.status_code)
    return RedirectResponse("/account?done=totp_disabled", status_code=303)


@router.post("/logout", dependencies=[allow(LOGGED_IN)])
def logout(request: Request, db: DB, actor: CurrentActor):
    token = request.cookies.get(SESSION_COOKIE, "")
    do_logout(db, actor, token)
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE)
    return response


@router.get("/lang/{code}", dependencies=[allow(EVERYONE)])
def switch_language(request: Request, code: str, next: str | None = None):
    referer = request.headers.get("referer", "/").split(request.url.netloc, 1)[-1]
    target = _safe_next(next or referer)
    response = RedirectResponse(target, status_code=303)
    if code in LOCALES:
        response.set_cookie(LANG_COOKIE, code, samesite="lax", max_age=365 * 86400)
    return response


@router.get("/healthz", dependencies=[allow(EVERYONE)])
def healthz(db: DB) -> dict[str, str]:
    repo.ping(db)
    return {"status": "ok"}


# --------------------------------------------------------------------------- API tokens
# Bureau administrators make, list and revoke the tokens of department systems (issue 11
# item 9); the secret of a new token is shown once, on the answer to the form.

TOKEN_ADMIN = "bureau_admin"
nav.register("/api-tokens", "auth.tokens.nav", {TOKEN_ADMIN}, 93, "system")


def _tokens_page(request: Request, db: DB, actor: CurrentActor, *, status_code: int = 200,
                 **context: object):
    accounts = api_tokens.token_accounts(db, actor)
    # department systems are what tokens are for: their accounts come first
    accounts.sort(key=lambda u: (u.role != "department", u.username))
    return render(request, "auth/tokens.html", {
        "tokens": api_tokens.list_tokens(db, actor), "accounts": accounts,
        "max_days": get_settings().api_token_max_days, "form": {}, **context,
    }, status_code=status_code)


@router.get("/api-tokens", dependencies=[allow(TOKEN_ADMIN)])
def tokens_page(request: Request, db: DB, actor: CurrentActor):
    prefix = request.query_params.get("revoked")
    notice = (translate("auth.tokens.revoked", locale_of(request), prefix=prefix[:16])
              if prefix else None)
    return _tokens_page(request, db, actor, notice=notice)


@router.post("/api-tokens", dependencies=[allow(TOKEN_ADMIN)])
def create_token(request: Request, db: DB, actor: CurrentActor,
                 username: Annotated[str, Form(max_length=64)] = "",
                 name: Annotated[str, Form(max_length=100)] = "",
                 days: Annotated[int, Form(ge=1, le=3650)] = 90):
    form = {"username": username, "name": name, "days": days}
    try:
        created = api_tokens.do_create_token(db, actor, username=username, name=name,
                                             days=days)
    except KechuangError as exc:
        db.rollback()
        return _tokens_page(request, db, actor, form=form, error=exc.message(locale_of(request)),
                            status_code=exc.status_code)
    # the answer itself shows the secret (never a redirect carrying it in a URL), uncached
    response = _tokens_page(request, db, actor, created=created)
    response.headers["cache-control"] = "no-store"
    return response


@router.post("/api-tokens/{token_id}/revoke", dependencies=[allow(TOKEN_ADMIN)])
def revoke_token(db: DB, actor: CurrentActor, token_id: RowId):
    revoked = api_tokens.do_revoke_token(db, actor, token_id)
    return RedirectResponse(f"/api-tokens?revoked={revoked.prefix}", status_code=303)
