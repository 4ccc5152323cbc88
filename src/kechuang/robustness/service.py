"""Robustness analyses of scoring runs: ``do_robustness`` reads a run's imputed indicator
matrix and cohorts, runs the Monte Carlo analysis (:mod:`kechuang.robustness.analysis`) and
writes one immutable ``RobustnessRun`` with its per-enterprise rows and an audit row, in the
caller's unit of work (it never commits)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np
from sqlalchemy.orm import Session

from kechuang.auth.actor import Actor
from kechuang.auth.service import require_region_in_scope
from kechuang.kit import audit
from kechuang.kit.errors import InvalidInput, NotFound
from kechuang.models.scoring import RobustnessRun, ScoringRun
from kechuang.robustness import repository as repo
from kechuang.robustness.engine import FACTOR_LABELS, FACTORS, Analysis, Inputs, Progress, analyse
from kechuang.robustness.schemas import RobustnessConfig, load_config
from kechuang.scoring import service as scoring_service
from kechuang.scoring.catalogue import load_system


def get_scoring_run(session: Session, actor: Actor, run_id: int) -> ScoringRun:
    """A scoring run the actor may see (NotFound otherwise)."""
    return scoring_service.get_run(session, actor, run_id)


def get_run_to_analyse(session: Session, actor: Actor, run_id: int) -> ScoringRun:
    """A scoring run the actor may start an analysis of: visible, and of a region inside
    the actor's own (town staff may read the county's run but not analyse it)."""
    run = get_scoring_run(session, actor, run_id)
    require_region_in_scope(session, actor, run.region_code)
    return run


def get_analysis(session: Session, actor: Actor, analysis_id: int) -> RobustnessRun:
    """An analysis whose scoring run the actor may see (NotFound otherwise)."""
    rr = repo.get_analysis(session, analysis_id)
    if rr is None:
        raise NotFound(f"稳健性分析 {analysis_id} 不存在", f"analysis {analysis_id} not found")
    try:
        get_scoring_run(session, actor, rr.scoring_run_id)
    except NotFound:
        raise NotFound(f"稳健性分析 {analysis_id} 不存在或不在您的管辖范围内",
                       f"analysis {analysis_id} not found") from None
    return rr


def rule_from_run(config: RobustnessConfig, run: ScoringRun) -> RobustnessConfig:
    """Use the run's own list cut-offs (``parameters.lists``) for the "not robust" rule, so
    the analysis judges exactly the places the lists page shows."""
    lists = (run.parameters or {}).get("lists")
    if not config.rule.use_run_lists or not isinstance(lists, dict) or not lists.get("tiers"):
        return config
    tiers = lists["tiers"]
    rule = config.rule.model_copy(update={
        "cohort": "stage" if lists.get("per", "stage") == "stage" else None,
        "by": lists.get("by", "percentile"),
        "cutoffs": [float(t["upto"]) for t in tiers],
        "tiers": [str(t["code"]) for t in tiers],
    })
    return config.model_copy(update={"rule": type(config.rule).model_validate(
        rule.model_dump())})


def run_inputs(session: Session, run: ScoringRun, config: RobustnessConfig
               ) -> tuple[Inputs, np.ndarray, list[str]]:
    """The analysis inputs of a persisted run, aligned with the run's column order; also
    the run's stored points (for the nominal check) and notes."""
    notes: list[str] = []
    res = repo.run_results(session, run.id)
    if len(res["enterprise_id"]) == 0:
        raise InvalidInput(f"评分运行 {run.id} 没有任何企业结果，无法做稳健性分析",
                           f"scoring run {run.id} has no results")
    system = load_system(run.system_id, run.system_version)
    if system.sha256 != run.system_hash:
        notes.append(f"指标体系文件 {run.system_id} {run.system_version} 自本次运行后已修改："
                     "名义方案按现文件重算，可能与运行得分不同")
    names = ["enterprise_id", *[f"imputed:{c}" for c in system.indicators]]
    cols = scoring_service.run_columns(session, run.id, names)
    order_ids = np.asarray(cols["enterprise_id"], dtype=np.int64)
    pos = np.searchsorted(res["enterprise_id"], order_ids)
    pos = np.minimum(pos, len(res["enterprise_id"]) - 1)
    if not np.array_equal(res["enterprise_id"][pos], order_ids):
        raise InvalidInput(f"评分运行 {run.id} 的明细列与结果行不一致，无法分析",
                           f"run {run.id}: trace columns do not match its results")
    wanted = set(system.cohort_columns())
    if config.rule.cohort is not None:
        wanted.add(config.rule.cohort)
    unknown = sorted(wanted - set(repo.RESULT_COHORTS))
    if unknown:
        raise InvalidInput(f"分组列 {'、'.join(unknown)} 不在评分结果中（可用："
                           f"{'、'.join(repo.RESULT_COHORTS)}），无法分析",
                           f"cohort columns {', '.join(unknown)} are not kept by runs")
    cohorts = {c: res[c][pos] for c in wanted}
    eligible = np.array([v is None or v == "" for v in res["veto"][pos]], dtype=bool)
    inputs = Inputs(system=system,
                    imputed={c: np.asarray(cols[f"imputed:{c}"], dtype=np.float64)
                             for c in system.indicators},
                    cohorts=cohorts, eligible=eligible, ids=order_ids)
    return inputs, res["points"][pos], notes


