"""The scoring engine: raw → imputed → treated → normalised → aggregated → ranked, set-based
with Ibis (DuckDB in-process by default). Loops run over indicators and tree nodes, never over
units; the outlier treatment iterates at most ``winmax`` times per indicator, each step one
aggregate query.

Input: a wide Ibis table with one row per unit (and per year for panel data) holding the
unit id, the cohort columns and the data columns the formulas read (:func:`from_long` turns
a long unit × metric × year table into that). Output: a :class:`Result` with the score table
and the per-stage trace, both Ibis tables on the same backend, so a database-backed run can
persist them without a round trip through Python.

Documented rules for degenerate cases (docs/scoring/README.md, tested in tests/scoring):
- zero variance in a normalisation partition (including a cohort with a single member):
  minmax, percentile and distance give the midpoint of the range, zscore gives 0;
- a value still missing after imputation stays missing; groups ignore missing children and
  renormalise the weights present (``missing: ignore``), a group with no child present is
  missing and gets no rank;
- an indicator with no value for any unit is reported in ``Result.notes``;
- geometric and harmonic means: a child score of 0 makes the group 0 (the limit), a negative
  child score is an error naming the group, the child and a unit.
"""

from __future__ import annotations

import math
import uuid
from dataclasses import dataclass, field
from typing import Any

import ibis
import ibis.expr.types as ir
import numpy as np
import pandas as pd

from kechuang.kit.errors import InvalidInput
from kechuang.scoring import expressions as ex
from kechuang.scoring.schemas import CohortWeight, NormaliseSpec, TransformSpec, TreatSpec
from kechuang.scoring.system import Indicator, System

F64 = "float64"


@dataclass
class Result:
    scores: ir.Table  # unit id, one column per node code, <group>_rank per group node
    trace: ir.Table  # unit, indicator, raw, imputed, treated, normalised, weight, contribution
    year: int | None
    notes: list[str] = field(default_factory=list)
    treatment: dict[str, dict[str, Any]] = field(default_factory=dict)
    #: one row per unit with every stage side by side (``raw__<ind>``, ``imp__``, ``trt__``,
    #: ``nrm__``, ``w__``, ``score__<node>``, ``veto__<code>``): what a database run stores
    #: column-wise without pivoting the long trace back
    wide: ir.Table | None = None


def from_long(table: ir.Table, unit: str, metric: str = "metric", year: str = "year",
              value: str = "value") -> ir.Table:
    """Pivot a long unit × metric × year table to the wide layout :func:`compute` reads."""
    return table.pivot_wider(id_cols=[unit, year], names_from=metric, values_from=value)


def _null() -> ir.Value:
    return ibis.null(F64)


def _materialise(con: Any, expr: ir.Table) -> ir.Table:
    """Compute an intermediate stage once (a temporary table on DuckDB, a cached DataFrame on
    Spark) so later stages do not recompute it; nothing is written to a catalogue."""
    if getattr(con, "name", "") == "duckdb":
        name = f"_kc_{uuid.uuid4().hex[:12]}"
        return con.create_table(name, expr, temp=True)
    return expr.cache()


def _scalar(expr: ir.Scalar) -> float | None:
    value = expr.execute()
    if value is None:
        return None
    try:
        f = float(value)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(f) else f


def _window(t: ir.Table, within: str | None, **kw: Any) -> Any:
    return ibis.window(group_by=[t[within]] if within else None, **kw)


# --------------------------------------------------------------------------- stages
def _impute(t: ir.Table, ind: Indicator, raw: ir.Value) -> ir.Value:
    m = ind.impute.method
    x: Any = raw
    if m == "none":
        return x
    if m == "zero":
        return x.fill_null(0.0)
    if m == "latest":
        return ibis.coalesce(x, t[f"latest__{ind.code}"])
    group = ind.impute.group if m.startswith("group_") else None
    w = _window(t, group)
    stat = x.mean().over(w) if m.endswith("mean") else x.median().over(w)
    return ibis.coalesce(x, stat.cast(F64))


def skew_kurt(n: int, mean: float, m2: float, m3: float, m4: float
               ) -> tuple[float, float] | None:
    """Sample skewness G1 and excess kurtosis G2 (pandas ``.skew()`` / ``.kurt()``) from the
    count, the mean and the central power sums Σd², Σd³, Σd⁴."""
    if n < 4:
        return None
    m2, m3, m4 = m2 / n, m3 / n, m4 / n
    if m2 <= 1e-14 * max(1.0, mean**2):
        return None
    g1 = m3 / m2**1.5
    skew = g1 * math.sqrt(n * (n - 1)) / (n - 2)
    g2 = m4 / m2**2 - 3
    kurt = (n - 1) / ((n - 2) * (n - 3)) * ((n + 1) * g2 + 6)
    return skew, kurt


