"""SQL of eligibility runs: results stored in blocks, and the reads behind the pages.

Every read of stored results goes through here (push and tiers included), so the block
format (:mod:`kechuang.policy.blocks`) is known to this module alone.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
from sqlalchemy import insert, or_, select
from sqlalchemy.orm import Session

from kechuang.auth.actor import Actor
from kechuang.auth.scope import enterprise_visible
from kechuang.models import Enterprise, PolicyResultBlock, PolicyRun, Region
from kechuang.policy.blocks import (
    BASE_TYPES,
    StoredResult,
    decode,
    split,
    stored_result,
)


def insert_results(session: Session, run_id: int,
                   columns: Mapping[str, np.ndarray] | pd.DataFrame) -> int:
    """Write a run's results (the columns of :mod:`kechuang.policy.blocks`, one entry per
    enterprise) as blocks of consecutive enterprises, inside the session's transaction.
    Returns the number of enterprises stored.

    Called once per chunk of enterprises; chunks cover disjoint id ranges, so the blocks of
    a run never overlap."""
    if not len(columns["enterprise_id"]):
        return 0
    blocks = split(run_id, columns)
    session.execute(insert(PolicyResultBlock), blocks)
    return sum(int(b["rows"]) for b in blocks)


def _empty(columns: Sequence[str]) -> pd.DataFrame:
    return pa.schema([(c, BASE_TYPES.get(c, pa.float64())) for c in columns]).empty_table() \
        .to_pandas()


def read_results(session: Session, run_id: int, columns: Sequence[str] | None = None,
                 enterprise_ids: Sequence[int] | np.ndarray | None = None) -> pd.DataFrame:
    """A run's results as a frame ordered by enterprise id: every column, or ``columns``
    (base columns of :data:`BASE_TYPES`); only ``enterprise_ids`` when given (only the
    blocks whose id range meets them are read)."""
    wanted = None if columns is None else list(dict.fromkeys(["enterprise_id", *columns]))
    stmt = (select(PolicyResultBlock.data).where(PolicyResultBlock.run_id == run_id)
            .order_by(PolicyResultBlock.first_enterprise_id))
    ids = None
    if enterprise_ids is not None:
        ids = np.unique(np.asarray(enterprise_ids, dtype=np.int64))
        if not len(ids):
            return _empty(wanted or list(BASE_TYPES))
        stmt = stmt.where(PolicyResultBlock.first_enterprise_id <= int(ids[-1]),
                          PolicyResultBlock.last_enterprise_id >= int(ids[0]))
    tables = [decode(data, wanted) for data in session.scalars(stmt)]
    if not tables:
        return _empty(wanted or list(BASE_TYPES))
    # blocks converted from old rows may lack a leaf column another block has: nulls
    frame = pa.concat_tables(tables, promote_options="default").to_pandas()
    if ids is not None:
        frame = frame[np.isin(frame["enterprise_id"].to_numpy(), ids)].reset_index(drop=True)
    return frame


def run_results(session: Session, run_id: int) -> list[StoredResult]:
    """All results of a run ordered by enterprise id (for comparisons and exports)."""
    return [stored_result(row)
            for data in session.scalars(select(PolicyResultBlock.data)
                                        .where(PolicyResultBlock.run_id == run_id)
                                        .order_by(PolicyResultBlock.first_enterprise_id))
            for row in decode(data).to_pylist()]


def visible_ids(session: Session, actor: Actor, founded_by: date | None = None) -> np.ndarray:
    """Ids of the enterprises the actor may see, ascending; with ``founded_by``, only those
    founded on or before that day (or of unknown founding date)."""
    stmt = select(Enterprise.id).where(enterprise_visible(actor)).order_by(Enterprise.id)
    if founded_by is not None:
        stmt = stmt.where(or_(Enterprise.founded_on.is_(None),
                              Enterprise.founded_on <= founded_by))
    return np.asarray(session.scalars(stmt).all(), dtype=np.int64)


def visible_counts(session: Session, actor: Actor, run_ids: Sequence[int]
                   ) -> dict[int, dict[str, int]]:
    """Verdict counts of each run over the enterprises the actor may see."""
    if not run_ids:
        return {}
    visible = visible_ids(session, actor)
    out = {}
    for run_id in run_ids:
        frame = read_results(session, run_id, ["verdict"])
        seen = frame[np.isin(frame["enterprise_id"].to_numpy(), visible)]
        out[run_id] = {str(v): int(n) for v, n in seen["verdict"].value_counts().items()}
    return out


def runs_with_region(session: Session) -> list[Any]:
    """Every run (few rows) with the path of its region scope."""
    return list(session.execute(
        select(PolicyRun, Region.path)
        .outerjoin(Region, Region.code == PolicyRun.region_code)
        .order_by(PolicyRun.id)
    ))


def latest_enterprise_results(session: Session, enterprise_id: int
                              ) -> list[tuple[StoredResult, PolicyRun]]:
    """For each policy, the result of its latest run holding one for this enterprise.

    The candidate blocks come from the range index alone (no block data); blocks are then
    decoded newest run first, and a policy's older runs are not read once it is found."""
    candidates = session.execute(
        select(PolicyResultBlock.id, PolicyResultBlock.run_id, PolicyRun.policy_id)
        .join(PolicyRun, PolicyRun.id == PolicyResultBlock.run_id)
        .where(PolicyResultBlock.first_enterprise_id <= enterprise_id,
               PolicyResultBlock.last_enterprise_id >= enterprise_id)
        .order_by(PolicyResultBlock.run_id.desc())).all()
    found: dict[str, tuple[StoredResult, PolicyRun]] = {}
    for block_id, run_id, policy_id in candidates:
        if policy_id in found:
            continue
        table = decode(session.execute(select(PolicyResultBlock.data)
                                       .where(PolicyResultBlock.id == block_id)).scalar_one())
        rows = np.flatnonzero(table.column("enterprise_id").to_numpy() == enterprise_id)
        if len(rows):
            row = table.slice(int(rows[0]), 1).to_pylist()[0]
            found[policy_id] = (stored_result(row), session.get_one(PolicyRun, run_id))
    return sorted(found.values(), key=lambda pair: -pair[1].id)


