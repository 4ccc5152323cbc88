"""Tiered cultivation: every enterprise's tier from the policy results of a year.

Tiers (``rules.yaml``, in order): tech SME → innovative SME → 专精特新 → HTE → leading
enterprise. A policy tier is reached when the year's run of its policy (the latest run of
that evaluation year covering the scope) gives a verdict in ``reached_verdicts``, or when
the enterprise already holds the qualification (``held``: an HTE certificate in force at the
end of the year, a tech-SME register entry of the year, an SRDI level) — a policy run says
whether a new application would succeed, not whether a held title counts; the
leading tier when the enterprise ranks within the cut-off of the year's latest published
scoring run (top N by list rank, or the top share, whichever admits more). The tier is the
highest level reached; with ``require_lower: true`` it is the highest level reached
without a gap below it. All of it is computed over whole columns (pandas), never per
enterprise.

A snapshot stores the tiers of a year (``tier_run`` + ``tier_snapshot``); transitions
between two years are a GROUP BY over two snapshots. The cultivation pool of a tier is
every enterprise one level below whose result for the tier's policy is near-eligible by
the push rule (:func:`kechuang.push.service.near_eligible`), each with its gap.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy.orm import Session

from kechuang.auth.actor import Actor
from kechuang.kit import audit
from kechuang.kit.errors import InvalidInput, NotFound
from kechuang.models.push import TierRun
from kechuang.push.service import near_eligible, run_results
from kechuang.tiers import repository as repo
from kechuang.tiers.schemas import (
    LeadingRule,
    PoolRow,
    TierRules,
    Transition,
    rules,
    rules_hash,
)


@dataclass
class Levels:
    year: int
    frame: pd.DataFrame  # enterprise_id, uscc, name, region_code, level, tier
    sources: dict[str, Any] = field(default_factory=dict)
    cutoff_rank: int | None = None
    cutoff_points: float | None = None
    scores: pd.DataFrame | None = None


def default_year(session: Session) -> int:
    years = repo.policy_years(session)
    if not years:
        raise InvalidInput("尚无政策计算结果，无法确定梯队年度；请先运行政策计算",
                           "No policy run yet")
    return years[-1]


def compute_levels(session: Session, actor: Actor, year: int,
                   rule_set: TierRules | None = None) -> Levels:
    rs = rule_set or rules()
    ents = repo.visible_enterprises(session, actor)
    n = len(ents)
    reached = np.zeros((n, len(rs.tiers)), dtype=bool)
    sources: dict[str, Any] = {"policy_runs": {}, "scoring_run": None}
    runs = {}
    for t in rs.tiers:
        if t.policy:
            run = repo.policy_run_for_year(session, actor, t.policy, year)
            if run is not None:
                runs[run.id] = t.level
                sources["policy_runs"][t.policy] = run.id
    ids = ents["enterprise_id"].to_numpy()
    res = repo.verdicts(session, list(runs))
    if not res.empty:
        hit = res[res["verdict"].isin(rs.reached_verdicts)]
        pos = pd.Index(ids).get_indexer(hit["enterprise_id"])
        lvl = hit["run_id"].map(runs).to_numpy(dtype=int)
        keep = pos >= 0
        reached[pos[keep], lvl[keep] - 1] = True
    held = [(t.level, t.held) for t in rs.tiers if t.held is not None]
    if held and n:
        quals = repo.qualifications(session, actor)
        for tier_level, h in held:
            reached[:, tier_level - 1] |= h.holds(quals, year)
    out = Levels(year, ents)
    for t in rs.tiers:
        if t.scoring is None:
            continue
        srun = repo.scoring_run_for_year(session, actor, year, t.scoring.system)
        if srun is None:
            continue
        sources["scoring_run"] = srun.id
        sc = repo.scores(session, srun.id)
        scored = int(sc["points"].notna().sum())
        cut = t.scoring.cutoff(scored)
        ranked = sc[sc["list_rank"].notna()]
        lead = ranked[ranked["list_rank"] <= cut]
        pos = pd.Index(ids).get_indexer(lead["enterprise_id"])
        reached[pos[pos >= 0], t.level - 1] = True
        at_cut = ranked[ranked["list_rank"] <= cut]["points"]
        out.cutoff_rank = cut
        out.cutoff_points = float(at_cut.min()) if len(at_cut) else None
        out.scores = sc
    if rs.require_lower:
        level = np.cumprod(reached, axis=1).sum(axis=1)
    else:
        top = len(rs.tiers) - np.argmax(reached[:, ::-1], axis=1)
        level = np.where(reached.any(axis=1), top, 0)
    frame = ents.assign(level=level.astype(int))
    frame["tier"] = frame["level"].map(rs.tier_id)
    out.frame = frame
    out.sources = sources
    return out


@dataclass
class SnapshotSummary:
    run_id: int
    year: int
    enterprises: int
    counts: dict[str, int]


def do_snapshot(session: Session, actor: Actor, year: int | None = None,
                rule_set: TierRules | None = None) -> SnapshotSummary:
    """Store the tiers of ``year`` (default: the latest evaluation year with policy runs)
    for the actor's scope; a later snapshot of the same year supersedes an earlier one."""
    rs = rule_set or rules()
    year = year or default_year(session)
    lv = compute_levels(session, actor, year, rs)
    counts = {rs.tier_id(int(k)): int(v)
              for k, v in lv.frame["level"].value_counts().sort_index().items()}
    run = TierRun(year=year, region_code=actor.region_code, sources=lv.sources,
                  rules_hash=rules_hash(), enterprises=len(lv.frame), counts=counts,
                  created_by=actor.user_id, actor=actor.username)
    repo.add_run(session, run)
    repo.insert_snapshot(session, run.id, lv.frame)
    audit.record(session, actor, "tiers.snapshot", "tier_run", run.id,
                 after={"year": year, "sources": lv.sources, "counts": counts,
                        "enterprises": len(lv.frame)},
                 region_code=actor.region_code)
    return SnapshotSummary(run.id, year, len(lv.frame), counts)


