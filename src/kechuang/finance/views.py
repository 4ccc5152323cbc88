"""Pages of technology finance: the enterprise's needs, matches, credit line, consents and
"who looked at my data"; the bank's products and matched needs (identities only after
consent); the bureau's months, products, matching, quarterly consultations, annual
assessment and risk pool. Templates live in ``finance/templates/finance/``."""

from __future__ import annotations

import re
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response
from jinja2 import ChoiceLoader, FileSystemLoader
from pydantic import BaseModel, ValidationError

from kechuang.finance import i18n as _i18n  # noqa: F401  (registers the UI strings)
from kechuang.finance import service
from kechuang.finance.jobs import KIND as MATCH_KIND
from kechuang.finance.schemas import (
    ConsentIn,
    ConsultationIn,
    DefaultIn,
    MonthIn,
    NeedIn,
    OutcomeIn,
    ProductIn,
    RecoveryIn,
)
from kechuang.jobs.service import submit
from kechuang.kit.errors import InvalidInput
from kechuang.registry.catalogue import metrics_by_code
from kechuang.web import nav
from kechuang.web.deps import BUREAU, DB, CurrentActor, OptYear, RowId, allow
from kechuang.web.render import locale_of, templates
from kechuang.web.render import render as _render

router = APIRouter(include_in_schema=False)
ENTERPRISE = frozenset({"enterprise"})
BANK = frozenset({"bank"})
TEMPLATE_DIR = Path(__file__).with_name("templates")
nav.register("/finance", "finance.title", BUREAU, 70, "funding")
nav.register("/finance/me", "finance.my_title", ENTERPRISE, 30, "funding")
nav.register("/finance/bank", "finance.bank_title", BANK, 10, "funding")


def render(request: Request, name: str, context: dict[str, Any] | None = None) -> Response:
    """The shared renderer, with this package's template folder on the loader's path."""
    env = templates().env
    loader = env.loader
    if not any(
        isinstance(x, FileSystemLoader) and str(TEMPLATE_DIR) in x.searchpath
        for x in getattr(loader, "loaders", [])
    ):
        env.loader = ChoiceLoader(
            [*(getattr(loader, "loaders", None) or [loader]), FileSystemLoader(str(TEMPLATE_DIR))]
        )
    return _render(request, name, {"kind_label": service.kind_label, **(context or {})})


def _form(model: type[BaseModel], data: dict[str, Any]) -> Any:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(x) for x in first["loc"]) or "form"
        msg = str(first["msg"]).removeprefix("Value error, ")
        raise InvalidInput(
            f"“{where}”填写有误：{msg}", f"field '{where}': {msg}", field=where
        ) from None