def do_robustness(session: Session, actor: Actor, scoring_run_id: int, *,
                  replications: int | None = None, seed: int | None = None,
                  config: RobustnessConfig | None = None, progress: Progress | None = None,
                  job_id: int | None = None) -> RobustnessRun:
    """Analyse one scoring run; write the analysis, its results and an audit row."""
    if replications is not None and int(replications) < 1:
        raise InvalidInput(f"重复次数应至少为 1，实为 {replications}",
                           "replications must be at least 1")
    run = get_run_to_analyse(session, actor, scoring_run_id)
    base = config or load_config()
    overrides = {k: v for k, v in (("replications", replications), ("seed", seed))
                 if v is not None}
    if overrides:
        base = RobustnessConfig.model_validate({**base.model_dump(), **overrides})
    cfg = rule_from_run(base, run)
    inputs, points, notes = run_inputs(session, run, cfg)
    result = analyse(inputs, cfg, progress)
    stored = points[np.isin(inputs.ids if inputs.ids is not None else [], result.ids)]
    check = _nominal_check(result, stored)
    if check is not None and check > 1e-6 * max(1.0, float(np.nanmax(np.abs(stored)))):
        notes.append(f"名义方案重算的总分与运行得分最大相差 {check:.3g}")
    parameters: dict[str, Any] = {
        **cfg.recorded(), "factors": result.factors, "sensitivity_runs": result.sensitivity_runs,
        "ranked": int(len(result.ids)), "notes": [*notes, *result.notes],
        "nominal_check": check,
        "mean_shift": {"mean": float(result.shift.mean()),
                       "p95": float(np.quantile(result.shift, 0.95)),
                       "max": float(result.shift.max())},
        "system": {"id": run.system_id, "version": run.system_version},
    }
    rr = RobustnessRun(
        scoring_run_id=run.id, replications=result.replications, seed=cfg.seed,
        parameters=parameters, sensitivity=result.sensitivity, rule=result.rule,
        unstable=result.unstable, job_id=job_id, created_by=actor.user_id,
        actor=actor.username,
    )
    repo.add_analysis(session, rr)
    repo.insert_results(session, rr.id, result.ids, result.median, result.p05, result.p95,
                        result.robust)
    audit.record(session, actor, "robustness.run", "robustness_run", rr.id,
                 after={"scoring_run_id": run.id, "replications": rr.replications,
                        "seed": rr.seed, "unstable": rr.unstable,
                        "ranked": parameters["ranked"], "factors": result.factors},
                 region_code=run.region_code)
    return rr


