"""Actors of the seeded county and a budget opener for the ledger and voucher tests."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from kechuang.auth.actor import Actor
from kechuang.auth.service import actor_for_user
from kechuang.ledger import service as ledger
from kechuang.ledger.schemas import BudgetOut
from kechuang.models import Region, User
from tests.support.seed import HOME_COUNTY


def actor(session: Session, username: str) -> Actor:
    user = session.scalar(select(User).where(User.username == username))
    assert user is not None, username
    path = session.scalar(select(Region.path).where(Region.code == user.region_code)) or "/"
    return actor_for_user(user, path)


def open_budget(session: Session, key: str = "program:T-1:2024", amount: str = "1000000",
                year: int = 2024, region: str = HOME_COUNTY) -> BudgetOut:
    return ledger.do_open_budget(session, actor(session, "admin"), key=key, title="测试预算",
                                 region_code=region, year=year, amount=Decimal(amount),
                                 source="张科发〔2024〕1号")


def pay(session: Session, amount: str, key: str, budget: str = "program:T-1:2024",
        kind: str = "grant", who: str = "admin", decision: str = "decision:1"
        ) -> ledger.EntryOut:
    return ledger.do_pay(session, actor(session, who), budget_key=budget, kind=kind,
                         payee_type="enterprise", payee_id=1, payee_name="张家港华芯微电子有限公司",
                         amount=Decimal(amount), decision_ref=decision, idempotency_key=key)
