"""``kechuang index compute`` reproduces composite indices computed independently here with
plain Python/NumPy: an OECD/JRC-handbook pipeline and an HDI-style goalposts index."""

from __future__ import annotations

import csv
import math
import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from kechuang.cli import app
from kechuang.scoring import system

runner = CliRunner()

JRC = """\
id: jrc-demo
name: JRC 方法示例指数
version: "1.0"
effective_from: 2024-01-01
unit: {id: code, name: name}
groups: [region]
columns:
  gdp: {name: 地区生产总值}
  patents: {name: 专利数}
  population: {name: 人口}
  skewed: {name: 偏态指标}
  heavy: {name: 重尾指标}
  broadband: {name: 宽带普及率}
defaults:
  impute: {method: group_mean, group: region}
  treat: {method: skew_kurt, skew: 2, kurt: 3.5, winmax: 5}
  normalise: {method: minmax, range: [0, 100]}
  aggregate: {method: arithmetic_mean}
tree:
  - code: index
    children:
      - code: p1
        children:
          - {code: patents_pc, formula: patents, denominator: population}
          - {code: skewed, formula: skewed}
      - code: p2
        weight: 2
        children:
          - {code: heavy, formula: heavy, treat: {method: skew_kurt, winmax: 1}}
          - {code: broadband, formula: broadband, direction: -1}
          - {code: gdp_pc, formula: gdp / population, weight: 3}
"""

REGION = ["N"] * 8 + ["S"] * 10
DATA = {
    "code": [f"C{i:02d}" for i in range(18)],
    "name": [f"=地区{i}" if i == 0 else f"地区{i}" for i in range(18)],
    "region": REGION,
    "patents": [5, 8, 3, None, 9, 12, 4, 6, 10, 2, 7, 5, None, 3, 8, 9, 11, 4],
    "population": [10, 20, 5, 8, 12, 30, 6, 9, 15, 4, 11, 7, 9, 5, 13, 10, 0, 6],
    "skewed": [0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 2, 2, 2, 3, 7, 30, 30, 75],
    "heavy": [1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 4, 4, 5, 6, 50, 200, 1000, 10000],
    "broadband": [70, 80, 65, 90, None, 85, 60, 75, 88, 92, 55, 81, 77, 69, 73, 84, 66, 90],
    "gdp": [100, 300, 40, 90, 150, 500, 50, 80, 200, 30, 120, 60, 95, 45, 140, 110, 20, 70],
}


def jrc_reference() -> pd.Series:
    df = pd.DataFrame(DATA).set_index("code")
    reg = df["region"]

    def ratio(a, b):
        return pd.Series([x / y if y not in (0, None) and not pd.isna(x) and not pd.isna(y)
                          else np.nan for x, y in zip(a, b, strict=True)], index=df.index)

    def impute(s):
        means = {r: s[reg == r].mean() for r in ("N", "S")}
        return pd.Series([means[r] if pd.isna(v) else v for v, r in zip(s, reg, strict=True)],
                         index=s.index)

    def treat(s, winmax=5):
        s = s.astype(float).copy()
        orig = s.copy()
        for step in range(winmax + 1):
            if not (abs(s.skew()) >= 2 and s.kurt() >= 3.5):
                return s
            if step == winmax:
                return np.log(orig - orig.min() + 0.01 * (orig.max() - orig.min()))
            if s.skew() > 0:
                s[s == s.max()] = s[s < s.max()].max()
            else:
                s[s == s.min()] = s[s > s.min()].min()
        return s

    def minmax(s, direction=1):
        v = s * direction
        return 100 * (v - v.min()) / (v.max() - v.min())

    raw = {
        "patents_pc": ratio(df["patents"], df["population"]),
        "skewed": df["skewed"].astype(float),
        "heavy": df["heavy"].astype(float),
        "broadband": df["broadband"].astype(float),
        "gdp_pc": ratio(df["gdp"], df["population"]),
    }
    n = {}
    for k, s in raw.items():
        t = treat(impute(s), winmax=1 if k == "heavy" else 5)
        n[k] = minmax(t, -1 if k == "broadband" else 1)
    p1 = (n["patents_pc"] + n["skewed"]) / 2
    p2 = (n["heavy"] + n["broadband"] + 3 * n["gdp_pc"]) / 5
    return (p1 + 2 * p2) / 3


