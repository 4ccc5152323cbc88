"""Carbon-efficiency grading (碳效码): pure, vectorised computation — no database, no files.

The same :func:`grade` serves ``kechuang carbon grade`` (file mode) and the database path
(pages, API, monthly evaluation). Input: one row per enterprise and month with the columns
of :data:`INPUT_COLUMNS`; output: the same rows (same order) with :data:`RESULT_COLUMNS`.

Definitions (docs/carbon.md is the user's contract):

- intensity ``L = co2_t / value_added_wan`` (t per 万元); a month whose value added is
  missing or ≤ 0, or whose CO₂ is missing, has no intensity, no grade, no rank and counts in
  no benchmark ("graded" below means: has an intensity);
- ``carbon_level`` from L by the edition's levels (low ≤ 0.6, medium ≤ 2.0, high);
- benchmark: a published value for the enterprise's 4-digit class, else its 3-digit group,
  else its 2-digit division, else its section letter (``published:class`` …); otherwise
  computed ``Σ co2_t / Σ value_added_wan`` over the period's graded enterprises of the
  class when it has at least ``min_cohort`` of them, else group, division, section (the
  section is used whatever its size);
- ratio ``K = L / benchmark``; grade = the first band from grade 1 whose ``max`` K does not
  exceed (the last band takes the rest); a zero benchmark with a zero intensity (every
  enterprise of the cohort emitted nothing) gives no ratio and no grade;
- ranks by K ascending within (class, period) and (region_code, period), ties sharing the
  best rank (1, 1, 3); counts = graded enterprises in the same cohort;
- alerts against the calendar month before (``YYYY-MM`` minus one month, not the previous
  row): ``grade_drop`` when the grade number rose, ``intensity_up`` when L rose by more than
  the threshold (``L / L_prev > 1 + t``); nothing when either month has no grade.

Threshold comparisons (bands, levels, the alert, rank ties) are made on values rounded to
12 significant digits, so a value that lies exactly on a boundary in decimal arithmetic
(0.6, a rise of exactly 10 %) is treated as on the boundary despite binary floating point;
outputs keep full float64 precision.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

INPUT_COLUMNS = ("uscc", "class_code", "region_code", "period", "co2_t", "value_added_wan")
RESULT_COLUMNS = ("intensity", "carbon_level", "benchmark", "benchmark_level", "ratio", "grade",
                  "industry_rank", "industry_count", "region_rank", "region_count", "alert")
#: GRADES.csv, in this order
OUTPUT_COLUMNS = ("uscc", "period", *RESULT_COLUMNS)
LEVELS = ("class", "group", "division", "section")
SIGNIFICANT = 12


@dataclass(frozen=True)
class Edition:
    """The parameters in force from ``first_period`` (YYYYMM) on."""

    first_period: int
    bands: tuple[tuple[int, float | None], ...]
    levels: tuple[tuple[str, float | None], ...]
    intensity_up: float


def snap(x: np.ndarray) -> np.ndarray:
    """Round to :data:`SIGNIFICANT` significant digits (NaN, 0 and ±inf pass through)."""
    x = np.asarray(x, dtype=np.float64)
    out = x.copy()
    ok = np.isfinite(x) & (x != 0)
    if ok.any():
        v = x[ok]
        exp = np.floor(np.log10(np.abs(v))).astype(np.int64)
        shift = (SIGNIFICANT - 1) - exp
        scaled = np.round(v * np.power(10.0, shift))
        out[ok] = scaled / np.power(10.0, shift)
    return out


def month_index(period: np.ndarray) -> np.ndarray:
    """YYYYMM → a running month number (so "the month before" is index - 1)."""
    p = np.asarray(period, dtype=np.int64)
    return (p // 100) * 12 + (p % 100 - 1)


def edition_of(period: np.ndarray, editions: Sequence[Edition]) -> np.ndarray:
    """Index of the edition in force for each period (the earliest also covers earlier
    periods)."""
    starts = np.array([e.first_period for e in editions], dtype=np.int64)
    order = np.argsort(starts, kind="stable")
    pos = np.searchsorted(starts[order], np.asarray(period, dtype=np.int64), side="right") - 1
    return order[np.clip(pos, 0, None)]


def _ladder(values: np.ndarray, uppers: Sequence[float | None]) -> np.ndarray:
    """Index of the first step whose upper bound the snapped value does not exceed;
    -1 for NaN."""
    v = snap(values)
    out = np.full(len(v), -1, dtype=np.int64)
    todo = ~np.isnan(v)
    for i, upper in enumerate(uppers):
        hit = todo if upper is None else todo & (v <= upper)
        out[hit] = i
        todo &= ~hit
    return out


def _rank_min(keys: np.ndarray, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(rank, count) per row within integer group ``keys`` by ``values`` ascending, ties
    sharing the best rank (1, 1, 3); NaN values get no rank and are not counted (0).
    Sort-based, no Python loop."""
    n = len(keys)
    rank = np.zeros(n, dtype=np.int64)
    count = np.zeros(n, dtype=np.int64)
    ok = np.flatnonzero(~np.isnan(values))
    if not len(ok):
        return rank, count
    k, v = keys[ok], values[ok]
    order = np.lexsort((v, k))
    ks, vs = k[order], v[order]
    pos = np.arange(len(ks))
    new_group = np.r_[True, ks[1:] != ks[:-1]]
    new_value = new_group | np.r_[True, vs[1:] != vs[:-1]]
    group_start = np.maximum.accumulate(np.where(new_group, pos, 0))
    tie_start = np.maximum.accumulate(np.where(new_value, pos, 0))
    sizes = np.diff(np.r_[np.flatnonzero(new_group), len(ks)])
    group_id = np.cumsum(new_group) - 1
    r = np.empty(len(ks), dtype=np.int64)
    c = np.empty(len(ks), dtype=np.int64)
    r[order] = tie_start - group_start + 1
    c[order] = sizes[group_id]
    rank[ok], count[ok] = r, c
    return rank, count


