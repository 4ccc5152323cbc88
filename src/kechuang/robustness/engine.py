"""Monte Carlo uncertainty and Sobol sensitivity analysis of a scoring run, in NumPy.

The run's *imputed* indicator matrix (n units × k indicators) is re-scored R times. Each
replication draws one level of each uncertain factor (docs/scoring/robustness.md):

- ``weights``: one of ``sets`` alternative weight sets, each weight × U(1 − a, 1 + a) and
  renormalised within its group (per cohort, so stage weights keep their per-stage sum);
  banded bonus/penalty items are rules, not judgement weights, and keep theirs;
- ``normalisation``: min-max, z-score (rescaled to the indicator's range as mid + z·span/10)
  or percentile rank, for every indicator whose own method is one of minmax / zscore /
  percentile / rank / distance (bands, goalposts and none keep theirs), within the
  indicator's own cohort and onto its own range;
- ``aggregation``: arithmetic or geometric mean for every group that aggregates by a mean
  (weighted sums — points totals, bonus and penalty groups — keep theirs);
- ``winsorisation``: one treatment level (e.g. skew/kurtosis winsorisation with winmax 0…5)
  replacing the treatment of every indicator that has one.

What does not change between replications is computed once: every distinct treated column
of every indicator, each normalised in every alternative way (per-cohort sorts and ranks
included). A replication then only picks arrays, aggregates the tree over whole columns and
ranks all units — no per-unit Python loop. The nominal choices (the system as written)
reproduce the run's own scores; the scalar output of the sensitivity analysis is the mean
absolute rank shift against that nominal ranking (the JRC/COINr choice). Sobol indices come
from SALib's Saltelli design on the discrete factors (a uniform u picks level ⌊u·L⌋).
Everything random derives from one seed: the same seed gives identical results.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from SALib.analyze import sobol as sobol_analyze
from SALib.sample import sobol as sobol_sample

from kechuang.kit.errors import InvalidInput
from kechuang.robustness.schemas import RobustnessConfig
from kechuang.scoring.engine import (
    Partition,
    Prepared,
    aggregate_arrays,
    normalise_array,
    prepare,
    rank_desc,
    tier_index,
    transform_array,
    treat_array,
)
from kechuang.scoring.schemas import CohortWeight
from kechuang.scoring.system import System

# the scoring engine's stages, vectorised (kechuang.scoring.engine: one implementation)
treat = treat_array
transform = transform_array
normalise = normalise_array
aggregate = aggregate_arrays

Progress = Callable[[str, int, int], None]

FACTORS = ("weights", "normalisation", "aggregation", "winsorisation")
FACTOR_LABELS = {"weights": "权重", "normalisation": "标准化方法", "aggregation": "汇总方法",
                 "winsorisation": "缩尾（异常值处理）"}
SWAPPABLE_NORMALISATION = frozenset({"minmax", "zscore", "percentile", "rank", "distance"})
MEAN_AGGREGATION = frozenset({"arithmetic_mean", "geometric_mean", "harmonic_mean"})
#: configuration name of an alternative normalisation → the internal method it runs
_ALT_METHOD = {"minmax": "minmax", "zscore": "zscore_rescaled", "percentile": "percentile"}


# --------------------------------------------------------------------------- inputs, output
@dataclass
class Inputs:
    """What the analysis reads from a run: the imputed value of every indicator, the cohort
    labels (stage, industry section, …) and who may appear on lists (not vetoed)."""

    system: System
    imputed: dict[str, np.ndarray]
    cohorts: dict[str, np.ndarray] = field(default_factory=dict)
    eligible: np.ndarray | None = None
    ids: np.ndarray | None = None

    @property
    def n(self) -> int:
        return len(next(iter(self.imputed.values()))) if self.imputed else 0


@dataclass
class Analysis:
    ids: np.ndarray  # ids of the ranked units (those with a nominal score)
    nominal_score: np.ndarray
    nominal_rank: np.ndarray
    median: np.ndarray
    p05: np.ndarray
    p95: np.ndarray
    robust: np.ndarray
    crosses: np.ndarray  # the 90% interval of the list place crosses a cut-off
    too_wide: np.ndarray
    #: list tier of the nominal ranking (index into rule.tiers; len(tiers) = none;
    #: −1 = not list-eligible), as the scoring run places it
    nominal_tier: np.ndarray
    shift: np.ndarray  # mean absolute rank shift of each replication
    sensitivity: dict[str, dict[str, float | None]]
    factors: dict[str, int]  # active factor → number of levels
    replications: int
    sensitivity_runs: int
    notes: list[str]
    rule: dict[str, Any]

    @property
    def unstable(self) -> int:
        return int((~self.robust).sum())


# --------------------------------------------------------------------------- the model
@dataclass(frozen=True)
class Choice:
    """One replication's levels (None = the nominal choice of the system)."""

    weights: int | None = None
    normalisation: int | None = None
    aggregation: int | None = None
    winsorisation: int | None = None


