"""Benchmark: import 1,000,000 fact values (wide CSV, tax template, full validation).

    python bench/import_facts.py [--rows 100000] [--url sqlite:///...] [--keep]

Builds a fresh database (migrations + reference data), bulk-inserts N enterprises, writes a
wide CSV of N rows × 10 metrics (thousands separators and an 元 column included, so the
converters do real work), then times ``do_import`` — reading, validating every cell,
staging and merging set-based, in one transaction. It then imports a corrected copy (every
value changed → supersede path) and a dry run of it. Goal: ≤ 60 s for 1,000,000 values.
"""

from __future__ import annotations

import argparse
import os
import random
import resource
import sys
import tempfile
import time
from pathlib import Path

from sqlalchemy import func, insert, select

from kechuang.auth.actor import Actor
from kechuang.db import make_engine, unit_of_work
from kechuang.ingest.service import do_import
from kechuang.kit.uscc import make_uscc
from kechuang.migrate import upgrade
from kechuang.models import Enterprise, Fact
from kechuang.registry.reference import load_reference_data

HEADER = ["统一社会信用代码", "年度", "营业收入（万元）", "主营业务收入（万元）",
          "收入总额（万元）",
          "不征税收入（万元）", "高新技术产品（服务）收入（万元）", "研发费用（元）",
          "境内研发费用（万元）", "成本费用总额（万元）", "纳税总额（万元）", "职工人数"]


def uscc(n: int) -> str:
    return make_uscc(f"91320582{n:09d}")


def build(url: str, n: int) -> None:
    engine = make_engine(url)
    upgrade(engine)
    with unit_of_work(engine) as s:
        load_reference_data(s)
        rows = [{"uscc": uscc(i), "name": f"基准企业{i}", "region_code": "320582100",
                 "industry_code": "3973"} for i in range(n)]
        for start in range(0, n, 20000):
            s.execute(insert(Enterprise), rows[start:start + 20000])
    engine.dispose()


def write_csv(path: Path, n: int, bump: int = 0) -> int:
    rnd = random.Random(7 + bump)
    with path.open("w", encoding="utf-8", newline="") as f:
        f.write(",".join(HEADER) + "\n")
        for i in range(n):
            rev = rnd.randint(100, 900000) / 10 + bump
            vals = [f"\"{rev:,.1f}\"", f"{rev * 0.9:.2f}", f"{rev * 1.05:.2f}", "0",
                    f"{rev * 0.3:.2f}", str(int(rev * 400)), f"{rev * 0.03:.2f}",
                    f"{rev * 0.8:.2f}", f"{rev * 0.05:.2f}", str(rnd.randint(5, 3000))]
            f.write(f"{uscc(i)},2023," + ",".join(vals) + "\n")
    return n * 10


def timed_import(url: str, path: Path, dry_run: bool = False) -> tuple[float, object]:
    engine = make_engine(url)
    data = path.read_bytes()
    t0 = time.perf_counter()
    marks: list[tuple[str, float]] = []

    def progress(stage: str, done: int, total: int) -> None:
        if not marks or marks[-1][0] != stage:
            marks.append((stage, time.perf_counter()))

    with unit_of_work(engine) as s:
        r = do_import(s, Actor.command_line(), data, path.name, "tax", dry_run=dry_run,
                      progress=progress)
    elapsed = time.perf_counter() - t0
    marks.append(("commit", time.perf_counter()))
    phases = ", ".join(f"{a} {t2 - t1:.1f} s" for (a, t1), (_, t2) in zip(marks, marks[1:],
                                                                           strict=False))
    if phases:
        print(f"    phases: {phases}")
    engine.dispose()
    if not r.ok:
        print("import failed:", r.message, r.problems[:5], file=sys.stderr)
        sys.exit(1)
    return elapsed, r


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=100_000)
    ap.add_argument("--url", default=None, help="database URL (default: a fresh SQLite file)")
    ap.add_argument("--keep", action="store_true")
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="kc-bench-"))
    url = args.url or f"sqlite:///{tmp / 'bench.sqlite3'}"
    os.environ.setdefault("KECHUANG_IMPORT_MAX_BYTES", str(1024 ** 3))
    t0 = time.perf_counter()
    build(url, args.rows)
    print(f"setup: {args.rows:,} enterprises in {time.perf_counter() - t0:.1f} s")
    first, second = tmp / "tax-2023.csv", tmp / "tax-2023-corrected.csv"
    values = write_csv(first, args.rows)
    write_csv(second, args.rows, bump=1)
    print(f"file: {first.stat().st_size / 1e6:.1f} MB, {values:,} values")
    t, r = timed_import(url, first)
    print(f"import (all new):       {t:6.1f} s  {values / t:,.0f} values/s  "
          f"new={r.facts_new:,}")  # type: ignore[attr-defined]
    t, r = timed_import(url, second, dry_run=True)
    print(f"dry run (corrected):    {t:6.1f} s  changed={r.facts_changed:,}")  # type: ignore[attr-defined]
    t, r = timed_import(url, second)
    print(f"import (corrected):     {t:6.1f} s  changed={r.facts_changed:,} "
          f"unchanged={r.facts_unchanged:,}")  # type: ignore[attr-defined]
    t, r = timed_import(url, second)
    print(f"re-import (same bytes): {t:6.1f} s  already_imported={r.already_imported}")  # type: ignore[attr-defined]
    engine = make_engine(url)
    with unit_of_work(engine) as s:
        total = s.scalar(select(func.count()).select_from(Fact))
    print(f"facts in database: {total:,}")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak RSS: {peak:,.0f} MB; cores: {os.cpu_count()}")
    if not args.keep:
        import shutil

        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