def _back(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


# --------------------------------------------------------------------------- enterprise
@router.get("/finance/me", dependencies=[allow(ENTERPRISE)])
def my_finance(request: Request, db: DB, actor: CurrentActor):
    locale = locale_of(request)
    ctx = service.enterprise_home(db, actor, locale)
    if locale == "en" and ctx.get("credit_gaps"):
        ctx["credit_gaps"] = [_missing_en(g) for g in ctx["credit_gaps"]]
    return render(request, "finance/me.html", ctx)


_MISSING = re.compile(r"^(.+?)（(\d{4}) 年）$")


def _missing_en(gap: Any) -> Any:
    """A missing input ("missing", "研发费用（2024 年）") in English: the metric's English name
    from the catalogue (a name the catalogue does not know stays as it is)."""
    if isinstance(gap, str):
        return gap
    kind, what = gap
    m = _MISSING.match(what)
    name, year = (m.group(1), m.group(2)) if m else (what, None)
    en = {d.name_zh: d.name_en for d in metrics_by_code().values()}.get(name)
    if en is None:
        return gap
    return kind, f"{en} ({year})" if year else en


@router.post("/finance/me/needs", dependencies=[allow(ENTERPRISE)])
def submit_need(
    db: DB,
    actor: CurrentActor,
    amount_wan: Annotated[str, Form()] = "",
    term_months: Annotated[str, Form()] = "",
    purpose: Annotated[str, Form()] = "",
    collateral: Annotated[list[str] | None, Form()] = None,
    patents_offered: Annotated[str, Form()] = "0",
    urgency: Annotated[str, Form()] = "normal",
):
    data = _form(
        NeedIn,
        {
            "amount_wan": amount_wan,
            "term_months": term_months,
            "purpose": purpose,
            "collateral": collateral or [],
            "patents_offered": patents_offered or "0",
            "urgency": urgency,
        },
    )
    service.do_submit_need(db, actor, data)
    return _back("/finance/me")


@router.post("/finance/me/needs/{need_id}/withdraw", dependencies=[allow(ENTERPRISE)])
def withdraw_need(db: DB, actor: CurrentActor, need_id: RowId):
    service.do_withdraw_need(db, actor, need_id)
    return _back("/finance/me")


@router.post("/finance/me/consents", dependencies=[allow(ENTERPRISE)])
def consent(
    db: DB,
    actor: CurrentActor,
    bank_id: Annotated[str, Form()] = "",
    days: Annotated[str, Form()] = "",
):
    data = _form(ConsentIn, {"bank_id": bank_id, "days": days or None})
    service.do_consent(db, actor, data)
    return _back("/finance/me#consents")


@router.post("/finance/me/consents/{consent_id}/revoke", dependencies=[allow(ENTERPRISE)])
def revoke(db: DB, actor: CurrentActor, consent_id: RowId):
    service.do_revoke(db, actor, consent_id)
    return _back("/finance/me#consents")


# --------------------------------------------------------------------------- bank
@router.get("/finance/bank", dependencies=[allow(BANK)])
def bank_home(request: Request, db: DB, actor: CurrentActor):
    return render(request, "finance/bank.html", service.bank_home(db, actor))


@router.get("/finance/bank/needs/{need_id}", dependencies=[allow(BANK)])
def bank_need(request: Request, db: DB, actor: CurrentActor, need_id: RowId):
    return render(request, "finance/bank_need.html", {"out": service.bank_need(db, actor, need_id)})


@router.get("/finance/bank/export.xlsx", dependencies=[allow(BANK)])
def bank_export(db: DB, actor: CurrentActor):
    data = service.bank_export(db, actor)
    return Response(
        data,
        media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        headers={"Content-Disposition": 'attachment; filename="matched-needs.xlsx"'},
    )


@router.get("/finance/bank/products/new", dependencies=[allow(BANK)])
def new_product(request: Request, actor: CurrentActor):
    return render(request, "finance/product_new.html", {"example": EXAMPLE_TREE})


@router.post("/finance/bank/products", dependencies=[allow(BANK)])
def create_product(
    db: DB,
    actor: CurrentActor,
    name: Annotated[str, Form()] = "",
    kind: Annotated[str, Form()] = "credit",
    amount_min_wan: Annotated[str, Form()] = "",
    amount_max_wan: Annotated[str, Form()] = "",
    term_min_months: Annotated[str, Form()] = "",
    term_max_months: Annotated[str, Form()] = "",
    rate_pct: Annotated[str, Form()] = "",
    description: Annotated[str, Form()] = "",
    eligibility: Annotated[str, Form()] = "",
):
    data = _form(
        ProductIn,
        {
            "name": name,
            "kind": kind,
            "amount_min_wan": amount_min_wan,
            "amount_max_wan": amount_max_wan,
            "term_min_months": term_min_months,
            "term_max_months": term_max_months,
            "rate_pct": rate_pct,
            "description": description,
            "eligibility": eligibility,
        },
    )
    service.do_create_product(db, actor, data)
    return _back("/finance/bank")


@router.post("/finance/bank/products/{product_id}/withdraw", dependencies=[allow(BANK)])
def withdraw_product(db: DB, actor: CurrentActor, product_id: RowId):
    service.do_withdraw_product(db, actor, product_id)
    return _back("/finance/bank")


EXAMPLE_TREE = """all:
  - id: tech
    label: 高新技术企业或科技型中小企业
    checks:
      - value: policy('tech_sme') or policy('hte')
        format: bool
  - id: revenue
    label: 上年营业收入不超过 2 亿元
    checks:
      - value: revenue
        op: "<="
        threshold: 20000
        format: wan
  - id: clean
    label: 无严重失信记录
    checks:
      - value: seriously_dishonest
        op: "=="
        threshold: 0
        format: bool
"""


# --------------------------------------------------------------------------- bureau
@router.get("/finance", dependencies=[allow(BUREAU)])
def finance_home(request: Request, db: DB, actor: CurrentActor):
    today = service.today()
    return render(
        request,
        "finance/home.html",
        {
            **service.overview(db, actor),
            "today": today,
            "quarter": today.year * 10 + (today.month - 1) // 3 + 1,
        },
    )


@router.post("/finance/months", dependencies=[allow(BUREAU)])
def open_month(
    db: DB,
    actor: CurrentActor,
    month: Annotated[str, Form()] = "",
    closes_on: Annotated[str, Form()] = "",
):
    service.do_open_month(db, actor, _form(MonthIn, {"month": month, "closes_on": closes_on}))
    return _back("/finance")


@router.post("/finance/months/{month_id}/close", dependencies=[allow(BUREAU)])
def close_month(db: DB, actor: CurrentActor, month_id: RowId):
    service.do_close_month(db, actor, month_id)
    return _back("/finance")


@router.post("/finance/months/{month_id}/remind", dependencies=[allow(BUREAU)])
def remind(db: DB, actor: CurrentActor, month_id: RowId):
    service.do_remind(db, actor, month_id)
    return _back("/finance")


@router.post("/finance/match", dependencies=[allow(BUREAU)])
def run_match(db: DB, actor: CurrentActor):
    job = submit(db, actor, MATCH_KIND, {})
    return _back(f"/jobs/{job.id}")


@router.post("/finance/products/{product_id}/review", dependencies=[allow(BUREAU)])
def review_product(
    db: DB,
    actor: CurrentActor,
    product_id: RowId,
    decision: Annotated[str, Form()] = "",
    note: Annotated[str, Form()] = "",
):
    if decision not in ("approve", "reject"):
        raise InvalidInput("请选择批准或退回", "choose approve or reject", field="decision")
    service.do_review_product(db, actor, product_id, approve=decision == "approve", note=note)
    return _back("/finance")


@router.get("/finance/needs/{need_id}", dependencies=[allow(BUREAU)])
def need_page(request: Request, db: DB, actor: CurrentActor, need_id: RowId):
    return render(
        request,
        "finance/need.html",
        {"need": service.need_matches(db, actor, need_id, locale_of(request))},
    )


@router.get("/finance/quarters/{quarter}", dependencies=[allow(BUREAU)])
def quarter_page(request: Request, db: DB, actor: CurrentActor, quarter: int):
    q = service.quarter_view(db, actor, quarter, locale_of(request))
    return render(request, "finance/quarter.html", {"q": q, "today": service.today()})


@router.get("/finance/quarters/{quarter}/export.xlsx", dependencies=[allow(BUREAU)])
def quarter_export(db: DB, actor: CurrentActor, quarter: int):
    data = service.quarter_xlsx(db, actor, quarter)
    return Response(
        data,
        media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        headers={"Content-Disposition": f'attachment; filename="consultation-{quarter}.xlsx"'},
    )


@router.post("/finance/consultations", dependencies=[allow(BUREAU)])
def record_consultation(
    db: DB,
    actor: CurrentActor,
    quarter: Annotated[str, Form()] = "",
    held_on: Annotated[str, Form()] = "",
    title: Annotated[str, Form()] = "",
    venue: Annotated[str, Form()] = "",
    participants: Annotated[str, Form()] = "",
    enterprise_ids: Annotated[list[str] | None, Form()] = None,
    bank_ids: Annotated[list[str] | None, Form()] = None,
    notes: Annotated[str, Form()] = "",
):
    data = _form(
        ConsultationIn,
        {
            "quarter": quarter,
            "held_on": held_on,
            "title": title,
            "venue": venue,
            "participants": [
                p.strip() for p in participants.replace("，", ",").split(",") if p.strip()
            ],
            "enterprise_ids": enterprise_ids or [],
            "bank_ids": bank_ids or [],
            "notes": notes,
        },
    )
    c = service.do_record_consultation(db, actor, data)
    return _back(f"/finance/quarters/{c.quarter}")


@router.post("/finance/needs/{need_id}/outcome", dependencies=[allow(BUREAU)])
def record_outcome(
    db: DB,
    actor: CurrentActor,
    need_id: RowId,
    result: Annotated[str, Form()] = "",
    bank_id: Annotated[str, Form()] = "",
    product_id: Annotated[str, Form()] = "",
    amount_wan: Annotated[str, Form()] = "",
    rate_pct: Annotated[str, Form()] = "",
    decided_on: Annotated[str, Form()] = "",
    reason: Annotated[str, Form()] = "",
    back: Annotated[str, Form()] = "",
):
    data = _form(
        OutcomeIn,
        {
            "result": result,
            "bank_id": bank_id or None,
            "product_id": product_id or None,
            "amount_wan": amount_wan or None,
            "rate_pct": rate_pct or None,
            "decided_on": decided_on,
            "reason": reason,
        },
    )
    service.do_record_outcome(db, actor, need_id, data)
    return _back(back if back.startswith("/finance/") else f"/finance/needs/{need_id}")


@router.get("/finance/assessment", dependencies=[allow(BUREAU)])
def assessment_page(request: Request, db: DB, actor: CurrentActor, year: OptYear = None):
    y = year or service.today().year - 1
    return render(request, "finance/assessment.html", service.assessment(db, actor, y))


@router.get("/finance/loans", dependencies=[allow(BUREAU)])
def loans_page(request: Request, db: DB, actor: CurrentActor, year: OptYear = None):
    return render(request, "finance/loans.html", service.loans_page(db, actor, year))


@router.post("/finance/loans/{loan_id}/default", dependencies=[allow(BUREAU)])
def loan_default(
    db: DB,
    actor: CurrentActor,
    loan_id: RowId,
    default_wan: Annotated[str, Form()] = "",
    defaulted_on: Annotated[str, Form()] = "",
):
    service.do_record_default(
        db,
        actor,
        loan_id,
        _form(DefaultIn, {"default_wan": default_wan, "defaulted_on": defaulted_on}),
    )
    return _back("/finance/loans")


@router.post("/finance/loans/{loan_id}/recovery", dependencies=[allow(BUREAU)])
def loan_recovery(
    db: DB,
    actor: CurrentActor,
    loan_id: RowId,
    amount_yuan: Annotated[str, Form()] = "",
    memo: Annotated[str, Form()] = "",
):
    service.do_record_recovery(
        db, actor, loan_id, _form(RecoveryIn, {"amount_yuan": amount_yuan, "memo": memo})
    )
    return _back("/finance/loans")


@router.post("/finance/pool", dependencies=[allow(BUREAU)])
def open_pool(
    db: DB,
    actor: CurrentActor,
    year: Annotated[str, Form()] = "",
    amount_yuan: Annotated[str, Form()] = "",
):
    try:
        y, amount = int(year), Decimal(amount_yuan)
    except Exception:
        raise InvalidInput(
            "年度或金额填写有误", "bad year or amount", field="amount_yuan"
        ) from None
    service.do_open_pool(db, actor, year=y, amount_yuan=amount)
    return _back("/finance/loans")
