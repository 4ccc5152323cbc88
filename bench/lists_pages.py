"""Benchmark of the lists package on a synthetic run (not a test; run by hand):

    .venv/bin/python bench/lists_pages.py            # N = 100,000 on SQLite
    .venv/bin/python bench/lists_pages.py --n 20000

Builds a fresh SQLite file with the reference data, N enterprises and two scoring runs
(2022, 2023) of N results each (three stages, percentile tiers 5/10/20%, 1% vetoed), then
times the public list view (SQL with the window function + grouping), the XLSX export of the
lists, a proportional payment list with a cap, and the yearly statistics. Prints JSON.
"""

from __future__ import annotations

import argparse
import json
import random
import tempfile
import time
from pathlib import Path

from sqlalchemy import insert, select

from kechuang.auth.actor import Actor
from kechuang.db import make_engine, unit_of_work
from kechuang.lists import service
from kechuang.lists.schemes import shipped_scheme
from kechuang.lists.stats import yearly_stats
from kechuang.migrate import upgrade
from kechuang.models import Enterprise
from kechuang.models.scoring import ScoreResult, ScoringRun
from kechuang.registry.reference import load_reference_data

STAGES = ("初创", "成长", "稳定")


def build(n: int, url: str) -> list[int]:
    engine = make_engine(url)
    upgrade(engine)
    rng = random.Random(7)
    with unit_of_work(engine) as s:
        load_reference_data(s)
        s.execute(insert(Enterprise), [
            {"uscc": f"91320582{i:010d}", "name": f"企业{i:07d}有限公司",
             "region_code": "320582100", "industry_code": "3973"} for i in range(n)])
        ids = list(s.scalars(select(Enterprise.id).order_by(Enterprise.id)))
        runs = []
        for year in (2022, 2023):
            run = ScoringRun(system_id="zjg-points", system_version="2.0", system_name="bench",
                             system_hash="a" * 64, system_source="bench", year=year,
                             parameters={}, input_hash="b" * 64, region_code="320582",
                             enterprises=n, vetoed=0, indicators=[], groups=[], notes=[],
                             treatment={}, published=True, actor="bench")
            s.add(run)
            s.flush()
            runs.append(run.id)
            points = [rng.uniform(0, 100) for _ in ids]
            stage = [STAGES[i % 3] for i in range(n)]
            veto = [rng.random() < 0.01 for _ in ids]
            order = sorted(range(n), key=lambda i: (stage[i], -points[i]))
            within: dict[int, float] = {}
            per_stage = {st: sum(1 for i in range(n) if stage[i] == st and not veto[i])
                         for st in STAGES}
            seen = dict.fromkeys(STAGES, 0)
            for i in order:
                if veto[i]:
                    continue
                seen[stage[i]] += 1
                within[i] = seen[stage[i]] / per_stage[stage[i]]
            rows = []
            for i, eid in enumerate(ids):
                w = within.get(i)
                tier = None if w is None else "lead" if w <= .05 else "race" if w <= .1 \
                    else "advance" if w <= .2 else None
                rows.append({"run_id": run.id, "enterprise_id": eid, "points": points[i],
                             "rank": None, "list_rank": None, "stage": stage[i],
                             "list_tier": tier, "veto": "严重失信" if veto[i] else None,
                             "groups": {}})
            s.execute(insert(ScoreResult), rows)
    engine.dispose()
    return runs


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=100_000)
    args = ap.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="kechuang-lists-bench-"))
    url = f"sqlite:///{workdir / 'bench.sqlite3'}"
    t = time.perf_counter()
    runs = build(args.n, url)
    out: dict[str, object] = {"n": args.n, "build_s": round(time.perf_counter() - t, 2)}
    engine = make_engine(url)
    actor = Actor.command_line()
    with unit_of_work(engine) as s:
        run = s.get(ScoringRun, runs[-1])
        assert run is not None
        t = time.perf_counter()
        view = service.list_view(s, actor, run, public=True)
        out["list_view_s"] = round(time.perf_counter() - t, 2)
        out["listed"] = view.listed
        t = time.perf_counter()
        body = service.list_xlsx(view, include_uscc=False)
        out["list_xlsx_s"] = round(time.perf_counter() - t, 2)
        out["list_xlsx_bytes"] = len(body)
        t = time.perf_counter()
        plist = service.payment_list(s, actor, run.id, shipped_scheme("points-dividend"))
        out["payments_proportional_s"] = round(time.perf_counter() - t, 2)
        out["paid"] = len(plist.rows)
        out["total"] = str(plist.total)
        t = time.perf_counter()
        report = yearly_stats(s, actor, "zjg-points")
        out["stats_s"] = round(time.perf_counter() - t, 2)
        out["avg_growth"] = report.avg_growth
    print(json.dumps(out, ensure_ascii=False, indent=2))


if __name__ == "__main__":
    main()