def _nominal_check(result: Analysis, stored: np.ndarray) -> float | None:
    if len(stored) != len(result.nominal_score) or len(stored) == 0:
        return None
    diff = np.abs(result.nominal_score - stored)
    return float(np.nanmax(diff)) if not np.isnan(diff).all() else None


# --------------------------------------------------------------------------- reading
@dataclass
class FactorRow:
    factor: str
    label: str
    levels: int | None
    s1: float | None
    s1_conf: float | None
    st: float | None
    st_conf: float | None


def sensitivity_rows(rr: RobustnessRun) -> list[FactorRow]:
    """The four factors in a fixed order (inactive ones with no indices)."""
    factors = (rr.parameters or {}).get("factors") or {}
    sens = rr.sensitivity or {}
    rows = []
    for f in FACTORS:
        s = sens.get(f) or {}
        rows.append(FactorRow(f, FACTOR_LABELS[f], factors.get(f), s.get("S1"),
                              s.get("S1_conf"), s.get("ST"), s.get("ST_conf")))
    return rows


def chart_option(rows: list[FactorRow], labels: dict[str, str] | None = None
                 ) -> dict[str, Any]:
    """ECharts option of the sensitivity bar chart (S1 and ST per factor); ``labels`` gives
    the factor names and the series names ``S1`` / ``ST`` in the page's language.
    Negative estimates (sampling noise around 0) are drawn as 0."""
    names = labels or {}

    def val(v: float | None) -> float:
        return round(max(0.0, v), 4) if v is not None else 0.0

    s1, st = names.get("S1", "S1"), names.get("ST", "ST")
    return {
        "tooltip": {"trigger": "axis"},
        "legend": {"data": [s1, st]},
        "grid": {"left": 40, "right": 20, "bottom": 40, "top": 40},
        "xAxis": {"type": "category", "data": [names.get(r.factor, r.label) for r in rows]},
        "yAxis": {"type": "value", "min": 0, "max": 1},
        "series": [
            {"name": s1, "type": "bar", "data": [val(r.s1) for r in rows]},
            {"name": st, "type": "bar", "data": [val(r.st) for r in rows]},
        ],
    }


def analysis_dict(session: Session, rr: RobustnessRun) -> dict[str, Any]:
    ranked = (rr.parameters or {}).get("ranked")
    return {
        "id": rr.id, "scoring_run_id": rr.scoring_run_id, "replications": rr.replications,
        "seed": rr.seed, "unstable": rr.unstable, "ranked": ranked,
        "parameters": rr.parameters, "rule": rr.rule,
        "sensitivity": {r.factor: {"label": r.label, "levels": r.levels, "S1": r.s1,
                                   "S1_conf": r.s1_conf, "ST": r.st, "ST_conf": r.st_conf}
                        for r in sensitivity_rows(rr)},
        "job_id": rr.job_id, "actor": rr.actor,
        "created_at": rr.created_at.isoformat() if rr.created_at else None,
    }


def result_count(session: Session, analysis_id: int) -> int:
    return repo.result_count(session, analysis_id)


def results_count_of_run(session: Session, run_id: int) -> int:
    return repo.results_count_of_run(session, run_id)


def latest_for_run(session: Session, scoring_run_id: int,
                   before: datetime | None = None) -> dict[int, Any]:
    """The latest analysis of a scoring run (made at or before ``before``: the public page
    shows what was published), by enterprise id: (median rank, p05, p95, robust); {} when
    there is none. The caller scopes the run."""
    return repo.latest_for_run(session, scoring_run_id, before)


def analysed_after(session: Session, scoring_run_id: int, when: datetime) -> bool:
    """Whether the run has an analysis made after ``when`` (its publication)."""
    latest = repo.latest_analysis(session, scoring_run_id)
    return latest is not None and latest.created_at > when
