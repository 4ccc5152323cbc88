"""JSON API of the ledger under ``/api/v1``: budgets, entries, payments, receipts, reversals,
reconciliation. Amounts travel as decimal strings (never floats)."""

from __future__ import annotations

from fastapi import APIRouter

from kechuang.ledger import service
from kechuang.ledger.schemas import (
    BudgetIn,
    BudgetOut,
    BudgetRow,
    EntryOut,
    EntryPage,
    PayIn,
    ReceiveIn,
    Reconciliation,
    ReverseIn,
)
from kechuang.web.deps import BUREAU, DB, CurrentActor, Offset, OptYear, PageSize, Year, allow

router = APIRouter(tags=["ledger"])


@router.get("/ledger/budgets", dependencies=[allow(BUREAU)])
def budgets(db: DB, actor: CurrentActor, year: OptYear = None) -> list[BudgetRow]:
    """Budgets in the actor's region with paid, received, reversed and remaining."""
    return service.budgets(db, actor, year=year)


@router.post("/ledger/budgets", dependencies=[allow("bureau_admin")])
def open_budget(db: DB, actor: CurrentActor, body: BudgetIn) -> BudgetOut:
    return service.do_open_budget(db, actor, key=body.key, title=body.title,
                                  region_code=body.region_code, year=body.year,
                                  amount=body.amount, source=body.source)  # type: ignore[arg-type]


@router.get("/ledger/entries", dependencies=[allow(BUREAU)])
def entries(db: DB, actor: CurrentActor, budget_key: str | None = None,
            decision_ref: str | None = None, offset: Offset = 0,
            limit: PageSize = 50) -> EntryPage:
    return service.entry_page(db, actor, budget_key=budget_key, decision_ref=decision_ref,
                              offset=offset, limit=limit)


@router.post("/ledger/payments", dependencies=[allow(BUREAU)])
def pay(db: DB, actor: CurrentActor, body: PayIn) -> EntryOut:
    """A payment; repeating the same ``idempotency_key`` returns the first entry."""
    return service.do_pay(db, actor, budget_key=body.budget_key, kind=body.kind,
                          payee_type=body.payee_type, payee_id=body.payee_id,
                          payee_name=body.payee_name, amount=body.amount,  # type: ignore[arg-type]
                          decision_ref=body.decision_ref,
                          idempotency_key=body.idempotency_key, memo=body.memo)


@router.post("/ledger/receipts", dependencies=[allow(BUREAU)])
def receive(db: DB, actor: CurrentActor, body: ReceiveIn) -> EntryOut:
    return service.do_receive(db, actor, budget_key=body.budget_key, kind=body.kind,
                              amount=body.amount, decision_ref=body.decision_ref,  # type: ignore[arg-type]
                              idempotency_key=body.idempotency_key, memo=body.memo)


@router.post("/ledger/reversals", dependencies=[allow("bureau_admin")])
def reverse(db: DB, actor: CurrentActor, body: ReverseIn) -> EntryOut:
    return service.do_reverse(db, actor, entry_id=body.entry_id, reason=body.reason,
                              idempotency_key=body.idempotency_key)


@router.get("/ledger/reconciliation", dependencies=[allow(BUREAU)])
def reconciliation(db: DB, actor: CurrentActor, year: Year,
                   budget_key: str | None = None) -> Reconciliation:
    return service.reconcile(db, actor, year, budget_key)


@router.get("/ledger/my-payments", dependencies=[allow("enterprise", "institute")])
def my_payments(db: DB, actor: CurrentActor) -> list[EntryOut]:
    """Money paid to the actor's own enterprise or institute."""
    if actor.role == "enterprise":
        return service.payee_entries(db, actor, "enterprise", actor.enterprise_id or 0)
    return service.payee_entries(db, actor, "institute", actor.institute_id or 0)
