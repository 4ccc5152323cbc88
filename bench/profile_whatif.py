"""Timing of the profile and the what-if on a demo county (not a test: no timing is asserted).

    .venv/bin/python bench/profile_whatif.py --n 2000 [--db sqlite:///tmp/p.sqlite3]

Builds the demo county in a fresh SQLite file (or uses ``--db`` when it already holds one),
runs one scoring of ``zjg-points`` for the latest year, then times, for one enterprise in
the middle of the ranking: the profile read, and a what-if (+3 R&D staff, +200万 R&D
expense) — wall-clock, best of ``--repeat``.
"""

from __future__ import annotations

import argparse
import tempfile
import time

from sqlalchemy import func, select

from kechuang.auth.actor import Actor
from kechuang.bootstrap import initialise
from kechuang.db import make_engine, unit_of_work
from kechuang.models import Enterprise, ScoreResult, ScoringRun
from kechuang.profile import service, whatif
from kechuang.profile.schemas import parse_request
from kechuang.scoring.service import do_score_run


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=2000)
    ap.add_argument("--db", default=None)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    url = args.db or f"sqlite:///{tempfile.mkdtemp(prefix='kc-profile-')}/bench.sqlite3"
    engine = make_engine(url)
    with unit_of_work(engine) as s:
        fresh = True
        try:
            fresh = not s.scalar(select(func.count()).select_from(Enterprise))
        except Exception:  # noqa: BLE001 - no schema yet
            fresh = True
    if fresh:
        t = time.perf_counter()
        initialise(engine, demo=args.n)
        print(f"demo county of {args.n}: {time.perf_counter() - t:.1f} s")
    actor = Actor.command_line()
    with unit_of_work(engine) as s:
        run = s.scalars(select(ScoringRun).where(ScoringRun.system_id == "zjg-points")
                        .order_by(ScoringRun.id.desc())).first()
        if run is None:
            t = time.perf_counter()
            run = do_score_run(s, actor, "zjg-points")
            print(f"scoring run: {time.perf_counter() - t:.1f} s")
        run_id, n = run.id, run.enterprises
    with unit_of_work(engine) as s:
        middle = s.scalar(select(Enterprise.uscc).join(
            ScoreResult, ScoreResult.enterprise_id == Enterprise.id)
            .where(ScoreResult.run_id == run_id, ScoreResult.rank == max(1, n // 2)))
        if middle is None:
            middle = s.scalar(select(Enterprise.uscc).join(
                ScoreResult, ScoreResult.enterprise_id == Enterprise.id)
                .where(ScoreResult.run_id == run_id).limit(1))
    question = parse_request({"changes": [{"metric": "rd_staff", "delta": 3},
                                          {"metric": "rd_expense", "delta": 200}]})
    for label, call in (
        ("profile", lambda s: service.profile(s, actor, middle)),
        ("what-if", lambda s: whatif.what_if(s, actor, middle, question)),
    ):
        best = float("inf")
        for _ in range(args.repeat):
            with unit_of_work(engine) as s:
                t = time.perf_counter()
                out = call(s)
                best = min(best, time.perf_counter() - t)
        print(f"{label} over {n} enterprises: best of {args.repeat} {best:.2f} s")
        if label == "what-if":
            print(f"  points {out.before.points:.3f} → {out.after.points:.3f}, "  # type: ignore[union-attr]
                  f"rank {out.before.rank} → {out.after.rank}")  # type: ignore[union-attr]


if __name__ == "__main__":
    main()
