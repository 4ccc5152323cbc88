"""Benchmark: all built-in policies over the demo county, from the database, persisted.

Builds the demo county with the real CLI (``kechuang init --demo N`` in a child process, on
a fresh SQLite file unless ``--db`` names an existing database), then times, in this
process, the three phases of ``do_run_policies``: reading the current facts of three
years (``kechuang.facts.read_facts``), evaluating every built-in policy and writing the
runs and their results — one transaction, committed. Reports wall times and the peak
resident memory of this process. Targets (issue 4): N=100,000 ≤ 10 s; N=1,000,000 ≤ 120 s
with peak memory ≤ 6 GB.

    .venv/bin/python bench/policy_eval.py                    # N = 100,000 (builds the demo)
    .venv/bin/python bench/policy_eval.py --n 1000000        # takes minutes to build
    .venv/bin/python bench/policy_eval.py --db /tmp/demo.sqlite3   # reuse a demo database

Figures are recorded in docs/bench-notes/policy.md with the machine they came from.
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
import tempfile
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TARGETS = {100_000: (10.0, None), 1_000_000: (120.0, 6144.0)}


def build_demo(n: int, seed: int) -> tuple[str, float]:
    workdir = Path(tempfile.mkdtemp(prefix="kechuang-policy-bench-"))
    url = f"sqlite:///{workdir / 'demo.sqlite3'}"
    env = {**os.environ, "KECHUANG_DATABASE_URL": url,
           "KECHUANG_SETTINGS_FILE": str(workdir / "none.toml")}
    exe = shutil.which("kechuang", path=str(ROOT / ".venv" / "bin")) or "kechuang"
    start = time.perf_counter()
    subprocess.run([exe, "init", "--demo", str(n), "--seed", str(seed)], env=env, check=True,
                   stdout=subprocess.DEVNULL)
    return url, time.perf_counter() - start


def run(url: str, as_of: date) -> dict[str, object]:
    from kechuang.auth.actor import Actor
    from kechuang.db import make_engine, unit_of_work
    from kechuang.migrate import upgrade
    from kechuang.policy.service import do_run_policies

    engine = make_engine(url)
    upgrade(engine)
    marks: dict[str, float] = {}

    def progress(label: str, done: int, total: int) -> None:
        marks.setdefault(label.split()[0], time.perf_counter())

    start = time.perf_counter()
    with unit_of_work(engine) as session:  # committed, as ``kechuang policy run`` does it
        summaries = do_run_policies(session, Actor.command_line(), None, as_of, progress)
    end = time.perf_counter()
    enterprises = summaries[0].enterprises if summaries else 0
    return {
        "read_s": round(marks["计算"] - start, 2),
        "evaluate_s": round(marks["写入"] - marks["计算"], 2),
        "shape_persist_commit_s": round(end - marks["写入"], 2),
        "total_s": round(end - start, 2),
        "enterprises": enterprises,
        "result_rows": enterprises * len(summaries),
        "counts": {s.policy_id: s.counts for s in summaries},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=20240601)
    parser.add_argument("--db", help="an existing demo database (SQLite path or URL)")
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT / "src"))
    build_s = None
    if args.db:
        url = args.db if "://" in args.db else f"sqlite:///{Path(args.db).resolve()}"
    else:
        url, build_s = build_demo(args.n, args.seed)
    as_of = date.today()
    figures = run(url, as_of)
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    target_s, target_mb = TARGETS.get(args.n, (None, None))
    print(json.dumps({
        "n": args.n, "as_of": as_of.isoformat(), "demo_build_s": build_s and round(build_s, 1),
        **figures, "peak_rss_mb": round(peak_mb), "target_s": target_s,
        "target_peak_mb": target_mb,
        "meets_time": target_s is None or figures["total_s"] <= target_s,  # type: ignore[operator]
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python "
                   f"{platform.python_version()}, {platform.system()} {platform.release()}",
    }, ensure_ascii=False, indent=2))


if __name__ == "__main__":
    main()
