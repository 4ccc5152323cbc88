"""Benchmark: ``kechuang init --demo N`` on a fresh SQLite file (or a PostgreSQL URL).

Runs the real CLI in a child process and reports its wall time and peak resident memory
(``ru_maxrss`` of the waited-for children). Targets (issue 2): N=100,000 ≤ 60 s;
N=1,000,000 ≤ 10 min with peak memory ≤ 4 GB.

    .venv/bin/python bench/demo_init.py                 # N = 100,000
    .venv/bin/python bench/demo_init.py --n 1000000     # takes minutes
    .venv/bin/python bench/demo_init.py --n 100000 --url postgresql+psycopg://…/db  # empty db
    .venv/bin/python bench/demo_init.py --n 100000 --pg   # a throwaway PostgreSQL 15 cluster

Figures are recorded in docs/bench-notes/demo.md with the machine they came from.
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
TARGETS = {100_000: (60.0, None), 1_000_000: (600.0, 4096.0)}


def run(n: int, seed: int, url: str | None, keep: bool) -> dict[str, object]:
    workdir = Path(tempfile.mkdtemp(prefix="kechuang-demo-bench-"))
    db_url = url or f"sqlite:///{workdir / 'demo.sqlite3'}"
    env = {**os.environ, "KECHUANG_DATABASE_URL": db_url,
           "KECHUANG_SETTINGS_FILE": str(workdir / "none.toml")}
    exe = shutil.which("kechuang", path=str(ROOT / ".venv" / "bin")) or "kechuang"
    cmd = [exe, "init", "--demo", str(n), "--seed", str(seed)]
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, env=env, cwd=workdir, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    peak_kib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    if proc.returncode != 0:
        sys.stderr.write(proc.stdout[-4000:] + proc.stderr[-4000:])
        raise SystemExit(f"init failed with exit code {proc.returncode}")
    out = proc.stdout
    summary = json.loads(out[out.index("{\n"):]) if "{\n" in out else {}
    size = sum(f.stat().st_size for f in workdir.glob("demo.sqlite3*")) if not url else None
    if not keep:
        shutil.rmtree(workdir, ignore_errors=True)
    limit_s, limit_mb = TARGETS.get(n, (None, None))
    peak_mb = max(peak_kib, before) / 1024
    return {
        "n": n,
        "seed": seed,
        "backend": "sqlite" if not url else url.split(":", 1)[0],
        "wall_s": round(wall, 1),
        "peak_rss_mb": round(peak_mb, 0),
        "facts": summary.get("facts"),
        "batches": summary.get("batches"),
        "db_bytes": size,
        "target_s": limit_s,
        "target_mb": limit_mb,
        "ok": (limit_s is None or wall <= limit_s) and (limit_mb is None or peak_mb <= limit_mb),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python "
                   f"{platform.python_version()}",
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, action="append",
                    help="enterprises (repeatable); default 100000")
    ap.add_argument("--seed", type=int, default=20240601)
    ap.add_argument("--url", help="database URL of an *empty* database instead of SQLite")
    ap.add_argument("--pg", action="store_true",
                    help="start a throwaway PostgreSQL 15 cluster (tests/support/pgcluster.py: "
                         "fsync off) and load into a fresh database there")
    ap.add_argument("--keep", action="store_true", help="keep the SQLite file")
    args = ap.parse_args()
    cluster = None
    if args.pg:
        sys.path.insert(0, str(ROOT))
        from sqlalchemy import create_engine
        from tests.support.pgcluster import start_cluster

        cluster = start_cluster()
    try:
        for i, n in enumerate(args.n or [100_000]):
            url = args.url
            if cluster is not None:
                admin = create_engine(cluster.admin_url, isolation_level="AUTOCOMMIT")
                with admin.connect() as conn:
                    conn.exec_driver_sql(f"CREATE DATABASE demo{i}")
                admin.dispose()
                url = cluster.url(f"demo{i}")
            print(json.dumps(run(n, args.seed, url, args.keep), ensure_ascii=False), flush=True)
    finally:
        if cluster is not None:
            cluster.stop()


if __name__ == "__main__":
    main()
