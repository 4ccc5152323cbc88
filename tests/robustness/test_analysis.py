"""The Monte Carlo core on arrays, against values computed independently here: the nominal
choices reproduce the scoring engine, a dominant unit has a zero-width interval, a weight
trade-off gives a wide one, the list cut-off rule, Sobol indices with known answers,
determinism and the messages for bad input."""

from __future__ import annotations

import textwrap

import numpy as np
import pandas as pd
import pytest

from kechuang.kit.errors import InvalidInput
from kechuang.robustness.engine import (
    Choice,
    Inputs,
    Model,
    analyse,
    design,
    indices,
    rank_desc,
    treat,
)
from kechuang.robustness.schemas import RobustnessConfig, load_config, parse_config
from kechuang.scoring.schemas import TreatSpec
from tests.robustness.util import inputs_from_engine, plain_inputs

HEAD = ("id: t\nname: 测试\nversion: '1'\neffective_from: 2020-01-01\nunit: {id: uid}\n")

RICH = HEAD + textwrap.dedent("""\
    groups: [stage, sec]
    columns: {a: {}, b: {}, c: {}, d: {}, e: {}, f: {}}
    defaults:
      impute: {method: group_mean, group: sec}
      treat: {method: skew_kurt, skew: 2, kurt: 3.5, winmax: 5}
      normalise: {method: minmax, range: [0, 100]}
    tree:
      - code: total
        aggregate: {method: weighted_sum}
        children:
          - code: g1
            weight: {by: stage, values: {S1: 0.6, S2: 0.4}, default: 0.5}
            children:
              - {code: a, weight: 2}
              - {code: b, normalise: {method: percentile, within: stage}}
              - {code: c, direction: -1, normalise: {method: zscore, within: sec}}
              - {code: f, normalise: {method: rank}}
          - code: g2
            weight: {by: stage, values: {S1: 0.4, S2: 0.6}, default: 0.5}
            aggregate: {method: geometric_mean}
            children:
              - {code: d, treat: {method: percentile_cap, lower: 0.05, upper: 0.95}}
              - {code: e, treat: {method: sd_cap, k: 2}, transform: {method: log}}
          - code: g3
            aggregate: {method: harmonic_mean, missing: zero}
            children:
              - {code: d2, formula: d, normalise: {method: distance, target: 30}}
              - {code: g, formula: f * 2, normalise: {method: goalposts, min: 0, max: 40}}
          - code: bonus
            aggregate: {method: weighted_sum}
            children:
              - {code: bo, formula: a, treat: {method: none},
                 normalise: {method: bands, bands: [[50, 5], [10, 2]]}}
    """)


def rich_frame(n: int = 240, seed: int = 1) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    f = rng.normal(10, 2, n)
    f[:3] = [60.0, 55.0, 58.0]  # a few outliers that one or two winsorisations fix
    df = pd.DataFrame({
        "uid": [f"u{i:04d}" for i in range(n)],
        "stage": rng.choice(["S1", "S2", "S3"], n), "sec": rng.choice(list("ABCD"), n),
        "a": rng.lognormal(2, 1.5, n), "b": rng.normal(0, 1, n), "c": rng.exponential(3, n),
        "d": rng.lognormal(1, 1, n) + 1, "e": rng.lognormal(3, 2, n), "f": f})
    df.loc[rng.choice(n, 20, replace=False), "a"] = np.nan
    df.loc[rng.choice(n, 10, replace=False), "d"] = np.nan
    return df


def only(**enabled: bool) -> dict[str, dict[str, bool]]:
    return {f: {"enabled": enabled.get(f, False)}
            for f in ("weights", "normalisation", "aggregation", "winsorisation")}


def config(**kw: object) -> RobustnessConfig:
    return RobustnessConfig.model_validate(kw)


# --------------------------------------------------------------------------- nominal = engine
def test_nominal_choices_reproduce_the_engine_exactly():
    df = rich_frame()
    inputs, scores, system = inputs_from_engine(RICH, df, ("stage", "sec"))
    model = Model(inputs, RobustnessConfig(), np.random.default_rng(0))
    for code in system.order:
        ours = model.score(code, Choice())
        theirs = scores[code].to_numpy(dtype=float)
        assert np.array_equal(np.isnan(ours), np.isnan(theirs)), code
        assert ours == pytest.approx(theirs, rel=1e-9, abs=1e-9, nan_ok=True), code


def test_winsorisation_as_the_engine_and_by_hand():
    x = np.array([*range(1, 21), 1000.0])
    once = treat(x, TreatSpec(method="skew_kurt", winmax=5))
    assert once.tolist() == [*range(1, 21), 20.0]  # the outlier moves to the next value
    logged = treat(x, TreatSpec(method="skew_kurt", winmax=0))
    assert logged == pytest.approx(np.log(x - 1 + 0.01 * 999))
    capped = treat(x, TreatSpec(method="percentile_cap", lower=0.1, upper=0.9))
    assert capped.min() == pytest.approx(np.quantile(x, 0.1))
    assert capped.max() == pytest.approx(np.quantile(x, 0.9))


