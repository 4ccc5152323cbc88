"""Pages of vouchers: the bureau's overview (summary, vouchers, providers), an enterprise's
own vouchers, the redemption form for providers (and bureau staff at the window), and the
bureau's provider page: register a provider, add its services, settle its redemptions and
download the settlement statement."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from kechuang.kit.errors import KechuangError
from kechuang.vouchers import engine, service
from kechuang.vouchers import i18n as _i18n  # noqa: F401  (registers the UI strings)
from kechuang.vouchers.schemas import rules
from kechuang.web import nav
from kechuang.web.deps import BUREAU, DB, CurrentActor, Offset, OptYear, RowId, allow
from kechuang.web.render import locale_of, render

router = APIRouter(include_in_schema=False)
PROVIDERS = frozenset({"institute", "enterprise"})

nav.register("/vouchers", "vouchers.title", BUREAU | {"enterprise"}, 48, "funding")
nav.register("/vouchers/redeem", "vouchers.redeem", frozenset({"institute"}), 48, "funding")
ADMIN = frozenset({"bureau_admin"})
DONE = ("registered", "service", "settled")


@router.get("/vouchers", dependencies=[allow(BUREAU, "enterprise")])
def vouchers_page(request: Request, db: DB, actor: CurrentActor, year: OptYear = None,
                  offset: Offset = 0):
    year = year or engine.today_local().year
    ctx = {"page": service.voucher_page(db, actor, offset=offset), "year": year}
    if actor.is_bureau:
        ctx["summary"] = service.summary(db, actor, year)
        ctx["providers"] = service.providers(db, actor)
    return render(request, "vouchers/index.html", ctx)


def _form_ctx(request: Request, db: DB, actor: CurrentActor) -> dict:
    provs = service.providers(db, actor)
    locale = locale_of(request)
    cats = {k: (v.en if locale == "en" else v.zh) for k, v in rules().categories.items()}
    return {"providers": provs, "services": service.services_of(db, [p.id for p in provs]),
            "categories": cats, "recent": service.redemptions(db, actor)[:20],
            "done": None, "error": None, "values": {}}


@router.get("/vouchers/redeem", dependencies=[allow(BUREAU, PROVIDERS)])
def redeem_page(request: Request, db: DB, actor: CurrentActor):
    return render(request, "vouchers/redeem.html", _form_ctx(request, db, actor))


@router.post("/vouchers/redeem", dependencies=[allow(BUREAU, PROVIDERS)])
def redeem(request: Request, db: DB, actor: CurrentActor,
           voucher_code: Annotated[str, Form(max_length=40)] = "",
           uscc: Annotated[str, Form(max_length=18)] = "",
           provider_id: Annotated[int, Form(ge=0, le=2**31 - 1)] = 0,
           service_id: Annotated[int, Form(ge=0, le=2**31 - 1)] = 0,
           invoice_no: Annotated[str, Form(max_length=64)] = "",
           invoice_amount: Annotated[str, Form(max_length=40)] = ""):
    values = {"voucher_code": voucher_code, "uscc": uscc, "invoice_no": invoice_no,
              "invoice_amount": invoice_amount}
    try:
        done = service.do_redeem(db, actor, voucher_code=voucher_code, uscc=uscc,
                                 provider_id=provider_id, invoice_no=invoice_no,
                                 invoice_amount=invoice_amount, service_id=service_id or None)
        ctx = _form_ctx(request, db, actor) | {"done": done}
        return render(request, "vouchers/redeem.html", ctx)
    except KechuangError as exc:
        db.rollback()  # all or nothing: drop whatever the refused redemption wrote
        ctx = _form_ctx(request, db, actor) | {
            "error": exc.message(locale_of(request)), "values": values}
        return render(request, "vouchers/redeem.html", ctx, status_code=exc.status_code)


# --------------------------------------------------------------------------- providers
def _providers_ctx(request: Request, db: DB, actor: CurrentActor) -> dict:
    provs = service.providers(db, actor)
    locale = locale_of(request)
    cats = {k: (v.en if locale == "en" else v.zh) for k, v in rules().categories.items()}
    by_provider: dict[int, list] = {}
    for svc in service.services_of(db, [p.id for p in provs]):
        by_provider.setdefault(svc.provider_id, []).append(svc)
    return {"providers": provs, "services": by_provider, "categories": cats,
            "institutes": service.unregistered_institutes(db, actor),
            "settlements": service.settlements(db, actor)[:50],
            "done": None, "error": None, "values": {}}


def _providers_page(request: Request, db: DB, actor: CurrentActor, *, done: str | None = None,
                    error: KechuangError | None = None, values: dict | None = None):
    ctx = _providers_ctx(request, db, actor)
    ctx["done"] = done if done in DONE else None
    if error is not None:
        ctx |= {"error": error.message(locale_of(request)), "values": values or {}}
        return render(request, "vouchers/providers.html", ctx, status_code=error.status_code)
    return render(request, "vouchers/providers.html", ctx)


@router.get("/vouchers/providers", dependencies=[allow(BUREAU)])
def providers_page(request: Request, db: DB, actor: CurrentActor, done: str | None = None):
    return _providers_page(request, db, actor, done=done)


@router.post("/vouchers/providers", dependencies=[allow(ADMIN)])
def register_provider(request: Request, db: DB, actor: CurrentActor,
                      kind: Annotated[str, Form(max_length=12)] = "institute",
                      code: Annotated[str, Form(max_length=40)] = "",
                      contact: Annotated[str, Form(max_length=200)] = ""):
    try:
        service.do_register_provider_by_code(db, actor, kind=kind, code=code, contact=contact)
    except KechuangError as exc:
        db.rollback()  # nothing of a refused registration stays
        return _providers_page(request, db, actor, error=exc,
                               values={"kind": kind, "code": code, "contact": contact})
    return RedirectResponse("/vouchers/providers?done=registered", status_code=303)


@router.post("/vouchers/providers/{provider_id}/services", dependencies=[allow(BUREAU)])
def add_service(request: Request, db: DB, actor: CurrentActor, provider_id: RowId,
                category: Annotated[str, Form(max_length=16)] = "",
                name: Annotated[str, Form(max_length=200)] = "",
                description: Annotated[str, Form(max_length=2000)] = ""):
    try:
        service.do_add_service(db, actor, provider_id=provider_id, category=category,
                               name=name, description=description)
    except KechuangError as exc:
        db.rollback()
        return _providers_page(request, db, actor, error=exc,
                               values={"provider_id": provider_id, "name": name})
    return RedirectResponse("/vouchers/providers?done=service", status_code=303)


@router.post("/vouchers/providers/{provider_id}/settle", dependencies=[allow(BUREAU)])
def settle(request: Request, db: DB, actor: CurrentActor, provider_id: RowId,
           reference: Annotated[str, Form(max_length=200)] = ""):
    try:
        service.do_settle(db, actor, provider_id=provider_id, reference=reference)
    except KechuangError as exc:
        db.rollback()
        return _providers_page(request, db, actor, error=exc)
    return RedirectResponse("/vouchers/providers?done=settled", status_code=303)


@router.get("/vouchers/settlements/{settlement_id}.xlsx", dependencies=[allow(BUREAU)])
def settlement_xlsx(db: DB, actor: CurrentActor, settlement_id: RowId) -> Response:
    body = service.settlement_xlsx(db, actor, settlement_id)
    return Response(body, media_type="application/vnd.openxmlformats-officedocument."
                                     "spreadsheetml.sheet",
                    headers={"Content-Disposition":
                             f'attachment; filename="voucher-settlement-{settlement_id}.xlsx"'})
