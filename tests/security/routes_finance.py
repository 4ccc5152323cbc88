"""Matrix rows of kechuang.finance: the enterprise's needs and consents are its own; the
bank's pages are the bank's (identities only after consent, proved in tests/finance); the
months, products approval, matching, consultations, assessment and pool are the bureau's.
Published products are listed to every logged-in account."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from kechuang.models import Bank, Enterprise
from kechuang.models.base import utcnow
from kechuang.models.finance import (
    FinanceConsent,
    FinanceLoan,
    FinanceMonth,
    FinanceNeed,
    FinanceProduct,
)
from tests.support.seed import uscc

BUREAU = {"bureau_admin", "bureau_staff"}
ENTERPRISE = {"enterprise"}
BANK = {"bank"}
LOGGED_IN = {
    "bureau_admin",
    "bureau_staff",
    "department",
    "enterprise",
    "institute",
    "expert",
    "bank",
}

ROUTES: dict[str, set[str]] = {
    "GET /finance/me": ENTERPRISE,
    "POST /finance/me/needs": ENTERPRISE,
    "POST /finance/me/needs/{need_id}/withdraw": ENTERPRISE,
    "POST /finance/me/consents": ENTERPRISE,
    "POST /finance/me/consents/{consent_id}/revoke": ENTERPRISE,
    "GET /finance/bank": BANK,
    "GET /finance/bank/needs/{need_id}": BANK,
    "GET /finance/bank/export.xlsx": BANK,
    "GET /finance/bank/products/new": BANK,
    "POST /finance/bank/products": BANK,
    "POST /finance/bank/products/{product_id}/withdraw": BANK,
    "GET /finance": BUREAU,
    "POST /finance/months": BUREAU,
    "POST /finance/months/{month_id}/close": BUREAU,
    "POST /finance/months/{month_id}/remind": BUREAU,
    "POST /finance/match": BUREAU,
    "POST /finance/products/{product_id}/review": BUREAU,
    "GET /finance/needs/{need_id}": BUREAU,
    "GET /finance/quarters/{quarter}": BUREAU,
    "GET /finance/quarters/{quarter}/export.xlsx": BUREAU,
    "POST /finance/consultations": BUREAU,
    "POST /finance/needs/{need_id}/outcome": BUREAU,
    "GET /finance/assessment": BUREAU,
    "GET /finance/loans": BUREAU,
    "POST /finance/loans/{loan_id}/default": BUREAU,
    "POST /finance/loans/{loan_id}/recovery": BUREAU,
    "POST /finance/pool": BUREAU,
    "GET /api/v1/finance/products": LOGGED_IN,
    "POST /api/v1/finance/match": BUREAU,
    "GET /api/v1/finance/needs/{need_id}": BUREAU | ENTERPRISE,
    "GET /api/v1/finance/me/needs": ENTERPRISE,
    "POST /api/v1/finance/me/needs": ENTERPRISE,
    "POST /api/v1/finance/me/consents": ENTERPRISE,
    "POST /api/v1/finance/me/consents/{consent_id}/revoke": ENTERPRISE,
    "GET /api/v1/finance/bank/matches": BANK,
    "GET /api/v1/finance/bank/needs/{need_id}": BANK,
    "GET /api/v1/finance/assessment": BUREAU,
}


def samples(session: Session) -> dict[str, str]:
    """A product of the seed's bank, an open month of 张家港, a need of ent1 (consenting to
    the seed's bank) and a loan."""
    eid = session.scalar(select(Enterprise.id).where(Enterprise.uscc == uscc(1)))
    bank = session.scalar(select(Bank).where(Bank.code == "BANK-1"))
    today = date.today()
    p = FinanceProduct(
        bank_id=bank.id,
        code="BANK-1-P01",
        name="科技信用贷",
        kind="credit",
        amount_min_wan=Decimal(10),
        amount_max_wan=Decimal(500),
        term_min_months=6,
        term_max_months=36,
        rate_pct=Decimal("3.85"),
        eligibility={
            "all": [
                {
                    "id": "product.ok",
                    "label": "无",
                    "clause": "x",
                    "checks": [{"value": "seriously_dishonest", "op": "==", "threshold": 0}],
                }
            ]
        },
        status="pending",
        region_code="320582",
    )
    m = FinanceMonth(
        region_code="320582",
        month=today.year * 100 + today.month,
        closes_on=today + timedelta(days=5),
        status="open",
    )
    session.add_all([p, m])
    session.flush()
    n = FinanceNeed(
        enterprise_id=eid,
        month_id=m.id,
        region_code="320582100",
        amount_wan=Decimal(100),
        term_months=12,
        purpose="流动资金",
        collateral=[],
        patents_offered=0,
        urgency="normal",
        status="open",
    )
    session.add(n)
    session.flush()
    c = FinanceConsent(
        enterprise_id=eid,
        bank_id=bank.id,
        granted_at=utcnow(),
        expires_at=utcnow() + timedelta(days=30),
    )
    loan = FinanceLoan(
        enterprise_id=eid,
        bank_id=bank.id,
        product_id=p.id,
        region_code="320582100",
        kind="credit",
        amount_wan=Decimal(100),
        rate_pct=Decimal("3.85"),
        term_months=12,
        granted_on=today,
        pool_eligible=True,
    )
    session.add_all([c, loan])
    session.flush()
    q = today.year * 10 + (today.month - 1) // 3 + 1
    return {
        "need_id": str(n.id),
        "consent_id": str(c.id),
        "product_id": str(p.id),
        "month_id": str(m.id),
        "loan_id": str(loan.id),
        "quarter": str(q),
    }