def test_rank_ties_share_the_best_rank():
    ranks, _, _ = rank_desc(np.array([5.0, 9.0, 5.0, 1.0, 9.0]))
    assert ranks.tolist() == [3, 1, 3, 5, 1]


# --------------------------------------------------------------------------- intervals
TWO = HEAD + textwrap.dedent("""\
    groups: [stage]
    columns: {a: {}, b: {}}
    defaults: {normalise: {method: minmax}}
    tree:
      - code: total
        children:
          - {code: a}
          - {code: b}
    """)


def test_a_unit_dominating_on_every_indicator_has_an_interval_of_width_zero():
    rng = np.random.default_rng(3)
    a, b = rng.uniform(0, 50, 30), rng.uniform(0, 50, 30)
    a[7], b[7] = 99.0, 98.0  # best on both
    a[11], b[11] = -5.0, -4.0  # worst on both
    res = analyse(plain_inputs(TWO, {"a": list(a), "b": list(b)}, {"stage": ["S"] * 30}),
                  config(replications=300, seed=5))
    assert (res.median[7], res.p05[7], res.p95[7]) == (1, 1, 1)
    assert (res.median[11], res.p05[11], res.p95[11]) == (30, 30, 30)
    assert res.robust[7] and res.robust[11]
    assert set(res.factors) == {"weights", "normalisation", "aggregation"}  # no treatment


def trade_off(n_rest: int = 37) -> tuple[list[float], list[float]]:
    # u0 is best on a, u1 best on b, u2 half-way on both, the rest far behind
    a = [1.0, 0.0, 0.5] + [0.1] * n_rest
    b = [0.0, 1.0, 0.5] + [0.1] * n_rest
    return a, b


def test_ranks_that_flip_under_the_weights_give_a_wide_interval():
    a, b = trade_off()
    cfg = config(replications=400, seed=11, **only(weights=True),
                 rule={"max_width_share": None, "cohort": None})
    res = analyse(plain_inputs(TWO, {"a": a, "b": b}), cfg)
    # with renormalised weights w_a + w_b = 1: u0 scores 100·w_a, u1 100·w_b, u2 always 50,
    # so whoever of u0/u1 has the larger weight is first, u2 second, the other third
    assert (res.p05[0], res.p95[0]) == (1, 3) and (res.p05[1], res.p95[1]) == (1, 3)
    assert (res.p05[2], res.median[2], res.p95[2]) == (2, 2, 2)
    assert np.all(res.median[3:] == 4)
    # nominally u0, u1 and u2 tie at 50 (all rank 1); in every replication one of u0/u1
    # moves to 3rd and u2 to 2nd: |1−1| + |2−1| + |3−1| = 3 over 40 units
    assert res.shift == pytest.approx(np.full(400, 3 / 40))


def test_not_robust_when_the_interval_crosses_a_list_cut_off():
    a, b = trade_off()
    n = len(a)
    cfg = config(replications=300, seed=2, **only(weights=True),
                 rule={"cohort": "stage", "cutoffs": [0.05], "tiers": ["lead"],
                       "max_width_share": None})
    res = analyse(plain_inputs(TWO, {"a": a, "b": b}, {"stage": ["S"] * n}), cfg)
    # the top 5% of 40 is two places: u0 and u1 move between 1st and 3rd, u2 stays 2nd
    assert res.crosses[:3].tolist() == [True, True, False]
    assert res.robust.tolist() == [False, False] + [True] * (n - 2)
    assert res.unstable == 2


def test_vetoed_units_have_no_list_place_so_never_cross():
    a, b = trade_off()
    n = len(a)
    eligible = [False] + [True] * (n - 1)
    cfg = config(replications=200, seed=2, **only(weights=True),
                 rule={"cohort": "stage", "cutoffs": [0.05], "tiers": ["lead"],
                       "max_width_share": None})
    res = analyse(plain_inputs(TWO, {"a": a, "b": b}, {"stage": ["S"] * n}, eligible), cfg)
    # among the 39 eligible the top 5% is 1.95 places: only 1st is on the list; u1 is 1st
    # (u0 excluded) or 2nd behind u2
    assert res.crosses[:3].tolist() == [False, True, True]


def test_the_width_rule():
    a, b = trade_off()
    cfg = config(replications=200, seed=2, **only(weights=True),
                 rule={"cohort": None, "cutoffs": [0.5], "tiers": ["top"],
                       "max_width_share": 0.04})  # 0.04 × 40 = 1.6 places
    res = analyse(plain_inputs(TWO, {"a": a, "b": b}), cfg)
    assert res.too_wide.tolist() == [True, True] + [False] * 38


