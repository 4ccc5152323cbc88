"""System files: the documented example loads; every error names file, line and key."""

from __future__ import annotations

import math
import textwrap

import pytest

from kechuang.scoring import system
from kechuang.scoring.schemas import CohortWeight

EXAMPLE = textwrap.dedent("""\
    id: zjg-points
    name: 张家港企业创新积分
    version: "2.0"
    effective_from: 2020-01-01
    unit: {id: uscc, name: name}
    groups: [industry_section, stage]
    defaults:
      impute: {method: group_mean, group: industry_section}
      treat: {method: skew_kurt, skew: 2, kurt: 3.5, winmax: 5}
      normalise: {method: minmax, range: [0, 100]}
      aggregate: {method: arithmetic_mean}
    tree:
      - code: total
        name: 创新积分
        aggregate: {method: weighted_sum}
        children:
          - code: tech
            name: 技术创新
            weight: 0.6
            children:
              - code: rd_intensity
                name: 研发投入强度
                formula: rd_expense / revenue
                direction: 1
                weight: 2
                normalise: {method: percentile, within: industry_section}
              - code: class1_ip
                name: Ⅰ类知识产权
                formula: class1_ip
                treat: {method: none}
                normalise: {method: bands, bands: [[3, 100], [1, 60], [0, 0]]}
          - code: growth
            name: 成长经营
            weight: 0.4
            children:
              - code: revenue_growth
                formula: growth(revenue, years=3)
    """)


def test_the_documented_example_loads():
    s = system.loads(EXAMPLE, "zjg-2.0.yaml")
    assert s.order == ["total", "tech", "rd_intensity", "class1_ip", "growth", "revenue_growth"]
    assert set(s.groups) == {"total", "tech", "growth"}
    assert s.indicators["rd_intensity"].impute.group == "industry_section"
    assert s.indicators["class1_ip"].treat.method == "none"
    assert s.indicators["revenue_growth"].weight == 1.0
    assert s.inputs() == {"rd_expense", "revenue", "class1_ip"}
    assert len(s.sha256) == 64


def test_goalposts_fold_constant_expressions():
    text = EXAMPLE.replace(
        "normalise: {method: percentile, within: industry_section}",
        "normalise: {method: goalposts, min: log(100), max: log(75000), range: [0, 1]}",
    )
    spec = system.loads(text, "hdi.yaml").indicators["rd_intensity"].normalise
    assert spec.min == pytest.approx(math.log(100))
    assert spec.max == pytest.approx(math.log(75000))


def _error(text: str) -> str:
    with pytest.raises(system.SystemFileError) as info:
        system.loads(text, "zjg-2.0.yaml")
    return info.value.message_zh


def test_unknown_method_names_file_line_and_key():
    text = EXAMPLE.replace("method: bands, bands", "method: bandz, bands")
    msg = _error(text)
    assert msg.startswith("zjg-2.0.yaml 第31行，键“tree.0.children.0.children.1.normalise.method”")
    assert "未知的方法 “bandz”" in msg


def test_unknown_key_is_an_error():
    msg = _error(EXAMPLE.replace("    direction: 1", "    directoin: 1"))
    assert "第24行" in msg and "tree.0.children.0.children.0.directoin" in msg
    assert "未知的键" in msg


def test_unknown_metric_in_formula():
    msg = _error(EXAMPLE.replace("rd_expense / revenue", "rd_expnse / revenue"))
    assert "第23行" in msg and "tree.0.children.0.children.0.formula" in msg
    assert "rd_expnse" in msg


def test_cycle_between_indicators():
    text = EXAMPLE.replace("formula: class1_ip", "formula: revenue_growth + 1").replace(
        "formula: growth(revenue, years=3)", "formula: class1_ip * 2")
    msg = _error(text)
    assert "循环引用" in msg and "class1_ip → revenue_growth → class1_ip" in msg


def test_reference_to_another_indicator_is_inlined():
    text = EXAMPLE.replace("formula: class1_ip", "formula: rd_intensity * 100")
    s = system.loads(text, "x.yaml")
    assert system.ex.names(s.indicators["class1_ip"].formula) == {"rd_expense", "revenue"}


def test_duplicate_codes():
    msg = _error(EXAMPLE.replace("- code: revenue_growth", "- code: class1_ip"))
    assert "第36行" in msg and "“class1_ip” 重复" in msg and "第27行" in msg


def test_bands_must_descend():
    msg = _error(EXAMPLE.replace("[[3, 100], [1, 60], [0, 0]]", "[[1, 60], [3, 100], [0, 0]]"))
    assert "第31行" in msg and "normalise.bands" in msg and "递减" in msg


@pytest.mark.parametrize("weight", ["0", "-2", "log(1)"])
def test_weights_must_be_positive(weight):
    msg = _error(EXAMPLE.replace("weight: 2", f"weight: {weight}"))
    assert "第25行" in msg and "children.0.weight" in msg and "权重应大于 0" in msg


def test_missing_required_key_and_bad_date():
    msg = _error(EXAMPLE.replace('name: 张家港企业创新积分\n', "").replace(
        "2020-01-01", "2020-13-01"))
    assert "缺少必填的键" in msg and "键“name”" in msg
    assert "effective_from" in msg


def test_yaml_syntax_and_duplicate_keys():
    assert "YAML 语法错误" in _error(EXAMPLE.replace("unit: {id: uscc,", "unit: {id: uscc"))
    msg = _error(EXAMPLE.replace("direction: 1\n", "direction: 1\n            direction: -1\n"))
    assert "键重复" in msg and "第25行" in msg


def test_cohort_must_be_declared_and_cohort_weights():
    msg = _error(EXAMPLE.replace("within: industry_section", "within: region"))
    assert "region" in msg and "groups" in msg
    text = EXAMPLE.replace("weight: 0.4",
                           "weight: {by: stage, values: {初创: 0.5, 成长: 0.4}, default: 0.3}")
    w = system.loads(text, "x.yaml").groups["growth"].weight
    assert isinstance(w, CohortWeight) and w.values["初创"] == 0.5


def test_group_node_cannot_have_a_formula():
    msg = _error(EXAMPLE.replace("    weight: 0.4\n",
                                 "    weight: 0.4\n        formula: revenue\n"))
    assert "分组节点" in msg


def test_shipped_systems_load():
    found = system.shipped()
    assert {"zjg-1.0", "zjg-2.0", "torch"} <= set(found)
    for path in found.values():
        s = system.load(path)
        assert s.indicators, path
