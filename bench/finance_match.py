"""Benchmark: matching all open needs of a county against 200 products, set-based.

Builds a demo county of N enterprises (default 100,000) in a private SQLite database,
adds one open need for every tenth enterprise and 200 published products (the demo's
eight eligibility trees spread over the banks, with different ranges), then times
``kechuang.finance.service.do_match`` (facts read once, each distinct tree evaluated once by
the policy engine over the enterprises with needs, all pairs scored with NumPy, the best
five per need written in bulk).

    .venv/bin/python bench/finance_match.py [--enterprises 100000] [--db /tmp/x.sqlite3]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from datetime import date, timedelta
from decimal import Decimal

from sqlalchemy import select, update

from kechuang.auth.actor import Actor
from kechuang.db import make_engine, unit_of_work
from kechuang.finance import service
from kechuang.finance.demo import PRODUCTS
from kechuang.models import Bank, Enterprise, Region
from kechuang.models.finance import FinanceMonth, FinanceNeed, FinanceProduct


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--enterprises", type=int, default=100_000)
    ap.add_argument("--db", default="/tmp/finance-bench.sqlite3")
    args = ap.parse_args()
    url = f"sqlite:///{args.db}"
    if not os.path.exists(args.db):
        env = {**os.environ, "KECHUANG_DATABASE_URL": url}
        subprocess.run([os.path.join(os.path.dirname(sys.executable), "kechuang"), "init", "--demo",
                        str(args.enterprises)], check=True, env=env, stdout=subprocess.DEVNULL)
    engine = make_engine(url)
    with unit_of_work(engine) as s:
        county = s.scalar(select(Bank.region_code))
        path = s.scalar(select(Region.path).where(Region.code == county))
        actor = Actor(username="bench", role="bureau_admin", region_code=county,
                      region_path=path)
        banks = list(s.scalars(select(Bank.id)))
        # only the benchmark's needs and products are open (the demo's are set aside)
        s.execute(update(FinanceNeed).where(FinanceNeed.status == "open")
                  .values(status="withdrawn"))
        s.execute(update(FinanceProduct).values(status="withdrawn"))
        today = service.today()
        month = FinanceMonth(region_code=county, month=209901,
                             closes_on=today + timedelta(days=10), status="open")
        s.add(month)
        s.flush()
        for i in range(200):
            name, kind, lo, hi, tlo, thi, rate, leaves = PRODUCTS[i % len(PRODUCTS)]
            s.add(FinanceProduct(bank_id=banks[i % len(banks)], code=f"BENCH-{i:03d}",
                                 name=f"{name}{i}", kind=kind, amount_min_wan=Decimal(lo + i),
                                 amount_max_wan=Decimal(hi + 10 * i), term_min_months=tlo,
                                 term_max_months=thi, rate_pct=Decimal(rate),
                                 eligibility={"all": leaves}, status="published",
                                 region_code=county))
        ids = list(s.scalars(select(Enterprise.id).order_by(Enterprise.id)))[::10]
        regions = dict(s.execute(select(Enterprise.id, Enterprise.region_code)).all())
        s.add_all([FinanceNeed(enterprise_id=e, month_id=month.id, region_code=regions[e],
                               amount_wan=Decimal(50 + (e % 20) * 50), term_months=12,
                               purpose="基准测试", collateral=["patent"] if e % 3 == 0 else [],
                               patents_offered=2 if e % 3 == 0 else 0, status="open")
                   for e in ids])
        s.flush()
        t0, c0 = time.perf_counter(), time.process_time()
        summary = service.do_match(s, actor, as_of=date.today())
        elapsed, cpu = time.perf_counter() - t0, time.process_time() - c0
        s.rollback()
    print(f"enterprises={len(regions):,} needs={summary.needs:,} products={summary.products} "
          f"pairs={summary.pairs:,} seconds={elapsed:.2f} cpu_seconds={cpu:.2f} "
          f"load={os.getloadavg()}")


if __name__ == "__main__":
    main()
