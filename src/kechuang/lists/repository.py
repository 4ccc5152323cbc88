"""SQL of lists, dividends and statistics: whole-run queries, never a loop of queries.

"Current" published run: for each (system, year, region scope) the published run with the
latest ``published_at`` (then the highest id). Publishing a newer run of the same key
supersedes the older one on the public page; the older stays published (its list was
public and remains viewable as history) until withdrawn.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import ColumnElement, and_, case, func, select, true
from sqlalchemy.orm import Session

from kechuang.auth.actor import Actor
from kechuang.auth.scope import enterprise_visible
from kechuang.facts import service as facts_service
from kechuang.kit.errors import NotFound
from kechuang.models import Enterprise, Industry, Metric, Region, User
from kechuang.models.scoring import ScoreResult, ScoringRun
from kechuang.robustness import service as robustness_service
from kechuang.scoring import service as scoring_service


def get_run(session: Session, run_id: int) -> ScoringRun:
    run = session.get(ScoringRun, run_id)
    if run is None:
        raise NotFound(f"评分批次 {run_id} 不存在", f"Scoring run {run_id} not found")
    return run


def region_path(session: Session, code: str | None) -> str:
    if code is None:
        return "/"
    path = session.scalar(select(Region.path).where(Region.code == code))
    return path or "/"


def run_visible(session: Session, actor: Actor, run: ScoringRun) -> bool:
    """A bureau sees runs inside its region and runs covering its region (whose rows it
    then sees only for its own enterprises); the public sees published runs only."""
    if not actor.is_bureau:
        return bool(run.published)
    if actor.region_path == "/" or run.region_code is None:
        return True
    path = region_path(session, run.region_code)
    return path.startswith(actor.region_path) or actor.region_path.startswith(path)


def run_owned(session: Session, actor: Actor, run: ScoringRun) -> bool:
    """May ``actor`` change the run's publication? Only when the whole run lies in its scope."""
    if actor.region_path == "/":
        return True
    if run.region_code is None:
        return False
    return region_path(session, run.region_code).startswith(actor.region_path)


def visible_run(session: Session, actor: Actor, run_id: int) -> ScoringRun:
    run = session.get(ScoringRun, run_id)
    if run is None or not run_visible(session, actor, run):
        raise NotFound(f"评分批次 {run_id} 不存在或未发布", f"Scoring run {run_id} not found")
    return run


def _current_ids_stmt() -> Any:
    ranked = (
        select(
            ScoringRun.id,
            func.row_number().over(
                partition_by=(ScoringRun.system_id, ScoringRun.year, ScoringRun.region_code),
                order_by=(ScoringRun.published_at.desc(), ScoringRun.id.desc()),
            ).label("n"),
        )
        .where(ScoringRun.published.is_(True))
        .subquery()
    )
    return select(ranked.c.id).where(ranked.c.n == 1)


def current_runs(session: Session, system_id: str | None = None) -> list[ScoringRun]:
    """The current published run of every (system, year, region scope), newest year first."""
    stmt = select(ScoringRun).where(ScoringRun.id.in_(_current_ids_stmt()))
    if system_id is not None:
        stmt = stmt.where(ScoringRun.system_id == system_id)
    return list(session.scalars(stmt.order_by(ScoringRun.year.desc(), ScoringRun.system_id,
                                              ScoringRun.region_code, ScoringRun.id)))


def is_current(session: Session, run: ScoringRun) -> bool:
    if not run.published:
        return False
    sub = _current_ids_stmt().subquery()
    return session.scalar(select(func.count()).select_from(sub).where(sub.c.id == run.id)) == 1


def published_runs(session: Session) -> list[ScoringRun]:
    return list(session.scalars(select(ScoringRun).where(ScoringRun.published.is_(True))
                                .order_by(ScoringRun.year.desc(), ScoringRun.id.desc())))


def bureau_runs(session: Session, actor: Actor, limit: int = 200) -> list[ScoringRun]:
    """Runs the bureau can see (covering its region or made inside it), newest first."""
    return scoring_service.runs_of(session, actor, None, limit=limit)


class ListRow(NamedTuple):
    """One result row with names (a NamedTuple: a whole run's rows are built at once)."""

    enterprise_id: int
    uscc: str
    name: str
    industry_code: str | None
    industry_name: str | None
    region_code: str
    region_name: str | None
    points: float
    rank: int | None  # over every scored enterprise (the bureau's view)
    list_rank: int | None  # over the enterprises that may be listed (veto applied)
    stage: str | None
    stage_rank: int  # place within the revenue stage, veto applied (1, 1, 3 on ties)
    tier: str | None
    veto: str | None


