"""Benchmark: voucher redemption on PostgreSQL with 32 concurrent clients against one budget
that runs out mid-way (issue 10: ≥ 200 redemptions/s; the sum redeemed ≤ the budget, to the
cent).

Sets up a county with ``--vouchers`` vouchers issued through the real service (an
``innovation_voucher`` run finding every enterprise eligible) and a budget worth about half
of what the invoices would draw, then starts ``--clients`` processes; each opens its own
connection and redeems its share of the vouchers through
:func:`kechuang.vouchers.service.do_redeem` (one transaction each: the ledger payment under
the budget's row lock, the redemption, the audit rows). A start barrier lines them up.
Reports requests per second, successful redemptions per second until the budget ran out,
and checks the sums against the budget and the ledger.

    .venv/bin/python bench/vouchers_redeem.py            # throwaway PostgreSQL 15 cluster
    .venv/bin/python bench/vouchers_redeem.py --sqlite   # the same on a SQLite file
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import platform
import sys
import tempfile
import time
from datetime import date
from decimal import Decimal
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import create_engine, func, select  # noqa: E402
from tests.push.helpers import make_run  # noqa: E402
from tests.support.seed import uscc  # noqa: E402

from kechuang.auth.actor import Actor  # noqa: E402
from kechuang.db import make_engine, unit_of_work  # noqa: E402
from kechuang.kit.errors import KechuangError  # noqa: E402
from kechuang.ledger import service as ledger  # noqa: E402
from kechuang.migrate import upgrade  # noqa: E402
from kechuang.models import Enterprise, Institute, PolicyRun  # noqa: E402
from kechuang.models.ledger import LedgerEntry, VoucherRedemption  # noqa: E402
from kechuang.registry.reference import load_reference_data  # noqa: E402
from kechuang.vouchers import service as vouchers  # noqa: E402

YEAR = 2026
DAY = date(2026, 6, 1)


def setup(url: str, n: int, budget: Decimal) -> tuple[list[tuple[str, str]], int, int]:
    engine = make_engine(url)
    upgrade(engine)
    cli = Actor.command_line()
    with unit_of_work(engine) as s:
        load_reference_data(s)
        s.add_all([Enterprise(uscc=uscc(i), name=f"基准企业{i:05d}", region_code="320582100",
                              industry_code="3973", founded_on=date(2015, 1, 1),
                              size_class="small") for i in range(1, n + 1)])
        inst = Institute(code="INST-B", name="基准研究院", kind="institute",
                         region_code="320582", fields=[])
        s.add(inst)
        s.flush()
        ids = s.scalars(select(Enterprise.id)).all()
        run = s.get(PolicyRun, make_run(s, "innovation_voucher",
                                        {i: "eligible" for i in ids}, eval_year=YEAR - 1))
        assert run is not None
        run.parameters = {"amount": {"value": 5, "ref": "基准", "from": "2021-01-01"}}
        ledger.do_open_budget(s, cli, key=f"vouchers:320582:{YEAR}", title="基准创新券",
                              region_code="320582", year=YEAR, amount=budget, source="基准测试")
        vouchers.do_issue(s, cli, region_code="320582", year=YEAR, on=date(2026, 3, 1))
        p = vouchers.do_register_provider(s, cli, kind="institute", org_id=inst.id)
        codes = [(v.code, v.uscc) for v in vouchers.voucher_page(s, cli, limit=n + 1).vouchers]
        inst_id = inst.id
    engine.dispose()
    return codes, p.id, inst_id


def client(url: str, jobs: list[tuple[str, str, str, str]], provider_id: int, inst_id: int,
           barrier: object, out: object) -> None:
    engine = make_engine(url)
    actor = Actor(username="bench-provider", role="institute", region_code="320582",
                  region_path="/", institute_id=inst_id)
    ok, refused, last_ok = 0, 0, 0.0
    barrier.wait()  # type: ignore[attr-defined]
    for code, holder, invoice, amount in jobs:
        try:
            with unit_of_work(engine) as s:
                vouchers.do_redeem(s, actor, voucher_code=code, uscc=holder,
                                   provider_id=provider_id, invoice_no=invoice,
                                   invoice_amount=amount, today=DAY)
            ok += 1
            last_ok = time.time()
        except KechuangError:
            refused += 1
    engine.dispose()
    out.put((ok, refused, last_ok, time.time()))  # type: ignore[attr-defined]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--vouchers", type=int, default=6000)
    ap.add_argument("--clients", type=int, default=32)
    ap.add_argument("--sqlite", action="store_true")
    args = ap.parse_args()
    rng = np.random.default_rng(11)
    # invoices of 20,000–150,000 yuan at 0.6, capped at 50,000: ~38,000 a voucher on average
    invoices = rng.integers(2_000_000, 15_000_000, args.vouchers)
    budget = Decimal(int(args.vouchers * 38_000 * 0.5)) + Decimal("0.37")
    cluster = None
    if args.sqlite:
        url = f"sqlite:///{Path(tempfile.mkdtemp(prefix='kechuang-vouchers-')) / 'v.sqlite3'}"
    else:
        from tests.support.pgcluster import start_cluster

        cluster = start_cluster()
        admin = create_engine(cluster.admin_url, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.exec_driver_sql("CREATE DATABASE vouchers")
        admin.dispose()
        url = cluster.url("vouchers")
    try:
        codes, provider_id, inst_id = setup(url, args.vouchers, budget)
        jobs = [(c, u, f"FP{i:06d}", str(Decimal(int(invoices[i])) / 100))
                for i, (c, u) in enumerate(codes)]
        ctx = mp.get_context("fork")
        barrier = ctx.Barrier(args.clients + 1)
        out = ctx.Queue()
        procs = [ctx.Process(target=client, args=(url, jobs[k::args.clients], provider_id,
                                                  inst_id, barrier, out))
                 for k in range(args.clients)]
        for p in procs:
            p.start()
        barrier.wait()
        started = time.time()
        results = [out.get() for _ in procs]
        for p in procs:
            p.join()
        ok = sum(r[0] for r in results)
        refused = sum(r[1] for r in results)
        last_ok = max(r[2] for r in results)
        ended = max(r[3] for r in results)
        engine = make_engine(url)
        with unit_of_work(engine) as s:
            redeemed = s.scalar(select(func.count()).select_from(VoucherRedemption))
            total = sum(s.scalars(select(VoucherRedemption.amount)).all(), Decimal(0))
            paid = sum(s.scalars(select(LedgerEntry.amount)).all(), Decimal(0))
            left = ledger.remaining(s, f"vouchers:320582:{YEAR}")
        engine.dispose()
        assert redeemed == ok and total == paid and total <= budget
        assert total + left == budget, "the sum redeemed and what is left make the budget"
        print(json.dumps({
            "backend": "sqlite" if args.sqlite else "postgresql", "clients": args.clients,
            "vouchers": args.vouchers, "budget": str(budget), "redeemed": ok,
            "refused_over_budget": refused, "sum_redeemed": str(total), "left": str(left),
            "wall_s": round(ended - started, 2),
            "requests_per_s": round((ok + refused) / (ended - started), 1),
            "redemptions_per_s_until_exhausted": round(ok / (last_ok - started), 1),
            "target_per_s": 200, "machine": platform.platform(),
        }, ensure_ascii=False))
    finally:
        if cluster is not None:
            cluster.stop()


if __name__ == "__main__":
    main()
