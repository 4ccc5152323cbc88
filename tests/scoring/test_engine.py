"""Every method of the engine against values computed independently here, plus the
documented rules for degenerate cases and hypothesis invariants."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kechuang.kit.errors import InvalidInput
from tests.scoring.util import load_text, one_indicator, run


def frame(x, g=None, y=None):
    n = len(x)
    df = pd.DataFrame({"uid": [f"u{i:02d}" for i in range(n)],
                       "x": pd.array(x, dtype="Float64").astype("float64"),
                       "y": y if y is not None else [1.0] * n})
    if g is not None:
        df["g"] = g
    return df


def norm(node: str, x, g=None, defaults: str = "", y=None) -> np.ndarray:
    text = one_indicator(node, defaults, "[g]" if g is not None else "[]")
    scores, _, _ = run(text, frame(x, g, y))
    return scores["x"].to_numpy(dtype=float)


# --------------------------------------------------------------------------- normalisation
def test_minmax_with_direction_and_range():
    x = [2.0, 4.0, 10.0]
    assert norm("normalise: {method: minmax, range: [0, 10]}", x).tolist() == [0, 2.5, 10]
    assert norm("direction: -1\nnormalise: {method: minmax}", x).tolist() == [100, 75, 0]


def test_zscore_uses_sample_sd():
    x = [1.0, 2.0, 3.0, 10.0]
    expect = (np.array(x) - np.mean(x)) / np.std(x, ddof=1)
    assert norm("normalise: {method: zscore}", x) == pytest.approx(expect)


def test_percentile_and_rank_with_ties():
    x = [5.0, 1.0, 5.0, 3.0, 9.0]
    assert norm("normalise: {method: rank}", x).tolist() == [3, 1, 3, 2, 5]
    # percentile = 100·(units strictly below)/(n − 1)
    assert norm("normalise: {method: percentile}", x).tolist() == [50, 0, 50, 25, 100]


def test_goalposts_cap_outside_values():
    x = [10.0, 50.0, 150.0, -5.0]
    got = norm("normalise: {method: goalposts, min: 0, max: 100, range: [0, 1]}", x)
    assert got.tolist() == [0.1, 0.5, 1.0, 0.0]
    got = norm("direction: -1\nnormalise: {method: goalposts, min: 0, max: 100}", x)
    assert got.tolist() == [0.9, 0.5, 0.0, 1.0]


def test_distance_to_target():
    x = [0.0, 5.0, 10.0, 20.0]
    got = norm("normalise: {method: distance, target: 10}", x)
    assert got.tolist() == [0, 50, 100, 100]


def test_bands_inclusive_lower_bounds_from_the_top():
    x = [0.35, 0.30, 0.29, 0.10, 0.0, -1.0]
    got = norm("normalise: {method: bands, bands: [[0.3, 20], [0.1, 10], [0, 5]]}", x)
    assert got.tolist() == [20, 20, 10, 10, 5, 0]


def test_normalise_within_cohort_and_single_member_cohort():
    x = [1.0, 3.0, 10.0, 20.0, 7.0]
    g = ["A", "A", "B", "B", "C"]
    got = norm("normalise: {method: minmax, within: g}", x, g)
    # C has one member: zero variance → midpoint of the range (documented rule)
    assert got.tolist() == [0, 100, 0, 100, 50]
    assert norm("normalise: {method: zscore, within: g}", x, g)[4] == 0
    assert norm("normalise: {method: percentile, within: g}", x, g)[4] == 50


def test_zero_variance_rules():
    x = [4.0, 4.0, 4.0]
    assert norm("normalise: {method: minmax}", x).tolist() == [50, 50, 50]
    assert norm("normalise: {method: zscore}", x).tolist() == [0, 0, 0]
    assert norm("normalise: {method: percentile}", x).tolist() == [50, 50, 50]


# --------------------------------------------------------------------------- imputation
def imputed(method: str, x, g=None) -> list[float | None]:
    text = one_indicator(f"impute: {method}\nnormalise: {{method: none}}", "",
                         "[g]" if g is not None else "[]")
    _, trace, _ = run(text, frame(x, g))
    vals = trace.sort_values("unit")["imputed"].tolist()
    return [None if pd.isna(v) else v for v in vals]


def test_imputation_methods():
    x = [1.0, None, 3.0, 10.0, None]
    g = ["A", "A", "A", "B", "B"]
    assert imputed("{method: none}", x) == [1, None, 3, 10, None]
    assert imputed("{method: zero}", x) == [1, 0, 3, 10, 0]
    assert imputed("{method: mean}", x) == pytest.approx([1, 14 / 3, 3, 10, 14 / 3])
    assert imputed("{method: median}", x) == [1, 3, 3, 10, 3]
    assert imputed("{method: group_mean, group: g}", x, g) == [1, 2, 3, 10, 10]
    assert imputed("{method: group_median, group: g}", [1.0, None, 3.0, 10.0, None, 4.0],
                   g + ["A"]) == [1, 3, 3, 10, 10, 4]


def test_latest_earlier_year():
    text = one_indicator("impute: {method: latest}\nnormalise: {method: none}")
    df = pd.DataFrame({
        "uid": ["a", "a", "a", "b", "b", "c"],
        "year": [2021, 2022, 2023, 2021, 2023, 2023],
        "x": [1.0, 2.0, None, 5.0, None, None],
        "y": [1.0] * 6,
    })
    _, trace, r = run(text, df)
    assert r.year == 2023
    got = trace.set_index("unit")["imputed"]
    assert got["a"] == 2.0 and got["b"] == 5.0 and pd.isna(got["c"])


def test_division_by_zero_is_missing_then_imputed():
    text = one_indicator("formula: x / y\nimpute: {method: mean}\nnormalise: {method: none}")
    _, trace, _ = run(text, frame([1.0, 4.0, 6.0], y=[1.0, 0.0, 2.0]))
    t = trace.set_index("unit")
    assert pd.isna(t.loc["u01", "raw"]) and t.loc["u01", "imputed"] == 2.0


# --------------------------------------------------------------------------- treatment
def reference_skew_kurt(x, skew_t=2.0, kurt_t=3.5, winmax=5):
    """COINr's rule, written independently: pandas skew/kurt, ties move together."""
    s = pd.Series(x, dtype=float)
    for step in range(winmax + 1):
        if not (abs(s.skew()) >= skew_t and s.kurt() >= kurt_t):
            return s.to_numpy(), step, False
        if step == winmax:
            o = pd.Series(x, dtype=float)
            return np.log(o - o.min() + 0.01 * (o.max() - o.min())).to_numpy(), step, True
        if s.skew() > 0:
            top = s.max()
            s[s == top] = s[s < top].max()
        else:
            bottom = s.min()
            s[s == bottom] = s[s > bottom].min()
    raise AssertionError


