"""The what-if panel (推演): change some inputs of one enterprise and see its new points,
rank and policy eligibility. Nothing is written — a what-if is a read.

Semantics (docs/profile.md):

- **Scoring.** The latest run of the chosen system is recomputed with the same engine
  (:func:`kechuang.scoring.engine.compute` on in-process DuckDB), the same system version and
  the same population — the enterprises of that run, with their current facts and the
  run's cohort labels (industry section, revenue stage) — once as the data stand and once
  with the enterprise's inputs changed, everyone else's unchanged. The result is the
  difference between the two computations, so the delta is the change alone and never
  mixes in data imported since the run (the stored points are shown beside them; a note
  says when the current data no longer give the stored points). Because normalisation is
  relative (min-max, percentiles within a cohort), the change can move other enterprises'
  scores too; the rank is the enterprise's place among the recomputed population.
- **Changes** apply to the run's year: ``delta`` is added to the current value (a missing
  value counts as 0 and is flagged), ``value`` replaces it; amounts are in the catalogue's
  unit (万元), counts are whole numbers, and a result outside the catalogue's range (a
  negative head count) is refused in Chinese.
- **Eligibility.** Every built-in policy in force is evaluated for this one enterprise
  (:func:`kechuang.policy.runs.evaluate_policies`, the same evaluation as policy runs) on
  its own facts, without and with the change, as of a date whose evaluation year is the
  run's year (today when that holds, else 31 December of the following year); each policy
  reports its verdict before → after and the gaps after the change.

The population's facts are read for the run's region scope on behalf of the requester:
only the requester's own enterprise's outcome leaves this module, never another's data.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

import ibis
import numpy as np
import pandas as pd
from sqlalchemy.orm import Session

from kechuang.auth.actor import Actor
from kechuang.facts import read_facts
from kechuang.kit.errors import InvalidInput, NotFound
from kechuang.models import Enterprise, ScoringRun
from kechuang.policy.atoms import NO_TIER
from kechuang.policy.engine import evaluation_year
from kechuang.policy.gaps import gaps_for
from kechuang.policy.loader import LoadedPolicy, builtin_policies
from kechuang.policy.runs import evaluate_policies, input_years
from kechuang.profile import repository as repo
from kechuang.profile.schemas import (
    AppliedChange,
    PolicyChange,
    ScoreSide,
    WhatIfChange,
    WhatIfOut,
    WhatIfRequest,
    metric_label,
)
from kechuang.profile.service import (
    choose_run,
    dimensions,
    find_enterprise,
    root_code,
    system_of,
)
from kechuang.registry.catalogue import metrics_by_code
from kechuang.scoring import engine
from kechuang.scoring import runs as scoring_runs
from kechuang.scoring.system import System
from kechuang.web.i18n import translate

#: agreement of the recomputed base with the stored points
STORED_TOLERANCE = 1e-6


def scope_actor(session: Session, run: ScoringRun, actor: Actor) -> Actor:
    """Reads the run's population (its region scope) on behalf of the requester."""
    return Actor(username=f"profile.whatif:{actor.username}", role="bureau_staff",
                 region_code=run.region_code, region_path=repo.region_path(session,
                                                                           run.region_code),
                 user_id=actor.user_id)


def score(sys_: System, data: pd.DataFrame, year: int) -> pd.DataFrame:
    """One engine computation over a pandas table (in-process DuckDB), indexed by unit."""
    con = ibis.duckdb.connect()
    try:
        table = con.create_table("whatif_input", data)
        result = engine.compute(sys_, table, year=year, con=con)
        return result.scores.execute().set_index(sys_.spec.unit.id)
    finally:
        con.disconnect()


def _f(x: Any) -> float | None:
    if x is None:
        return None
    try:
        v = float(x)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(v) else v


@dataclass
class Frames:
    """The engine's input and the cohort labels of its units, for one side of the what-if."""

    engine: pd.DataFrame
    units: np.ndarray  # unit ids (uscc) of the run year's rows, engine order
    industry: np.ndarray
    region: np.ndarray
    stage: np.ndarray