def _simple_treat(spec: TreatSpec, x: Any) -> tuple[Any, dict[str, Any]]:
    if spec.method == "percentile_cap":
        lo = _scalar(x.quantile(spec.lower)) if spec.lower else None
        hi = _scalar(x.quantile(spec.upper)) if spec.upper is not None else None
        return x.clip(lower=lo, upper=hi), {"method": spec.method, "lower": lo, "upper": hi}
    if spec.method == "sd_cap":
        mean, sd = _scalar(x.mean()), _scalar(x.std())
        if mean is None or sd is None:
            return x, {"method": spec.method, "applied": False}
        lo, hi = mean - spec.k * sd, mean + spec.k * sd
        return x.clip(lower=lo, upper=hi), {"method": spec.method, "lower": lo, "upper": hi}
    return x, {"method": "none"}


def _f(frame: Any, key: str) -> float | None:
    value = frame[key].iloc[0]
    if value is None:
        return None
    f = float(value)
    return None if math.isnan(f) else f


def _treat_all(t: ir.Table, inds: list[Indicator]) -> dict[str, tuple[Any, dict[str, Any]]]:
    """Outlier treatment of every indicator column. skew_kurt (COINr) runs in lock-step over
    all indicators that need it: two aggregate queries per winsorisation round in total."""
    out: dict[str, tuple[Any, dict[str, Any]]] = {}
    state: dict[str, dict[str, Any]] = {}
    for i in inds:
        x = t[f"imp__{i.code}"]
        if i.treat.method == "skew_kurt":
            state[i.code] = {"x": x, "lo": None, "hi": None, "step": 0, "spec": i.treat,
                             "info": {"method": "skew_kurt", "winsorised": 0, "log": False}}
        else:
            out[i.code] = _simple_treat(i.treat, x)
    while state:
        cur = {c: (st["x"] if st["lo"] is None and st["hi"] is None
                   else st["x"].clip(lower=st["lo"], upper=st["hi"]))
               for c, st in state.items()}
        first_aggs: dict[str, Any] = {}
        for c, v in cur.items():
            first_aggs.update({f"n__{c}": v.count(), f"mean__{c}": v.mean(),
                               f"max__{c}": v.max(), f"min__{c}": v.min()})
        a = t.aggregate(**first_aggs).execute()
        second_aggs: dict[str, Any] = {}
        for c, v in cur.items():
            mean, top, bottom = _f(a, f"mean__{c}"), _f(a, f"max__{c}"), _f(a, f"min__{c}")
            if mean is None or top is None or bottom is None:
                continue
            d = v - mean
            second_aggs.update({
                f"m2__{c}": (d * d).sum(), f"m3__{c}": (d * d * d).sum(),
                f"m4__{c}": (d * d * d * d).sum(),
                f"nmax__{c}": v.max(where=v < top), f"nmin__{c}": v.min(where=v > bottom),
            })
        b = t.aggregate(**second_aggs).execute() if second_aggs else None
        for c in list(state):
            st = state[c]
            info, spec = st["info"], st["spec"]
            stats = None
            if b is not None and f"m2__{c}" in b.columns:
                stats = skew_kurt(int(a[f"n__{c}"].iloc[0]), float(a[f"mean__{c}"].iloc[0]),
                                   *(float(b[f"{k}__{c}"].iloc[0]) for k in ("m2", "m3", "m4")))
            failing = False
            if stats is not None:
                info.update(skew=stats[0], kurt=stats[1])
                failing = abs(stats[0]) >= spec.skew and stats[1] >= spec.kurt
            if failing and st["step"] == spec.winmax:
                x = st["x"]
                lo_v, hi_v = _scalar(x.min()), _scalar(x.max())
                assert lo_v is not None and hi_v is not None
                info.update(log=True, winsorised=0, lower=None, upper=None)
                out[c] = ((x + (-lo_v + 0.01 * (hi_v - lo_v))).ln(), info)
                del state[c]
                continue
            nxt = None
            if failing and b is not None:
                nxt = _f(b, f"nmax__{c}") if stats and stats[0] > 0 else _f(b, f"nmin__{c}")
            if not failing or nxt is None:
                info.update(lower=st["lo"], upper=st["hi"])
                out[c] = (cur[c], info)
                del state[c]
                continue
            if stats and stats[0] > 0:
                st["hi"] = nxt
            else:
                st["lo"] = nxt
            st["step"] += 1
            info["winsorised"] = st["step"]
    return out


