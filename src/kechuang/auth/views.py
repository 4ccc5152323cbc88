"""Login, logout, language switch and the home page."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlparse

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse
from sqlalchemy import func, select

from kechuang.auth.service import do_login, do_logout
from kechuang.config import get_settings
from kechuang.kit.errors import InvalidInput, TooManyRequests
from kechuang.models import Enterprise, Fact, ImportBatch, Region
from kechuang.web.deps import (
    DB,
    EVERYONE,
    LANG_COOKIE,
    LOGGED_IN,
    PUBLIC,
    SESSION_COOKIE,
    CurrentActor,
    allow,
    client_ip,
)
from kechuang.web.i18n import LOCALES
from kechuang.web.render import locale_of, render

router = APIRouter(include_in_schema=False)


def _safe_next(target: str | None) -> str:
    """Only same-site relative paths are followed after login (no open redirect)."""
    if not target:
        return "/"
    parsed = urlparse(target)
    if parsed.scheme or parsed.netloc or not target.startswith("/") or target.startswith("//"):
        return "/"
    return target


@router.get("/", dependencies=[allow(EVERYONE)])
def home(request: Request, db: DB, actor: CurrentActor):
    context: dict[str, object] = {}
    if actor.is_bureau:
        from kechuang.auth.scope import enterprise_visible

        context["counts"] = {
            "enterprises": db.scalar(select(func.count()).select_from(Enterprise)
                                     .where(enterprise_visible(actor))),
            "batches": db.scalar(select(func.count()).select_from(ImportBatch)),
            "facts": db.scalar(select(func.count()).select_from(Fact).where(Fact.is_current)),
        }
    if actor.region_code:
        context["region"] = db.get(Region, actor.region_code)
    return render(request, "home.html", context)


@router.get("/login", dependencies=[allow(EVERYONE)])
def login_form(request: Request, next: str | None = None):
    return render(request, "login.html", {"next": _safe_next(next), "error": None})


@router.post("/login", dependencies=[allow(PUBLIC, LOGGED_IN)])
def login(
    request: Request,
    db: DB,
    username: Annotated[str, Form(max_length=64)],
    password: Annotated[str, Form(max_length=200)],
    next: Annotated[str | None, Form()] = None,
):
    try:
        token, _login, _user = do_login(db, username.strip(), password, client_ip(request),
                                        request.headers.get("user-agent"))
    except (InvalidInput, TooManyRequests) as exc:
        # the failed attempt must be recorded even though the request fails
        db.commit()
        return render(request, "login.html",
                      {"next": _safe_next(next), "error": exc.message(locale_of(request)),
                       "username": username}, status_code=exc.status_code)
    response = RedirectResponse(_safe_next(next), status_code=303)
    settings = get_settings()
    response.set_cookie(SESSION_COOKIE, token, httponly=True, samesite="lax",
                        secure=settings.cookie_secure, max_age=settings.session_hours * 3600)
    return response


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
    db.execute(select(1))
    return {"status": "ok"}
