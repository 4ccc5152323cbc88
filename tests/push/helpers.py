"""Shared helpers of the push and tiers tests: runs and results written as rows with known
verdicts (the policy engine is tested on its own; here the inputs are the verdicts)."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from kechuang.models import Enterprise, PolicyResult, PolicyRun
from tests.support.seed import HOME_COUNTY, OTHER_COUNTY, uscc


def enterprise_ids(session: Session) -> dict[int, int]:
    """Seed number (1–6) → enterprise id."""
    out = {}
    for n in range(1, 7):
        code = uscc(n, HOME_COUNTY if n <= 4 else OTHER_COUNTY)
        out[n] = session.scalar(select(Enterprise.id).where(Enterprise.uscc == code))
    return out


def make_run(session: Session, policy_id: str, verdicts: dict[int, str], *,
             eval_year: int = 2024, region_code: str | None = None,
             failed: dict[int, list[str]] | None = None,
             scores: dict[int, tuple[float, float]] | None = None,
             pass_mark: float | None = None) -> int:
    """One policy run with the given verdict per enterprise id; returns the run id."""
    run = PolicyRun(policy_id=policy_id, policy_name=f"{policy_id} 政策",
                    policy_hash="0" * 64, policy_source="test", as_of=date(eval_year + 1, 3, 1),
                    eval_year=eval_year, parameters={}, pass_mark=pass_mark,
                    input_hash="0" * 64, region_code=region_code, enterprises=len(verdicts),
                    counts={}, actor="test")
    session.add(run)
    session.flush()
    for eid, verdict in verdicts.items():
        lo, hi = (scores or {}).get(eid, (None, None))
        session.add(PolicyResult(run_id=run.id, enterprise_id=eid, verdict=verdict,
                                 score=None if lo is None else (lo + hi) / 2, score_min=lo,
                                 score_max=hi, failed=(failed or {}).get(eid, []),
                                 missing=[], values={}, input_hash=0))
    session.flush()
    return run.id
