"""SQL of scoring runs: bulk writes of results and trace columns, and the reads others use.

Results go in through the DBAPI (``executemany`` of tuples on SQLite, ``COPY`` on
PostgreSQL) because per-row ORM objects would cost more than the scoring. Trace columns are
one ``score_column`` row per (run, column) holding a little-endian array (see
``kechuang.models.scoring``); one enterprise's values are read back with ``substr`` on the
blobs, so an explanation never loads whole columns.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session

from kechuang.auth.actor import Actor
from kechuang.auth.scope import enterprise_visible, region_code_in_scope
from kechuang.db import bulk_insert
from kechuang.kit.errors import NotFound
from kechuang.models import Enterprise, Industry, Region
from kechuang.models.scoring import ScoreColumn, ScoreResult, ScoringRun
from kechuang.scoring.catalogue import available_systems, load_system

__all__ = ["available_systems", "covering_runs", "insert_columns", "insert_results",
           "latest_run", "load_system", "run_columns", "run_values_at", "runs_of"]

RESULT_COLUMNS = ("run_id", "enterprise_id", "points", "rank", "list_rank", "percentile",
                  "rank_industry", "rank_region", "rank_cohort", "industry_section",
                  "region_code", "stage", "list_tier", "veto", "prev_points", "prev_rank",
                  "groups")
INT_COLUMNS = {"run_id", "enterprise_id", "rank", "list_rank", "rank_industry", "rank_region",
               "rank_cohort", "prev_rank"}
DTYPES = {"int64": "<i8", "float64": "<f8"}


def _as_list(values: Any, integer: bool) -> list[Any]:
    arr = np.asarray(values)
    if arr.dtype.kind == "f":
        nan = np.isnan(arr)
        if integer:
            out = np.where(nan, 0, arr).astype(np.int64).astype(object)
        else:
            out = arr.astype(object)
        out[nan] = None
        return list(out.tolist()) if not nan.any() else list(out)
    if arr.dtype.kind in "iu":
        return [int(v) for v in arr.tolist()]
    return [None if (v is None or (isinstance(v, float) and np.isnan(v))) else v
            for v in arr.tolist()]


def insert_results(session: Session, run_id: int, frame: pd.DataFrame) -> int:
    """Write a run's ``score_result`` rows (columns of RESULT_COLUMNS without run_id, in
    enterprise order; ``groups`` as JSON text) inside the session's transaction."""
    if frame.empty:
        return 0
    frame = frame.assign(run_id=run_id)
    columns = [_as_list(frame[c].to_numpy(), c in INT_COLUMNS) for c in RESULT_COLUMNS]
    return bulk_insert(session, "score_result", list(RESULT_COLUMNS), columns)


def insert_columns(session: Session, run_id: int, arrays: dict[str, np.ndarray]) -> int:
    """Write trace columns: float64 (NaN = missing) or int64 arrays, little-endian."""
    rows = []
    for name, arr in arrays.items():
        a = np.asarray(arr)
        dtype = "int64" if a.dtype.kind in "iu" else "float64"
        rows.append({"run_id": run_id, "name": name, "dtype": dtype,
                     "data": np.ascontiguousarray(a, dtype=DTYPES[dtype]).tobytes()})
    for start in range(0, len(rows), 20):
        session.execute(insert(ScoreColumn), rows[start:start + 20])
    return len(rows)


def run_columns(session: Session, run_id: int, names: list[str]) -> dict[str, np.ndarray]:
    """Whole trace columns of a run, aligned with its ``enterprise_id`` column (the run's
    enterprise order, ascending ids). ``score:<indicator>`` is served as the indicator's
    ``normalised:`` column. Unknown names raise NotFound naming them."""
    run = session.get(ScoringRun, run_id)
    if run is None:
        raise NotFound(f"评分运行 {run_id} 不存在", f"scoring run {run_id} not found")
    indicators = set(run.indicators or [])
    wanted = {}
    for n in names:
        kind, _, code = n.partition(":")
        wanted[n] = f"normalised:{code}" if kind == "score" and code in indicators else n
    rows = session.execute(select(ScoreColumn.name, ScoreColumn.dtype, ScoreColumn.data)
                           .where(ScoreColumn.run_id == run_id,
                                  ScoreColumn.name.in_(set(wanted.values())))).all()
    got = {name: np.frombuffer(bytes(data), dtype=DTYPES[dtype]) for name, dtype, data in rows}
    missing = [n for n, stored in wanted.items() if stored not in got]
    if missing:
        raise NotFound(f"评分运行 {run_id} 没有这些列：{'、'.join(missing)}",
                       f"run {run_id} has no columns {', '.join(missing)}")
    return {n: got[stored] for n, stored in wanted.items()}


