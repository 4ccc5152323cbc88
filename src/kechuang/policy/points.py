"""Innovation points as policy inputs in database runs (see ``kechuang.policy.atoms``).

Points come from the latest *published* scoring run covering the actor's scope — what the
bureau has announced as the points list — and are added to the policy input table as the
columns ``points``, ``points_rank``, ``points_percentile``, ``points_tier`` and
``points_veto`` (one value per enterprise, repeated on each year's row, like attributes).
With no such run, or for an enterprise the run did not score, they stay missing: a leaf
that needs them is ``insufficient_data`` naming them, never 0.
"""

from __future__ import annotations

from collections.abc import Sequence
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
    rows = []
    if run is not None and len(eids):
        rows = scoring_service.points_between(session, run.id, int(eids.min()),
                                              int(eids.max()))
    return with_points(data, points_table(rows))


def points_table(rows: Sequence[Sequence[object]]) -> pd.DataFrame:
    """A scoring run's points (``scoring.service.points_between`` rows: enterprise id,
    points, rank, percentile, tier, veto) as the policy inputs read them, one row per
    enterprise: numbers missing as NaN, no tier as :data:`NO_TIER`, a veto as True/False."""
    cols = list(zip(*rows, strict=True)) if rows else [()] * 6

    def floats(values: Sequence[object]) -> np.ndarray:
        return np.array(values, dtype=np.float64)  # None → NaN

    return pd.DataFrame({
        "enterprise_id": np.array(cols[0], dtype=np.int64),
        "points": floats(cols[1]),
        "points_rank": floats(cols[2]),
        "points_percentile": floats(cols[3]),
        "points_tier": np.array([NO_TIER if t is None else t for t in cols[4]], dtype=object),
        "points_veto": np.array([v is not None and v != "" for v in cols[5]], dtype=object),
    })


def with_points(data: pd.DataFrame, table: pd.DataFrame) -> pd.DataFrame:
    """``data`` with the points columns of ``table`` (:func:`points_table`) on each row of
    an enterprise it holds; missing for the others."""
    eids = data["enterprise_id"].to_numpy(dtype=np.int64)
    n = len(eids)
    out = {"points": np.full(n, np.nan), "points_rank": np.full(n, np.nan),
           "points_percentile": np.full(n, np.nan),
           "points_tier": np.full(n, None, dtype=object),
           "points_veto": np.full(n, None, dtype=object)}
    if n and len(table):
        r_ids = table["enterprise_id"].to_numpy(dtype=np.int64)
        order = np.argsort(r_ids, kind="stable")
        r_ids = r_ids[order]
        # rows of ``data`` whose enterprise has a result in the run
        pos_c = np.minimum(np.searchsorted(r_ids, eids), len(r_ids) - 1)
        hit = r_ids[pos_c] == eids
        src = order[pos_c[hit]]
        for name, values in out.items():
            values[hit] = table[name].to_numpy(
                dtype=values.dtype if values.dtype != object else object)[src]
    return data.assign(**out)
