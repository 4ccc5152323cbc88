"""Benchmark: Monte Carlo robustness analysis of a persisted scoring run (issue 3: 1,000
replications over 100,000 enterprises ≤ 120 s).

Uses the demo county cached as ``var/bench/demoN.sqlite3`` (built with the real CLI,
``kechuang init --demo N``, when missing), copied to ``var/bench/robustnessN.sqlite3``; a
scoring run of ``--system`` (default torch-points: 18 indicators, per-stage weights,
winsorisation, bonus/penalty items) is made there once with ``do_score_run`` and reused.
Then it times ``do_robustness`` as ``kechuang robustness run`` calls it, end to end in one
transaction (reading the run's imputed columns and cohorts, precomputing every treated and
normalised variant, the replications, the per-enterprise quantiles, the bulk insert of the
results, the commit), phase by phase from the progress callbacks, with the peak resident
memory of this process and its CPU time (the wall time on a shared, loaded machine is
mostly waiting for a core). ``--synthetic`` instead times the analysis core alone on a random
matrix of the same shape (for machines without the demo database).

    .venv/bin/python bench/robustness.py                       # N = 100,000, R = 1,000
    .venv/bin/python bench/robustness.py --replications 200    # quicker
    .venv/bin/python bench/robustness.py --synthetic

Figures are recorded in docs/bench-notes/robustness.md with the machine they came from.
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
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
CACHE = ROOT / "var" / "bench"
TARGET_S = {(100_000, 1000): 120.0}


def build_demo(n: int, seed: int, target: Path) -> float:
    workdir = Path(tempfile.mkdtemp(prefix="kechuang-robustness-bench-"))
    target.parent.mkdir(parents=True, exist_ok=True)
    target.unlink(missing_ok=True)
    env = {**os.environ, "KECHUANG_DATABASE_URL": f"sqlite:///{target}",
           "KECHUANG_SETTINGS_FILE": str(workdir / "none.toml")}
    exe = shutil.which("kechuang", path=str(ROOT / ".venv" / "bin")) or "kechuang"
    start = time.perf_counter()
    subprocess.run([exe, "init", "--demo", str(n), "--seed", str(seed)], env=env, check=True,
                   stdout=subprocess.DEVNULL)
    return time.perf_counter() - start


class Phases:
    """Wall time between progress labels (the first word of each label)."""

    def __init__(self) -> None:
        self.times: dict[str, float] = {}
        self.current = ("setup", time.perf_counter())
        self.first_rep: float | None = None

    def __call__(self, label: str, done: int, total: int) -> None:
        now = time.perf_counter()
        name = label.split()[0]
        if name.startswith("重复") and self.first_rep is None:
            self.first_rep = now
        if name != self.current[0]:
            prev, since = self.current
            self.times[prev] = self.times.get(prev, 0.0) + now - since
            self.current = (name, now)


def scoring_run(url: str, system: str) -> tuple[int, float | None]:
    from sqlalchemy import select

    from kechuang.auth.actor import Actor
    from kechuang.db import make_engine, unit_of_work
    from kechuang.migrate import upgrade
    from kechuang.models.scoring import ScoringRun
    from kechuang.scoring.service import do_score_run

    engine = make_engine(url)
    upgrade(engine)
    with unit_of_work(engine) as s:
        existing = s.scalar(select(ScoringRun.id).where(ScoringRun.system_id == system)
                            .order_by(ScoringRun.id.desc()).limit(1))
    if existing is not None:
        return int(existing), None
    start = time.perf_counter()
    with unit_of_work(engine) as s:
        run_id = int(do_score_run(s, Actor.command_line(), system).id)
    return run_id, time.perf_counter() - start


def analyse_run(url: str, run_id: int, replications: int, seed: int) -> dict[str, Any]:
    from kechuang.auth.actor import Actor
    from kechuang.db import make_engine, unit_of_work
    from kechuang.robustness.service import do_robustness

    engine = make_engine(url)
    phases = Phases()
    cpu = time.process_time()
    start = time.perf_counter()
    with unit_of_work(engine) as session:
        rr = do_robustness(session, Actor.command_line(), run_id, replications=replications,
                           seed=seed, progress=phases)
        done = time.perf_counter()
        out = {"analysis_id": rr.id, "ranked": rr.parameters["ranked"],
               "unstable": rr.unstable, "factors": rr.parameters["factors"],
               "indicators": None, "sensitivity": rr.sensitivity,
               "nominal_check": rr.parameters["nominal_check"]}
    end = time.perf_counter()
    t = phases.times
    read = t.get("setup", 0.0)
    reps_and_pre = t.get("预计算", 0.0) + t.get("重复", 0.0)
    pre = (phases.first_rep - start - read) if phases.first_rep else None
    return {**out,
            "read_inputs_s": round(read, 2),
            "precompute_and_first_reps_s": round(pre, 2) if pre is not None else None,
            "precompute_plus_replications_s": round(reps_and_pre, 2),
            "quantiles_sensitivity_persist_s": round(done - start - read - reps_and_pre, 2),
            "commit_s": round(end - done, 2),
            "total_s": round(end - start, 2),
            "cpu_s": round(time.process_time() - cpu, 2)}


def synthetic(n: int, replications: int, seed: int) -> dict[str, Any]:
    import numpy as np

    from kechuang.robustness.engine import Inputs, analyse
    from kechuang.robustness.schemas import RobustnessConfig
    from kechuang.scoring.catalogue import load_system

    system = load_system("torch-points")
    rng = np.random.default_rng(seed)
    imputed = {c: rng.lognormal(2, 1.5, n) for c in system.indicators}
    stages = rng.choice(np.array(["初创", "成长", "稳定"], dtype=object), n)
    sections = rng.choice(np.array(list("CIMF"), dtype=object), n)
    inputs = Inputs(system=system, imputed=imputed,
                    cohorts={"stage": stages, "industry_section": sections},
                    ids=np.arange(n))
    cfg = RobustnessConfig(replications=replications, seed=seed)
    phases = Phases()
    cpu = time.process_time()
    start = time.perf_counter()
    res = analyse(inputs, cfg, phases)
    end = time.perf_counter()
    cpu = time.process_time() - cpu
    return {"ranked": int(len(res.ids)), "unstable": res.unstable, "factors": res.factors,
            "sensitivity": res.sensitivity, "total_s": round(end - start, 2),
            "cpu_s": round(cpu, 2),
            "precompute_s": round((phases.first_rep or end) - start, 2)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--replications", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=20240601)
    parser.add_argument("--system", default="torch-points")
    parser.add_argument("--db", help="a demo database to use in place (SQLite path or URL)")
    parser.add_argument("--synthetic", action="store_true",
                        help="time the core on a random matrix instead of a persisted run")
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT / "src"))
    figures: dict[str, Any] = {}
    if args.synthetic:
        figures = {"input": "synthetic matrix", **synthetic(args.n, args.replications,
                                                            args.seed)}
    else:
        build_s = None
        if args.db:
            url = args.db if "://" in args.db else f"sqlite:///{Path(args.db).resolve()}"
        else:
            cached = CACHE / f"demo{args.n}.sqlite3"
            if not cached.exists():
                build_s = build_demo(args.n, args.seed, cached)
            work = CACHE / f"robustness{args.n}.sqlite3"
            if not work.exists():
                shutil.copyfile(cached, work)
            url = f"sqlite:///{work}"
        run_id, score_s = scoring_run(url, args.system)
        figures = {"input": f"persisted scoring run #{run_id} ({args.system})",
                   "demo_build_s": build_s and round(build_s, 1),
                   "scoring_run_s": score_s and round(score_s, 1),
                   **analyse_run(url, run_id, args.replications, args.seed)}
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    target = TARGET_S.get((args.n, args.replications))
    print(json.dumps({
        "n": args.n, "replications": args.replications, **figures,
        "peak_rss_mb": round(peak_mb), "target_s": target,
        "meets_time": target is None or figures["total_s"] <= target,
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python "
                   f"{platform.python_version()}, {platform.system()} {platform.release()}",
    }, ensure_ascii=False, indent=2, default=str))


if __name__ == "__main__":
    main()