class Model:
    """The system's scoring, from imputed values up, with swappable choices."""

    def __init__(self, inputs: Inputs, config: RobustnessConfig,
                 rng: np.random.Generator) -> None:
        self.system = system = inputs.system
        self.config = config
        n = inputs.n
        self.n = n
        self.notes: list[str] = []
        missing = [c for c in system.indicators if c not in inputs.imputed]
        if missing:
            raise InvalidInput(f"运行缺少指标 {'、'.join(missing)} 的插补值，无法分析",
                               f"the run lacks imputed values of {', '.join(missing)}")
        self.partitions: dict[str | None, Partition] = {}
        need = system.cohort_columns()
        absent = sorted(c for c in need if c not in inputs.cohorts)
        if absent:
            raise InvalidInput(f"运行缺少分组列 {'、'.join(absent)}，无法分析",
                               f"the run lacks cohort columns {', '.join(absent)}")
        self.roots = [c for c in system.order
                      if (system.indicators.get(c) or system.groups[c]).parent is None]
        # ---- treatment variants and their normalisations (computed once)
        wz = config.winsorisation
        levels = list(wz.levels) if wz.enabled else []
        nz = config.normalisation
        alt_methods = [_ALT_METHOD[m] for m in nz.methods] if nz.enabled else []
        self.columns: dict[str, dict[tuple[int, str], np.ndarray]] = {}
        self.level_variant: dict[str, list[int]] = {}
        self.nominal_variant: dict[str, int] = {}
        self.swappable: set[str] = set()
        treatable: list[str] = []
        for code, ind in system.indicators.items():
            x = np.asarray(inputs.imputed[code], dtype=np.float64)
            if x.shape != (n,):
                raise InvalidInput(f"指标 {code} 的插补值长度 {x.shape} 与企业数 {n} 不符",
                                   "misaligned columns")
            variants: list[np.ndarray] = []

            def add(arr: np.ndarray, variants: list[np.ndarray] = variants) -> int:
                for j, seen in enumerate(variants):
                    if np.array_equal(seen, arr, equal_nan=True):
                        return j
                variants.append(arr)
                return len(variants) - 1

            self.nominal_variant[code] = add(transform(treat(x, ind.treat), ind.transform))
            if ind.treat.method != "none" and levels:
                treatable.append(code)
                self.level_variant[code] = [add(transform(treat(x, lv), ind.transform))
                                            for lv in levels]
            part = self.partition(ind.normalise.within, inputs)
            cols: dict[tuple[int, str], np.ndarray] = {}
            swap = ind.normalise.method in SWAPPABLE_NORMALISATION and bool(alt_methods)
            if swap:
                self.swappable.add(code)
            for j, arr in enumerate(variants):
                cols[(j, "nominal")] = normalise(arr, ind.normalise, ind.direction, part)
                for m in alt_methods if swap else []:
                    cols[(j, m)] = (cols[(j, "nominal")] if m == ind.normalise.method
                                    else normalise(arr, ind.normalise, ind.direction, part, m))
            self.columns[code] = cols
        self.alt_methods = alt_methods
        self.levels = levels
        # ---- aggregation
        ag = config.aggregation
        self.agg_methods = list(ag.methods) if ag.enabled else []
        self.mean_groups = {g for g, grp in system.groups.items()
                            if grp.aggregate.method in MEAN_AGGREGATION}
        # ---- weights: nominal (scalar or per unit) and noise sets
        self.base_weight: dict[str, float | np.ndarray] = {}
        for code in system.order:
            w = system.node_weight(code)
            if isinstance(w, CohortWeight):
                labels = pd.Series(inputs.cohorts[w.by], dtype=object)
                mapped = labels.map({k: float(v) for k, v in w.values.items()})
                self.base_weight[code] = mapped.fillna(float(w.default)).to_numpy(
                    dtype=np.float64)
            else:
                self.base_weight[code] = float(w)
        wf = config.weights
        self.noisy = [c for c in system.order if c not in self.roots and not self._fixed(c)]
        self.noise_sets: np.ndarray | None = None
        if wf.enabled and wf.noise > 0 and self.noisy:
            self.noise_sets = rng.uniform(1 - wf.noise, 1 + wf.noise,
                                          size=(wf.sets, len(self.noisy)))
        self.noisy_pos = {c: i for i, c in enumerate(self.noisy)}
        self._cache: dict[int, Prepared] = {}
        # ---- which factors act on this system
        self.factors: dict[str, int] = {}
        if self.noise_sets is not None:
            self.factors["weights"] = wf.sets
        elif wf.enabled:
            self.notes.append("权重因素未生效：噪声为 0 或没有可扰动的权重")
        if self.swappable:
            self.factors["normalisation"] = len(alt_methods)
        elif nz.enabled:
            self.notes.append("标准化因素未生效：没有使用 minmax/zscore/percentile/rank/"
                              "distance 的指标（分档、目标值法指标保持原方法）")
        if self.mean_groups and self.agg_methods:
            self.factors["aggregation"] = len(self.agg_methods)
        elif ag.enabled:
            self.notes.append("汇总因素未生效：没有按平均值汇总的分组（加权求和保持原方法）")
        if treatable:
            self.factors["winsorisation"] = len(levels)
        elif wz.enabled:
            self.notes.append("缩尾因素未生效：没有设置异常值处理的指标")

    def partition(self, column: str | None, inputs: Inputs) -> Partition:
        if column not in self.partitions:
            labels = inputs.cohorts[column] if column is not None else None
            part = Partition(labels, self.n)
            self.partitions[column] = part
            singles = [lbl for lbl, idx in zip(part.labels, part.members, strict=True)
                       if len(idx) == 1]
            if column is not None and singles:
                shown = "、".join(str(s) for s in singles[:10])
                self.notes.append(f"分组列 {column} 中 {shown} 只有 1 家企业：组内标准化按引擎"
                                  "规则取区间中点（z-score 取 0）")
        return self.partitions[column]

    def _fixed(self, code: str) -> bool:
        """Banded point items (bonus 加分, penalty 负面) are rules, not judgement weights."""
        system = self.system
        if code in system.indicators:
            return system.indicators[code].normalise.method == "bands"
        return all(self._fixed(c) for c in system.groups[code].children)

    # ---- one replication
    def _weights(self, group: str, choice: Choice) -> list[float | np.ndarray]:
        kids = self.system.groups[group].children
        base = [self.base_weight[c] for c in kids]
        if choice.weights is None or self.noise_sets is None:
            return base
        f = self.noise_sets[choice.weights]
        noisy = [i for i, c in enumerate(kids) if c in self.noisy_pos]
        if not noisy:
            return base
        out = list(base)
        for i in noisy:
            out[i] = base[i] * f[self.noisy_pos[kids[i]]]
        scale = sum(base[i] for i in noisy) / sum(out[i] for i in noisy)
        for i in noisy:
            out[i] = out[i] * scale
        return out

    def score(self, code: str, choice: Choice) -> np.ndarray:
        system = self.system
        if code in system.indicators:
            variant = self.nominal_variant[code]
            if choice.winsorisation is not None and code in self.level_variant:
                variant = self.level_variant[code][choice.winsorisation]
            method = "nominal"
            if choice.normalisation is not None and code in self.swappable:
                method = self.alt_methods[choice.normalisation]
            return self.columns[code][(variant, method)]
        g = system.groups[code]
        kids = [self.score(c, choice) for c in g.children]
        prepared = [self._prepared(c, k) for c, k in zip(g.children, kids, strict=True)]
        method = g.aggregate.method
        alternative = False
        if choice.aggregation is not None and code in self.mean_groups:
            alt = self.agg_methods[choice.aggregation]
            alternative = alt != method
            method = alt
        return aggregate(kids, self._weights(code, choice), method, g.aggregate.missing,
                         self.config.aggregation.geometric_floor if alternative else None,
                         prepared)

    def _prepared(self, code: str, column: np.ndarray) -> Prepared:
        """Presence mask and NaN-free values of a child; an indicator's precomputed
        columns are prepared once and kept (they do not change between replications)."""
        if code not in self.system.indicators:
            return prepare(column)
        key = id(column)
        if key not in self._cache:
            self._cache[key] = prepare(column)
        return self._cache[key]

    def evaluate(self, choice: Choice) -> np.ndarray:
        return self.score(self.roots[0], choice)