def result_rows(session: Session, run_id: int, actor: Actor | None, *,
                listed_only: bool, per_stage: bool = True) -> list[ListRow]:
    """One query: the run's results with enterprise, industry and region names.

    ``stage_rank`` (with ``per_stage=False``: the place over the whole run, for runs whose
    lists are not per stage) is computed over every non-vetoed scored enterprise, before
    the actor's scope is applied, so a county sees the same places as the whole run.
    ``actor`` None means "the public": no scope filter (the caller only passes published
    runs and shows no personal data).
    """
    stage_rank = func.rank().over(partition_by=ScoreResult.stage if per_stage else None,
                                  order_by=ScoreResult.points.desc())
    listed = ScoreResult.veto.is_(None)
    base = (
        select(ScoreResult.enterprise_id, ScoreResult.points, ScoreResult.rank,
               ScoreResult.list_rank, ScoreResult.stage, ScoreResult.list_tier,
               ScoreResult.veto, stage_rank.label("stage_rank"))
        .where(ScoreResult.run_id == run_id, ScoreResult.points.is_not(None), listed)
    )
    sub = base.subquery()
    where: list[ColumnElement[bool]] = []
    if listed_only:
        where.append(sub.c.list_tier.is_not(None))
        where.append(sub.c.veto.is_(None))
    if actor is not None:
        where.append(enterprise_visible(actor))
    stmt = (
        select(sub, Enterprise.uscc, Enterprise.name, Enterprise.industry_code,
               Industry.name.label("industry_name"), Enterprise.region_code,
               Region.name.label("region_name"))
        .join(Enterprise, Enterprise.id == sub.c.enterprise_id)
        .join(Industry, Industry.code == Enterprise.industry_code, isouter=True)
        .join(Region, Region.code == Enterprise.region_code, isouter=True)
        .where(and_(true(), *where))
        .order_by(*((sub.c.stage,) if per_stage else ()), sub.c.stage_rank,
                  sub.c.points.desc(), Enterprise.id)
    )
    nan = float("nan")
    # positional unpacking: attribute access on 10⁵ rows costs more than the query
    return [
        ListRow(eid, uscc, name, ind_code, ind_name, reg_code, reg_name,
                nan if points is None else float(points), rank, list_rank, stage,
                0 if srank is None else int(srank), tier, veto)
        for (eid, points, rank, list_rank, stage, tier, veto, srank, uscc, name, ind_code,
             ind_name, reg_code, reg_name) in session.execute(stmt)
    ]


def scored_count(session: Session, run_id: int) -> int:
    return session.scalar(select(func.count()).where(ScoreResult.run_id == run_id,
                                                     ScoreResult.points.is_not(None))) or 0


def vetoed_rows(session: Session, run_id: int, actor: Actor
                ) -> list[tuple[str, str, float | None, str | None]]:
    """The bureau's check before publishing: who the veto keeps off the lists, and why."""
    stmt = (select(Enterprise.uscc, Enterprise.name, ScoreResult.points, ScoreResult.veto)
            .join(Enterprise, Enterprise.id == ScoreResult.enterprise_id)
            .where(ScoreResult.run_id == run_id, ScoreResult.veto.is_not(None),
                   enterprise_visible(actor))
            .order_by(ScoreResult.points.desc(), Enterprise.id))
    return [(r[0], r[1], r[2], r[3]) for r in session.execute(stmt)]


# --------------------------------------------------------------------------- robustness
#: (median rank, 5th percentile, 95th percentile, robust)
Robustness = tuple[float, float, float, bool]


def robustness_of(session: Session, run_id: int,
                  before: datetime | None = None) -> dict[int, Robustness]:
    """The latest Monte Carlo analysis of the run (made at or before ``before``: what was
    published), by enterprise ({} when none exists)."""
    found = robustness_service.latest_for_run(session, run_id, before)
    return {int(k): (float(v[0]), float(v[1]), float(v[2]), bool(v[3]))
            for k, v in (found or {}).items()}


# --------------------------------------------------------------------------- statistics
def series_runs(session: Session, system_id: str, region_code: str | None, *,
                published_only: bool, up_to_year: int | None = None) -> list[ScoringRun]:
    """Per year the run that stands for the (system, region scope): the current published
    run, or with ``published_only=False`` the latest run of the year (published or not)."""
    scope = ScoringRun.region_code.is_(None) if region_code is None else \
        ScoringRun.region_code == region_code
    order = (ScoringRun.published_at.desc(), ScoringRun.id.desc()) if published_only \
        else (ScoringRun.id.desc(),)
    ranked = (
        select(ScoringRun.id, func.row_number().over(partition_by=ScoringRun.year,
                                                     order_by=order).label("n"))
        .where(ScoringRun.system_id == system_id, scope,
               ScoringRun.published.is_(True) if published_only else true())
    )
    if up_to_year is not None:
        ranked = ranked.where(ScoringRun.year <= up_to_year)
    sub = ranked.subquery()
    ids = select(sub.c.id).where(sub.c.n == 1)
    return list(session.scalars(select(ScoringRun).where(ScoringRun.id.in_(ids))
                                .order_by(ScoringRun.year)))