SKEWED = [0.0] * 6 + [1.0] * 12 + [2.0, 2, 2, 3, 7, 30, 30, 75]


def test_skew_kurt_winsorises_ties_together():
    expect, steps, logged = reference_skew_kurt(SKEWED)
    assert steps >= 2 and not logged
    text = one_indicator("treat: {method: skew_kurt}\nnormalise: {method: none}")
    _, trace, r = run(text, frame(SKEWED))
    got = trace.sort_values("unit")["treated"].to_numpy()
    assert got == pytest.approx(expect)
    assert r.treatment["x"]["winsorised"] == steps
    assert r.treatment["x"]["skew"] < 2 or r.treatment["x"]["kurt"] < 3.5


def test_skew_kurt_negative_side():
    x = [-v for v in SKEWED]
    expect, steps, _ = reference_skew_kurt(x)
    text = one_indicator("treat: {method: skew_kurt}\nnormalise: {method: none}")
    _, trace, _ = run(text, frame(x))
    assert trace.sort_values("unit")["treated"].to_numpy() == pytest.approx(expect)


def test_skew_kurt_log_fallback_on_original_column():
    x = [1.0, 1, 1, 2, 2, 2, 2, 3, 3, 3, 4, 50, 200, 1000, 10000]
    expect, steps, logged = reference_skew_kurt(x, winmax=1)
    assert logged
    text = one_indicator("treat: {method: skew_kurt, winmax: 1}\nnormalise: {method: none}")
    _, trace, r = run(text, frame(x))
    assert trace.sort_values("unit")["treated"].to_numpy() == pytest.approx(expect)
    assert r.treatment["x"]["log"] is True
    assert any("对数" in n for n in r.notes)


