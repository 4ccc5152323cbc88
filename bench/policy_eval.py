"""Benchmark: all built-in policies over the demo county, from the database, persisted.

Builds the demo county with the real CLI (``kechuang init --demo N`` in a child process)
once and caches it as ``var/bench/demoN.sqlite3`` (``--db`` names another database,
``--rebuild`` forces a fresh build), then times, in this process, ``do_run_policies`` as
``kechuang policy run`` calls it, phase by phase (summed over the chunks of enterprises):
reading the inputs (``kechuang.facts.read_facts`` + points), evaluating every built-in
policy, shaping and writing the results, the ``policy.runs_completed`` subscribers (precise
push, tier snapshots) and the commit — one transaction. Reports wall times and the peak
resident memory of this process. Targets (issue 4): N=100,000 ≤ 10 s; N=1,000,000 ≤ 120 s
with peak memory ≤ 6 GB. A copy of the cached database is used, so every run starts from
the same state (no earlier runs, no push messages).

    .venv/bin/python bench/policy_eval.py                    # N = 100,000
    .venv/bin/python bench/policy_eval.py --n 1000000        # the first build takes minutes
    .venv/bin/python bench/policy_eval.py --db /tmp/demo.sqlite3   # another demo database
    .venv/bin/python bench/policy_eval.py --without-subscribers    # the policy work alone

``--without-subscribers`` runs with no ``policy.runs_completed`` subscribers loaded (the
event is still emitted), to time the policy engine apart from push and tiers.

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


CACHE = ROOT / "var" / "bench"


def build_demo(n: int, seed: int, target: Path) -> float:
    workdir = Path(tempfile.mkdtemp(prefix="kechuang-policy-bench-"))
    target.parent.mkdir(parents=True, exist_ok=True)
    target.unlink(missing_ok=True)
    url = f"sqlite:///{target}"
    env = {**os.environ, "KECHUANG_DATABASE_URL": url,
           "KECHUANG_SETTINGS_FILE": str(workdir / "none.toml")}
    exe = shutil.which("kechuang", path=str(ROOT / ".venv" / "bin")) or "kechuang"
    start = time.perf_counter()
    subprocess.run([exe, "init", "--demo", str(n), "--seed", str(seed)], env=env, check=True,
                   stdout=subprocess.DEVNULL)
    return time.perf_counter() - start


def run(url: str, as_of: date, subscribers: bool = True) -> dict[str, object]:
    from kechuang.auth.actor import Actor
    from kechuang.db import make_engine, unit_of_work
    from kechuang.migrate import upgrade
    from kechuang.policy.service import do_run_policies

    engine = make_engine(url)
    upgrade(engine)
    if not subscribers:
        from kechuang.kit import events

        events._loaded = True  # noqa: SLF001 - bench only: skip importing the subscribers
    phases: dict[str, float] = {}
    current = ["setup", time.perf_counter()]

    def progress(label: str, done: int, total: int) -> None:
        now = time.perf_counter()
        name, since = current
        phases[str(name)] = phases.get(str(name), 0.0) + now - float(since)
        current[:] = [label.split()[0], now]

    start = time.perf_counter()
    cpu_start = time.process_time()
    with unit_of_work(engine) as session:  # committed, as ``kechuang policy run`` does it
        summaries = do_run_policies(session, Actor.command_line(), None, as_of, progress)
        progress("commit", 0, 0)
    end = time.perf_counter()
    enterprises = summaries[0].enterprises if summaries else 0
    names = {"setup": "setup_s", "读取数据": "read_s", "计算": "evaluate_s",
             "写入": "shape_persist_s", "通知": "subscribers_s", "完成": "other_s",
             "commit": "commit_s"}
    return {
        **{names.get(k, k): round(v, 2) for k, v in phases.items()},
        "commit_s": round(end - current[1], 2),  # type: ignore[operator]
        "total_s": round(end - start, 2),
        "cpu_s": round(time.process_time() - cpu_start, 2),
        "policy_s": round(end - start - phases.get("通知", 0.0), 2),
        "enterprises": enterprises,
        "result_rows": enterprises * len(summaries),
        "counts": {s.policy_id: s.counts for s in summaries},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=20240601)
    parser.add_argument("--db", help="an existing demo database (SQLite path or URL; used "
                        "in place, not copied)")
    parser.add_argument("--rebuild", action="store_true", help="rebuild the cached demo")
    parser.add_argument("--without-subscribers", action="store_true",
                        help="no policy.runs_completed subscribers (push, tiers)")
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT / "src"))
    build_s = None
    if args.db:
        url = args.db if "://" in args.db else f"sqlite:///{Path(args.db).resolve()}"
    else:
        cached = CACHE / f"demo{args.n}.sqlite3"
        if args.rebuild or not cached.exists():
            build_s = build_demo(args.n, args.seed, cached)
        work = CACHE / f"work{args.n}.sqlite3"
        shutil.copyfile(cached, work)
        url = f"sqlite:///{work}"
    as_of = date.today()
    figures = run(url, as_of, subscribers=not args.without_subscribers)
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    target_s, target_mb = TARGETS.get(args.n, (None, None))
    print(json.dumps({
        "n": args.n, "as_of": as_of.isoformat(), "demo_build_s": build_s and round(build_s, 1),
        **figures, "peak_rss_mb": round(peak_mb), "target_s": target_s,
        "target_peak_mb": target_mb,
        "subscribers": not args.without_subscribers,
        "meets_time": target_s is None or figures["policy_s"] <= target_s,  # type: ignore[operator]
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python "
                   f"{platform.python_version()}, {platform.system()} {platform.release()}",
    }, ensure_ascii=False, indent=2))


if __name__ == "__main__":
    main()
