"""Benchmark: ``kechuang export facts`` (issue 15, item 1) over the 100,000-enterprise demo.

Measures one full export of the current facts, attributes and enterprises to Parquet: wall
time, facts per second and the process's peak resident memory (``resource.getrusage``,
which includes the interpreter and the imported libraries: the baseline before the export is
printed too). A second export with nothing new is timed as well (the incremental check);
the database is never written.

Build the database first (about 10 minutes on a loaded 2-core machine):

    KECHUANG_DATABASE_URL=sqlite:////tmp/spark/b.sqlite3 PYTHONPATH=$PWD/src \\
        .venv/bin/kechuang init --demo 100000
    PYTHONPATH=$PWD/src .venv/bin/python bench/export_facts.py --db /tmp/spark/b.sqlite3

The extrapolation to 62 million facts assumes the measured facts/s holds (the export is one
sequential scan and a constant-size chunk at a time); it is labelled as such.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path

from kechuang.auth.actor import Actor
from kechuang.db import make_engine, unit_of_work
from kechuang.spark import service

TARGET_FACTS = 62_000_000


def _rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--db", type=Path, default=Path("/tmp/spark/b.sqlite3"))
    parser.add_argument("--url", help="database URL (overrides --db), e.g. postgresql://…")
    parser.add_argument("--out", type=Path, default=Path("/tmp/spark/bench-lake"))
    parser.add_argument("--chunk-rows", type=int, default=service.DEFAULT_CHUNK)
    args = parser.parse_args()
    url = args.url or f"sqlite:///{args.db.absolute()}"
    if args.out.exists():
        shutil.rmtree(args.out)
    engine = make_engine(url)
    actor = Actor.command_line()
    baseline = _rss_mib()
    t0 = time.perf_counter()
    with unit_of_work(engine) as s:
        result = service.export_facts(s, actor, args.out, chunk=args.chunk_rows)
    full_s = time.perf_counter() - t0
    peak = _rss_mib()
    t1 = time.perf_counter()
    with unit_of_work(engine) as s:
        again = service.export_facts(s, actor, args.out, chunk=args.chunk_rows)
    incremental_s = time.perf_counter() - t1
    rows = result.facts + result.attributes
    size = sum(p.stat().st_size for p in args.out.rglob("*.parquet"))
    rate = rows / full_s
    report = {
        "database": url.split(":", 1)[0],
        "enterprises": result.enterprises,
        "facts": result.facts,
        "attribute_facts": result.attributes,
        "chunk_rows": args.chunk_rows,
        "full_export_s": round(full_s, 1),
        "facts_per_s": round(rate),
        "peak_rss_mib": round(peak),
        "rss_before_export_mib": round(baseline),
        "parquet_mib": round(size / 2**20, 1),
        "second_export_mode": again.mode,
        "second_export_s": round(incremental_s, 2),
        "extrapolated_62m_facts_s (extrapolation, not measured)": round(TARGET_FACTS / rate),
        "extrapolated_62m_parquet_gib (extrapolation, not measured)":
            round(size / rows * TARGET_FACTS / 2**30, 1),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python "
                   f"{platform.python_version()}",
        "uptime": subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip(),
    }
    json.dump(report, sys.stdout, ensure_ascii=False, indent=2)
    print()


if __name__ == "__main__":
    main()