def prepare(session: Session, facts: pd.DataFrame, sys_: System, year: int,
            stage_rule: dict[str, Any]) -> Frames:
    """The scoring run's own preparation (:mod:`kechuang.scoring.runs`): cohort columns
    derived from the database and the stage rule, then the engine's columns."""
    data = scoring_runs.derive_cohorts(session, facts, year, stage_rule)
    frame = scoring_runs.engine_frame(data, sys_)
    this = data[data["year"] == year]
    return Frames(frame, this["uscc"].astype(str).to_numpy(),
                  this["industry_section"].to_numpy(dtype=object),
                  this["region_code"].to_numpy(dtype=object),
                  this["stage"].to_numpy(dtype=object))


def stored_scores(session: Session, run: ScoringRun, sys_: System, facts: pd.DataFrame,
                  frames: Frames) -> pd.DataFrame | None:
    """The run's own scores when today's input is the run's input (same input hash, same
    system file): runs are reproducible, so recomputing would give the same numbers; the
    what-if then computes only the changed side. ``None`` when anything differs."""
    params = {k: v for k, v in (run.parameters or {}).items() if k != "previous_run_id"}
    if sys_.sha256 != run.system_hash or scoring_runs.input_hash(
            sys_.sha256, params, frames.engine) != run.input_hash:
        return None
    root = root_code(sys_)
    names = [f"score:{c}" for c in dict.fromkeys([root, *dimensions(sys_)])]
    cols = repo.run_columns(session, run.id, ["enterprise_id", *names])
    if any(n not in cols for n in ["enterprise_id", *names]):
        return None
    ids = cols["enterprise_id"].astype(np.int64)
    uscc_of = facts.drop_duplicates("enterprise_id").set_index("enterprise_id")["uscc"]
    index = uscc_of.reindex(ids).astype(str).to_numpy()
    out = pd.DataFrame({n.split(":", 1)[1]: cols[n] for n in names}, index=index)
    veto = repo.cohort_frame(session, run.id).set_index("enterprise_id")["veto"]
    out["veto"] = veto.reindex(ids).fillna("").to_numpy(dtype=object)
    return out


def side(scores: pd.DataFrame, sys_: System, frames: Frames, unit: str,
         lists: dict[str, Any]) -> tuple[ScoreSide, dict[str, Any]]:
    """The enterprise's points and places, ranked exactly as runs rank
    (:func:`kechuang.scoring.runs.places`: ties share the best rank, percentile = share at
    or below, lists per stage with veto), and the points inputs policies read."""
    root = root_code(sys_)
    scores = scores.reindex(frames.units)
    points = scores[root].to_numpy(dtype=np.float64)
    vetoed = (scores["veto"].fillna("").astype(str).to_numpy() != ""
              if "veto" in scores.columns else np.zeros(len(points), dtype=bool))
    pl = scoring_runs.places(points, vetoed, frames.industry, frames.region, frames.stage,
                             lists)
    hits = np.flatnonzero(frames.units == unit)
    if not len(hits):
        raise NotFound("该企业不在该次评分的范围内", "enterprise not in the run")
    i = int(hits[0])
    dims = {d: _f(scores[d].iloc[i]) for d in dimensions(sys_) if d in scores.columns}

    def whole(a: np.ndarray) -> int | None:
        v = _f(a[i])
        return None if v is None else int(v)

    tier = pl.list_tier[i]
    out = ScoreSide(points=_f(points[i]), rank=whole(pl.rank),
                    rank_industry=whole(pl.rank_industry), rank_region=whole(pl.rank_region),
                    rank_cohort=whole(pl.rank_cohort), percentile=_f(pl.percentile[i]),
                    list_tier=tier, stage=frames.stage[i], vetoed=bool(vetoed[i]),
                    dimensions=dims)
    atoms = {"points": out.points, "points_rank": out.rank,
             "points_percentile": out.percentile,
             "points_tier": (tier or NO_TIER) if out.points is not None else None,
             "points_veto": bool(vetoed[i]) if out.points is not None else None}
    return out, atoms


@dataclass
class Applied:
    change: WhatIfChange
    before: float | None
    after: float


