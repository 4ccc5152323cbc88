"""A finance scene in the seeded county: two banks (the seed's BANK-1 with the ``bank``
account, and BANK-2 with ``bank2``), published products, an open collection month and
needs of enterprises 1-3 of 张家港 (enterprise 1 is ``ent1``)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import pytest
from sqlalchemy import Engine, select

from kechuang.auth.actor import Actor
from kechuang.auth.service import do_create_user
from kechuang.db import unit_of_work
from kechuang.finance import service
from kechuang.finance.schemas import MonthIn, NeedIn, ProductIn
from kechuang.models import Bank, Enterprise, Region, User
from tests.support.seed import PASSWORD, uscc

OPEN_TREE = """
all:
  - id: clean
    label: 无严重失信记录
    checks:
      - value: seriously_dishonest
        op: "=="
        threshold: 0
        format: bool
"""

HTE_TREE = """
any:
  - id: hte
    label: 高新技术企业
    checks:
      - value: policy('hte')
        format: bool
"""


@dataclass
class Scene:
    bank1: int
    bank2: int
    products: dict[str, int]
    month_id: int
    needs: dict[int, int]  # seed number → need id
    ents: dict[int, int]  # seed number → enterprise id


def actor(session, username: str) -> Actor:  # type: ignore[no-untyped-def]
    u = session.scalar(select(User).where(User.username == username))
    path = session.scalar(select(Region.path).where(Region.code == u.region_code))
    return Actor(
        username=u.username,
        role=u.role,
        region_code=u.region_code,
        region_path=path,
        user_id=u.id,
        display_name=u.username,
        enterprise_id=u.enterprise_id,
        bank_id=u.bank_id,
    )


def enterprise_actor(session, n: int) -> Actor:  # type: ignore[no-untyped-def]
    e = session.scalar(select(Enterprise).where(Enterprise.uscc == uscc(n)))
    path = session.scalar(select(Region.path).where(Region.code == e.region_code))
    return Actor(
        username=f"ent{n}",
        role="enterprise",
        region_code=e.region_code,
        region_path=path,
        enterprise_id=e.id,
    )


def product(
    name: str,
    kind: str = "credit",
    lo: int = 50,
    hi: int = 1000,
    tree: str = OPEN_TREE,
    rate: str = "3.85",
) -> ProductIn:
    return ProductIn(
        name=name,
        kind=kind,
        amount_min_wan=lo,
        amount_max_wan=hi,
        term_min_months=6,
        term_max_months=36,
        rate_pct=rate,
        eligibility=tree,
    )


@pytest.fixture
def scene(engine: Engine) -> Scene:
    with unit_of_work(engine) as s:
        b1 = s.scalar(select(Bank).where(Bank.code == "BANK-1"))
        b2 = Bank(code="BANK-2", name="张家港第二银行", region_code="320582")
        s.add(b2)
        s.flush()
        do_create_user(
            s,
            Actor.command_line(),
            username="bank2",
            password=PASSWORD,
            role="bank",
            region_code="320582",
            display_name="bank2",
            bank_id=b2.id,
        )
        s.flush()
        admin = actor(s, "admin")
        bank = actor(s, "bank")
        bank2 = actor(s, "bank2")
        p = {}
        p["credit"] = service.do_create_product(s, bank, product("科技信用贷")).id
        p["pledge"] = service.do_create_product(
            s, bank, product("科知贷", kind="ip_pledge", lo=100, hi=2000)
        ).id
        p["hte"] = service.do_create_product(s, bank2, product("苏科贷", tree=HTE_TREE)).id
        for pid in p.values():
            service.do_review_product(s, admin, pid, approve=True)
        today = service.today()
        m = service.do_open_month(
            s,
            admin,
            MonthIn(month=today.year * 100 + today.month, closes_on=today + timedelta(days=10)),
        )
        ents = {
            n: s.scalar(select(Enterprise.id).where(Enterprise.uscc == uscc(n))) for n in (1, 2, 3)
        }
        needs = {}
        needs[1] = service.do_submit_need(
            s,
            enterprise_actor(s, 1),
            NeedIn(
                amount_wan=300,
                term_months=12,
                purpose="扩产流动资金",
                collateral=["patent"],
                patents_offered=2,
            ),
        ).id
        needs[2] = service.do_submit_need(
            s, enterprise_actor(s, 2), NeedIn(amount_wan=80, term_months=24, purpose="研发设备采购")
        ).id
        needs[3] = service.do_submit_need(
            s, enterprise_actor(s, 3), NeedIn(amount_wan=5000, term_months=60, purpose="新建厂房")
        ).id
        return Scene(b1.id, b2.id, p, m.id, needs, ents)


def today() -> date:
    return service.today()
