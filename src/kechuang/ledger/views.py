"""Pages of the ledger: budgets and entries, the reconciliation report (with XLSX export)
for the bureau; an enterprise's or institute's own payments."""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi import APIRouter, Request
from fastapi.responses import Response

from kechuang.ledger import engine, service
from kechuang.ledger import i18n as _i18n  # noqa: F401  (registers the UI strings)
from kechuang.ledger.schemas import rules
from kechuang.web import nav
from kechuang.web.deps import BUREAU, DB, CurrentActor, Offset, OptYear, allow
from kechuang.web.render import locale_of, render

router = APIRouter(include_in_schema=False)
PAYEES = frozenset({"enterprise", "institute"})

nav.register("/ledger", "ledger.title", BUREAU, 47, "funding")
nav.register("/ledger/my-payments", "ledger.my", PAYEES, 47, "funding")


def _this_year() -> int:
    return datetime.now(UTC).astimezone(engine.ZONE).year


def _kinds(request: Request) -> dict[str, str]:
    locale = locale_of(request)
    return {k: engine.kind_label(k, rules(), locale) for k in rules().kinds}


@router.get("/ledger", dependencies=[allow(BUREAU)])
def ledger_page(request: Request, db: DB, actor: CurrentActor, budget: str | None = None,
                offset: Offset = 0):
    return render(request, "ledger/index.html", {
        "budgets": service.budgets(db, actor),
        "page": service.entry_page(db, actor, budget_key=budget or None, offset=offset),
        "budget": budget or "", "kinds": _kinds(request)})


@router.get("/ledger/reconciliation", dependencies=[allow(BUREAU)])
def reconciliation_page(request: Request, db: DB, actor: CurrentActor, year: OptYear = None):
    year = year or _this_year()
    return render(request, "ledger/reconciliation.html",
                  {"report": service.reconcile(db, actor, year), "year": year})


@router.get("/ledger/reconciliation.xlsx", dependencies=[allow(BUREAU)])
def reconciliation_xlsx(db: DB, actor: CurrentActor, year: OptYear = None) -> Response:
    year = year or _this_year()
    body = service.do_export_reconciliation(db, actor, year)
    return Response(body, media_type="application/vnd.openxmlformats-officedocument."
                                     "spreadsheetml.sheet",
                    headers={"Content-Disposition":
                             f'attachment; filename="reconciliation-{year}.xlsx"'})


@router.get("/ledger/my-payments", dependencies=[allow(PAYEES)])
def my_payments(request: Request, db: DB, actor: CurrentActor):
    if actor.role == "enterprise":
        rows = service.payee_entries(db, actor, "enterprise", actor.enterprise_id or 0)
    else:
        rows = service.payee_entries(db, actor, "institute", actor.institute_id or 0)
    return render(request, "ledger/my_payments.html", {"entries": rows,
                                                       "kinds": _kinds(request)})
