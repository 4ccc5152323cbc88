"""Pages of vouchers: the bureau's overview (summary, vouchers, providers), an enterprise's
own vouchers, and the redemption form for providers (and bureau staff at the window)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request

from kechuang.kit.errors import KechuangError
from kechuang.vouchers import engine, service
from kechuang.vouchers import i18n as _i18n  # noqa: F401  (registers the UI strings)
from kechuang.vouchers.schemas import rules
from kechuang.web import nav
from kechuang.web.deps import BUREAU, DB, CurrentActor, Offset, OptYear, allow
from kechuang.web.render import locale_of, render

router = APIRouter(include_in_schema=False)
PROVIDERS = frozenset({"institute", "enterprise"})

nav.register("/vouchers", "vouchers.title", BUREAU | {"enterprise"}, 48, "funding")
nav.register("/vouchers/redeem", "vouchers.redeem", frozenset({"institute"}), 48, "funding")


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