def test_percentile_and_sd_caps():
    x = [float(v) for v in range(1, 21)] + [100.0]
    text = one_indicator(
        "treat: {method: percentile_cap, lower: 0.05, upper: 0.95}\nnormalise: {method: none}")
    _, trace, _ = run(text, frame(x))
    lo, hi = np.quantile(x, [0.05, 0.95])
    assert trace.sort_values("unit")["treated"].to_numpy() == pytest.approx(np.clip(x, lo, hi))
    text = one_indicator("treat: {method: sd_cap, k: 2}\nnormalise: {method: none}")
    _, trace, _ = run(text, frame(x))
    m, sd = np.mean(x), np.std(x, ddof=1)
    assert trace.sort_values("unit")["treated"].to_numpy() == pytest.approx(
        np.clip(x, m - 2 * sd, m + 2 * sd))


def test_transforms():
    x = [1.0, 10.0, 100.0]
    text = one_indicator("transform: {method: log}\nnormalise: {method: none}")
    assert run(text, frame(x))[0]["x"].tolist() == pytest.approx([0, math.log(10),
                                                                   math.log(100)])
    text = one_indicator("transform: {method: cap, max: 50}\nnormalise: {method: none}")
    assert run(text, frame(x))[0]["x"].tolist() == [1, 10, 50]


# --------------------------------------------------------------------------- aggregation
AGG = """\
id: t
name: 测试
version: '1'
effective_from: 2020-01-01
unit: {{id: uid}}
groups: [stage]
columns: {{a: {{}}, b: {{}}, c: {{}}}}
defaults:
  normalise: {{method: none}}
tree:
  - code: total
    aggregate: {{method: {method}{missing}}}
    children:
      - {{code: a, weight: 1}}
      - {{code: b, weight: {wb}}}
      - {{code: c, weight: 1}}
"""


def agg(method: str, rows, wb="2", missing=""):
    df = pd.DataFrame(rows, columns=["a", "b", "c"], dtype=float)
    df.insert(0, "uid", [f"u{i}" for i in range(len(df))])
    df["stage"] = ["初创", "成长", "稳定", "成长"][: len(df)]
    text = AGG.format(method=method, wb=wb, missing=missing)
    return run(text, df)[0]["total"].tolist()


def test_weighted_means_and_sum():
    rows = [[1.0, 4.0, 16.0], [2.0, 2.0, 2.0]]
    w = np.array([1, 2, 1])
    v = np.array(rows[0])
    assert agg("arithmetic_mean", rows)[0] == pytest.approx((v * w).sum() / 4)
    assert agg("geometric_mean", rows)[0] == pytest.approx(np.exp((w * np.log(v)).sum() / 4))
    assert agg("harmonic_mean", rows)[0] == pytest.approx(4 / (w / v).sum())
    assert agg("weighted_sum", rows)[0] == pytest.approx((v * w).sum())
    assert agg("geometric_mean", rows)[1] == pytest.approx(2.0)


def test_missing_children_renormalise_or_zero_or_propagate():
    rows = [[1.0, None, 4.0], [None, None, None]]
    got = agg("arithmetic_mean", rows)
    assert got[0] == pytest.approx(2.5) and pd.isna(got[1])
    assert agg("arithmetic_mean", rows, missing=", missing: zero")[0] == pytest.approx(5 / 4)
    assert pd.isna(agg("arithmetic_mean", rows, missing=", missing: propagate")[0])
    assert agg("weighted_sum", rows)[0] == 5.0


def test_geometric_and_harmonic_mean_over_zero_is_zero():
    rows = [[0.0, 4.0, 16.0]]
    assert agg("geometric_mean", rows) == [0.0]
    assert agg("harmonic_mean", rows) == [0.0]


def test_geometric_mean_over_negative_is_an_error():
    with pytest.raises(InvalidInput, match="几何平均.*u0.*为负"):
        agg("geometric_mean", [[-1.0, 4.0, 16.0]])