def snapshot_overview(session: Session, actor: Actor) -> list[dict[str, Any]]:
    """Per snapshot year: the covering snapshot and its counts per tier (visible only)."""
    rs = rules()
    out = []
    for year in repo.snapshot_years(session):
        run = repo.tier_run_for_year(session, actor, year)
        if run is None:
            continue
        counts = repo.snapshot_counts(session, actor, run.id)
        out.append({"year": year, "run": run,
                    "counts": {rs.tier_id(lv): counts.get(lv, 0)
                               for lv in range(len(rs.tiers) + 1)}})
    return out


def transitions(session: Session, actor: Actor, year_from: int,
                year_to: int) -> list[Transition]:
    rs = rules()
    runs = []
    for y in (year_from, year_to):
        run = repo.tier_run_for_year(session, actor, y)
        if run is None:
            raise NotFound(f"{y} 年度尚无梯队快照，请先生成（kechuang tiers snapshot --year {y}）",
                           f"No tier snapshot for {y}")
        runs.append(run.id)
    return [Transition(from_tier=rs.tier_id(a), to_tier=rs.tier_id(b), from_level=a,
                       to_level=b, count=int(c))
            for a, b, c in repo.transitions(session, actor, runs[0], runs[1])]


def sankey_option(items: list[Transition], year_from: int, year_to: int,
                  locale: str = "zh") -> dict[str, Any]:
    """An ECharts sankey option: nodes "<year> <tier>", one link per non-empty transition."""
    rs = rules()
    levels = range(len(rs.tiers) + 1)
    nodes = [{"name": f"{y} {rs.label(lv, locale)}"} for y in (year_from, year_to)
             for lv in levels]
    links = [{"source": f"{year_from} {rs.label(t.from_level, locale)}",
              "target": f"{year_to} {rs.label(t.to_level, locale)}", "value": t.count}
             for t in items if t.count]
    used = {x for link in links for x in (link["source"], link["target"])}
    return {"tooltip": {"trigger": "item"},
            "series": [{"type": "sankey", "data": [nd for nd in nodes if nd["name"] in used],
                        "links": links, "emphasis": {"focus": "adjacency"},
                        "nodeAlign": "justify"}]}


