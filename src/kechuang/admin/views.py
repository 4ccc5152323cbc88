"""Administration pages (bureau administrators only): the audit log of the region, and the
accounts of the region — create, revoke sessions, deactivate, reactivate."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import RedirectResponse

from kechuang.admin import i18n as _i18n  # noqa: F401  (registers the UI strings)
from kechuang.admin import repository as repo
from kechuang.admin import service
from kechuang.admin.actions import action_label
from kechuang.admin.schemas import AuditFilters, SecurityFilters
from kechuang.kit.errors import KechuangError
from kechuang.models import ROLES
from kechuang.web import nav
from kechuang.web.deps import DB, CurrentActor, RowId, allow
from kechuang.web.render import locale_of, render

router = APIRouter(include_in_schema=False)

ADMIN = "bureau_admin"

nav.register("/security-events", "admin.security.title", {ADMIN}, 92, "system")
ACCOUNT_ROLES = tuple(r for r in ROLES if r != "public")
FORM_FIELDS = ("username", "display_name", "role", "region_code", "department_code",
               "enterprise_uscc", "institute_id", "expert_id", "bank_id")


@router.get("/audit", dependencies=[allow(ADMIN)])
def audit_log(request: Request, db: DB, actor: CurrentActor,
              filters: Annotated[AuditFilters, Query()]):
    result = service.list_audit(db, actor, filters)
    locale = locale_of(request)
    context = {"filters": filters, "result": result,
               "action_label": lambda code: action_label(code, locale)}
    if (request.headers.get("hx-request") == "true"
            and request.headers.get("hx-history-restore-request") != "true"
            and request.headers.get("hx-target") == "audit-rows"):
        return render(request, "admin/_audit_rows.html", context)
    context["actions"] = repo.audit_actions(db, actor)
    context["usernames"] = [row.User.username for row in service.users(db, actor)]
    return render(request, "admin/audit.html", context)


def _users_page(request: Request, db: DB, actor: CurrentActor, *, form: dict[str, str] | None,
                error: str | None = None, status_code: int = 200):
    notice = None
    q = request.query_params
    if q.get("done") in ("created", "revoked", "deactivated", "activated", "password_reset"):
        notice = ("admin.users." + q["done"], {"username": q.get("username", ""),
                                               "n": q.get("n", "0")})
    return render(request, "admin/users.html", {
        "users": service.users(db, actor), "options": service.form_options(db, actor),
        "roles": ACCOUNT_ROLES, "form": form or {}, "error": error, "notice": notice,
    }, status_code=status_code)


@router.get("/users", dependencies=[allow(ADMIN)])
def users_page(request: Request, db: DB, actor: CurrentActor):
    return _users_page(request, db, actor, form=None)


def _done(kind: str, **params: object) -> RedirectResponse:
    return RedirectResponse("/users?" + urlencode({"done": kind, **params}), status_code=303)


@router.post("/users", dependencies=[allow(ADMIN)])
def create_user(
    request: Request, db: DB, actor: CurrentActor,
    username: Annotated[str, Form(max_length=64)] = "",
    password: Annotated[str, Form(max_length=200)] = "",
    display_name: Annotated[str, Form(max_length=100)] = "",
    role: Annotated[str, Form(max_length=16)] = "",
    region_code: Annotated[str, Form(max_length=12)] = "",
    department_code: Annotated[str, Form(max_length=32)] = "",
    enterprise_uscc: Annotated[str, Form(max_length=18)] = "",
    institute_id: Annotated[str, Form(max_length=12)] = "",
    expert_id: Annotated[str, Form(max_length=12)] = "",
    bank_id: Annotated[str, Form(max_length=12)] = "",
):
    form = {"username": username, "display_name": display_name, "role": role,
            "region_code": region_code, "department_code": department_code,
            "enterprise_uscc": enterprise_uscc, "institute_id": institute_id,
            "expert_id": expert_id, "bank_id": bank_id}
    try:
        user = service.create_user(db, actor, {**form, "password": password})
    except KechuangError as exc:
        db.rollback()
        return _users_page(request, db, actor, form=form, error=exc.message(locale_of(request)),
                           status_code=exc.status_code)
    return _done("created", username=user.username)


@router.get("/security-events", dependencies=[allow(ADMIN)])
def security_events(request: Request, db: DB, actor: CurrentActor,
                    filters: Annotated[SecurityFilters, Query()]):
    result = service.list_security_events(db, actor, filters)
    context = {"filters": filters, "result": result}
    if (request.headers.get("hx-request") == "true"
            and request.headers.get("hx-history-restore-request") != "true"
            and request.headers.get("hx-target") == "security-rows"):
        return render(request, "admin/_security_rows.html", context)
    context["kinds"] = service.security_kinds(db)
    return render(request, "admin/security.html", context)


@router.post("/users/{user_id}/reset-password", dependencies=[allow(ADMIN)])
def reset_password(request: Request, db: DB, actor: CurrentActor, user_id: RowId,
                   password: Annotated[str, Form(max_length=200)] = "",
                   reset_totp: Annotated[str, Form(max_length=4)] = ""):
    try:
        user, n = service.reset_password(db, actor, user_id, password, reset_totp == "1")
    except KechuangError as exc:
        if exc.status_code in (403, 404):
            raise
        db.rollback()
        return _users_page(request, db, actor, form=None, error=exc.message(locale_of(request)),
                           status_code=exc.status_code)
    return _done("password_reset", username=user.username, n=n)


@router.post("/users/{user_id}/revoke-sessions", dependencies=[allow(ADMIN)])
def revoke_sessions(db: DB, actor: CurrentActor, user_id: int):
    user, n = service.revoke_sessions(db, actor, user_id)
    return _done("revoked", username=user.username, n=n)


@router.post("/users/{user_id}/deactivate", dependencies=[allow(ADMIN)])
def deactivate(db: DB, actor: CurrentActor, user_id: int):
    user = service.do_deactivate_user(db, actor, user_id)
    return _done("deactivated", username=user.username)


@router.post("/users/{user_id}/activate", dependencies=[allow(ADMIN)])
def activate(db: DB, actor: CurrentActor, user_id: int):
    user = service.do_activate_user(db, actor, user_id)
    return _done("activated", username=user.username)