def test_weights_per_cohort():
    rows = [[1.0, 4.0, 16.0], [1.0, 4.0, 16.0]]
    got = agg("arithmetic_mean", rows, wb="{by: stage, values: {初创: 2, 成长: 6}}")
    assert got[0] == pytest.approx((1 + 8 + 16) / 4)
    assert got[1] == pytest.approx((1 + 24 + 16) / 8)


def test_output_ranks_share_the_best_rank_and_trace_contributions_add_up():
    text = AGG.format(method="weighted_sum", wb="2", missing="")
    df = pd.DataFrame({"uid": ["p", "q", "r", "s"], "a": [1.0, 2.0, 1.0, 0.0],
                       "b": [1.0, 0.0, 1.0, 0.0], "c": [1.0, 1.0, 1.0, 0.5],
                       "stage": ["初创"] * 4})
    scores, trace, _ = run(text, df)
    assert scores["total_rank"].tolist() == [1, 3, 1, 4]
    sums = trace.groupby("unit")["contribution"].sum()
    assert sums.to_numpy() == pytest.approx(scores["total"].to_numpy())


def test_all_missing_indicator_is_reported():
    text = AGG.format(method="arithmetic_mean", wb="1", missing="")
    df = pd.DataFrame({"uid": ["p", "q"], "a": [1.0, 2.0], "b": [np.nan, np.nan],
                       "c": [3.0, 3.0], "stage": ["初创"] * 2})
    scores, _, r = run(text, df)
    assert scores["total"].tolist() == [2.0, 2.5]
    assert any("b" in n and "没有任何单位" in n for n in r.notes)


def test_bad_data_errors():
    text = one_indicator("normalise: {method: none}")
    with pytest.raises(InvalidInput, match="缺少列.*x"):
        run(text, pd.DataFrame({"uid": ["a"], "y": [1.0]}))
    dup = pd.DataFrame({"uid": ["a", "a"], "x": [1.0, 2.0], "y": [1.0, 1.0]})
    with pytest.raises(InvalidInput, match="单位 a.*多行"):
        run(text, dup)


# --------------------------------------------------------------------------- invariants
values = st.lists(st.one_of(st.integers(-50, 50).map(float), st.none()), min_size=1,
                  max_size=12)


@settings(max_examples=25, deadline=None)
@given(values)
def test_minmax_in_range_and_ranks_are_a_permutation_with_ties(x):
    system = load_text(one_indicator("normalise: {method: minmax, range: [0, 100]}"))
    scores, _, _ = run(system, frame(x))
    got = scores["x"].to_numpy(dtype=float)
    present = ~np.isnan(np.array([np.nan if v is None else v for v in x], dtype=float))
    assert np.isnan(got[~present]).all()
    assert ((got[present] >= 0) & (got[present] <= 100)).all()
    ranks = scores["total_rank"].dropna().astype(int).to_numpy()
    vals = got[present]
    # rank = 1 + number of strictly better units
    assert sorted(ranks.tolist()) == sorted(1 + int((vals > v).sum()) for v in vals)


def test_long_input_gives_the_same_scores_as_wide():
    import ibis

    from kechuang.scoring import engine

    text = one_indicator("formula: growth(x, years=2) + y\nnormalise: {method: minmax}")
    wide = pd.DataFrame({"uid": ["a", "a", "b", "b", "c", "c"],
                         "year": [2022, 2023] * 3,
                         "x": [1.0, 2.0, 2.0, 2.0, 4.0, 1.0], "y": [0.0, 1.0] * 3})
    long = wide.melt(id_vars=["uid", "year"], var_name="metric", value_name="value")
    con = ibis.duckdb.connect()
    pivoted = engine.from_long(con.create_table("l", long), "uid")
    s = load_text(text)
    got = engine.compute(s, pivoted, con=con).scores.execute().set_index("uid")
    expect, _, _ = run(s, wide)
    assert got["x"].tolist() == expect["x"].tolist()
    assert expect["x"].tolist() == pytest.approx([100.0, 100 * 0.75 / 1.75, 0.0])