def pool(session: Session, actor: Actor, tier_id: str, year: int | None = None,
         q: str | None = None, rule_set: TierRules | None = None) -> list[PoolRow]:
    """The cultivation pool of a tier: enterprises one level below with small gaps.

    "One level below" reads the year's latest snapshot (taken after every run) with SQL
    restricted to that level; without a snapshot the levels are computed live."""
    rs = rule_set or rules()
    target = rs.by_id(tier_id)
    year = year or default_year(session)
    level = target.level - 1
    snap = repo.tier_run_for_year(session, actor, year)
    if snap is not None:
        below = repo.snapshot_members(session, actor, snap.id, level)
    else:
        lv = compute_levels(session, actor, year, rs)
        below = lv.frame[lv.frame["level"] == level].drop(columns=["level", "tier"])
    if q and q.strip():
        needle = q.strip()
        below = below[below["name"].str.contains(needle, regex=False)
                      | below["uscc"].str.contains(needle.upper(), regex=False)]
    if below.empty:
        return []
    if target.policy is not None:
        run = repo.policy_run_for_year(session, actor, target.policy, year)
        if run is None:
            return []
        if snap is not None:
            results = repo.member_results(session, run.id, snap.id, level)
        else:
            results = run_results(session, run.id)
        results = results[results["enterprise_id"].isin(below["enterprise_id"])
                          & ~results["verdict"].isin(rs.reached_verdicts)]
        gaps = near_eligible(session, actor, run, results)
    elif target.scoring is not None:
        gaps = _leading_gaps(session, actor, year, target.scoring, below)
    else:  # pragma: no cover - the rules schema requires one source
        return []
    merged = below.merge(gaps, on="enterprise_id", how="inner").sort_values("uscc")
    current = rs.label(level)
    return [PoolRow(enterprise_id=int(r.enterprise_id), uscc=r.uscc, name=r.name,
                    region_code=r.region_code, current_tier=rs.tier_id(level),
                    current_label=current, target_tier=target.id, gap=r.gap)
            for r in merged.itertuples(index=False)]


def _leading_gaps(session: Session, actor: Actor, year: int, rule: LeadingRule,
                  below: pd.DataFrame) -> pd.DataFrame:
    srun = repo.scoring_run_for_year(session, actor, year, rule.system)
    if srun is None:
        return pd.DataFrame(columns=["enterprise_id", "gap"])
    scores = repo.scores(session, srun.id)
    cutoff = rule.cutoff(int(scores["points"].notna().sum()))
    sc = scores[scores["list_rank"].notna()]
    inside = sc[sc["list_rank"] <= cutoff]["points"]
    cut_pts = float(inside.min()) if len(inside) else float("nan")
    limit = math.floor(cutoff * rule.pool_factor)
    near = sc[(sc["list_rank"] > cutoff) & (sc["list_rank"] <= limit)
              & sc["enterprise_id"].isin(below["enterprise_id"])]
    diff = (cut_pts - near["points"]).clip(lower=0)
    gap = ("创新积分 " + near["points"].round(2).map("{:g}".format) + " 分，排名第 "
           + near["list_rank"].astype(int).astype(str) + " 位；领军线为第 "
           + str(cutoff) + f" 位（{cut_pts:g} 分），还差约 "
           + diff.round(2).map("{:g}".format) + " 分")
    return pd.DataFrame({"enterprise_id": near["enterprise_id"].to_numpy(),
                         "gap": gap.to_numpy()})


def latest_snapshot(session: Session, actor: Actor, year: int) -> TierRun | None:
    return repo.tier_run_for_year(session, actor, year)