def _run(tmp_path, system_text, data, *extra):
    sys_path = tmp_path / "system.yaml"
    sys_path.write_text(system_text, encoding="utf-8")
    data_path = tmp_path / "data.csv"
    pd.DataFrame(data).to_csv(data_path, index=False)
    out = tmp_path / "out.csv"
    result = runner.invoke(app, ["index", "compute", "--system", str(sys_path), "--data",
                                 str(data_path), "--out", str(out), *extra])
    return result, out


def test_jrc_pipeline_reproduced(tmp_path):
    trace = tmp_path / "trace.csv"
    result, out = _run(tmp_path, JRC, DATA, "--trace", str(trace))
    assert result.exit_code == 0, result.output
    got = pd.read_csv(out, dtype={"code": str}).set_index("code")
    assert list(got.columns) == ["index", "p1", "patents_pc", "skewed", "p2", "heavy",
                                 "broadband", "gdp_pc", "index_rank", "p1_rank", "p2_rank"]
    expect = jrc_reference()
    assert got["index"].to_numpy() == pytest.approx(expect.to_numpy(), rel=1e-12)
    ranks = expect.rank(ascending=False, method="min").astype(int)
    assert got["index_rank"].tolist() == ranks.tolist()
    # the trace shows the winsorisation and the log fallback
    t = pd.read_csv(trace, dtype={"unit": str})
    assert list(t.columns) == ["unit", "indicator", "raw", "imputed", "treated", "normalised",
                               "weight", "contribution"]
    skewed = t[t.indicator == "skewed"].set_index("unit")
    assert skewed.loc["C17", "raw"] == 75 and skewed.loc["C17", "treated"] == 30
    heavy = t[t.indicator == "heavy"].set_index("unit")
    assert heavy.loc["C00", "treated"] == pytest.approx(math.log(1 - 1 + 0.01 * 9999))
    pc = t[t.indicator == "patents_pc"].set_index("unit")
    assert math.isnan(pc.loc["C16", "raw"])  # population 0: division by zero → missing
    assert pc.loc["C16", "imputed"] == pytest.approx(
        np.nanmean([p / q for p, q, r in zip(DATA["patents"], DATA["population"], REGION,
                                             strict=True)
                    if r == "S" and p is not None and q]))
    assert "对数" in result.output


HDI = """\
id: hdi-demo
name: 人类发展指数式示例
version: "1.0"
effective_from: 2024-01-01
unit: {id: iso}
columns: {life_exp: {}, mys: {}, eys: {}, gnipc: {}}
defaults:
  normalise: {method: goalposts, min: 0, max: 1, range: [0, 1]}
tree:
  - code: hdi
    aggregate: {method: geometric_mean}
    children:
      - code: health
        formula: life_exp
        normalise: {method: goalposts, min: 20, max: 85, range: [0, 1]}
      - code: education
        children:
          - code: mys_i
            formula: mys
            normalise: {method: goalposts, min: 0, max: 15, range: [0, 1]}
          - code: eys_i
            formula: eys
            normalise: {method: goalposts, min: 0, max: 18, range: [0, 1]}
      - code: income
        formula: log(gnipc)
        normalise: {method: goalposts, min: log(100), max: log(75000), range: [0, 1]}
"""

HDI_DATA = {
    "iso": ["AAA", "BBB", "CCC", "DDD"],
    "life_exp": [82.5, 71.0, 60.2, 88.0],
    "mys": [12.6, 8.1, 4.5, 14.0],
    "eys": [16.3, 12.9, 9.8, 20.1],
    "gnipc": [45000.0, 11000.0, 1800.0, 90000.0],
}