# --------------------------------------------------------------------------- sensitivity
def test_sobol_indices_of_a_toy_model_with_a_known_answer():
    # y = x1 + 2·x2 over (nearly continuous) uniform factors: S1 = ST = 1/5 and 4/5, x3: 0
    factors = {"x1": 1000, "x2": 1000, "x3": 1000}
    levels, n_base, rows = design(factors, 4096, seed=1)
    assert n_base == 512 and rows == 512 * 5
    x = levels[:rows] / 1000.0
    y = x[:, 0] + 2 * x[:, 1]
    got = indices(list(factors), y, seed=1)
    assert got["x1"]["S1"] == pytest.approx(0.2, abs=0.05)
    assert got["x2"]["S1"] == pytest.approx(0.8, abs=0.05)
    assert got["x1"]["ST"] == pytest.approx(0.2, abs=0.05)
    assert got["x2"]["ST"] == pytest.approx(0.8, abs=0.05)
    assert got["x3"]["S1"] == pytest.approx(0.0, abs=1e-12)
    assert got["x3"]["ST"] == pytest.approx(0.0, abs=1e-12)
    assert all(v["S1_conf"] is not None and v["S1_conf"] >= 0 for v in got.values())


ONLY_WEIGHTS = HEAD + textwrap.dedent("""\
    columns: {a: {}, b: {}, k: {}}
    tree:
      - code: total
        aggregate: {method: weighted_sum}
        children:
          - {code: a, normalise: {method: goalposts, min: 0, max: 10}}
          - {code: b, normalise: {method: goalposts, min: 0, max: 10}}
          - code: flat
            children:
              - {code: k, treat: {method: skew_kurt}}
    """)


def test_when_only_the_weights_matter_their_total_index_is_one():
    rng = np.random.default_rng(8)
    n = 60
    a, b = rng.uniform(0, 10, n), rng.uniform(0, 10, n)
    res = analyse(plain_inputs(ONLY_WEIGHTS, {"a": list(a), "b": list(b), "k": [3.0] * n}),
                  config(replications=2000, seed=4, rule={"cohort": None}))
    # every factor acts on something, but normalisation, treatment and aggregation only
    # touch the constant k, which shifts every unit alike
    assert set(res.factors) == {"weights", "normalisation", "aggregation", "winsorisation"}
    s = res.sensitivity
    assert s["weights"]["ST"] == pytest.approx(1.0, abs=0.1)
    assert s["weights"]["S1"] == pytest.approx(1.0, abs=0.1)
    for f in ("normalisation", "aggregation", "winsorisation"):
        assert s[f]["S1"] == pytest.approx(0.0, abs=1e-9)
        assert s[f]["ST"] == pytest.approx(0.0, abs=1e-9)


def test_same_seed_same_results_and_another_seed_differs():
    df = rich_frame(120, seed=4)
    inputs, _, _ = inputs_from_engine(RICH, df, ("stage", "sec"))
    one = analyse(inputs, config(replications=96, seed=7))
    two = analyse(inputs, config(replications=96, seed=7))
    other = analyse(inputs, config(replications=96, seed=8))
    for field in ("median", "p05", "p95", "robust", "shift"):
        assert np.array_equal(getattr(one, field), getattr(two, field)), field
    assert one.sensitivity == two.sensitivity
    assert not np.array_equal(one.shift, other.shift)


# --------------------------------------------------------------------------- bad input
def test_bad_input_gives_clear_messages():
    with pytest.raises(InvalidInput, match="replications"):
        parse_config({"replications": 0}, "my.yaml")
    with pytest.raises(InvalidInput, match="weights.nosie.*未知的键"):
        parse_config({"weights": {"nosie": 0.2}}, "my.yaml")
    with pytest.raises(InvalidInput, match="没有任何企业结果"):
        analyse(Inputs(system=plain_inputs(TWO, {"a": [1.0], "b": [1.0]}).system, imputed={}),
                RobustnessConfig())
    with pytest.raises(InvalidInput, match="分组列 stage"):
        analyse(plain_inputs(TWO.replace("{method: minmax}",
                                          "{method: minmax, within: stage}"),
                             {"a": [1.0, 2.0], "b": [2.0, 1.0]}), RobustnessConfig())


def test_a_cohort_of_one_is_reported_and_follows_the_engine_rule():
    text = TWO.replace("{method: minmax}", "{method: minmax, within: stage}")
    res = analyse(plain_inputs(text, {"a": [1.0, 2.0, 3.0, 9.0], "b": [1.0, 2.0, 3.0, 9.0]},
                               {"stage": ["S1", "S1", "S1", "S2"]}),
                  config(replications=50, seed=1))
    assert any("S2 只有 1 家企业" in n and "中点" in n for n in res.notes)
    assert any("名单分组 stage" in n and "S2" in n for n in res.notes)
    # the lone S2 unit sits at the midpoint (50) on both: between S1's 1st (100) and 2nd (50)
    assert res.nominal_rank.tolist() == [4, 2, 1, 2]


def test_too_few_replications_for_sensitivity_still_give_intervals():
    a, b = trade_off()
    res = analyse(plain_inputs(TWO, {"a": a, "b": b}),
                  config(replications=5, seed=1, rule={"cohort": None}))
    assert res.sensitivity == {}
    assert any("未计算敏感性指数" in n for n in res.notes)
    assert len(res.median) == 40


def test_the_shipped_defaults_load_and_equal_the_schema_defaults():
    assert load_config() == RobustnessConfig()
    assert load_config(replications=10).replications == 10
