"""JSON API of technology finance under ``/api/v1``; every route has a response model."""

from __future__ import annotations

from fastapi import APIRouter

from kechuang.finance import service
from kechuang.finance.schemas import (
    AssessmentOut,
    BankMatchesOut,
    BankNeedOut,
    ConsentIn,
    MatchRunOut,
    NeedIn,
    NeedOut,
    ProductOut,
)
from kechuang.web.deps import BUREAU, DB, LOGGED_IN, CurrentActor, OptYear, RowId, allow

router = APIRouter(tags=["finance"])
ENTERPRISE = frozenset({"enterprise"})
BANK = frozenset({"bank"})


class ConsentOut(ConsentIn):
    id: int
    expires_at: str
    revoked: bool


@router.get("/finance/products", dependencies=[allow(LOGGED_IN)], response_model=list[ProductOut])
def products(db: DB, actor: CurrentActor) -> list[ProductOut]:
    """Published products (a bank also sees its own, the bureau all in its region)."""
    return service.product_list(db, actor)


@router.post("/finance/match", dependencies=[allow(BUREAU)], response_model=MatchRunOut)
def match(db: DB, actor: CurrentActor) -> MatchRunOut:
    """Match every open need in the actor's region against every published product."""
    return service.run_out(service.do_match(db, actor))


@router.get(
    "/finance/needs/{need_id}", dependencies=[allow(BUREAU | ENTERPRISE)], response_model=NeedOut
)
def need(db: DB, actor: CurrentActor, need_id: RowId) -> NeedOut:
    """A need with its ranked products and the reason of each rank."""
    return service.need_matches(db, actor, need_id)


@router.get("/finance/me/needs", dependencies=[allow(ENTERPRISE)], response_model=list[NeedOut])
def my_needs(db: DB, actor: CurrentActor) -> list[NeedOut]:
    home = service.enterprise_home(db, actor)
    return list(home["needs"])


@router.post("/finance/me/needs", dependencies=[allow(ENTERPRISE)], response_model=NeedOut)
def submit_need(db: DB, actor: CurrentActor, body: NeedIn) -> NeedOut:
    n = service.do_submit_need(db, actor, body)
    db.flush()
    return service.need_matches(db, actor, n.id)


@router.post("/finance/me/consents", dependencies=[allow(ENTERPRISE)], response_model=ConsentOut)
def consent(db: DB, actor: CurrentActor, body: ConsentIn) -> ConsentOut:
    c = service.do_consent(db, actor, body)
    return ConsentOut(
        id=c.id,
        bank_id=c.bank_id,
        days=body.days,
        expires_at=c.expires_at.isoformat(),
        revoked=False,
    )


@router.post(
    "/finance/me/consents/{consent_id}/revoke",
    dependencies=[allow(ENTERPRISE)],
    response_model=ConsentOut,
)
def revoke(db: DB, actor: CurrentActor, consent_id: RowId) -> ConsentOut:
    c = service.do_revoke(db, actor, consent_id)
    return ConsentOut(
        id=c.id, bank_id=c.bank_id, days=None, expires_at=c.expires_at.isoformat(), revoked=True
    )


@router.get("/finance/bank/matches", dependencies=[allow(BANK)], response_model=BankMatchesOut)
def bank_matches(db: DB, actor: CurrentActor) -> BankMatchesOut:
    """Needs the bank's products fit: named only for consenting enterprises."""
    return service.bank_matches(db, actor)


@router.get("/finance/bank/needs/{need_id}", dependencies=[allow(BANK)], response_model=BankNeedOut)
def bank_need(db: DB, actor: CurrentActor, need_id: RowId) -> BankNeedOut:
    return service.bank_need(db, actor, need_id)


@router.get("/finance/assessment", dependencies=[allow(BUREAU)], response_model=AssessmentOut)
def assessment(db: DB, actor: CurrentActor, year: OptYear = None) -> AssessmentOut:
    a = service.assessment(db, actor, year or service.today().year - 1)
    return AssessmentOut(
        year=a["year"], banks=a["banks"], products=a["products"], weights=a["weights"]
    )