def test_hdi_goalposts_and_geometric_mean_reproduced(tmp_path):
    result, out = _run(tmp_path, HDI, HDI_DATA)
    assert result.exit_code == 0, result.output
    got = pd.read_csv(out).set_index("iso")
    for i, iso in enumerate(HDI_DATA["iso"]):
        h = min(max((HDI_DATA["life_exp"][i] - 20) / 65, 0), 1)
        e = (min(HDI_DATA["mys"][i] / 15, 1) + min(HDI_DATA["eys"][i] / 18, 1)) / 2
        inc = (math.log(HDI_DATA["gnipc"][i]) - math.log(100)) / (
            math.log(75000) - math.log(100))
        inc = min(max(inc, 0), 1)
        assert got.loc[iso, "hdi"] == pytest.approx((h * e * inc) ** (1 / 3), rel=1e-12)
        assert got.loc[iso, "income"] == pytest.approx(inc, rel=1e-12)
    assert got.loc["DDD", "health"] == 1.0 and got.loc["DDD", "eys_i"] == 1.0  # capped
    assert got["hdi_rank"].tolist() == [2, 3, 4, 1]


def test_output_neutralises_formula_injection(tmp_path):
    data = dict(HDI_DATA, iso=["=cmd()", "BBB", "CCC", "DDD"])
    result, out = _run(tmp_path, HDI, data)
    assert result.exit_code == 0, result.output
    with out.open(encoding="utf-8") as fh:
        rows = list(csv.reader(fh))
    assert rows[1][0] == "'=cmd()"


def test_xlsx_input_and_bad_cells(tmp_path):
    xlsx = tmp_path / "data.xlsx"
    pd.DataFrame(HDI_DATA).to_excel(xlsx, index=False)
    (tmp_path / "s.yaml").write_text(HDI, encoding="utf-8")
    out = tmp_path / "o.csv"
    ok = runner.invoke(app, ["index", "compute", "--system", str(tmp_path / "s.yaml"),
                             "--data", str(xlsx), "--out", str(out)])
    assert ok.exit_code == 0, ok.output
    assert len(pd.read_csv(out)) == 4
    bad = dict(HDI_DATA, mys=["12.6", "八", "4.5", "14"])
    result, _ = _run(tmp_path, HDI, bad)
    assert result.exit_code == 1
    assert "第3行" in result.output and "mys" in result.output and "不是数字" in result.output


def test_unknown_engine(tmp_path):
    result, out = _run(tmp_path, HDI, HDI_DATA, "--engine", "flink")
    assert result.exit_code == 2 and "未知的引擎" in result.output
    assert not out.exists()


@pytest.mark.skipif(os.environ.get("KECHUANG_TEST_SPARK") != "1",
                    reason="Spark (local JVM, ~1 min) runs with KECHUANG_TEST_SPARK=1")
def test_spark_gives_identical_results(tmp_path):
    from tests.scoring.test_shipped import DATA

    system_path = Path(system.__file__).parent / "systems" / "torch.yaml"
    data_path = tmp_path / "county.csv"
    DATA.to_csv(data_path, index=False)
    outs = {}
    for name in ("duckdb", "spark"):
        outs[name] = tmp_path / f"{name}.csv"
        result = runner.invoke(app, ["index", "compute", "--system", str(system_path),
                                     "--data", str(data_path), "--out", str(outs[name]),
                                     "--engine", name])
        assert result.exit_code == 0, result.output
    d = pd.read_csv(outs["duckdb"], dtype={"uscc": str, "veto": str})
    s = pd.read_csv(outs["spark"], dtype={"uscc": str, "veto": str})
    pd.testing.assert_frame_equal(d, s, check_exact=False, rtol=1e-12)


def test_bad_system_file_exit_code_and_message(tmp_path):
    result, _ = _run(tmp_path, HDI.replace("method: geometric_mean", "method: geometric"),
                     HDI_DATA)
    assert result.exit_code == 1
    assert "system.yaml 第11行" in result.output and "geometric" in result.output