def run_values_at(session: Session, run_id: int, position: int) -> dict[str, float]:
    """Every float trace column's value at one position (one enterprise), read with
    ``substr`` on the blobs — no whole column leaves the database."""
    start = position * 8 + 1
    rows = session.execute(
        select(ScoreColumn.name, ScoreColumn.dtype,
               func.substr(ScoreColumn.data, start, 8))
        .where(ScoreColumn.run_id == run_id)).all()
    out: dict[str, float] = {}
    for name, dtype, chunk in rows:
        raw = bytes(chunk or b"")
        if len(raw) == 8:
            out[name] = float(np.frombuffer(raw, dtype=DTYPES[dtype])[0])
    return out


def position_of(session: Session, run_id: int, enterprise_id: int) -> int | None:
    """Index of an enterprise in a run's column order (runs store ascending ids)."""
    exists = session.scalar(select(ScoreResult.id).where(
        ScoreResult.run_id == run_id, ScoreResult.enterprise_id == enterprise_id))
    if exists is None:
        return None
    return int(session.scalar(select(func.count()).select_from(ScoreResult).where(
        ScoreResult.run_id == run_id, ScoreResult.enterprise_id < enterprise_id)) or 0)


def covering_runs(session: Session, actor: Actor) -> Any:
    """Predicate: runs whose region scope covers the actor's whole scope (a run over every
    region covers everyone; a county's run covers that county's and its towns' users)."""
    if actor.region_path == "/":
        return ScoringRun.region_code.is_(None)
    ancestors = [c for c in actor.region_path.strip("/").split("/") if c]
    return ScoringRun.region_code.is_(None) | ScoringRun.region_code.in_(ancestors)


def visible_runs(session: Session, actor: Actor) -> Any:
    """Predicate: runs an actor may look at — covering its scope, or made inside it."""
    return covering_runs(session, actor) | region_code_in_scope(actor, ScoringRun.region_code)


def latest_run(session: Session, actor: Actor, system_id: str | None = None,
               year: int | None = None, published_only: bool = False) -> ScoringRun | None:
    """The newest run covering the actor's scope (optionally of one system id / year /
    published only)."""
    stmt = select(ScoringRun).where(covering_runs(session, actor))
    if system_id is not None:
        stmt = stmt.where(ScoringRun.system_id == system_id)
    if year is not None:
        stmt = stmt.where(ScoringRun.year == year)
    if published_only:
        stmt = stmt.where(ScoringRun.published.is_(True))
    return session.scalars(stmt.order_by(ScoringRun.id.desc()).limit(1)).first()


def runs_of(session: Session, actor: Actor, system_id: str | None) -> list[ScoringRun]:
    """Runs the actor may see (of one system id, or all when None), newest first."""
    stmt = select(ScoringRun).where(visible_runs(session, actor))
    if system_id is not None:
        stmt = stmt.where(ScoringRun.system_id == system_id)
    return list(session.scalars(stmt.order_by(ScoringRun.id.desc())))


def get_run(session: Session, actor: Actor, run_id: int) -> ScoringRun:
    run = session.scalars(select(ScoringRun).where(ScoringRun.id == run_id,
                                                   visible_runs(session, actor))).first()
    if run is None:
        raise NotFound(f"评分运行 {run_id} 不存在或不在您的管辖范围内",
                       f"scoring run {run_id} not found")
    return run


def previous_run(session: Session, run: ScoringRun) -> ScoringRun | None:
    """The latest run of the same system id, the year before, over the same region scope."""
    stmt = select(ScoringRun).where(ScoringRun.system_id == run.system_id,
                                    ScoringRun.year == run.year - 1,
                                    ScoringRun.id != run.id)
    stmt = stmt.where(ScoringRun.region_code.is_(None) if run.region_code is None
                      else ScoringRun.region_code == run.region_code)
    return session.scalars(stmt.order_by(ScoringRun.id.desc()).limit(1)).first()


def result_points(session: Session, run_id: int) -> pd.DataFrame:
    """enterprise_id, points, rank of a run (for the change since last year)."""
    rows = session.execute(select(ScoreResult.enterprise_id, ScoreResult.points,
                                  ScoreResult.rank).where(ScoreResult.run_id == run_id)).all()
    return pd.DataFrame(rows, columns=["enterprise_id", "points", "rank"])


def region_names(session: Session, codes: list[str]) -> dict[str, str]:
    if not codes:
        return {}
    return dict(session.execute(select(Region.code, Region.name)
                                .where(Region.code.in_(codes))).all())


