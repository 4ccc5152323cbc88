"""SQL of eligibility runs: the bulk insert of results and the reads behind the pages."""

from __future__ import annotations

from typing import Any

import pandas as pd
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from kechuang.auth.actor import Actor
from kechuang.auth.scope import enterprise_visible
from kechuang.db import bulk_insert
from kechuang.models import Enterprise, PolicyResult, PolicyRun, Region

#: rows per executemany call: bounded memory for the parameter lists


_COLUMNS = ("run_id", "enterprise_id", "verdict", "score", "score_min", "score_max", "failed",
            "missing", "values", "input_hash")


def insert_results(session: Session, run_id: int, rows: pd.DataFrame) -> int:
    """Write a run's results in bulk, inside the session's transaction.

    JSON columns arrive already serialised (built column-wise), so they go in as text. The
    DBAPI is used directly — ``executemany`` of tuples on SQLite, ``COPY`` on PostgreSQL —
    because per-row parameter dictionaries cost more than the evaluation itself.
    """
    if rows.empty:
        return 0
    # in enterprise order, so that both indexes grow at their end (much faster on SQLite)
    frame = rows.assign(run_id=run_id).sort_values("enterprise_id", kind="stable")
    columns = [frame[c].to_numpy(dtype=object).tolist() for c in _COLUMNS]
    for i in (1, 9):  # ids and hashes as Python ints
        columns[i] = [int(v) for v in columns[i]]
    return bulk_insert(session, "policy_result", list(_COLUMNS), columns)


def runs_with_region(session: Session) -> list[Any]:
    """Every run (few rows) with the path of its region scope."""
    return list(session.execute(
        select(PolicyRun, Region.path)
        .outerjoin(Region, Region.code == PolicyRun.region_code)
        .order_by(PolicyRun.id)
    ))


def visible_counts(session: Session, actor: Actor, run_id: int) -> dict[str, int]:
    """Verdict counts of a run over the enterprises the actor may see."""
    rows = session.execute(
        select(PolicyResult.verdict, func.count())
        .join(Enterprise, Enterprise.id == PolicyResult.enterprise_id)
        .where(PolicyResult.run_id == run_id, enterprise_visible(actor))
        .group_by(PolicyResult.verdict)
    )
    return {v: int(n) for v, n in rows}


def enterprise_results(session: Session, enterprise_id: int) -> list[tuple[PolicyResult,
                                                                          PolicyRun]]:
    """Every result of one enterprise with its run, newest run first."""
    return list(session.execute(
        select(PolicyResult, PolicyRun)
        .join(PolicyRun, PolicyRun.id == PolicyResult.run_id)
        .where(PolicyResult.enterprise_id == enterprise_id)
        .order_by(PolicyRun.id.desc())
    ))


def run_results(session: Session, run_id: int) -> list[Any]:
    """All results of a run ordered by enterprise id (for comparisons and exports)."""
    return list(session.execute(
        select(PolicyResult.enterprise_id, PolicyResult.verdict, PolicyResult.score,
               PolicyResult.score_min, PolicyResult.score_max, PolicyResult.failed,
               PolicyResult.missing, PolicyResult.values, PolicyResult.input_hash)
        .where(PolicyResult.run_id == run_id).order_by(PolicyResult.enterprise_id)
    ))