def run_enterprise_ids(session: Session, run_id: int,
                       enterprise_ids: Sequence[int] | np.ndarray | None = None) -> np.ndarray:
    """The enterprise ids a run holds results for (among ``enterprise_ids`` if given)."""
    frame = read_results(session, run_id, [], enterprise_ids)
    return frame["enterprise_id"].to_numpy(dtype=np.int64)


def add_runs(session: Session, runs: Sequence[PolicyRun]) -> None:
    """Stage new run rows and flush them (for their ids)."""
    session.add_all(runs)
    session.flush()


def visible_enterprise(session: Session, actor: Actor, uscc: str) -> Enterprise | None:
    """The enterprise with credit code ``uscc`` if ``actor`` may see it."""
    return session.scalar(select(Enterprise).where(Enterprise.uscc == uscc,
                                                   enterprise_visible(actor)))


def latest_run_ids(session: Session) -> dict[str, int]:
    """The current run of each policy (the latest, whatever its scope)."""
    rows = session.execute(select(PolicyRun.policy_id, PolicyRun.id).order_by(PolicyRun.id))
    return {pid: rid for pid, rid in rows}


def get_run(session: Session, run_id: int) -> PolicyRun | None:
    """A policy run by id, unscoped."""
    return session.get(PolicyRun, run_id)


def eval_years(session: Session, run_ids: Sequence[int]) -> list[int]:
    """The distinct evaluation years of some runs, ascending."""
    return sorted(set(session.scalars(select(PolicyRun.eval_year)
                                      .where(PolicyRun.id.in_(list(run_ids))))))
