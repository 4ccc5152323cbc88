"""Benchmark: ``kechuang export facts`` over about 62 million current facts (issue 15).

Builds a SQLite database with the target number of facts from a demo database (``kechuang
init --demo N``), then times the real command, ``kechuang export facts --out DIR``, in a
child process under ``/usr/bin/time -v`` (wall time, peak resident memory of the process).

The fastest honest way to 62 million facts: the demo's own enterprises and facts are
replicated in SQL inside one SQLite file (``INSERT … SELECT``: each copy gets new enterprise
ids and USCCs, its facts new fact ids, the same metrics, periods, values, batches, currency
and supersession as the demo's), so the distribution of metrics, periods, missing values,
zeros, superseded rows and attribute facts is the demo's, only repeated. The indexes of
``fact`` are dropped for the copy and rebuilt afterwards, so the exported database has every
index of a real one. The demo file is never written (it is copied first with SQLite's backup
API).

    KECHUANG_DATABASE_URL=sqlite:////tmp/spark/b.sqlite3 PYTHONPATH=$PWD/src \\
        .venv/bin/kechuang init --demo 100000                        # once, ~10 min
    PYTHONPATH=$PWD/src .venv/bin/python bench/spark_export.py \\
        --source /tmp/spark/b.sqlite3 --facts 62000000 --work /tmp/sparkbench/export
    PYTHONPATH=$PWD/src .venv/bin/python bench/spark_export.py --enterprises 20000  # seconds

Without ``--source``, a demo of ``--enterprises`` enterprises is built first with ``kechuang
init --demo`` (for the quick check; 100,000 take about ten minutes).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
KECHUANG = ROOT / ".venv" / "bin" / "kechuang"


def _uptime() -> str:
    return subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()


def _env(db: Path) -> dict[str, str]:
    return dict(os.environ, KECHUANG_DATABASE_URL=f"sqlite:///{db.absolute()}",
                PYTHONPATH=str(ROOT / "src"))


def demo(db: Path, enterprises: int) -> None:
    subprocess.run([str(KECHUANG), "init", "--demo", str(enterprises)], env=_env(db),
                   check=True, stdout=subprocess.DEVNULL, cwd=ROOT)


def build(source: Path, db: Path, target: int) -> dict[str, Any]:
    """Copy ``source`` to ``db`` and replicate its enterprises and facts until ``db`` holds at
    least ``target`` current facts."""
    t0 = time.perf_counter()
    if db.exists():
        db.unlink()
    src = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
    dst = sqlite3.connect(db, isolation_level=None)
    src.backup(dst)
    src.close()
    copied_s = time.perf_counter() - t0
    c = dst
    c.execute("PRAGMA journal_mode=OFF")
    c.execute("PRAGMA synchronous=OFF")
    c.execute("PRAGMA cache_size=-1048576")      # 1 GiB page cache for the index builds
    n_ent, max_ent = c.execute("SELECT count(*), max(id) FROM enterprise").fetchone()
    max_fact = c.execute("SELECT max(id) FROM fact").fetchone()[0]
    current = c.execute("SELECT count(*) FROM fact WHERE is_current").fetchone()[0]
    per_ent = current / n_ent
    offset = 10 ** len(str(max_ent))
    indexes = c.execute("SELECT name, sql FROM sqlite_master WHERE type='index' AND "
                        "tbl_name='fact' AND sql IS NOT NULL").fetchall()
    for name, _ in indexes:
        c.execute(f"DROP INDEX {name}")
    ent_cols = [r[1] for r in c.execute("PRAGMA table_info(enterprise)")]
    other = [x for x in ent_cols if x not in ("id", "uscc", "name")]
    copies = 0
    total = current
    t1 = time.perf_counter()
    while total < target:
        copies += 1
        need = target - total
        limit = max_ent if need >= current else int(need / per_ent) + 1
        tag = f"{chr(ord('A') + copies // 10)}{copies % 10}"
        c.execute("BEGIN")
        c.execute(f"INSERT INTO enterprise (id, uscc, name, {', '.join(other)}) "
                  f"SELECT id + {copies * offset}, '{tag}' || substr(uscc, 3), "
                  f"name || '（{copies}）', {', '.join(other)} FROM enterprise "
                  f"WHERE id <= {limit}")
        c.execute("INSERT INTO fact (enterprise_id, metric_id, period, value_num, value_text, "
                  "batch_id, is_current, superseded_by) "
                  f"SELECT enterprise_id + {copies * offset}, metric_id, period, value_num, "
                  "value_text, batch_id, is_current, superseded_by FROM fact "
                  f"WHERE id <= {max_fact} AND enterprise_id <= {limit} ORDER BY id")
        c.execute("COMMIT")
        total = c.execute("SELECT count(*) FROM fact WHERE is_current").fetchone()[0]
    insert_s = time.perf_counter() - t1
    t2 = time.perf_counter()
    for _, sql in indexes:
        c.execute(sql)
    index_s = time.perf_counter() - t2
    c.execute("PRAGMA journal_mode=WAL")
    facts, attrs = c.execute("SELECT sum(period != 0), sum(period = 0) FROM fact "
                             "WHERE is_current").fetchone()
    source_enterprises = n_ent
    n_ent, rows = c.execute("SELECT (SELECT count(*) FROM enterprise), count(*) FROM fact"
                            ).fetchone()
    c.close()
    return {"source_enterprises": source_enterprises, "copies": copies,
            "enterprises": n_ent, "current_facts": total, "current_yearly_monthly": facts,
            "current_attributes": attrs, "rows_in_fact": rows,
            "copy_s": round(copied_s, 1), "insert_s": round(insert_s, 1),
            "index_rebuild_s": round(index_s, 1),
            "db_gib": round(db.stat().st_size / 2**30, 2)}


def export(db: Path, out: Path) -> dict[str, Any]:
    """Run ``kechuang export facts --out`` once under ``/usr/bin/time -v``."""
    if out.exists():
        shutil.rmtree(out)
    before = _uptime()
    proc = subprocess.run(["/usr/bin/time", "-v", str(KECHUANG), "export", "facts",
                           "--out", str(out)], env=_env(db), capture_output=True, text=True,
                          cwd=ROOT)
    after = _uptime()
    if proc.returncode != 0:
        raise SystemExit(f"export failed ({proc.returncode}):\n{proc.stdout[-2000:]}\n"
                         f"{proc.stderr[-3000:]}")
    err = proc.stderr
    wall = re.search(r"Elapsed \(wall clock\) time.*: (?:(\d+):)?(\d+):([\d.]+)", err)
    assert wall is not None, err
    h, m, s = wall.groups()
    wall_s = int(h or 0) * 3600 + int(m) * 60 + float(s)
    rss = re.search(r"Maximum resident set size \(kbytes\): (\d+)", err)
    user = re.search(r"User time \(seconds\): ([\d.]+)", err)
    system = re.search(r"System time \(seconds\): ([\d.]+)", err)
    summary = json.loads(proc.stdout[proc.stdout.index("{"):])
    size = sum(p.stat().st_size for p in out.rglob("*.parquet"))
    rows = int(summary["facts"]) + int(summary["attributes"])
    return {"command": "kechuang export facts --out DIR", "wall_s": round(wall_s, 1),
            "peak_rss_mib": round(int(rss.group(1)) / 1024) if rss else None,
            "user_s": float(user.group(1)) if user else None,
            "system_s": float(system.group(1)) if system else None,
            "facts_per_s": round(rows / wall_s),
            "summary": {k: summary[k] for k in ("mode", "facts", "attributes", "enterprises",
                                                "files") if k in summary},
            "parquet_gib": round(size / 2**30, 2),
            "uptime_before": before, "uptime_after": after}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--source", type=Path, help="a demo SQLite database (never written)")
    ap.add_argument("--enterprises", type=int, default=20_000,
                    help="without --source: build a demo of this size first")
    ap.add_argument("--facts", type=int, default=0,
                    help="current facts to reach by replication (default: the demo's own)")
    ap.add_argument("--work", type=Path, help="scratch directory (default: a new temp dir)")
    ap.add_argument("--keep", action="store_true", help="keep the database and the export")
    ap.add_argument("--reuse-db", action="store_true", help="use --work/facts.sqlite3 as is")
    args = ap.parse_args()
    work = args.work or Path(tempfile.mkdtemp(prefix="kechuang-spark-export-"))
    work.mkdir(parents=True, exist_ok=True)
    db = work / "facts.sqlite3"
    report: dict[str, Any] = {
        "machine": f"{platform.machine()}, {os.cpu_count()} cores (shared), "
                   f"{os.sysconf('SC_PAGE_SIZE') * os.sysconf('SC_PHYS_PAGES') / 2**30:.1f} GiB,"
                   f" Python {platform.python_version()}, SQLite {sqlite3.sqlite_version}",
        "disk_free_gib_before": round(shutil.disk_usage(work).free / 2**30, 1),
    }
    ok = False
    try:
        if not (args.reuse_db and db.exists()):
            source = args.source
            if source is None:
                source = work / "demo.sqlite3"
                t0 = time.perf_counter()
                demo(source, args.enterprises)
                report["demo_init_s"] = round(time.perf_counter() - t0, 1)
            report["build"] = build(source, db, args.facts)
            report["build"]["uptime"] = _uptime()
        report["export"] = export(db, work / "lake")
        ok = True
    finally:
        # a failed export keeps the database (hours to rebuild): rerun with --reuse-db
        if ok and not args.keep:
            shutil.rmtree(work, ignore_errors=True)
        elif not ok:
            print(f"kept {work} for --reuse-db", file=sys.stderr)
    json.dump(report, sys.stdout, ensure_ascii=False, indent=1)
    print()


if __name__ == "__main__":
    main()