def resolve(own: pd.DataFrame, unit: str, year: int, changes: list[WhatIfChange]
            ) -> list[Applied]:
    """The changed values from the enterprise's own current facts of ``year``; a value
    outside the catalogue's range (a negative head count or amount) is refused."""
    catalogue = metrics_by_code()
    row = own[(own["uscc"] == unit).to_numpy() & (own["year"] == year).to_numpy()]
    applied: list[Applied] = []
    problems: list[str] = []
    for c in changes:
        meta = catalogue[c.metric]
        current = (_f(row[c.metric].iloc[0])
                   if len(row) and c.metric in row.columns else None)
        base = Decimal(repr(current)) if current is not None else Decimal(0)
        new = base + c.delta if c.delta is not None else c.value
        assert new is not None
        low, high = meta.min_value, meta.max_value
        unit_text = meta.unit or ""
        if low is not None and new < low:
            problems.append(f"{metric_label(c.metric)} 修改后为 {new:f}{unit_text}，"
                            f"不能低于 {low:f}{unit_text}")
        elif high is not None and new > high:
            problems.append(f"{metric_label(c.metric)} 修改后为 {new:f}{unit_text}，"
                            f"超过允许的上限 {high:f}{unit_text}")
        else:
            applied.append(Applied(c, current, float(new)))
    if problems:
        raise InvalidInput("推演输入有误：" + "；".join(problems), "impossible what-if value",
                           problems=problems)
    return applied


def apply(data: pd.DataFrame, unit_col: str, year_col: str, unit: str, year: int,
          applied: list[Applied], only: set[str] | None = None) -> pd.DataFrame:
    """A copy of ``data`` with the enterprise's inputs of ``year`` set to the new values
    (``only``: the columns the consumer reads; others are left out)."""
    changed = data.copy()
    row = (changed[unit_col] == unit).to_numpy() & (changed[year_col] == year).to_numpy()
    if not row.any():
        raise InvalidInput(f"没有该企业 {year} 年的数据行，无法推演", f"no row for {year}")
    for a in applied:
        if only is not None and a.change.metric not in only:
            continue
        if a.change.metric not in changed.columns:
            changed[a.change.metric] = np.nan
        changed.loc[row, a.change.metric] = a.after
    return changed


def policy_as_of(year: int, today: date) -> date:
    """An as-of date whose evaluation year is the scoring year."""
    if evaluation_year(today) == year:
        return today
    return date(year + 1, 12, 31)


def in_force(as_of: date) -> list[LoadedPolicy]:
    return [lp for lp in builtin_policies().values()
            if lp.policy.effective_from <= as_of
            and (lp.policy.effective_to is None or as_of <= lp.policy.effective_to)]


def _verdict_label(verdict: str, locale: str) -> str:
    key = f"policy.verdict.{verdict}"
    text = translate(key, locale)
    return verdict if text == key else text


def eligibility(e: Enterprise, own: pd.DataFrame, as_of: date, applied: list[Applied],
                atoms_before: dict[str, Any], atoms_after: dict[str, Any],
                locale: str) -> list[PolicyChange]:
    """Each policy in force, evaluated for this enterprise (its own facts ``own``, the
    policy input years) without and with the change; the points inputs (``points``,
    ``points_tier`` …) are the recomputed ones of each side."""
    policies = in_force(as_of)
    if not policies or own.empty:
        return []
    data = own.assign(**atoms_before)
    changed = apply(own, "uscc", "year", e.uscc, evaluation_year(as_of), applied
                    ).assign(**atoms_after)
    before, _, _ = evaluate_policies(data, policies, as_of)
    after, _, _ = evaluate_policies(changed, policies, as_of)
    out = []
    for b, a in zip(before, after, strict=True):
        eb, ea = b.evaluation, a.evaluation
        i, j = eb.index(e.uscc), ea.index(e.uscc)
        vb, va = str(eb.verdict[i]), str(ea.verdict[j])
        has_score = eb.pass_mark is not None
        out.append(PolicyChange(
            policy_id=b.lp.id, policy_name=b.lp.policy.name, before=vb,
            before_label=_verdict_label(vb, locale), after=va,
            after_label=_verdict_label(va, locale),
            changed=vb != va or (has_score and (
                _f(eb.score_lo[i]) != _f(ea.score_lo[j])
                or _f(eb.score_hi[i]) != _f(ea.score_hi[j]))),
            score_before=[_f(eb.score_lo[i]), _f(eb.score_hi[i])] if has_score else [],
            score_after=[_f(ea.score_lo[j]), _f(ea.score_hi[j])] if has_score else [],
            failed_before=[k for k, res in eb.leaves.items() if bool(res.failed[i])],
            failed_after=[k for k, res in ea.leaves.items() if bool(res.failed[j])],
            gaps_before=[g.text for g in gaps_for(eb, e.uscc)],
            gaps_after=[g.text for g in gaps_for(ea, e.uscc)],
        ))
    return out