def _factor(column: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """(code per row, distinct values as str objects) of a text column; a categorical
    column (the database path) is already factorised."""
    if isinstance(column.dtype, pd.CategoricalDtype):
        column = column.cat.remove_unused_categories()
        return (column.cat.codes.to_numpy(dtype=np.int64),
                np.asarray(column.cat.categories.astype(str), dtype=object))
    idx, uniques = pd.factorize(pd.Series(column.astype(str).to_numpy(), dtype=object))
    return idx, np.asarray(uniques, dtype=object)


def grade(frame: pd.DataFrame, editions: Sequence[Edition], *,
          section_of: Mapping[str, str], published: Mapping[str, float] | None = None,
          min_cohort: int = 5) -> pd.DataFrame:
    """Grade every row of ``frame`` (columns :data:`INPUT_COLUMNS`; ``period`` YYYYMM int,
    ``class_code`` a 4-digit GB/T 4754 class, numbers float64 with NaN for missing).

    ``section_of`` maps each class code to its section letter; ``published`` maps industry
    codes at any level (``3311``, ``331``, ``33``, ``C``) to a published benchmark.
    Returns a frame with the input's index and the columns :data:`RESULT_COLUMNS`
    (``grade``, ranks and counts as nullable integers)."""
    if not editions:
        raise ValueError("no parameter edition")
    if min_cohort < 1:
        raise ValueError("min_cohort must be at least 1")
    published = published or {}
    n = len(frame)
    period = frame["period"].to_numpy(dtype=np.int64)
    co2 = frame["co2_t"].to_numpy(dtype=np.float64)
    va = frame["value_added_wan"].to_numpy(dtype=np.float64)

    graded = (va > 0) & ~np.isnan(co2) & ~np.isnan(va)
    with np.errstate(divide="ignore", invalid="ignore"):
        intensity = np.where(graded, co2 / np.where(graded, va, 1.0), np.nan)

    # industry codes at every level, computed once per distinct class
    class_idx, classes = _factor(frame["class_code"])
    missing = [c for c in classes if c not in section_of]
    if missing:
        raise ValueError(f"no section for industry class {missing[0]}")
    level_codes = {"class": classes, "group": np.array([c[:3] for c in classes], dtype=object),
                   "division": np.array([c[:2] for c in classes], dtype=object),
                   "section": np.array([section_of[c] for c in classes], dtype=object)}
    period_idx, period_values = pd.factorize(period)
    n_periods = len(period_values)

    # --- benchmark: published first (class → group → division → section) …
    benchmark = np.full(n, np.nan)
    level = np.full(n, None, dtype=object)
    if published:
        pub = {str(k): float(v) for k, v in published.items()}
        for lvl in LEVELS:
            todo = np.isnan(benchmark)
            if not todo.any():
                break
            per_class = np.array([pub.get(str(c), np.nan) for c in level_codes[lvl]],
                                 dtype=np.float64)
            found = per_class[class_idx]
            hit = todo & ~np.isnan(found)
            benchmark[hit] = found[hit]
            level[hit] = f"published:{lvl}"
    # … else computed over the period's graded enterprises at the finest level with enough
    todo = graded & np.isnan(benchmark)
    co2_g = np.where(graded, co2, 0.0)
    va_g = np.where(graded, va, 0.0)
    for lvl in LEVELS:
        if not todo.any():
            break
        code_idx, _ = pd.factorize(pd.Series(level_codes[lvl], dtype=object))
        n_codes = int(code_idx.max()) + 1
        key = period_idx * n_codes + code_idx[class_idx]
        size = np.bincount(key, weights=graded.astype(np.float64),
                           minlength=n_periods * n_codes)
        sum_co2 = np.bincount(key, weights=co2_g, minlength=n_periods * n_codes)
        sum_va = np.bincount(key, weights=va_g, minlength=n_periods * n_codes)
        with np.errstate(divide="ignore", invalid="ignore"):
            value = (sum_co2 / sum_va)[key]
        enough = size[key] >= min_cohort if lvl != "section" else size[key] > 0
        hit = todo & enough
        benchmark[hit] = value[hit]
        level[hit] = lvl
        todo &= ~hit
    benchmark[~graded] = np.nan
    level[~graded] = None

    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = intensity / benchmark
    ratio[~np.isfinite(ratio)] = np.nan

    # --- levels, grades and alert thresholds by the edition in force
    which = edition_of(period, editions)
    carbon_level = np.full(n, None, dtype=object)
    grade_no = np.full(n, -1, dtype=np.int64)
    threshold = np.zeros(n)
    for e_i, ed in enumerate(editions):
        mask = which == e_i
        if not mask.any():
            continue
        lv = _ladder(intensity[mask], [m for _, m in ed.levels])
        names = np.array([name for name, _ in ed.levels] + [None], dtype=object)
        carbon_level[mask] = names[lv]
        gi = _ladder(ratio[mask], [m for _, m in ed.bands])
        grades = np.array([g for g, _ in ed.bands] + [-1], dtype=np.int64)
        grade_no[mask] = grades[gi]
        threshold[mask] = ed.intensity_up
    has_grade = grade_no > 0
    ratio_key = np.where(has_grade, snap(ratio), np.nan)

    n_classes = len(classes)
    region_idx, _ = _factor(frame["region_code"])
    n_regions = int(region_idx.max()) + 1 if n else 1
    industry_rank, industry_count = _rank_min(period_idx * n_classes + class_idx, ratio_key)
    region_rank, region_count = _rank_min(period_idx * n_regions + region_idx, ratio_key)

    # --- alerts against the calendar month before
    alert = np.full(n, "", dtype=object)
    if has_grade.any():
        months = month_index(period)
        # the database path identifies enterprises by id (cheaper than 1.2 M code strings)
        who, _ = pd.factorize(frame["enterprise_id"].to_numpy() if "enterprise_id" in frame
                              else frame["uscc"].astype(str).to_numpy())
        span = int(months.max() - months.min()) + 2
        key = who.astype(np.int64) * span + (months - months.min())
        keys_g = key[has_grade]
        order = np.argsort(keys_g, kind="stable")
        sorted_keys = keys_g[order]
        want = key - 1  # the calendar month before, same enterprise
        at = np.clip(np.searchsorted(sorted_keys, want), 0, len(sorted_keys) - 1)
        found = has_grade & (sorted_keys[at] == want)
        src = np.flatnonzero(has_grade)[order[at]]
        pg = np.where(found, grade_no[src], -1)
        pl = np.where(found, intensity[src], np.nan)
        drop = found & (grade_no > pg)
        with np.errstate(divide="ignore", invalid="ignore"):
            rise = intensity / pl
        up = found & (snap(rise) > snap(1.0 + threshold))
        alert[drop & up] = "grade_drop;intensity_up"
        alert[drop & ~up] = "grade_drop"
        alert[up & ~drop] = "intensity_up"

    def nullable(values: np.ndarray, ok: np.ndarray) -> pd.Series:
        return pd.Series(pd.array(np.where(ok, values, 0), dtype="Int64")).where(ok, pd.NA)

    out = pd.DataFrame({
        "intensity": intensity,
        # text columns stay Python objects: inferring pandas' Arrow strings for a million
        # rows costs more than grading them
        "carbon_level": pd.Series(carbon_level, dtype=object, copy=False),
        "benchmark": benchmark,
        "benchmark_level": pd.Series(level, dtype=object, copy=False),
        "ratio": np.where(has_grade, ratio, np.nan),
        "grade": nullable(grade_no, has_grade),
        "industry_rank": nullable(industry_rank, has_grade),
        "industry_count": nullable(industry_count, has_grade),
        "region_rank": nullable(region_rank, has_grade),
        "region_count": nullable(region_count, has_grade),
        "alert": pd.Series(alert, dtype=object, copy=False),
    })
    out.index = frame.index
    return out
