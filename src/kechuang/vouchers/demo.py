"""Demo vouchers, written when the demo county is loaded (``demo.county_loaded``),
deterministically from the seed, through the real services:

- the ``innovation_voucher`` policy is run over the county (unless a run already covers it);
- vouchers of last year (issued about 13 months ago: now expired, some redeemed in time) and
  of this year (issued about five months ago), to the enterprises the run finds eligible;
- providers: up to four of the county's institutes (the demo ``institute`` account's among
  them, so it can redeem) and two service firms, each with two services;
- redemptions against invoices (about half of the vouchers, at most 60 a year, stopping
  when the year's budget runs out), paid through the ledger; last year's settled.

Points dividends need a published list, which the demo does not make: after publishing a
scoring run, ``kechuang ledger pay-dividends --run N --scheme points-dividend`` pays them.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import numpy as np
from sqlalchemy.orm import Session

from kechuang.auth.service import region_actor
from kechuang.kit.errors import Conflict
from kechuang.policy import service as policy_service
from kechuang.vouchers import repository as repo
from kechuang.vouchers import service
from kechuang.vouchers.schemas import rules

SERVICES = {
    "testing": ["材料成分与力学性能检测", "电磁兼容（EMC）测试", "化学品安全检测"],
    "rd": ["联合研发与中试", "工艺优化技术服务", "样机设计与验证"],
    "design": ["工业设计与结构设计"],
    "tech_transfer": ["专利导航与技术转移服务"],
}
#: industry codes of service firms (GB/T 4754: 73 R&D, 74 professional technical services)
SERVICE_INDUSTRIES = ("73", "74", "75")
MAX_REDEMPTIONS = 60


def load_demo(session: Session, *, seed: int, county_code: str, today: date) -> dict[str, Any]:
    # the county's own account: its policy run (and so its push batch) is the county's, and
    # the county bureau reviews it
    cli = region_actor(session, county_code)
    r = rules()
    if r.policy not in policy_service.latest_covering_runs(session, cli):
        policy_service.do_run_policies(session, cli, [r.policy], as_of=today)
    rng = np.random.default_rng([seed, 1010])
    years = [(today.year - 1, today - timedelta(days=400)),
             (today.year, today - timedelta(days=150))]
    issued = {y: service.do_issue(session, cli, region_code=county_code, year=y, on=on)
              for y, on in years}
    providers = []
    for inst in repo.county_institutes(session, county_code, 4):
        providers.append(service.do_register_provider(session, cli, kind="institute",
                                                      org_id=inst.id, contact="科技服务窗口"))
    for firm in repo.service_firms(session, county_code, SERVICE_INDUSTRIES, 2):
        providers.append(service.do_register_provider(session, cli, kind="enterprise",
                                                      org_id=firm.id, contact="业务部"))
    categories = list(SERVICES)
    services: dict[int, list[int]] = {}
    for p in providers:
        picks = rng.choice(len(categories), size=2, replace=False)
        for k in picks:
            cat = categories[int(k)]
            name = SERVICES[cat][int(rng.integers(0, len(SERVICES[cat])))]
            svc = service.do_add_service(session, cli, provider_id=p.id, category=cat,
                                         name=name)
            services.setdefault(p.id, []).append(svc.id)
    redeemed: dict[int, int] = {}
    for year, on in years:
        redeemed[year] = 0
        if not providers:
            continue
        for v in repo.vouchers_of_year(session, county_code, year):
            if redeemed[year] >= MAX_REDEMPTIONS or rng.random() > 0.5:
                continue
            holder = repo.enterprise(session, v.enterprise_id)
            p = providers[int(rng.integers(0, len(providers)))]
            if holder is None or p.enterprise_id == v.enterprise_id:
                continue
            invoice = Decimal(int(rng.integers(2_000_000, 30_000_000))) / 100
            day = on + timedelta(days=int(rng.integers(10, 300)))
            try:
                service.do_redeem(session, cli, voucher_code=v.code, uscc=holder.uscc,
                                  provider_id=p.id, service_id=services[p.id][0],
                                  invoice_no=f"FP{year}{v.id:06d}", invoice_amount=invoice,
                                  today=min(day, today))
            except Conflict:  # the year's budget ran out: the rest stay unredeemed
                break
            redeemed[year] += 1
    settled = 0
    for p in providers[::2]:  # half the providers settled, the others still open
        try:
            service.do_settle(session, cli, provider_id=p.id, reference=f"结算{today.year - 1}")
            settled += 1
        except Conflict:
            continue
    return {"issued": {y: i.issued for y, i in issued.items()}, "providers": len(providers),
            "redeemed": redeemed, "settlements": settled}