def _transform(ind: Indicator, x: Any) -> Any:
    spec = ind.transform
    if spec.method == "log":
        return ibis.ifelse(x > 0, x.ln(), _null())
    if spec.method == "sqrt":
        return ibis.ifelse(x >= 0, x.sqrt(), _null())
    if spec.method == "cap":
        return x.clip(lower=spec.min, upper=spec.max)
    return x


def _normalise(t: ir.Table, spec: NormaliseSpec, direction: int, x: Any, code: str
               ) -> Any:
    lo, hi = spec.out_range
    span = hi - lo
    mid = (lo + hi) / 2
    m = spec.method
    if m == "none":
        return x
    if m == "bands":
        assert spec.bands is not None
        branches = [(x >= float(bound), ibis.literal(float(points), type=F64))
                    for bound, points in spec.bands]
        return ibis.ifelse(x.isnull(), _null(),
                           ibis.cases(*branches, else_=ibis.literal(float(spec.otherwise))))
    if m == "goalposts":
        assert spec.min is not None and spec.max is not None
        g_lo, g_hi = float(spec.min), float(spec.max)
        c = x.clip(lower=g_lo, upper=g_hi)
        frac = (c - g_lo) / (g_hi - g_lo) if direction > 0 else (g_hi - c) / (g_hi - g_lo)
        return lo + span * frac
    v = x * float(direction)
    w = _window(t, spec.within)
    if m == "minmax":
        vmin, vmax = v.min().over(w), v.max().over(w)
        rng = vmax - vmin
        return ibis.ifelse(v.isnull(), _null(),
                           ibis.ifelse(rng > 0, lo + span * (v - vmin) / rng.nullif(0), mid))
    if m == "zscore":
        sd = v.std().over(w)
        return ibis.ifelse(v.isnull(), _null(),
                           ibis.ifelse(sd > 0, (v - v.mean().over(w)) / sd.nullif(0), 0.0))
    if m == "distance":
        assert spec.target is not None
        target = float(spec.target) * direction
        vmin = v.min().over(w)
        den = target - vmin
        frac = ((v - vmin) / den.nullif(0)).clip(lower=0.0, upper=1.0)
        return ibis.ifelse(v.isnull(), _null(), ibis.ifelse(den > 0, lo + span * frac, hi))
    # rank-based: the 0-based ascending min rank among present values is precomputed
    rank0 = t[f"rk__{code}"].cast(F64)
    if m == "rank":
        return ibis.ifelse(v.isnull(), _null(), rank0 + 1)
    n = v.count().over(w).cast(F64)
    vmin, vmax = v.min().over(w), v.max().over(w)
    return ibis.ifelse(v.isnull(), _null(),
                       ibis.ifelse(vmax > vmin, lo + span * rank0 / (n - 1).nullif(0), mid))


def _rank0(t: ir.Table, spec: NormaliseSpec, direction: int, x: Any) -> Any:
    """0-based ascending min rank of x·direction among present values (nulls last)."""
    v = x * float(direction)
    ordered = ibis.window(group_by=[t[spec.within]] if spec.within else None,
                          order_by=[v.isnull(), v])
    return ibis.rank().over(ordered)


def _weight_expr(t: ir.Table, weight: float | CohortWeight) -> Any:
    if isinstance(weight, CohortWeight):
        col = t[weight.by].cast("string")
        branches = [(col == key, ibis.literal(float(v), type=F64))
                    for key, v in weight.values.items()]
        return ibis.cases(*branches, else_=ibis.literal(float(weight.default), type=F64))
    return ibis.literal(float(weight), type=F64)


def _sum(values: list[Any]) -> Any:
    total = values[0]
    for v in values[1:]:
        total = total + v
    return total


