"""Benchmark: the reconciliation report over a ledger of 1,000,000 entries (issue 10: ≤ 10 s).

Builds a ledger of ``--entries`` entries over ``--budgets`` budgets (payments, receipts and
reversals with consistent running balances, spread over two calendar years) by bulk insert,
then times :func:`kechuang.ledger.service.reconcile` for one year over every budget (the
set-based grouped query plus the read of the last balances) and checks that it balances.

    .venv/bin/python bench/ledger_reconcile.py              # SQLite file, 1,000,000 entries
    .venv/bin/python bench/ledger_reconcile.py --pg         # throwaway PostgreSQL 15 cluster
    .venv/bin/python bench/ledger_reconcile.py --entries 100000
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import create_engine  # noqa: E402

from kechuang.auth.actor import Actor  # noqa: E402
from kechuang.db import bulk_insert, is_sqlite, make_engine, scaled, unit_of_work  # noqa: E402
from kechuang.ledger import service as ledger  # noqa: E402
from kechuang.ledger.engine import ZONE  # noqa: E402
from kechuang.migrate import upgrade  # noqa: E402
from kechuang.registry.reference import load_reference_data  # noqa: E402


def build(url: str, n: int, budgets: int, seed: int) -> int:
    engine = make_engine(url)
    upgrade(engine)
    year = datetime.now(UTC).astimezone(ZONE).year
    rng = np.random.default_rng(seed)
    cli = Actor.command_line()
    with unit_of_work(engine) as s:
        load_reference_data(s)
        for b in range(budgets):
            ledger.do_open_budget(s, cli, key=f"program:B{b:04d}:{year - 1}", title=f"预算 {b}",
                                  region_code="320582", year=year - 1,
                                  amount=Decimal(10) ** 10, source="基准测试")
        s.flush()
        ids = {r.key: r.id for r in ledger.budgets(s, cli)}
        budget_ids = np.array([ids[f"program:B{b:04d}:{year - 1}"] for b in range(budgets)])
        # entries in cents; each budget's entries in id order with its running balance
        which = np.sort(rng.integers(0, budgets, n))
        kinds = rng.random(n)
        amount = rng.integers(1, 50_000_000, n)  # up to 500,000.00 yuan
        delta = np.where(kinds < 0.9, -amount, amount)
        etype = np.where(kinds < 0.9, "payment", "receipt")
        start = Decimal(10) ** 10 * 100
        balance = np.empty(n, dtype=object)
        pos = 0
        for b in range(budgets):
            m = int((which == b).sum())
            run = np.cumsum(delta[pos:pos + m]).astype(object) + int(start)
            balance[pos:pos + m] = run
            pos += m
        t0 = datetime(year - 1, 1, 1, tzinfo=ZONE).astimezone(UTC)
        span = (datetime(year + 1, 1, 1, tzinfo=ZONE).astimezone(UTC) - t0).total_seconds()
        # times increase with the id within each budget (as the lock makes them)
        raw = rng.random(n) * (span - 7200)
        offsets = raw[np.lexsort((raw, which))]  # within each budget, ascending with the id
        created = [(t0 + timedelta(seconds=float(x))).replace(tzinfo=None)
                   .isoformat(sep=" ", timespec="microseconds") for x in offsets]
        sqlite = is_sqlite(s)

        def money(cents: object) -> object:
            value = Decimal(int(cents)) / 100  # type: ignore[call-overload]
            return scaled(value) if sqlite else value

        cols = {
            "budget_id": [int(budget_ids[i]) for i in which],
            "entry_type": list(etype), "kind": ["grant" if t == "payment" else "recovery"
                                                for t in etype],
            "payee_type": ["enterprise"] * n, "payee_id": list(range(1, n + 1)),
            "payee_name": ["基准企业"] * n,
            "amount": [money(a) for a in amount], "delta": [money(d) for d in delta],
            "balance_after": [money(b) for b in balance],
            "decision_ref": [f"bench:{i // 100}" for i in range(n)],
            "idempotency_key": [f"bench-{i}" for i in range(n)],
            "memo": [""] * n, "actor": ["bench"] * n,
            "created_at": [c if sqlite else datetime.fromisoformat(c).replace(tzinfo=UTC)
                           for c in created],
        }
        bulk_insert(s, "ledger_entry", list(cols), list(cols.values()))
    engine.dispose()
    return year


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--entries", type=int, default=1_000_000)
    ap.add_argument("--budgets", type=int, default=200)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--pg", action="store_true", help="a throwaway PostgreSQL 15 cluster")
    args = ap.parse_args()
    cluster = None
    workdir = Path(tempfile.mkdtemp(prefix="kechuang-ledger-bench-"))
    url = f"sqlite:///{workdir / 'ledger.sqlite3'}"
    if args.pg:
        from tests.support.pgcluster import start_cluster

        cluster = start_cluster()
        admin = create_engine(cluster.admin_url, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.exec_driver_sql("CREATE DATABASE ledger")
        admin.dispose()
        url = cluster.url("ledger")
    try:
        t = time.perf_counter()
        year = build(url, args.entries, args.budgets, args.seed)
        built = time.perf_counter() - t
        engine = make_engine(url)
        timings = []
        for target in (year - 1, year):
            with unit_of_work(engine) as s:
                t = time.perf_counter()
                report = ledger.reconcile(s, Actor.command_line(), target)
                timings.append(time.perf_counter() - t)
                assert report.balanced, "the generated ledger must balance"
                entries = sum(r.entries for r in report.rows)
        engine.dispose()
        print(json.dumps({
            "backend": "postgresql" if args.pg else "sqlite", "entries": args.entries,
            "budgets": args.budgets, "build_s": round(built, 1),
            "reconcile_s": [round(x, 2) for x in timings], "entries_in_last_year": entries,
            "target_s": 10.0, "ok": max(timings) <= 10.0, "machine": platform.platform(),
        }, ensure_ascii=False))
    finally:
        if cluster is not None:
            cluster.stop()


if __name__ == "__main__":
    main()
