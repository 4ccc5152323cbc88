"""SQL of tiered cultivation: which runs a year's tiers come from, whole-run reads into
DataFrames, the bulk snapshot insert and the transition GROUP BY."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pandas as pd
from sqlalchemy import func, select
from sqlalchemy.orm import Session, aliased

from kechuang.auth.actor import Actor
from kechuang.auth.scope import enterprise_visible
from kechuang.db import bulk_insert
from kechuang.models import Enterprise, PolicyRun, Region, ScoreResult, ScoringRun
from kechuang.models.push import TierRun, TierSnapshot
from kechuang.policy import service as policy_service
from kechuang.push import service as push_service


def frame(rows: Sequence[Any], columns: list[str]) -> pd.DataFrame:
    """A DataFrame from result rows, built from plain tuples (pandas inspects Row objects
    attribute by attribute, which costs more than the query on large runs)."""
    return pd.DataFrame.from_records([tuple(r) for r in rows], columns=columns)


def _covers(region_path: str | None, actor: Actor) -> bool:
    """A run made over ``region_path`` (None = every region) covers the actor's region."""
    if region_path is None:
        return True
    return actor.region_path != "/" and actor.region_path.startswith(region_path)


def policy_run_for_year(session: Session, actor: Actor, policy_id: str,
                        year: int) -> PolicyRun | None:
    """The latest run of a policy for an evaluation year whose scope covers the actor."""
    rows = session.execute(
        select(PolicyRun, Region.path).outerjoin(Region, Region.code == PolicyRun.region_code)
        .where(PolicyRun.policy_id == policy_id, PolicyRun.eval_year == year)
        .order_by(PolicyRun.id.desc()))
    for run, path in rows:
        if _covers(path, actor):
            return run
    return None


def scoring_run_for_year(session: Session, actor: Actor, year: int,
                         system: str | None) -> ScoringRun | None:
    """The latest published scoring run of a year (of ``system`` if named) covering the
    actor."""
    stmt = (select(ScoringRun, Region.path)
            .outerjoin(Region, Region.code == ScoringRun.region_code)
            .where(ScoringRun.year == year, ScoringRun.published.is_(True))
            .order_by(ScoringRun.id.desc()))
    if system:
        stmt = stmt.where(ScoringRun.system_id == system)
    for run, path in session.execute(stmt):
        if _covers(path, actor):
            return run
    return None


def policy_years(session: Session) -> list[int]:
    return [int(y) for y in session.scalars(
        select(PolicyRun.eval_year).distinct().order_by(PolicyRun.eval_year))]


def visible_enterprises(session: Session, actor: Actor) -> pd.DataFrame:
    rows = session.connection().execute(
        select(Enterprise.id, Enterprise.uscc, Enterprise.name, Enterprise.region_code)
        .where(enterprise_visible(actor)).order_by(Enterprise.id)).all()
    return frame(rows, ["enterprise_id", "uscc", "name", "region_code"])


def qualifications(session: Session, actor: Actor) -> pd.DataFrame:
    """The qualifications the enterprises hold (mirrored from the registers' facts): HTE
    certificate expiry, tech-SME register year, SRDI level; aligned with
    :func:`visible_enterprises`."""
    rows = session.connection().execute(
        select(Enterprise.id, Enterprise.hte_expires_on, Enterprise.tech_sme_year,
               Enterprise.srdi_level)
        .where(enterprise_visible(actor)).order_by(Enterprise.id)).all()
    return frame(rows, ["enterprise_id", "hte_expires_on", "tech_sme_year", "srdi_level"])


def verdicts(session: Session, run_ids: list[int]) -> pd.DataFrame:
    """(run_id, enterprise_id, verdict) of several runs."""
    frames = [policy_service.read_results(session, run_id, ["verdict"]).assign(run_id=run_id)
              for run_id in run_ids]
    if not frames:
        return pd.DataFrame(columns=["run_id", "enterprise_id", "verdict"])
    return pd.concat(frames, ignore_index=True)[["run_id", "enterprise_id", "verdict"]]