# --------------------------------------------------------------------------- main entry
def _check_columns(system: System, data: ir.Table) -> None:
    cols = set(data.columns)
    need = {system.spec.unit.id} | system.inputs() | system.cohort_columns()
    missing = sorted(need - cols)
    if missing:
        raise InvalidInput(
            f"数据缺少列：{'、'.join(missing)}（指标体系 {system.spec.id} {system.version} 需要）",
            f"data lacks columns: {', '.join(missing)}",
        )
    for name in sorted(system.inputs()):
        dtype = data[name].type()
        if not (dtype.is_numeric() or dtype.is_boolean() or dtype.is_null()):
            raise InvalidInput(f"数据列 “{name}” 应为数值（实为 {dtype}）",
                               f"column {name} should be numeric")


def compute(system: System, data: ir.Table, *, year: int | None = None,
            con: Any = None) -> Result:
    """Score every unit of ``data`` (for ``year``; default the latest year present)."""
    con = con or data._find_backend()
    _check_columns(system, data)
    uid = system.spec.unit.id
    ycol = system.spec.unit.year
    notes: list[str] = []
    if ycol not in data.columns:
        data = data.mutate(**{ycol: ibis.literal(0, type="int64")})
        panel_year = False
    else:
        panel_year = True
        nulls = _scalar(data[ycol].isnull().sum())
        if nulls:
            raise InvalidInput(f"年份列 “{ycol}” 有 {int(nulls)} 行为空", "empty year values")
    data = data.mutate(**{ycol: data[ycol].cast("int64"), "_present": ibis.literal(1)})
    bounds = data.aggregate(lo=data[ycol].min(), hi=data[ycol].max(),
                            n=data[ycol].count()).execute()
    n_rows = int(bounds["n"].iloc[0])
    if n_rows == 0:
        raise InvalidInput("数据为空", "no data rows")
    if n_rows != int(data.select(uid, ycol).distinct().count().execute()):
        dup = (data.group_by([uid, ycol]).aggregate(c=data.count()).filter(ibis._.c > 1)
               .limit(1).execute())
        where = f"单位 {dup[uid].iloc[0]}" + (f"、{dup[ycol].iloc[0]} 年" if panel_year else "")
        raise InvalidInput(f"数据中 {where} 出现多行（每个单位每年只能一行）",
                           "duplicate unit/year rows")
    y_lo, y_hi = int(bounds["lo"].iloc[0]), int(bounds["hi"].iloc[0])
    target = y_hi if year is None else int(year)
    if not y_lo <= target <= y_hi:
        raise InvalidInput(f"数据中没有 {target} 年（数据覆盖 {y_lo}–{y_hi} 年）",
                           f"no data for {target}")

    # dense unit × year grid so window functions over rows are windows over years
    units = data.select(uid).distinct()
    span_years = ibis.range(ibis.literal(y_lo, type="int64"),
                            ibis.literal(target + 1, type="int64"))
    grid = units.mutate(**{ycol: span_years.unnest()})
    wanted = [uid, ycol, "_present", *sorted((system.inputs() | system.cohort_columns())
                                             - {uid, ycol})]
    panel = grid.left_join(data.select(*dict.fromkeys(wanted)), [uid, ycol]).select(
        uid, ycol, *[c for c in dict.fromkeys(wanted) if c not in (uid, ycol)]
    )
    panel = _materialise(con, panel)
    compiler = ex.IbisCompiler(panel, uid, ycol)
    inds = list(system.indicators.values())
    raw_cols = {f"raw__{i.code}": compiler.compile(i.formula).cast(F64) for i in inds}
    for v in system.spec.veto:
        cond = compiler.compile(ex.fold(ex.parse(v.condition)))
        raw_cols[f"veto__{v.code}"] = cond.cast("boolean").fill_null(False)
    panel_raw = panel.mutate(**raw_cols)
    cohort = sorted(system.cohort_columns())
    cur = panel_raw.filter((panel_raw[ycol] == target) & panel_raw["_present"].notnull())
    cur = cur.select(uid, *cohort, *raw_cols)
    latest = [i for i in inds if i.impute.method == "latest"]
    if latest:
        past = panel_raw.filter(panel_raw[ycol] <= target)
        aggs = {
            f"latest__{i.code}": past[f"raw__{i.code}"].argmax(
                ibis.ifelse(past[f"raw__{i.code}"].notnull(), past[ycol], ibis.null("int64"))
            )
            for i in latest
        }
        cur = cur.left_join(past.group_by(uid).aggregate(**aggs), uid).drop(f"{uid}_right")
    cur = _materialise(con, cur)

    # imputation
    imp = cur.mutate(**{f"imp__{i.code}": _impute(cur, i, cur[f"raw__{i.code}"]).cast(F64)
                        for i in inds})
    imp = _materialise(con, imp)
    present = imp.aggregate(**{i.code: imp[f"imp__{i.code}"].count() for i in inds}).execute()
    for i in inds:
        if int(present[i.code].iloc[0]) == 0:
            notes.append(f"指标 {i.code}（{i.name}）在 {target} 年没有任何单位有数据，"
                         "不参与汇总")

    # treatment and transform
    treatment: dict[str, dict[str, Any]] = {}
    trt_cols = {}
    treated = _treat_all(imp, inds)
    for i in inds:
        expr, info = treated[i.code]
        treatment[i.code] = info
        if info.get("log"):
            notes.append(f"指标 {i.code}：偏度/峰度经 {i.treat.winmax} 次缩尾仍超限，改用对数变换")
        elif info.get("winsorised"):
            notes.append(f"指标 {i.code}：缩尾 {info['winsorised']} 次")
        trt_cols[f"trt__{i.code}"] = _transform(i, expr).cast(F64)
    trt = _materialise(con, imp.mutate(**trt_cols))

    # normalisation
    # (windows sort their whole payload, so they run on a narrow table joined back by unit)
    base = _materialise(con, trt.select(uid, *cohort, *trt_cols))
    narrow = base
    # DuckDB slows down sharply with many differently ordered windows in one SELECT, so each
    # rank window runs in its own narrow sub-query, joined back by unit
    for i in inds:
        if i.normalise.method in ("percentile", "rank"):
            part = base.select(uid, **{f"rk__{i.code}": _rank0(
                base, i.normalise, i.direction, base[f"trt__{i.code}"])})
            narrow = narrow.join(part, uid)
    narrow = _materialise(con, narrow)
    normalised = _materialise(con, narrow.select(uid, **{
        f"nrm__{i.code}": _normalise(narrow, i.normalise, i.direction,
                                     narrow[f"trt__{i.code}"], i.code).cast(F64)
        for i in inds
    }))
    nrm = trt.join(normalised, uid)

    # aggregation up the tree, with the effective weight of each indicator for the trace
    scores: dict[str, Any] = {}
    shares: dict[str, Any] = {}

    def score(code: str) -> Any:
        if code in scores:
            return scores[code]
        if code in system.indicators:
            scores[code] = nrm[f"nrm__{code}"]
            return scores[code]
        g = system.groups[code]
        kids = [score(c) for c in g.children]
        mode = g.aggregate.missing
        if mode == "zero":
            kids = [k.fill_null(0.0) for k in kids]
        weights = [_weight_expr(nrm, system.node_weight(c)) for c in g.children]
        wp = [ibis.ifelse(k.notnull(), w, 0.0) for k, w in zip(kids, weights, strict=True)]
        wsum = _sum(wp)
        any_present = _sum([k.notnull().cast("int64") for k in kids]) > 0
        method = g.aggregate.method
        if method == "weighted_sum":
            value = _sum([(k * w).fill_null(0.0) for k, w in zip(kids, weights, strict=True)])
            for c, w in zip(g.children, wp, strict=True):
                shares[c] = w
        else:
            for c, w in zip(g.children, wp, strict=True):
                shares[c] = w / wsum.nullif(0.0)
            if method == "arithmetic_mean":
                value = _sum([(k * w).fill_null(0.0) for k, w in zip(kids, weights, strict=True)]
                             ) / wsum.nullif(0.0)
            else:
                zero = _sum([(k == 0).fill_null(False).cast("int64") for k in kids]) > 0
                if method == "geometric_mean":
                    logs = _sum([ibis.ifelse(k > 0, k.ln() * w, 0.0)
                                 for k, w in zip(kids, weights, strict=True)])
                    value = (logs / wsum.nullif(0.0)).exp()
                else:
                    inv = _sum([ibis.ifelse(k > 0, w / k, 0.0)
                                for k, w in zip(kids, weights, strict=True)])
                    value = wsum / inv.nullif(0.0)
                value = ibis.ifelse(zero, 0.0, value)
        value = ibis.ifelse(any_present, value, _null())
        if mode == "propagate":
            value = ibis.ifelse(_sum([k.isnull().cast("int64") for k in kids]) > 0,
                                _null(), value)
        scores[code] = value.cast(F64)
        return scores[code]

    roots = [c for c in system.order if (system.indicators.get(c) or system.groups[c]).parent
             is None]
    for r in roots:
        score(r)

    def effective(code: str) -> Any:
        node = system.indicators.get(code) or system.groups[code]
        if node.parent is None:
            return ibis.literal(1.0, type=F64)
        return shares[code] * effective(node.parent)

    out = nrm.mutate(**{f"score__{c}": scores[c] for c in system.order},
                     **{f"w__{i.code}": effective(i.code).cast(F64) for i in inds})
    out = _materialise(con, out)
    _check_means(system, out, uid)
    rank_cols = {}
    for g in system.groups:
        s = out[f"score__{g}"]
        win = ibis.window(order_by=[s.isnull(), ibis.desc(s)])
        rank_cols[f"{g}_rank"] = ibis.ifelse(s.isnull(), ibis.null("int64"),
                                             (ibis.rank().over(win) + 1).cast("int64"))
    ranked = _materialise(con, out.select(uid, *[f"score__{g}" for g in system.groups]
                                          ).select(uid, **rank_cols))
    out = out.join(ranked, uid)
    extra = {}
    if system.spec.veto:
        # 一票否决: the unit keeps its score and rank here; lists exclude it
        hits = [ibis.ifelse(out[f"veto__{v.code}"], ibis.literal(v.code), ibis.literal(""))
                for v in system.spec.veto]
        joined = hits[0]
        for h in hits[1:]:
            joined = ibis.ifelse(joined == "", h, ibis.ifelse(h == "", joined, joined + ";" + h))
        extra["veto"] = joined
    score_table = out.select(
        uid, *[out[f"score__{c}"].name(c) for c in system.order], *rank_cols, **extra
    ).order_by(uid)
    parts = [
        out.select(
            unit=out[uid].cast("string"),
            indicator=ibis.literal(i.code),
            raw=out[f"raw__{i.code}"].cast(F64),
            imputed=out[f"imp__{i.code}"].cast(F64),
            treated=out[f"trt__{i.code}"].cast(F64),
            normalised=out[f"nrm__{i.code}"].cast(F64),
            weight=out[f"w__{i.code}"].cast(F64),
            contribution=(out[f"nrm__{i.code}"] * out[f"w__{i.code}"]).cast(F64),
        )
        for i in inds
    ]
    trace = parts[0].union(*parts[1:]) if len(parts) > 1 else parts[0]
    return Result(scores=score_table, trace=trace.order_by(["unit", "indicator"]),
                  year=target if panel_year else None, notes=notes, treatment=treatment,
                  wide=out)


