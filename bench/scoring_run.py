"""Benchmark: a full scoring run (database → results and trace persisted) on SQLite.

Targets (issue 3): 100,000 enterprises, five years, ≥ 25 indicators ≤ 15 s; 1,000,000
≤ 180 s with peak RSS ≤ 6 GB. Each is also reported as a ratio to a bare read of the same
facts from the same database (``kechuang.facts.read_facts`` of the same years and metrics).

The shipped systems have 7, 16 and 23 indicators, so the bench uses BENCH_SYSTEM below: the
Torch-style system (23 indicators: stage weights, bonus, penalty, veto) plus five more
indicators on catalogue metrics (28 in all). Each measurement runs in a child process (a
fresh interpreter, so ``ru_maxrss`` is that measurement's peak) and the run is rolled back,
so repeated measurements see the same database.

    .venv/bin/python bench/scoring_run.py                        # 100,000 (var/bench cache)
    .venv/bin/python bench/scoring_run.py --n 1000000
    .venv/bin/python bench/scoring_run.py --db path/to/demo.sqlite3

The demo databases are built once with ``kechuang init --demo N --seed 20240601`` into
``var/bench/demo{N}.sqlite3`` (bench/demo_init.py shows how) and reused. Figures are
recorded in docs/bench-notes/scoring_run.md with the machine they came from.
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
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TARGETS = {100_000: (15.0, None), 1_000_000: (180.0, 6144.0)}
SYSTEMS = ROOT / "src" / "kechuang" / "scoring" / "systems"

EXTRA = """
      - code: more
        name: 补充指标（基准测试）
        weight: 0.10
        children:
          - {code: invention_patents, name: 发明专利拥有量, formula: invention_patents}
          - {code: tech_staff, name: 科技人员数, formula: tech_staff}
          - code: rd_domestic_share
            name: 境内研发费用占比
            formula: rd_expense_domestic / rd_expense
          - code: output_growth
            name: 工业总产值增长
            formula: "growth(industrial_output, years=3)"
            impute: {method: none}
          - code: main_revenue_share
            name: 主营业务收入占比
            formula: main_business_revenue / revenue
"""


def bench_system_text() -> str:
    """torch.yaml with a sixth first-level group of five indicators (28 in all)."""
    text = (SYSTEMS / "torch.yaml").read_text(encoding="utf-8")
    text = text.replace("id: torch-points", "id: bench-points", 1)
    marker = "      - code: bonus\n"
    assert marker in text
    return text.replace(marker, EXTRA.lstrip("\n") + marker, 1)


def child(mode: str, url: str, system_path: str) -> None:
    """One measurement in this (fresh) process; prints a JSON line."""
    os.environ["KECHUANG_DATABASE_URL"] = url
    from kechuang.auth.actor import Actor
    from kechuang.db import get_engine, session_factory
    from kechuang.facts import read_facts
    from kechuang.scoring.catalogue import register_file
    from kechuang.scoring.service import _parameters as parameters
    from kechuang.scoring.service import do_score_run, input_codes, latest_data_year

    system = register_file(system_path)
    actor = Actor.command_line()
    session = session_factory(get_engine())()
    steps: list[tuple[str, float]] = []
    try:
        year = latest_data_year(session, actor)
        assert year is not None
        params = parameters(year, None)
        t0 = time.perf_counter()
        cpu0 = time.process_time()
        if mode == "read":
            data = read_facts(session, actor, params["years"], codes=input_codes(system, params))
            out = {"rows": len(data), "columns": len(data.columns)}
        else:
            def progress(label: str, done: int, total: int) -> None:
                steps.append((label, round(time.perf_counter() - t0, 2)))

            run = do_score_run(session, actor, system.id, year, progress=progress)
            session.flush()
            out = {"run_id": run.id, "enterprises": run.enterprises, "vetoed": run.vetoed,
                   "indicators": len(run.indicators), "input_hash": run.input_hash}
        wall = time.perf_counter() - t0
    finally:
        session.rollback()
        session.close()
    usage = resource.getrusage(resource.RUSAGE_SELF)
    peak = usage.ru_maxrss / 1024
    print(json.dumps({"mode": mode, "wall_s": round(wall, 2), "peak_rss_mb": round(peak),
                      "cpu_s": round(time.process_time() - cpu0, 2),
                      "steps": steps, **out}, ensure_ascii=False), flush=True)


def measure(mode: str, url: str, system_path: Path) -> dict[str, object]:
    proc = subprocess.run([sys.executable, __file__, "--child", mode, "--url", url,
                           "--system-file", str(system_path)],
                          capture_output=True, text=True, cwd=ROOT)
    if proc.returncode != 0:
        sys.stderr.write(proc.stdout[-4000:] + proc.stderr[-4000:])
        raise SystemExit(f"{mode} failed with exit code {proc.returncode}")
    return dict(json.loads(proc.stdout.strip().splitlines()[-1]))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=100_000, help="enterprises (selects the cache)")
    ap.add_argument("--db", type=Path, help="a demo SQLite file (default var/bench/demo{N})")
    ap.add_argument("--copy", action="store_true",
                    help="work on a copy of the database file (the run is rolled back anyway)")
    ap.add_argument("--child", choices=["read", "run"], help=argparse.SUPPRESS)
    ap.add_argument("--url", help=argparse.SUPPRESS)
    ap.add_argument("--system-file", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        child(args.child, args.url, args.system_file)
        return
    db = args.db or ROOT / "var" / "bench" / f"demo{args.n}.sqlite3"
    if not db.exists():
        raise SystemExit(f"{db} does not exist: build it with "
                         f"`KECHUANG_DATABASE_URL=sqlite:///{db} kechuang init --demo {args.n}`")
    work = Path(tempfile.mkdtemp(prefix="kechuang-scoring-bench-"))
    try:
        if args.copy:
            shutil.copy(db, work / db.name)
            db = work / db.name
        system_path = work / "bench-points.yaml"
        system_path.write_text(bench_system_text(), encoding="utf-8")
        url = f"sqlite:///{db}"
        read = measure("read", url, system_path)
        run = measure("run", url, system_path)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    limit_s, limit_mb = TARGETS.get(args.n, (None, None))
    wall = float(run["wall_s"])  # type: ignore[arg-type]
    peak = float(run["peak_rss_mb"])  # type: ignore[arg-type]
    print(json.dumps({
        "n": run["enterprises"], "indicators": run["indicators"], "vetoed": run["vetoed"],
        "read_s": read["wall_s"], "read_cpu_s": read["cpu_s"],
        "read_peak_rss_mb": read["peak_rss_mb"],
        "run_s": run["wall_s"], "run_cpu_s": run["cpu_s"],
        "run_peak_rss_mb": run["peak_rss_mb"],
        "ratio_to_read": round(wall / float(read["wall_s"]), 1),  # type: ignore[arg-type]
        "cpu_ratio_to_read": round(float(run["cpu_s"]) / float(read["cpu_s"]), 1),  # type: ignore[arg-type]
        "load_average": [round(x, 1) for x in os.getloadavg()],
        "steps": run["steps"], "target_s": limit_s, "target_mb": limit_mb,
        "ok": (limit_s is None or wall <= limit_s) and (limit_mb is None or peak <= limit_mb),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores (shared), Python "
                   f"{platform.python_version()}",
    }, ensure_ascii=False, indent=1))


if __name__ == "__main__":
    main()