# --------------------------------------------------------------------------- design
def design(factors: dict[str, int], replications: int, seed: int
           ) -> tuple[np.ndarray, int, int]:
    """The replications' levels (R × D ints): a Saltelli/Sobol design of N·(D + 2) rows
    (N the largest power of two that fits in R) for the sensitivity indices, then plain
    random draws up to R. Returns (levels, N, rows of the Saltelli design)."""
    names = list(factors)
    d = len(names)
    rng = np.random.default_rng(seed)
    n_base = 0
    if d:
        n_base = 1 << int(math.floor(math.log2(max(1, replications // (d + 2)))))
        if n_base * (d + 2) > replications or n_base < 2:
            n_base = 0
    u = np.empty((0, d))
    if n_base:
        problem = {"num_vars": d, "names": names, "bounds": [[0.0, 1.0]] * d}
        u = sobol_sample.sample(problem, n_base, calc_second_order=False, scramble=True,
                                seed=seed)
    extra = rng.random((replications - len(u), d))
    u = np.vstack([u, extra]) if d else np.zeros((replications, 0))
    sizes = np.array([factors[n] for n in names], dtype=np.int64)
    levels = np.minimum((u * sizes).astype(np.int64), sizes - 1) if d else np.zeros(
        (replications, 0), dtype=np.int64)
    return levels, n_base, n_base * (d + 2)


def indices(names: list[str], y: np.ndarray, seed: int, resamples: int = 100,
            confidence: float = 0.95) -> dict[str, dict[str, float | None]]:
    """First-order S1 and total ST Sobol indices (with confidence half-widths) of each factor
    on ``y``, evaluated on the Saltelli design of :func:`design`."""
    def clean(v: Any) -> float | None:
        f = float(v)
        return None if math.isnan(f) or math.isinf(f) else f

    if not names or len(y) == 0 or float(np.var(y)) == 0.0:
        return {n: {"S1": None, "S1_conf": None, "ST": None, "ST_conf": None} for n in names}
    problem = {"num_vars": len(names), "names": names, "bounds": [[0.0, 1.0]] * len(names)}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # constant subsets: the indices are then 0 or NaN
        res = sobol_analyze.analyze(problem, np.asarray(y, dtype=float),
                                    calc_second_order=False, num_resamples=resamples,
                                    conf_level=confidence, seed=seed)
    return {n: {k: clean(res[k][i]) for k in ("S1", "S1_conf", "ST", "ST_conf")}
            for i, n in enumerate(names)}


# --------------------------------------------------------------------------- the analysis
def analyse(inputs: Inputs, config: RobustnessConfig, progress: Progress | None = None
            ) -> Analysis:
    """Run the Monte Carlo analysis of :mod:`this module <kechuang.robustness.engine>`."""
    step = progress or (lambda _label, _done, _total: None)
    reps = int(config.replications)
    if reps < 1:
        raise InvalidInput(f"重复次数应至少为 1，实为 {reps}", "replications must be ≥ 1")
    if inputs.n == 0:
        raise InvalidInput("该评分运行没有任何企业结果，无法做稳健性分析",
                           "the scoring run has no results")
    step("预计算 precomputing", 0, reps)
    rng = np.random.default_rng(config.seed)
    model = Model(inputs, config, rng)
    notes = list(model.notes)
    nominal_all = model.evaluate(Choice())
    keep = np.flatnonzero(~np.isnan(nominal_all))
    if keep.size == 0:
        raise InvalidInput("该评分运行中没有任何企业有总分，无法排名",
                           "no unit has a total score")
    if keep.size < inputs.n:
        notes.append(f"{inputs.n - keep.size} 家企业没有总分（无任何指标数据），不参与排名")
    m = keep.size
    nominal = nominal_all[keep]
    nominal_rank, nominal_order, nominal_start = rank_desc(nominal)
    ids = (np.asarray(inputs.ids)[keep] if inputs.ids is not None else keep.astype(np.int64))

    # list cohorts among the list-eligible units, for the cut-off rule
    rule = config.rule
    eligible = (np.ones(inputs.n, dtype=bool) if inputs.eligible is None
                else np.asarray(inputs.eligible, dtype=bool))[keep]
    el_pos = np.flatnonzero(eligible)
    local = np.full(m, -1, dtype=np.int64)
    local[el_pos] = np.arange(el_pos.size)
    if rule.cohort is not None and rule.cohort not in inputs.cohorts:
        raise InvalidInput(f"名单分组列 “{rule.cohort}” 不在运行结果中（规则 rule.cohort）",
                           f"list cohort column {rule.cohort} is not in the run")
    labels = inputs.cohorts[rule.cohort][keep][el_pos] if rule.cohort is not None else None
    lpart = Partition(labels, el_pos.size)
    cohort_n = np.array([len(ix) for ix in lpart.members], dtype=np.float64)
    singles = [str(lbl) for lbl, ix in zip(lpart.labels, lpart.members, strict=True)
               if len(ix) == 1]
    if rule.cohort is not None and singles:
        notes.append(f"名单分组 {rule.cohort} 中 {'、'.join(singles[:10])} 只有 1 家可上榜企业："
                     "其组内名次恒为第 1，按切分线规则不会跨档")
    cut = np.asarray(rule.cutoffs, dtype=np.float64)
    denominator = np.maximum(cohort_n, 1) if rule.by == "percentile" else np.ones_like(cohort_n)
    el_codes = lpart.codes

    # cohort code of each ranked unit; units that may not appear on lists (vetoed) get an
    # extra code of their own, ignored; small codes sort by radix
    n_groups = len(lpart.labels)
    code_type = np.int8 if n_groups < 127 else np.int16 if n_groups < 32767 else np.int32
    code_all = np.full(m, n_groups, dtype=code_type)
    code_all[el_pos] = el_codes
    denominator = np.append(denominator, 1.0)
    positions = np.arange(m)

    def tiers_of(order: np.ndarray, start: np.ndarray) -> np.ndarray:
        """List tier (0 = best cut-off … len(cutoffs) = none) of every eligible unit, from
        its rank within its cohort among the eligible (ties share the best rank), as the
        runs place them: rank / cohort size ≤ cut-off (percentile) or rank ≤ cut-off.
        A stable radix sort of the cohort codes along the overall order groups each
        cohort in rank order."""
        by_code = np.argsort(code_all[order], kind="stable")
        cs = code_all[order][by_code]
        ts = start[by_code]
        new_g = np.ones(m, dtype=bool)
        new_g[1:] = cs[1:] != cs[:-1]
        new_t = new_g.copy()
        new_t[1:] |= ts[1:] != ts[:-1]
        g_start = np.maximum.accumulate(np.where(new_g, positions, 0))
        t_start = np.maximum.accumulate(np.where(new_t, positions, 0))
        measure = (t_start - g_start + 1) / denominator[cs]
        tier_all = np.empty(m, dtype=np.int8)
        tier_all[order[by_code]] = tier_index(measure, cut)
        return tier_all[el_pos]

    nominal_tier = np.full(m, -1, dtype=np.int8)
    nominal_tier[el_pos] = tiers_of(nominal_order, nominal_start)

    factors = model.factors
    names = list(factors)
    levels, n_base, sa_rows = design(factors, reps, config.seed)
    if names and not n_base:
        notes.append(f"重复次数 {reps} 太少，未计算敏感性指数（需要至少 2×(因素数+2) = "
                     f"{2 * (len(names) + 2)} 次）")
    ranks = np.empty((reps, m), dtype=np.int32)
    tiers = np.empty((reps, el_pos.size), dtype=np.int8)
    shift = np.empty(reps, dtype=np.float64)
    every = max(1, reps // 100)
    for r in range(reps):
        lv = dict(zip(names, (int(v) for v in levels[r]), strict=True))
        choice = Choice(**lv)
        s = model.evaluate(choice)[keep]
        s = np.where(np.isnan(s), -np.inf, s)
        rk, order, start = rank_desc(s)
        ranks[r] = rk
        shift[r] = float(np.abs(rk - nominal_rank).mean())
        tiers[r] = tiers_of(order, start)
        if (r + 1) % every == 0 or r + 1 == reps:
            step(f"重复 replication {r + 1}/{reps}", r + 1, reps)

    # per-unit quantiles, in column chunks to bound memory
    median = np.empty(m)
    p05 = np.empty(m)
    p95 = np.empty(m)
    chunk = max(1, 4_000_000 // max(1, reps))
    for a in range(0, m, chunk):
        q = np.quantile(ranks[:, a:a + chunk], [0.05, 0.5, 0.95], axis=0)
        p05[a:a + chunk], median[a:a + chunk], p95[a:a + chunk] = q[0], q[1], q[2]
    del ranks
    # the tier interval: empirical 5% and 95% quantiles (inverted CDF) of the tier
    crosses = np.zeros(m, dtype=bool)
    if el_pos.size:
        ntiers = len(cut) + 1
        cum = np.cumsum(np.stack([(tiers == t).sum(axis=0) for t in range(ntiers)]), axis=0)
        t_lo = np.argmax(cum >= 0.05 * reps, axis=0)
        t_hi = np.argmax(cum >= 0.95 * reps, axis=0)
        crosses[el_pos] = t_lo != t_hi
    del tiers
    too_wide = np.zeros(m, dtype=bool)
    if rule.max_width_share is not None:
        too_wide = (p95 - p05) > rule.max_width_share * m
    robust = ~(crosses | too_wide)

    sensitivity = indices(names, shift[:sa_rows], config.seed, config.sensitivity.resamples,
                          config.sensitivity.confidence) if n_base else {}
    if n_base and all(v["ST"] is None for v in sensitivity.values()):
        notes.append("在各替代选择下排名完全不变：敏感性指数无定义")
    step("完成 done", reps, reps)
    return Analysis(
        ids=ids, nominal_score=nominal, nominal_rank=nominal_rank, median=median, p05=p05,
        p95=p95, robust=robust, crosses=crosses, too_wide=too_wide,
        nominal_tier=nominal_tier, shift=shift,
        sensitivity=sensitivity, factors=dict(factors), replications=reps,
        sensitivity_runs=sa_rows, notes=notes,
        rule={**rule.model_dump(mode="json"), "interval": [0.05, 0.95],
              "max_width_ranks": (None if rule.max_width_share is None
                                  else rule.max_width_share * m)},
    )
