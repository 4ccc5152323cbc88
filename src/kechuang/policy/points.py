"""Innovation points as policy inputs in database runs (see ``kechuang.policy.atoms``).

Points come from the latest *published* scoring run covering the actor's scope — what the
bureau has announced as the points list — and are added to the policy input table as the
columns ``points``, ``points_rank``, ``points_percentile``, ``points_tier`` and
``points_veto`` (one value per enterprise, repeated on each year's row, like attributes).
With no such run, or for an enterprise the run did not score, they stay missing: a leaf
that needs them is ``insufficient_data`` naming them, never 0.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from sqlalchemy.orm import Session

from kechuang.auth.actor import Actor
from kechuang.models import ScoringRun
from kechuang.policy.atoms import NO_TIER, POINTS_ATOMS
from kechuang.policy.expr import names
from kechuang.policy.loader import LoadedPolicy
from kechuang.scoring import service as scoring_service


@dataclass(frozen=True)
class PointsSource:
    """The scoring run the points were read from (recorded with each policy run)."""

    run_id: int
    system_id: str
    year: int

    def as_parameter(self) -> dict[str, object]:
        return {"value": self.run_id, "ref": f"评分运行 #{self.run_id}（{self.system_id}，"
                f"{self.year} 年，已发布）", "from": str(self.year)}


def latest_points_run(session: Session, actor: Actor) -> ScoringRun | None:
    return scoring_service.latest_run(session, actor, published_only=True)


def uses_points(lp: LoadedPolicy) -> bool:
    """Whether the policy (or a policy it references) reads any points atom."""
    for node in lp.exprs.values():
        if any(n in POINTS_ATOMS for n in names(node)):
            return True
    return any(uses_points(ref) for ref in lp.refs.values())


def add_points(session: Session, actor: Actor, data: pd.DataFrame,
               run: ScoringRun | None) -> pd.DataFrame:
    """``data`` (a :func:`kechuang.facts.read_facts` table, rows grouped by enterprise id)
    with the points columns of ``run`` (all missing when ``run`` is None)."""
    eids = data["enterprise_id"].to_numpy(dtype=np.int64)
    n = len(eids)
    points = np.full(n, np.nan)
    rank = np.full(n, np.nan)
    percentile = np.full(n, np.nan)
    tier = np.full(n, None, dtype=object)
    veto = np.full(n, None, dtype=object)
    if run is not None and n:
        lo, hi = int(eids.min()), int(eids.max())
        rows = scoring_service.points_between(session, run.id, lo, hi)
        if rows:
            cols = list(zip(*rows, strict=True))
            r_ids = np.array(cols[0], dtype=np.int64)
            order = np.argsort(r_ids, kind="stable")
            r_ids = r_ids[order]
            # rows of ``data`` whose enterprise has a result in the run
            pos = np.searchsorted(r_ids, eids)
            pos_c = np.minimum(pos, len(r_ids) - 1)
            hit = r_ids[pos_c] == eids
            src = order[pos_c[hit]]

            def floats(values: tuple[object, ...]) -> np.ndarray:
                return np.array(values, dtype=np.float64)  # None → NaN

            points[hit] = floats(cols[1])[src]
            rank[hit] = floats(cols[2])[src]
            percentile[hit] = floats(cols[3])[src]
            tiers = np.array([NO_TIER if t is None else t for t in cols[4]], dtype=object)
            tier[hit] = tiers[src]
            vetoes = np.array([v is not None and v != "" for v in cols[5]], dtype=object)
            veto[hit] = vetoes[src]
    return data.assign(points=points, points_rank=rank, points_percentile=percentile,
                       points_tier=tier, points_veto=veto)