# ------------------------------------------------------------------ moved from the service
def count_visible_enterprises(session: Session, actor: Actor) -> int:
    """How many enterprises ``actor`` may see."""
    return int(session.scalar(select(func.count()).select_from(Enterprise)
                              .where(enterprise_visible(actor))) or 0)


def add_run(session: Session, run: ScoringRun) -> ScoringRun:
    """Stage a new run row and flush it (for its id)."""
    session.add(run)
    session.flush()
    return run


def find_enterprise(session: Session, actor: Actor, uscc: str) -> Enterprise | None:
    """The enterprise with credit code ``uscc`` if ``actor`` may see it."""
    return session.scalars(select(Enterprise).where(Enterprise.uscc == uscc,
                                                    enterprise_visible(actor))).first()


def result_of(session: Session, run_id: int, enterprise_id: int) -> ScoreResult | None:
    """One enterprise's result row in a run."""
    return session.scalars(select(ScoreResult).where(
        ScoreResult.run_id == run_id, ScoreResult.enterprise_id == enterprise_id)).first()


def ranking_page(session: Session, actor: Actor, run_id: int, filters: dict[str, Any],
                 page: int, size: int) -> tuple[int, int, int, list[Any]]:
    """(total, page, pages, rows of (ScoreResult, uscc, name)) of a run's ranking over the
    enterprises ``actor`` sees; ``filters`` maps result columns (industry_section,
    region_code, stage, list_tier) to a value."""
    cond = [ScoreResult.run_id == run_id, enterprise_visible(actor)]
    for column, value in filters.items():
        if value:
            cond.append(getattr(ScoreResult, column) == value)
    base = select(ScoreResult, Enterprise.uscc, Enterprise.name).join(
        Enterprise, Enterprise.id == ScoreResult.enterprise_id).where(*cond)
    total = session.scalar(select(func.count()).select_from(base.subquery())) or 0
    size = max(1, min(int(size), 500))
    pages = max(1, -(-total // size))
    page = max(1, min(int(page), pages))
    rows = session.execute(
        base.order_by(ScoreResult.rank.is_(None), ScoreResult.rank, ScoreResult.enterprise_id)
        .offset((page - 1) * size).limit(size)).all()
    return int(total), page, pages, list(rows)


def distinct_values(session: Session, run_id: int, column: str) -> list[Any]:
    """The distinct non-null values of a result column in a run, sorted."""
    col = getattr(ScoreResult, column)
    return [v for (v,) in session.execute(select(col).where(ScoreResult.run_id == run_id)
                                          .distinct().order_by(col)) if v is not None]


def histogram_rows(session: Session, actor: Actor, run_id: int, bucket_width: float
                   ) -> list[Any]:
    """(stage, bucket, count) of a run's points per ``bucket_width``-point bucket, over the
    enterprises ``actor`` sees."""
    bucket = func.floor(ScoreResult.points / bucket_width)
    return list(session.execute(
        select(ScoreResult.stage, bucket, func.count())
        .join(Enterprise, Enterprise.id == ScoreResult.enterprise_id)
        .where(ScoreResult.run_id == run_id, ScoreResult.points.is_not(None),
               enterprise_visible(actor))
        .group_by(ScoreResult.stage, bucket)).all())


def industry_sections(session: Session) -> dict[str, str]:
    """Industry code → section letter."""
    return dict(session.execute(select(Industry.code, Industry.section)).all())


def region_paths(session: Session) -> dict[str, str]:
    """Region code → path."""
    return dict(session.execute(select(Region.code, Region.path)).all())


def points_between(session: Session, run_id: int, lo: int, hi: int) -> list[Any]:
    """(enterprise id, points, rank, percentile, list tier, veto) of a run's results for
    enterprise ids in [lo, hi]."""
    return list(session.execute(
        select(ScoreResult.enterprise_id, ScoreResult.points, ScoreResult.rank,
               ScoreResult.percentile, ScoreResult.list_tier, ScoreResult.veto)
        .where(ScoreResult.run_id == run_id, ScoreResult.enterprise_id.between(lo, hi))
    ).all())


def result_id_bounds(session: Session, run_id: int) -> tuple[int, int] | None:
    """The lowest and highest enterprise id of a run's results (None: no result)."""
    lo, hi = session.execute(
        select(func.min(ScoreResult.enterprise_id), func.max(ScoreResult.enterprise_id))
        .where(ScoreResult.run_id == run_id)).one()
    return None if lo is None else (int(lo), int(hi))