def what_if(session: Session, actor: Actor, uscc: str, request: WhatIfRequest,
            today: date | None = None, locale: str = "zh") -> WhatIfOut:
    """Recompute points, rank and eligibility of one enterprise with changed inputs."""
    e = find_enterprise(session, actor, uscc, "enterprise.whatif")
    run, _, _ = choose_run(session, actor, e, request.system_id)
    if run is None:
        raise NotFound("该企业尚无评分结果，无法推演", "No scoring run for this enterprise yet")
    sys_, note = system_of(run)
    if sys_ is None:
        raise InvalidInput(note or "找不到指标体系", "the run's indicator system is unavailable")
    as_of = policy_as_of(run.year, today or date.today())
    policy_years = input_years(as_of)
    own = read_facts(session, actor, sorted(set(policy_years) | {run.year}),
                     enterprise_ids=[e.id])
    applied = resolve(own, e.uscc, run.year, request.changes)
    params = run.parameters or {}
    defaults = scoring_runs.default_parameters()
    stage_rule = params.get("stage") or defaults["stage"]
    lists = params.get("lists") or defaults["lists"]
    population = repo.cohort_frame(session, run.id)["enterprise_id"].astype("int64").tolist()
    codes = set(sys_.inputs()) | {str(stage_rule.get("metric", "revenue"))}
    years = list(range(run.year - scoring_runs.YEARS_BACK, run.year + 1))
    facts = read_facts(session, scope_actor(session, run, actor), years, codes=codes,
                       enterprise_ids=population)
    base_frames = prepare(session, facts, sys_, run.year, stage_rule)
    base = stored_scores(session, run, sys_, facts, base_frames)
    if base is None:
        base = score(sys_, base_frames.engine, run.year)
    used = [a for a in applied if a.change.metric in codes]
    if used:
        new_frames = prepare(session, apply(facts, "uscc", "year", e.uscc, run.year, used),
                             sys_, run.year, stage_rule)
        new = score(sys_, new_frames.engine, run.year)
    else:
        new_frames, new = base_frames, base
    before, atoms_before = side(base, sys_, base_frames, e.uscc, lists)
    after, atoms_after = side(new, sys_, new_frames, e.uscc, lists)
    result = repo.result_of(session, run.id, e.id)
    stored = _f(result.points) if result is not None else None
    notes = [note] if note else []
    if stored is not None and before.points is not None and \
            abs(stored - before.points) > STORED_TOLERANCE * max(1.0, abs(stored)):
        notes.append("企业数据在该次评分之后有更新：推演以当前数据为基准，与已发布积分不同")
    catalogue = metrics_by_code()
    for a in applied:
        if a.before is None and a.change.delta is not None:
            notes.append(f"{metric_label(a.change.metric)} {run.year} 年原无数据，按 0 加计")
        if a.change.metric not in codes:
            notes.append(f"{metric_label(a.change.metric)} 不是指标体系 {sys_.id} 的输入，"
                         "只影响政策判定")
    own_policy = own[own["year"].isin(policy_years)].reset_index(drop=True)
    policies = eligibility(e, own_policy, as_of, applied, atoms_before, atoms_after, locale)
    return WhatIfOut(
        uscc=e.uscc, run_id=run.id, system_id=run.system_id, year=run.year,
        population=len(population),
        changes=[AppliedChange(metric=a.change.metric,
                               name=catalogue[a.change.metric].name_zh,
                               unit=catalogue[a.change.metric].unit, year=run.year,
                               before=a.before, after=a.after) for a in applied],
        before=before, after=after,
        delta_points=(after.points - before.points
                      if after.points is not None and before.points is not None else None),
        delta_rank=(after.rank - before.rank
                    if after.rank is not None and before.rank is not None else None),
        stored_points=stored, policies_as_of=as_of.isoformat(), policies=policies,
        notes=notes,
    )