def _check_means(system: System, out: ir.Table, uid: str) -> None:
    """Geometric and harmonic means are undefined for negative scores: say where."""
    for g in system.groups.values():
        if g.aggregate.method not in ("geometric_mean", "harmonic_mean"):
            continue
        for child in g.children:
            col = out[f"score__{child}"]
            bad = out.filter(col < 0).select(uid, col).limit(1).execute()
            if len(bad):
                raise InvalidInput(
                    f"分组 {g.code} 用{'几何' if g.aggregate.method[0] == 'g' else '调和'}平均，"
                    f"但子节点 {child} 对单位 {bad[uid].iloc[0]} 的得分为负"
                    f"（{bad.iloc[0, 1]:.6g}）；请改用 minmax/goalposts 等非负的标准化方法",
                    "negative child score under a geometric/harmonic mean",
                )


# --------------------------------------------------------------------------- vectorised path
# The same stages over NumPy columns held in memory, for computations that re-score one
# data set many times (the robustness analysis: thousands of replications). They follow the
# rules of the set-based stages above exactly, and the skewness/kurtosis test is the same
# function; tests/robustness/test_analysis.py (test_nominal_choices_reproduce_the_engine_
# exactly, test_winsorisation_as_the_engine_and_by_hand) compare both on the same data.