def series_runs_any_scope(session: Session, system_id: str,
                          published_only: bool) -> list[ScoringRun]:
    """Runs of a system in any scope, newest year first (to pick a default scope)."""
    stmt = select(ScoringRun).where(ScoringRun.system_id == system_id)
    if published_only:
        stmt = stmt.where(ScoringRun.published.is_(True))
    return list(session.scalars(stmt.order_by(ScoringRun.year.desc(), ScoringRun.id.desc())))


def systems_with_runs(session: Session, published_only: bool) -> list[tuple[str, str]]:
    stmt = select(ScoringRun.system_id, func.max(ScoringRun.system_name)) \
        .group_by(ScoringRun.system_id).order_by(ScoringRun.system_id)
    if published_only:
        stmt = stmt.where(ScoringRun.published.is_(True))
    return [(r[0], r[1]) for r in session.execute(stmt)]


def metric_id(session: Session, code: str) -> int | None:
    """The id of a catalogue metric (None when it is not in the database)."""
    return session.scalar(select(Metric.id).where(Metric.code == code))


def _stats_scope(actor: Actor | None) -> ColumnElement[bool]:
    return true() if actor is None else enterprise_visible(actor)


def year_stats_row(session: Session, run_id: int, year: int, actor: Actor | None,
                   rd_id: int | None, coop_id: int | None,
                   rd_levels: tuple[str, ...]) -> Any:
    """(participants, vetoed, listed, mean points, with an R&D institution of
    ``rd_levels``, with R&D expense > 0, with cooperation > 0) of one run's scored
    enterprises in scope (``actor`` None: every enterprise)."""
    scored = ScoreResult.points.is_not(None)
    one = case((scored, 1), else_=0)
    rd_inst = case((Enterprise.rd_institution_level.in_(rd_levels), 1), else_=0)
    rd = case((ScoreResult.enterprise_id.in_(facts_service.positive_value_ids(rd_id, year)),
               1), else_=0)
    coop = case((ScoreResult.enterprise_id.in_(
        facts_service.positive_value_ids(coop_id, year)), 1), else_=0)
    return session.execute(
        select(
            func.count(),
            func.sum(case((ScoreResult.veto.is_not(None), 1), else_=0)),
            func.sum(case((ScoreResult.list_tier.is_not(None) & ScoreResult.veto.is_(None), 1),
                          else_=0)),
            func.avg(ScoreResult.points),
            func.sum(rd_inst * one), func.sum(rd * one), func.sum(coop * one),
        )
        .join(Enterprise, Enterprise.id == ScoreResult.enterprise_id)
        .where(ScoreResult.run_id == run_id, scored, _stats_scope(actor))
    ).one()


def pair_growth_row(session: Session, prev_id: int, cur_id: int, actor: Actor | None) -> Any:
    """(panel size, sum of points before, sum after) over the enterprises scored in both
    runs."""
    a = ScoreResult.__table__.alias("a")
    b = ScoreResult.__table__.alias("b")
    return session.execute(
        select(func.count(), func.sum(a.c.points), func.sum(b.c.points))
        .select_from(a)
        .join(b, (b.c.enterprise_id == a.c.enterprise_id) & (b.c.run_id == cur_id))
        .join(Enterprise, Enterprise.id == a.c.enterprise_id)
        .where(a.c.run_id == prev_id, a.c.points.is_not(None), b.c.points.is_not(None),
               _stats_scope(actor))
    ).one()


def scored_enterprises(session: Session, run_ids: list[int], actor: Actor | None) -> int:
    """Distinct enterprises scored in any of the runs, in scope."""
    return int(session.scalar(
        select(func.count(func.distinct(ScoreResult.enterprise_id)))
        .join(Enterprise, Enterprise.id == ScoreResult.enterprise_id)
        .where(ScoreResult.run_id.in_(run_ids), ScoreResult.points.is_not(None),
               _stats_scope(actor))) or 0)


def find_run(session: Session, run_id: int) -> ScoringRun | None:
    """A scoring run by id, unscoped (None when it does not exist)."""
    return session.get(ScoringRun, run_id)


def region_names(session: Session, codes: set[str]) -> dict[str, str]:
    """Region code → name."""
    if not codes:
        return {}
    return {c: n for c, n in session.execute(select(Region.code, Region.name)
                                             .where(Region.code.in_(codes)))}


def publishers(session: Session, region_code: str | None) -> list[tuple[str, str]]:
    """(username, display name) of the active bureau administrators who may publish the
    lists of a region: those of the region itself or of a region above it."""
    if region_code is None:
        return []
    path = session.scalar(select(Region.path).where(Region.code == region_code)) or ""
    codes = [c for c in path.strip("/").split("/") if c] or [region_code]
    return [(u, n) for u, n in session.execute(
        select(User.username, User.display_name)
        .where(User.role == "bureau_admin", User.is_active.is_(True),
               User.region_code.in_(codes)).order_by(User.username))]
