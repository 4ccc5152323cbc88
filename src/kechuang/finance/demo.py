"""Demo records of technology finance, written deterministically from the demo seed when
the demo county is loaded (``demo.county_loaded``): each bank's products (published), a
year of monthly collections with needs of the county's technology enterprises, outcomes
and loans of the closed months, one consultation per past quarter, consents of some
enterprises to the demo bank, the risk pool with a default compensated through the ledger,
and a matching pass over the open needs."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import numpy as np
from sqlalchemy.orm import Session

from kechuang.auth.actor import Actor
from kechuang.finance import engine, service
from kechuang.finance import repository as repo
from kechuang.finance.schemas import DefaultIn
from kechuang.kit.errors import KechuangError
from kechuang.models.base import utcnow
from kechuang.models.finance import (
    FinanceConsent,
    FinanceConsultation,
    FinanceLoan,
    FinanceMonth,
    FinanceNeed,
    FinanceOutcome,
    FinanceProduct,
)

CLEAN = {
    "id": "product.clean",
    "label": "无严重失信、经营异常记录",
    "clause": "产品说明",
    "checks": [
        {"value": "seriously_dishonest", "op": "==", "threshold": 0, "format": "bool"},
        {"value": "abnormal_operation", "op": "==", "threshold": 0, "format": "bool"},
    ],
}
TECH = {
    "id": "product.tech",
    "label": "高新技术企业或科技型中小企业",
    "clause": "产品说明",
    "checks": [{"value": "policy('tech_sme') or policy('hte')", "format": "bool"}],
}
HTE = {
    "id": "product.hte",
    "label": "有效期内的高新技术企业",
    "clause": "产品说明",
    "checks": [{"value": "policy('hte')", "format": "bool"}],
}
POINTS = {
    "id": "product.points",
    "label": "符合积分贷条件",
    "clause": "产品说明",
    "checks": [{"value": "policy('points_loan')", "format": "bool"}],
}
REVENUE = {
    "id": "product.revenue",
    "label": "上年营业收入不超过 2 亿元",
    "clause": "产品说明",
    "checks": [{"value": "revenue", "op": "<=", "threshold": 20000, "format": "wan"}],
}

#: (name, kind, min, max, term min, term max, rate, tree leaves) — names from the seeds
PRODUCTS = [
    ("苏科贷", "credit", 50, 1000, 6, 36, "3.65", [TECH, CLEAN]),
    ("锡科贷", "credit", 30, 500, 6, 24, "3.80", [TECH, REVENUE, CLEAN]),
    ("科知贷", "ip_pledge", 100, 2000, 12, 36, "3.95", [TECH, CLEAN]),
    ("善新贷", "credit", 20, 300, 6, 12, "4.10", [CLEAN]),
    ("鲁科贷", "credit", 100, 3000, 12, 60, "3.55", [HTE, CLEAN]),
    ("鲁科担", "guarantee", 50, 1000, 12, 36, "4.35", [TECH, CLEAN]),
    ("科技创新积分贷", "points_loan", 50, 2000, 6, 36, "3.45", [POINTS]),
    ("专利质押融资", "ip_pledge", 50, 1000, 12, 36, "4.05", [CLEAN]),
]
#: collection months in the demo (the current one open): two full years before it, so the
#: annual assessment has a year and the year before (growth)
MONTHS = 25
#: needs per month at most (a county's collection gets dozens to a few hundred answers)
MAX_PER_MONTH = 150
PURPOSES = [
    "研发投入与中试",
    "扩大产能的流动资金",
    "采购生产设备",
    "新产品市场推广",
    "技术改造",
    "原材料备货",
    "新建实验室",
    "并购上下游技术团队",
]
DECLINE = [
    "抵质押不足，企业暂不接受担保方案",
    "企业经营现金流不足以覆盖还款",
    "企业已通过其他渠道解决",
    "额度需求超出产品上限，改为分期申请",
]


def _months_back(today: date, n: int) -> list[int]:
    y, m = today.year, today.month
    out = []
    for _ in range(n):
        out.append(y * 100 + m)
        y, m = (y - 1, 12) if m == 1 else (y, m - 1)
    return sorted(out)


def load_demo(session: Session, *, seed: int, county_code: str, today: date) -> dict[str, Any]:
    rng = np.random.default_rng([seed, 13])
    path = repo.region_path(session, county_code) or "/"
    county = Actor.command_line(county_code, path)
    banks = repo.banks_on_path(session, path)
    if not banks:
        return {}
    now = utcnow()
    products: list[FinanceProduct] = []
    for i, (name, kind, lo, hi, tlo, thi, rate, leaves) in enumerate(PRODUCTS):
        bank = banks[i % len(banks)]
        products.append(
            FinanceProduct(
                bank_id=bank.id,
                code=f"{bank.code}-P{i + 1:02d}",
                name=name,
                kind=kind,
                amount_min_wan=Decimal(lo),
                amount_max_wan=Decimal(hi),
                term_min_months=tlo,
                term_max_months=thi,
                rate_pct=Decimal(rate),
                description=f"{name}（演示产品）",
                eligibility={"all": leaves},
                status="published",
                region_code=bank.region_code,
                reviewed_at=now,
                created_at=now,
                updated_at=now,
            )
        )
    repo.add_all(session, products)
    for p in products:  # the trees load in the policy language (refused otherwise)
        engine.product_policy(p.name, p.eligibility)

    months = []
    for ym in _months_back(today, MONTHS):
        last = ym == today.year * 100 + today.month
        closes = date(ym // 100, ym % 100, 25) if not last else today + timedelta(days=10)
        months.append(
            FinanceMonth(
                region_code=county_code,
                month=ym,
                closes_on=closes,
                status="open" if last else "closed",
            )
        )
    repo.add_all(session, months)

    tech = repo.tech_enterprise_ids(session, path)
    if not tech:
        return {"products": len(products), "months": len(months)}
    regions = repo.enterprise_regions(session, tech)
    accounts = set(repo.account_enterprise_ids(session))
    needs: list[FinanceNeed] = []
    per_month = min(MAX_PER_MONTH, max(3, len(tech) // 12))
    for m in months:
        chosen = rng.choice(len(tech), size=min(per_month, len(tech)), replace=False)
        ids = {tech[int(i)] for i in chosen}
        if m.status == "open":
            ids |= {e for e in accounts if e in regions}
        for eid in sorted(ids):
            coll = [c for c in engine.COLLATERAL if rng.random() < 0.25]
            patents = int(rng.integers(1, 6)) if "patent" in coll else 0
            needs.append(
                FinanceNeed(
                    enterprise_id=eid,
                    month_id=m.id,
                    region_code=regions[eid],
                    amount_wan=Decimal(
                        int(rng.choice([50, 80, 100, 200, 300, 500, 800, 1000, 2000]))
                    ),
                    term_months=int(rng.choice([6, 12, 12, 24, 36])),
                    purpose=PURPOSES[int(rng.integers(0, len(PURPOSES)))],
                    collateral=coll,
                    patents_offered=patents,
                    urgency=str(rng.choice(["low", "normal", "high"])),
                    status="open",
                )
            )
    repo.add_all(session, needs)

    month_of = {m.id: m for m in months}
    closed = [n for n in needs if month_of[n.month_id].status == "closed"]
    by_kind: dict[str, list[FinanceProduct]] = {}
    for p in products:
        by_kind.setdefault(p.kind, []).append(p)
    quarters: dict[int, list[FinanceNeed]] = {}
    outcomes: list[tuple[FinanceOutcome, FinanceNeed, FinanceProduct | None]] = []
    loans: list[FinanceLoan] = []
    for n in closed:
        ym = month_of[n.month_id].month
        q = (ym // 100) * 10 + (ym % 100 - 1) // 3 + 1
        quarters.setdefault(q, []).append(n)
        roll = rng.random()
        decided = date(ym // 100, ym % 100, 1) + timedelta(days=int(rng.integers(20, 60)))
        decided = min(decided, today)
        if roll < 0.6:
            kind = (
                "ip_pledge"
                if "patent" in n.collateral
                else "guarantee"
                if "guarantee" in n.collateral
                else str(rng.choice(["credit", "credit", "points_loan"]))
            )
            p = by_kind.get(kind, products)[int(rng.integers(0, len(by_kind.get(kind, products))))]
            granted = min(n.amount_wan, p.amount_max_wan)
            loan_rate = (p.rate_pct + Decimal(int(rng.integers(-20, 30))) / 100).quantize(
                Decimal("0.01")
            )
            o = FinanceOutcome(
                need_id=n.id,
                bank_id=p.bank_id,
                product_id=p.id,
                result="granted",
                amount_wan=granted,
                rate_pct=loan_rate,
                decided_on=decided,
            )
            outcomes.append((o, n, p))
            n.status = "met"
        elif roll < 0.85:
            outcomes.append(
                (
                    FinanceOutcome(
                        need_id=n.id,
                        result="declined",
                        decided_on=decided,
                        reason=DECLINE[int(rng.integers(0, len(DECLINE)))],
                    ),
                    n,
                    None,
                )
            )
            n.status = "declined"
    repo.add_all(session, [o for o, _, _ in outcomes])
    for o, n, prod in outcomes:
        if o.result == "granted" and prod is not None:
            loans.append(
                FinanceLoan(
                    enterprise_id=n.enterprise_id,
                    bank_id=prod.bank_id,
                    product_id=prod.id,
                    outcome_id=o.id,
                    region_code=n.region_code,
                    kind=prod.kind,
                    amount_wan=o.amount_wan,
                    rate_pct=o.rate_pct,
                    term_months=n.term_months,
                    granted_on=o.decided_on,
                    first_time=bool(rng.random() < 0.3),
                    pool_eligible=prod.kind != "guarantee",
                )
            )
    repo.add_all(session, loans)

    consultations = []
    for q in sorted(quarters):
        qn = quarters[q]
        ents = sorted({n.enterprise_id for n in qn})[:12]
        held = date(q // 10, 3 * (q % 10), 20)
        if held > today:
            continue
        consultations.append(
            FinanceConsultation(
                region_code=county_code,
                quarter=q,
                held_on=held,
                title=f"{q // 10} 年第 {q % 10} 季度科技金融会商",
                venue="科技局三楼会议室",
                participants=["科技局", "人民银行县支行", "金融办", "金融监管局"],
                enterprise_ids=ents,
                bank_ids=[b.id for b in banks],
                notes=f"{len(ents)} 家科技企业、{len(banks)} 家金融机构参加；"
                "逐项对接本季度未满足的融资需求",
            )
        )
    repo.add_all(session, consultations)

    # consents: the demo enterprise account and a few others, to the demo bank
    open_month = months[-1]
    open_needs = [n for n in needs if n.month_id == open_month.id]
    sharers = sorted({n.enterprise_id for n in open_needs})
    pick = set(sharers[:: max(1, len(sharers) // 6)][:6]) | (accounts & set(sharers))
    consents = [
        FinanceConsent(
            enterprise_id=e,
            bank_id=banks[0].id,
            granted_at=now,
            expires_at=now + timedelta(days=90),
        )
        for e in sorted(pick)
    ]
    repo.add_all(session, consents)

    service.do_match(session, county, as_of=today)
    pool = None
    compensated = 0
    try:
        service.do_open_pool(
            session,
            county,
            year=today.year,
            amount_yuan=Decimal("10000000"),
            source="县级财政科技信贷风险补偿资金（演示）",
        )
        pool = service.pool_key(county_code, today.year)
        victim = next((ln for ln in loans if ln.pool_eligible), None)
        if victim is not None:
            service.do_record_default(
                session,
                county,
                victim.id,
                DefaultIn(
                    default_wan=(victim.amount_wan / 2).quantize(Decimal("0.01")),
                    defaulted_on=today,
                ),
            )
            compensated = 1
    except KechuangError:  # the ledger may refuse in an unusual demo scope
        pool = None
    return {
        "products": len(products),
        "months": len(months),
        "needs": len(needs),
        "outcomes": len(outcomes),
        "loans": len(loans),
        "consultations": len(consultations),
        "consents": len(consents),
        "risk_pool": pool,
        "compensated": compensated,
    }