class Partition:
    """Units split by one cohort column (missing labels form their own cohort, as a SQL
    window partition does)."""

    def __init__(self, labels: np.ndarray | None, n: int) -> None:
        if labels is None:
            self.codes = np.zeros(n, dtype=np.int32)
            self.labels: list[Any] = [None]
        else:
            codes, uniques = pd.factorize(pd.Series(labels, dtype=object), use_na_sentinel=True)
            self.labels = list(uniques)
            if (codes < 0).any():
                codes = np.where(codes < 0, len(self.labels), codes)
                self.labels.append(None)
            self.codes = codes.astype(np.int32)
        self.members = [np.flatnonzero(self.codes == g) for g in range(len(self.labels))]


# --------------------------------------------------------------------------- stages
def treat_array(x: np.ndarray, spec: TreatSpec) -> np.ndarray:
    """Outlier treatment of one column, as the engine does it (COINr's rule for
    ``skew_kurt``: winsorise the skewed side one distinct value at a time, at most
    ``winmax`` times, else log-transform the original column)."""
    present = x[~np.isnan(x)]
    if spec.method == "none" or present.size == 0:
        return x
    if spec.method == "percentile_cap":
        q_lo = float(np.quantile(present, spec.lower)) if spec.lower else None
        q_hi = float(np.quantile(present, spec.upper)) if spec.upper is not None else None
        return np.clip(x, q_lo, q_hi) if q_lo is not None or q_hi is not None else x
    if spec.method == "sd_cap":
        if present.size < 2:
            return x
        mean, sd = float(present.mean()), float(present.std(ddof=1))
        return np.clip(x, mean - spec.k * sd, mean + spec.k * sd)
    lo: float | None = None
    hi: float | None = None
    step = 0
    while True:
        cur = x if lo is None and hi is None else np.clip(x, lo, hi)
        p = cur[~np.isnan(cur)]
        mean = float(p.mean())
        d = p - mean
        d2 = d * d
        stats = skew_kurt(p.size, mean, float(d2.sum()), float((d2 * d).sum()),
                           float((d2 * d2).sum()))
        failing = stats is not None and abs(stats[0]) >= spec.skew and stats[1] >= spec.kurt
        if failing and step == spec.winmax:
            x_lo, x_hi = float(present.min()), float(present.max())
            with np.errstate(all="ignore"):
                return np.log(x + (-x_lo + 0.01 * (x_hi - x_lo)))
        if not failing or stats is None:
            return cur
        if stats[0] > 0:
            cand = p[p < p.max()]
            if cand.size == 0:
                return cur
            hi = float(cand.max())
        else:
            cand = p[p > p.min()]
            if cand.size == 0:
                return cur
            lo = float(cand.min())
        step += 1