def scores(session: Session, run_id: int) -> pd.DataFrame:
    rows = session.connection().execute(
        select(ScoreResult.enterprise_id, ScoreResult.points, ScoreResult.list_rank)
        .where(ScoreResult.run_id == run_id)).all()
    return frame(rows, ["enterprise_id", "points", "list_rank"])


def insert_snapshot(session: Session, run_id: int, frame: pd.DataFrame) -> int:
    """One snapshot's rows in bulk (column-wise, straight on the driver)."""
    n = len(frame)
    return bulk_insert(session, TierSnapshot.__tablename__,
                       ["run_id", "enterprise_id", "level", "tier"],
                       [[run_id] * n, frame["enterprise_id"].astype(int).tolist(),
                        frame["level"].astype(int).tolist(),
                        frame["tier"].astype(str).tolist()])


def tier_run_for_year(session: Session, actor: Actor, year: int) -> TierRun | None:
    """The latest snapshot of a year whose scope covers the actor."""
    rows = session.execute(
        select(TierRun, Region.path).outerjoin(Region, Region.code == TierRun.region_code)
        .where(TierRun.year == year).order_by(TierRun.id.desc()))
    for run, path in rows:
        if _covers(path, actor):
            return run
    return None


def snapshot_years(session: Session) -> list[int]:
    return [int(y) for y in session.scalars(select(TierRun.year).distinct()
                                            .order_by(TierRun.year))]


def snapshot_counts(session: Session, actor: Actor, run_id: int) -> dict[int, int]:
    rows = session.execute(
        select(TierSnapshot.level, func.count())
        .join(Enterprise, Enterprise.id == TierSnapshot.enterprise_id)
        .where(TierSnapshot.run_id == run_id, enterprise_visible(actor))
        .group_by(TierSnapshot.level))
    return {int(lv): int(n) for lv, n in rows}


def transitions(session: Session, actor: Actor, run_a: int, run_b: int) -> list[Any]:
    """(level in a, level in b, count) over the enterprises in both snapshots."""
    a = aliased(TierSnapshot)
    b = aliased(TierSnapshot)
    return list(session.execute(
        select(a.level, b.level, func.count())
        .join(b, b.enterprise_id == a.enterprise_id)
        .join(Enterprise, Enterprise.id == a.enterprise_id)
        .where(a.run_id == run_a, b.run_id == run_b, enterprise_visible(actor))
        .group_by(a.level, b.level).order_by(a.level, b.level)))


def snapshot_members(session: Session, actor: Actor, tier_run_id: int,
                     level: int) -> pd.DataFrame:
    """The visible enterprises at one level of a snapshot."""
    rows = session.connection().execute(
        select(Enterprise.id, Enterprise.uscc, Enterprise.name, Enterprise.region_code)
        .join(TierSnapshot, TierSnapshot.enterprise_id == Enterprise.id)
        .where(TierSnapshot.run_id == tier_run_id, TierSnapshot.level == level,
               enterprise_visible(actor))
        .order_by(Enterprise.id)).all()
    return frame(rows, ["enterprise_id", "uscc", "name", "region_code"])


def member_results(session: Session, run_id: int, tier_run_id: int,
                   level: int) -> pd.DataFrame:
    """A policy run's results for the enterprises at one level of a snapshot (the columns
    of :func:`kechuang.push.repository.run_results`)."""
    members = session.scalars(
        select(TierSnapshot.enterprise_id)
        .where(TierSnapshot.run_id == tier_run_id, TierSnapshot.level == level)).all()
    return push_service.run_results(session, run_id, members)


def add_run(session: Session, run: TierRun) -> TierRun:
    """Stage a new snapshot row and flush it (for its id)."""
    session.add(run)
    session.flush()
    return run
