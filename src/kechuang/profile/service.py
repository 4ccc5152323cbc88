"""The enterprise profile (画像): points and places, the radar of the dimensions against the
industry, the five-year trend, strongest and weakest indicators, and where every number
came from — all read from the persisted scoring runs (spec/scoring.md, "Profile").

Who sees what follows the enterprise detail page: the bureau sees enterprises in its region,
an enterprise account only itself (404 for any other, the same answer as for one that does
not exist); banks and experts are admitted by role but see only enterprises their scope
grants (none yet), and their reads leave an audit row. An enterprise sees published runs
only; the bureau also sees unpublished ones. The bureau sees a veto by item; the enterprise
sees it as a notice.

Everything over the run's population is whole-array NumPy/pandas on the run's stored
columns (``score:<group>``, ``normalised:<indicator>`` …): the radar's industry median and
top decile are a group-by over the dimension arrays, the cohort percentiles one comparison of
a cohort × indicator matrix with the enterprise's row.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy.orm import Session

from kechuang.auth.actor import Actor
from kechuang.facts import read_facts
from kechuang.facts import service as facts_service
from kechuang.kit import audit
from kechuang.kit.errors import KechuangError, NotFound
from kechuang.models import Enterprise, ScoreResult, ScoringRun
from kechuang.profile import i18n as _i18n  # noqa: F401  (labels and notices)
from kechuang.profile import repository as repo
from kechuang.profile.schemas import (
    Dimension,
    FactRef,
    IndicatorOut,
    ProfileOut,
    Radar,
    RunOut,
    Standing,
    SystemChoice,
    TrendPoint,
    WhatIfMetric,
)
from kechuang.registry import service as registry_service
from kechuang.registry.catalogue import metrics_by_code
from kechuang.registry.service import AUDITED_READERS, format_value
from kechuang.scoring import expressions as ex
from kechuang.scoring.catalogue import load_system
from kechuang.scoring.runs import tier_names
from kechuang.scoring.service import explain
from kechuang.scoring.system import System
from kechuang.web.i18n import translate

#: years shown in the trend (the latest run's year and the four before it)
TREND_YEARS = 5
#: how many indicators the strongest / weakest lists show
EXTREMES = 3
#: the top decile of the radar: this percentile of the industry (linear interpolation)
TOP_DECILE = 90
#: metrics the what-if panel always offers (policy inputs), besides the system's inputs
POLICY_INPUTS = ("rd_expense", "rd_expense_domestic", "revenue", "rd_staff", "tech_staff",
                 "employees", "class1_ip", "class2_ip", "high_tech_revenue")


# --------------------------------------------------------------------------- access
def find_enterprise(session: Session, actor: Actor, uscc: str, action: str) -> Enterprise:
    """The enterprise if the actor may see it (the detail page's scope); a bank's or an
    expert's read is audited like the detail page's."""
    e = registry_service.visible_enterprise(session, actor, uscc.strip().upper())
    if e is None:
        raise NotFound("企业不存在或不在您的权限范围内", "No such enterprise in your scope")
    if actor.role in AUDITED_READERS:
        audit.record(session, actor, action, "enterprise", e.uscc, region_code=e.region_code)
    return e


def published_only(actor: Actor) -> bool:
    """Unpublished runs are the bureau's working drafts."""
    return not actor.is_bureau


def choose_run(session: Session, actor: Actor, e: Enterprise, system_id: str | None
               ) -> tuple[ScoringRun | None, list[SystemChoice], list[ScoringRun]]:
    """The latest run of the chosen system (default: the system of the newest run) holding
    a result for the enterprise, the systems to choose from, and that system's runs."""
    runs = repo.runs_for(session, e.id, published_only=published_only(actor))
    choices: dict[str, SystemChoice] = {}
    for r in runs:
        choices.setdefault(r.system_id, SystemChoice(system_id=r.system_id, name=r.system_name,
                                                     latest_year=r.year))
    if not runs:
        return None, [], []
    chosen = system_id if system_id in choices else runs[0].system_id
    of_system = [r for r in runs if r.system_id == chosen]
    return of_system[0], list(choices.values()), of_system


# --------------------------------------------------------------------------- systems
def system_of(run: ScoringRun) -> tuple[System | None, str | None]:
    """The indicator system a run used, and a note when it cannot be found unchanged."""
    try:
        sys_ = load_system(run.system_id, run.system_version)
    except KechuangError:
        return None, (f"找不到该次运行使用的指标体系 {run.system_id} {run.system_version}，"
                      "只显示保存的结果")
    return sys_, _hash_note(sys_, run)


def _hash_note(sys_: System, run: ScoringRun) -> str | None:
    if sys_.sha256 != run.system_hash:
        return "指标体系文件在该次运行之后已修改，指标说明按当前文件显示"
    return None


def root_code(sys_: System) -> str:
    return next(c for c in sys_.order
                if (sys_.indicators.get(c) or sys_.groups[c]).parent is None)


def dimensions(sys_: System) -> list[str]:
    """The radar's axes: the root's children (the first-level groups)."""
    return list(sys_.groups[root_code(sys_)].children)


#: how many years before the scoring year a formula reads (defined in the formula language)
lookback = ex.lookback


# --------------------------------------------------------------------------- pieces
def _f(x: Any) -> float | None:
    if x is None:
        return None
    v = float(x)
    return None if math.isnan(v) else v


def _run_out(run: ScoringRun) -> RunOut:
    return RunOut(id=run.id, system_id=run.system_id, system_version=run.system_version,
                  system_name=run.system_name, year=run.year, published=run.published,
                  created_at=run.created_at, enterprises=run.enterprises)


def cohort_mask(frame: pd.DataFrame, result: ScoreResult) -> tuple[np.ndarray, str | None]:
    """Members of the enterprise's cohort: the same revenue stage when the run has stages,
    else the same industry section, else the whole run."""
    if result.stage is not None:
        return (frame["stage"] == result.stage).to_numpy(), f"stage:{result.stage}"
    if result.industry_section is not None:
        return ((frame["industry_section"] == result.industry_section).to_numpy(),
                f"industry:{result.industry_section}")
    return np.ones(len(frame), dtype=bool), None


def _standing(actor: Actor, run: ScoringRun, result: ScoreResult, frame: pd.DataFrame,
              sys_: System | None, locale: str) -> Standing:
    scored = frame["points"].notna().to_numpy()
    same_section = (frame["industry_section"] == result.industry_section).to_numpy()
    same_region = (frame["region_code"] == result.region_code).to_numpy()
    in_cohort, cohort = cohort_mask(frame, result)
    veto_codes = [v for v in (result.veto or "").split(";") if v]
    names = {v.code: v.name or v.code for v in (sys_.spec.veto if sys_ else [])}
    veto_names = [names.get(v, v) for v in veto_codes]
    tier = result.list_tier
    tier_label = None
    if tier:
        key = f"profile.tier.{tier}"
        text = translate(key, locale)
        named = tier_names((run.parameters or {}).get("lists") or {})
        tier_label = (text if text != key else named.get(tier, tier)) if locale == "en" \
            else named.get(tier) or (tier if text == key else text)
    standing = Standing(
        points=_f(result.points), rank=result.rank, of=int(scored.sum()),
        rank_industry=result.rank_industry, of_industry=int((scored & same_section).sum()),
        rank_region=result.rank_region, of_region=int((scored & same_region).sum()),
        rank_cohort=result.rank_cohort, of_cohort=int((scored & in_cohort).sum()),
        cohort=cohort, percentile=_f(result.percentile), list_tier=tier,
        list_tier_label=tier_label, stage=result.stage,
        industry_section=result.industry_section, prev_points=_f(result.prev_points),
        prev_rank=result.prev_rank,
    )
    if veto_names:
        if actor.is_bureau:
            standing.veto = veto_names
        else:
            standing.notice = translate("profile.veto_notice", locale,
                                        items="、".join(veto_names))
    return standing


def node_name(code: str, name: str, locale: str) -> str:
    """A dimension's or indicator's name in the user's language: the system file's Chinese
    name, or its English one from the profile's catalogue (``profile.node.<code>``)."""
    if locale != "en":
        return name
    text = translate(f"profile.node.{code}", locale)
    return name if text == f"profile.node.{code}" else text


def radar(ids: np.ndarray, cols: dict[str, np.ndarray], frame: pd.DataFrame, pos: int,
          sys_: System, section: str | None, locale: str = "zh") -> Radar:
    """The dimensions' scores of the enterprise against its industry section's median and
    90th percentile, from the run's ``score:<group>`` arrays (one group-by for all
    sections and dimensions)."""
    dims = [d for d in dimensions(sys_) if f"score:{d}" in cols]
    sections = frame.set_index("enterprise_id")["industry_section"].reindex(ids).to_numpy()
    scores = pd.DataFrame({d: cols[f"score:{d}"] for d in dims})
    scores["_section"] = pd.Series(sections, dtype=object).fillna("")
    key = section or ""
    grouped = scores.groupby("_section", sort=False)
    median = grouped.median()
    p90 = grouped.quantile(TOP_DECILE / 100)
    members = grouped.size()
    top = scores[dims].max()
    out = []
    for d in dims:
        node = sys_.groups.get(d) or sys_.indicators[d]
        out.append(Dimension(
            code=d, name=node_name(d, node.name, locale), value=_f(cols[f"score:{d}"][pos]),
            median=_f(median.at[key, d]) if key in median.index else None,
            p90=_f(p90.at[key, d]) if key in p90.index else None,
            max=_f(top[d]),
        ))
    return Radar(section=section, members=int(members.get(key, 0)), dimensions=out)


def indicator_percentiles(cols: dict[str, np.ndarray], codes: list[str], pos: int,
                          members: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per indicator: the share (%) of the cohort members with a normalised value at or
    below the enterprise's, and how many members have a value — one matrix comparison."""
    if not codes:
        return np.array([]), np.array([], dtype=int)
    matrix = np.column_stack([cols[f"normalised:{c}"] for c in codes])
    mine = matrix[pos]
    cohort = matrix[members]
    present = ~np.isnan(cohort)
    counts = present.sum(axis=0)
    at_or_below = (present & (cohort <= mine)).sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        pct = np.where(np.isnan(mine) | (counts == 0), np.nan, 100.0 * at_or_below / counts)
    return pct, counts


def _facts_by_metric(session: Session, e: Enterprise, locale: str) -> dict[str, list[FactRef]]:
    out: dict[str, list[FactRef]] = {}
    for r in facts_service.with_provenance(session, e.id, current=True):
        out.setdefault(r.metric, []).append(FactRef(
            metric=r.metric, metric_name=r.name_en if locale == "en" else r.name_zh,
            unit=r.unit, period=r.period,
            value=format_value(r.value_type, r.unit, r.value_num, r.value_text, locale,
                               metric=r.metric),
            department=r.department_code,
            department_name=r.dept_en if locale == "en" else r.dept_zh,
            batch_id=r.batch_id, batch_filename=r.filename, batch_at=r.batch_at,
        ))
    return out


def _explained(session: Session, actor: Actor, run: ScoringRun, uscc: str) -> Any:
    """The scoring package's explanation of one enterprise, when that API exists."""
    try:
        return explain(session, actor, run.id, uscc)
    except Exception:  # noqa: BLE001 - provenance falls back to the current facts
        return None


def indicators(session: Session, e: Enterprise, run: ScoringRun, sys_: System,
               cols: dict[str, np.ndarray], pos: int, members: np.ndarray,
               locale: str) -> list[IndicatorOut]:
    """Every indicator's trace for the enterprise, its cohort percentile and the facts
    behind its formula (with department, import batch and date)."""
    codes = [c for c in sys_.indicators if f"normalised:{c}" in cols]
    pct, counts = indicator_percentiles(cols, codes, pos, members)
    facts = _facts_by_metric(session, e, locale)
    catalogue = metrics_by_code()
    out = []
    for k, code in enumerate(codes):
        ind = sys_.indicators[code]
        back = lookback(ind.formula)
        years = set(range(run.year - back, run.year + 1))
        refs: list[FactRef] = []
        for name in sorted(ex.names(ind.formula)):
            meta = catalogue.get(name)
            if meta is None:
                continue
            wanted = {0} if meta.period_type == "attr" else years
            refs += [f for f in facts.get(name, []) if f.period in wanted
                     or (meta.period_type == "month" and f.period // 100 in years)]
        parent = sys_.groups.get(ind.parent) if ind.parent else None

        def value(stage: str, code: str = code) -> float | None:
            arr = cols.get(f"{stage}:{code}")
            return None if arr is None else _f(arr[pos])

        raw = value("raw")
        out.append(IndicatorOut(
            code=code, name=node_name(code, ind.name, locale), group=ind.parent,
            group_name=node_name(ind.parent, parent.name, locale)
            if parent and ind.parent else None,
            formula=ind.spec.formula or code, raw=raw, imputed=value("imputed"),
            treated=value("treated"), normalised=value("normalised"),
            weight=value("weight"), contribution=value("contribution"),
            # a value the enterprise did not report has no place among the others (an
            # imputed stand-in is the engine's, not the enterprise's)
            percentile=None if raw is None else _f(pct[k]), cohort_size=int(counts[k]),
            facts=sorted(refs, key=lambda f: (f.metric, f.period)),
        ))
    return out


def extremes(items: list[IndicatorOut]) -> tuple[list[IndicatorOut], list[IndicatorOut]]:
    """The strongest and the weakest indicators by cohort percentile (ties by code)."""
    ranked = [i for i in items if i.percentile is not None]
    best = sorted(ranked, key=lambda i: (-(i.percentile or 0.0), i.code))[:EXTREMES]
    chosen = {i.code for i in best}
    worst = [i for i in sorted(ranked, key=lambda i: (i.percentile or 0.0, i.code))
             if i.code not in chosen][:EXTREMES]
    return best, worst


def trend(session: Session, e: Enterprise, runs: list[ScoringRun]) -> list[TrendPoint]:
    """Points and rank per year from the system's runs (the newest run of each year); a year
    without a run is a gap."""
    if not runs:
        return []
    by_year: dict[int, ScoringRun] = {}
    for r in runs:  # newest first
        by_year.setdefault(r.year, r)
    last = max(by_year)
    years = list(range(last - TREND_YEARS + 1, last + 1))
    chosen = [by_year[y].id for y in years if y in by_year]
    results = repo.results_of(session, chosen, e.id)
    counts = repo.scored_counts(session, chosen)
    out = []
    for y in years:
        run = by_year.get(y)
        res = results.get(run.id) if run else None
        out.append(TrendPoint(year=y, run_id=run.id if run else None,
                              points=_f(res.points) if res else None,
                              rank=res.rank if res else None,
                              of=counts.get(run.id) if run else None))
    return out


def whatif_metrics(session: Session, actor: Actor, e: Enterprise, run: ScoringRun,
                   sys_: System | None, locale: str) -> list[WhatIfMetric]:
    """The inputs the what-if panel offers, with the enterprise's current value."""
    catalogue = metrics_by_code()
    codes = list(dict.fromkeys([*sorted(sys_.inputs() if sys_ else []), *POLICY_INPUTS]))
    codes = [c for c in codes if c in catalogue and catalogue[c].period_type == "year"
             and catalogue[c].value_type in ("number", "integer")]
    data = read_facts(session, actor, [run.year], codes=codes, enterprise_ids=[e.id])
    row = data.iloc[0] if len(data) else None
    out = []
    for c in codes:
        meta = catalogue[c]
        out.append(WhatIfMetric(code=c, name=meta.name_en if locale == "en" else meta.name_zh,
                                unit=meta.unit, year=run.year,
                                current=_f(row[c]) if row is not None and c in row else None))
    return out


# --------------------------------------------------------------------------- the profile
@dataclass
class RunView:
    """What the profile reads of one run for one enterprise (shared with the what-if)."""

    run: ScoringRun
    result: ScoreResult
    system: System | None
    frame: pd.DataFrame
    ids: np.ndarray
    pos: int
    cols: dict[str, np.ndarray]


def run_view(session: Session, run: ScoringRun, e: Enterprise, names: list[str]) -> RunView:
    result = repo.result_of(session, run.id, e.id)
    if result is None:  # cannot happen: the run was chosen for having a result
        raise NotFound("该次评分没有这家企业的结果", "No result for this enterprise")
    sys_, _ = system_of(run)
    frame = repo.cohort_frame(session, run.id)
    cols = repo.run_columns(session, run.id, ["enterprise_id", *names])
    ids = cols.get("enterprise_id", frame["enterprise_id"].to_numpy()).astype(np.int64)
    hits = np.flatnonzero(ids == e.id)
    pos = int(hits[0]) if len(hits) else -1
    return RunView(run, result, sys_, frame, ids, pos, cols)


def profile(session: Session, actor: Actor, uscc: str, system_id: str | None = None,
            locale: str = "zh") -> ProfileOut:
    """Everything the profile page and the API show for one enterprise."""
    e = find_enterprise(session, actor, uscc, "enterprise.profile")
    run, choices, runs = choose_run(session, actor, e, system_id)
    empty = ProfileOut(uscc=e.uscc, name=e.name, systems=choices, run=None, standing=None,
                       radar=None, trend=[], strongest=[], weakest=[], indicators=[],
                       whatif_metrics=[])
    if run is None:
        return empty
    sys_, note = system_of(run)
    names: list[str] = []
    if sys_ is not None:
        names += [f"score:{d}" for d in dimensions(sys_)]
        names += [f"{stage}:{c}" for c in sys_.indicators
                  for stage in ("raw", "imputed", "treated", "normalised", "weight",
                                "contribution")]
    view = run_view(session, run, e, names)
    standing = _standing(actor, run, view.result, view.frame, sys_, locale)
    out = empty.model_copy(update={"run": _run_out(run), "standing": standing,
                                   "trend": trend(session, e, runs)})
    if note:
        out.notes.append(note)
    if sys_ is not None and view.pos >= 0:
        members_frame = view.frame.set_index("enterprise_id").reindex(view.ids).reset_index()
        members, _ = cohort_mask(members_frame, view.result)
        out.radar = radar(view.ids, view.cols, view.frame, view.pos, sys_,
                          view.result.industry_section, locale)
        out.indicators = indicators(session, e, run, sys_, view.cols, view.pos, members,
                                    locale)
        out.strongest, out.weakest = extremes(out.indicators)
        _add_explanation(session, actor, run, e, out)
    elif view.pos < 0:
        out.notes.append("该次运行没有保存逐项计算过程，只显示总分与排名")
    out.whatif_metrics = whatif_metrics(session, actor, e, run, sys_, locale)
    return out


def _add_explanation(session: Session, actor: Actor, run: ScoringRun, e: Enterprise,
                     out: ProfileOut) -> None:
    """Prefer the scoring package's explanation for the facts behind each indicator: it
    names the facts that were current when the run was made (since replaced ones
    included); the current facts are the fallback when no explanation is available."""
    explanation = _explained(session, actor, run, e.uscc)
    if explanation is None:
        return
    catalogue = metrics_by_code()
    by_code = {ind.code: ind for ind in explanation.indicators}
    for item in out.indicators:
        stage = by_code.get(item.code)
        if stage is None:
            continue
        item.facts = [FactRef(
            metric=f.metric, metric_name=f.metric_name,
            unit=catalogue[f.metric].unit if f.metric in catalogue else None,
            period=f.year, value=_display(f.metric, f.value),
            department=f.department or "", department_name=f.department_name or "",
            batch_id=f.batch_id, batch_filename=f.filename or "", batch_at=f.imported_at,
        ) for f in stage.facts]


def _display(metric: str, value: str | None) -> str:
    meta = metrics_by_code().get(metric)
    if value is None or meta is None:
        return value or "—"
    try:
        number = Decimal(value)
    except InvalidOperation:
        return format_value(meta.value_type, meta.unit, None, value)
    return format_value(meta.value_type, meta.unit, number, None)