def transform_array(x: np.ndarray, spec: TransformSpec) -> np.ndarray:
    with np.errstate(all="ignore"):
        if spec.method == "log":
            return np.where(x > 0, np.log(np.where(x > 0, x, 1.0)), np.nan)
        if spec.method == "sqrt":
            return np.where(x >= 0, np.sqrt(np.where(x >= 0, x, 0.0)), np.nan)
    if spec.method == "cap":
        return np.clip(x, spec.min, spec.max)
    return x


def normalise_array(x: np.ndarray, spec: NormaliseSpec, direction: int, part: Partition,
              method: str | None = None) -> np.ndarray:
    """One normalisation of one column, per cohort, with the engine's rules for degenerate
    partitions (zero variance or one member: the midpoint of the range; z-score 0).
    ``method`` overrides the spec's (``zscore_rescaled`` = mid + z·span/10)."""
    m = method or spec.method
    lo, hi = spec.out_range
    span, mid = hi - lo, (lo + hi) / 2
    if m == "none":
        return x
    present = ~np.isnan(x)
    if m == "bands":
        assert spec.bands is not None
        vals = np.full(x.shape, float(spec.otherwise))
        for bound, points in reversed(spec.bands):  # the highest matching bound wins
            vals[present & (x >= bound)] = points
        return np.where(present, vals, np.nan)
    if m == "goalposts":
        assert spec.min is not None and spec.max is not None
        g_lo, g_hi = float(spec.min), float(spec.max)
        c = np.clip(x, g_lo, g_hi)
        frac = (c - g_lo) / (g_hi - g_lo) if direction > 0 else (g_hi - c) / (g_hi - g_lo)
        return lo + span * frac
    v = x * float(direction)
    out = np.full(x.shape, np.nan)
    with np.errstate(all="ignore"):
        for idx in part.members:
            vv = v[idx]
            ok = ~np.isnan(vv)
            pv = vv[ok]
            if pv.size == 0:
                continue
            vmin, vmax = float(pv.min()), float(pv.max())
            if m == "minmax":
                res = lo + span * (vv - vmin) / (vmax - vmin) if vmax > vmin else np.full(
                    vv.shape, mid)
            elif m in ("zscore", "zscore_rescaled"):
                sd = float(pv.std(ddof=1)) if pv.size > 1 else 0.0
                z = (vv - float(pv.mean())) / sd if sd > 0 else np.zeros(vv.shape)
                res = z if m == "zscore" else mid + z * span / 10
            elif m == "distance":
                assert spec.target is not None
                den = float(spec.target) * direction - vmin
                res = (lo + span * np.clip((vv - vmin) / den, 0.0, 1.0) if den > 0
                       else np.full(vv.shape, hi))
            elif m in ("rank", "percentile"):
                rank0 = np.searchsorted(np.sort(pv), vv, side="left").astype(float)
                if m == "rank":
                    res = rank0 + 1
                elif vmax > vmin:
                    res = lo + span * rank0 / (pv.size - 1)
                else:
                    res = np.full(vv.shape, mid)
            else:  # pragma: no cover - the schema admits no other method
                raise ValueError(m)
            out[idx] = np.where(ok, res, np.nan)
    return out


