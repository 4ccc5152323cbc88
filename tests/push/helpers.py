"""Shared helpers of the push and tiers tests: runs and results written as rows with known
verdicts (the policy engine is tested on its own; here the inputs are the verdicts)."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import Session

from kechuang.models import Enterprise, PolicyRun
from kechuang.policy import repository as policy_repo
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
    eids = sorted(verdicts)
    bounds = [(scores or {}).get(eid, (np.nan, np.nan)) for eid in eids]
    leaves = sorted({leaf for names in (failed or {}).values() for leaf in names})
    frame = pd.DataFrame({
        "enterprise_id": np.array(eids, dtype=np.int64),
        "verdict": [verdicts[eid] for eid in eids],
        "n_failed": np.array([len((failed or {}).get(eid, [])) for eid in eids],
                             dtype=np.int16),
        "score": [(lo + hi) / 2 for lo, hi in bounds],
        "score_min": [lo for lo, _ in bounds],
        "score_max": [hi for _, hi in bounds],
        "input_hash": np.zeros(len(eids), dtype=np.int64),
        "missing": [""] * len(eids),
        **{f"failed:{leaf}": [leaf in (failed or {}).get(eid, []) for eid in eids]
           for leaf in leaves},
    })
    policy_repo.insert_results(session, run.id, frame)
    session.flush()
    return run.id
