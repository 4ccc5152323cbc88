"""Benchmark: carbon grading (碳效码) of 100,000 enterprises × 12 months from the database.

Target (issue 14): ≤ 10 s for ``kechuang.carbon.service.do_evaluate`` — read the monthly
facts (one pivoting query), grade with the engine, write the 1.2 million grade rows.

The database is a copy of the 100,000-enterprise demo county (``var/bench/demo100000.sqlite3``,
built by bench/demo_init.py / ``kechuang init --demo 100000 --seed 20240601``), prepared once
into ``var/bench/carbon100000.sqlite3``: the carbon and monitoring tables are added when the
demo predates them, and every enterprise gets 12 months of ``co2_t`` and ``value_added_month``
(the demo has them for industrial enterprises above scale only), so the run really grades
100,000 × 12 enterprise-months. The measured run happens in a fresh child process and is
rolled back, so repeated measurements see the same database.

    .venv/bin/python bench/carbon_grade.py
    .venv/bin/python bench/carbon_grade.py --db var/bench/carbon100000.sqlite3
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SOURCE = ROOT / "var" / "bench" / "demo100000.sqlite3"
PREPARED = ROOT / "var" / "bench" / "carbon100000.sqlite3"
TARGET_S = 10.0


def prepare(db: Path) -> None:
    """Copy the demo and give every enterprise 12 months of CO₂ and value added."""
    if not SOURCE.exists():
        raise SystemExit(f"{SOURCE} missing: build it with bench/demo_init.py")
    tmp = db.with_suffix(".part")
    shutil.copy(SOURCE, tmp)
    os.environ["KECHUANG_DATABASE_URL"] = f"sqlite:///{tmp}"
    from kechuang.db import get_engine, unit_of_work
    from kechuang.models import monitoring
    from kechuang.models.base import Base
    from kechuang.registry.reference import load_reference_data

    engine = get_engine()
    Base.metadata.create_all(engine, tables=[t for t in Base.metadata.sorted_tables
                                             if t.name in {
                                                 monitoring.CarbonEvaluation.__tablename__,
                                                 monitoring.CarbonGradeBlock.__tablename__,
                                                 monitoring.IndicatorValue.__tablename__,
                                                 monitoring.IndicatorTarget.__tablename__,
                                                 monitoring.MonitoringTask.__tablename__,
                                                 monitoring.TaskMilestone.__tablename__,
                                                 monitoring.TaskReport.__tablename__}])
    with unit_of_work(engine) as s:
        load_reference_data(s)
    engine.dispose()
    con = sqlite3.connect(tmp)
    ids = dict(con.execute("SELECT code, id FROM metric WHERE code IN "
                           "('co2_t', 'value_added_month')"))
    year = con.execute("SELECT max(period) / 100 FROM fact WHERE period > 100000 "
                       "AND metric_id = ?", (ids["co2_t"],)).fetchone()[0]
    batch = con.execute("SELECT max(id) FROM import_batch").fetchone()[0]
    con.execute("DELETE FROM fact WHERE metric_id IN (?, ?) AND period > 100000",
                (ids["co2_t"], ids["value_added_month"]))
    ents = [r[0] for r in con.execute("SELECT id FROM enterprise ORDER BY id")]

    def rows():  # deterministic: value added 200–2,200 万元, intensity 0.05–4 t/万元
        for e in ents:
            base = 200 + (e * 7919) % 2000
            inten = 0.05 + ((e * 104729) % 3950) / 1000
            for m in range(1, 13):
                va = base * (1 + ((e + m * 31) % 11 - 5) / 100)
                co2 = va * inten * (1 + ((e * 3 + m * 17) % 13 - 6) / 100)
                p = year * 100 + m
                yield (e, ids["value_added_month"], p, int(round(va, 2) * 1_000_000), batch, 1)
                yield (e, ids["co2_t"], p, int(round(co2, 2) * 1_000_000), batch, 1)

    con.executemany("INSERT INTO fact (enterprise_id, metric_id, period, value_num, batch_id, "
                    "is_current) VALUES (?, ?, ?, ?, ?, ?)", rows())
    con.commit()
    con.execute("ANALYZE")
    con.close()
    os.replace(tmp, db)


def child(url: str) -> None:
    os.environ["KECHUANG_DATABASE_URL"] = url
    from kechuang.auth.actor import Actor
    from kechuang.carbon import service
    from kechuang.db import get_engine, session_factory

    session = session_factory(get_engine())()
    try:
        t0 = time.perf_counter()
        cpu0 = time.process_time()
        ev = service.do_evaluate(session, Actor.command_line())
        session.flush()
        wall = time.perf_counter() - t0
    finally:
        session.rollback()
        session.close()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"wall_s": round(wall, 2), "cpu_s": round(time.process_time() - cpu0, 2),
                      "peak_rss_mb": round(peak), "enterprises": ev.enterprises,
                      "graded": ev.graded, "alerts": ev.alerts, "periods": ev.periods}))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--db", type=Path, default=PREPARED)
    ap.add_argument("--child", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        child(args.child)
        return
    if not args.db.exists():
        print(f"preparing {args.db} …", flush=True)
        prepare(args.db)
    proc = subprocess.run([sys.executable, __file__, "--child", f"sqlite:///{args.db}"],
                          capture_output=True, text=True, cwd=ROOT)
    if proc.returncode:
        sys.stderr.write(proc.stdout[-4000:] + proc.stderr[-4000:])
        raise SystemExit(proc.returncode)
    run = json.loads(proc.stdout.strip().splitlines()[-1])
    print(json.dumps({**run, "target_s": TARGET_S, "ok": run["wall_s"] <= TARGET_S,
                      "load_average": [round(x, 1) for x in os.getloadavg()],
                      "machine": f"{platform.machine()}, {os.cpu_count()} cores (shared), "
                                 f"Python {platform.python_version()}"},
                     ensure_ascii=False, indent=1))


if __name__ == "__main__":
    main()