def rank_desc(score: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """1-based ranks, higher score first, ties share the best rank (1, 1, 3), missing last;
    also the order (positions best first) and, per sorted position, where its tie starts.
    (The order among tied units is arbitrary; their ranks do not depend on it.)"""
    order = np.argsort(-score)
    s = score[order]
    pos = np.arange(len(s))
    new = np.empty(len(s), dtype=bool)
    if len(s):
        new[0] = True
        new[1:] = s[1:] != s[:-1]
    start = np.maximum.accumulate(np.where(new, pos, 0))
    ranks = np.empty(len(s), dtype=np.int32)
    ranks[order] = start + 1
    return ranks, order, start


Prepared = tuple[np.ndarray, np.ndarray]  # (present mask, values with NaN → 0)


def prepare(k: np.ndarray) -> Prepared:
    present = ~np.isnan(k)
    return present, np.where(present, k, 0.0)


def aggregate_arrays(kids: list[np.ndarray], weights: list[float | np.ndarray], method: str,
              missing: str = "ignore", floor: float | None = None,
              prepared: list[Prepared] | None = None) -> np.ndarray:
    """A group's score from its children, with the engine's NA-aware weights; ``floor``
    (an alternative geometric mean only) raises children below it to it. ``prepared``
    holds each child's presence mask and NaN-free values when already known."""
    prep = prepared if prepared is not None else [prepare(k) for k in kids]
    if missing == "zero":
        kids = [z for _, z in prep]
        prep = [(np.ones(len(z), dtype=bool), z) for z in kids]
    present = [p for p, _ in prep]
    any_present = np.logical_or.reduce(present)
    with np.errstate(all="ignore"):
        wsum = sum(p * w for p, w in zip(present, weights, strict=True))
        if method in ("weighted_sum", "arithmetic_mean"):
            value = sum(z * w for (_, z), w in zip(prep, weights, strict=True))
            if method == "arithmetic_mean":
                value = np.where(wsum > 0, value / wsum, np.nan)
        elif method == "geometric_mean" and floor is not None:
            logs = sum(np.where(p, np.log(np.maximum(k, floor)) * w, 0.0)
                       for k, p, w in zip(kids, present, weights, strict=True))
            value = np.exp(np.where(wsum > 0, logs / wsum, np.nan))
        else:
            zero = np.logical_or.reduce([k == 0 for k in kids])
            if method == "geometric_mean":
                logs = sum(np.where(k > 0, np.log(np.where(k > 0, k, 1.0)) * w, 0.0)
                           for k, w in zip(kids, weights, strict=True))
                value = np.exp(np.where(wsum > 0, logs / wsum, np.nan))
            else:  # harmonic mean
                inv = sum(np.where(k > 0, w / np.where(k > 0, k, 1.0), 0.0)
                          for k, w in zip(kids, weights, strict=True))
                value = np.where(inv > 0, wsum / inv, np.nan)
            value = np.where(zero, 0.0, value)
    value = np.where(any_present, value, np.nan)
    if missing == "propagate":
        value = np.where(np.logical_and.reduce(present), value, np.nan)
    return np.asarray(value, dtype=np.float64)

def tier_index(measure: np.ndarray, cutoffs: np.ndarray) -> np.ndarray:
    """The list tier of each place measure (place / cohort size for percentile lists, the
    place for count lists): 0 for the first cut-off it is within (inclusive, with a 1e-12
    tolerance), …, ``len(cutoffs)`` for none. The one rule of scoring runs and robustness."""
    return np.searchsorted(np.asarray(cutoffs, dtype=np.float64) + 1e-12, measure,
                           side="left")
