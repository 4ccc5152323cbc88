"""Malformed or contradictory policy files are refused, naming file, line and key."""

from __future__ import annotations

import pytest

from kechuang.policy.loader import PolicyFileError, builtin_policies, load_policy_file

GOOD = """\
id: demo
name: 示例
document: {number: 示例〔2024〕1号, title: 示例文件}
effective_from: 2020-01-01
target: 企业
parameters:
  min_staff:
    label: 最少职工
    values:
      - {from: 2020-01-01, value: 10, ref: 第一条}
scores:
  - id: staff
    label: 人数得分
    bands:
      value: employees
      table:
        - {min: 100, points: 10}
        - {min: 50, points: 5}
conditions:
  all:
    - id: demo.staff
      label: 职工人数
      clause: 第一条
      checks:
        - {value: employees, op: ">=", threshold: params.min_staff}
"""


def load(tmp_path, text):
    path = tmp_path / "demo.yaml"
    path.write_text(text, encoding="utf-8")
    return load_policy_file(path)


def refused(tmp_path, text, line_of: str | None = None) -> str:
    """The refusal message; with ``line_of``, it must name the line holding that text."""
    with pytest.raises(PolicyFileError) as info:
        load(tmp_path, text)
    message = info.value.message_zh
    assert "demo.yaml" in message
    if line_of is not None:
        line = next(i for i, t in enumerate(text.splitlines(), 1) if line_of in t)
        assert f"第 {line} 行" in message, message
    return message


def test_good_file_loads(tmp_path):
    lp = load(tmp_path, GOOD)
    assert [leaf.id for leaf in lp.leaves] == ["demo.staff"]


def test_builtins_load():
    assert {"tech_sme", "hte"} <= set(builtin_policies())


def test_unknown_key_names_line_and_key(tmp_path):
    msg = refused(tmp_path, GOOD.replace("      label: 职工人数", "      lable: 职工人数"),
                  line_of="lable")
    assert "lable" in msg and "不允许的键" in msg


def test_leaf_id_used_twice(tmp_path):
    twice = GOOD + """\
    - id: demo.staff
      label: 又一次
      clause: 第二条
      checks:
        - {value: employees, op: ">=", threshold: 1}
"""
    msg = refused(tmp_path, twice)
    second = [i for i, t in enumerate(twice.splitlines(), 1) if "id: demo.staff" in t][-1]
    assert f"第 {second} 行" in msg and "重复" in msg


def test_parameter_without_value_in_force(tmp_path):
    late = GOOD.replace("from: 2020-01-01, value: 10", "from: 2021-01-01, value: 10")
    msg = refused(tmp_path, late, line_of="from: 2021-01-01")
    assert "min_staff" in msg and "没有有效取值" in msg


def test_bands_not_descending(tmp_path):
    msg = refused(tmp_path, GOOD.replace("{min: 50, points: 5}", "{min: 150, points: 5}"))
    assert "递减" in msg and "第 1" in msg


def test_duplicate_yaml_key(tmp_path):
    msg = refused(tmp_path, GOOD.replace("target: 企业", "target: 企业\ntarget: 其他"),
                  line_of="target: 其他")
    assert "target" in msg


def test_bad_expression_and_unknown_name(tmp_path):
    bad = GOOD.replace("threshold: params.min_staff", "threshold: params.min_staff +")
    msg = refused(tmp_path, bad, line_of="params.min_staff +")
    assert "表达式错误" in msg
    msg = refused(tmp_path, GOOD.replace("value: employees, op", "value: __import__, op"))
    assert "__import__" in msg and "未知的名称" in msg


def test_leaf_id_must_carry_policy_prefix(tmp_path):
    msg = refused(tmp_path, GOOD.replace("- id: demo.staff", "- id: staff_leaf"))
    assert "demo." in msg


def test_leaf_ids_are_exactly_those_of_the_contract():
    policies = builtin_policies()
    assert [leaf.id for leaf in policies["tech_sme"].leaves] == [
        "tech_sme.size", "tech_sme.clean_record", "tech_sme.score", "tech_sme.direct"]
    assert [leaf.id for leaf in policies["hte"].leaves] == [
        "hte.registered_1y", "hte.ip_owned", "hte.key_field", "hte.tech_staff_ratio",
        "hte.rd_ratio", "hte.rd_domestic_ratio", "hte.high_tech_revenue_ratio",
        "hte.innovation_score", "hte.no_major_incident"]


def test_every_parameter_value_cites_its_source():
    for lp in builtin_policies().values():
        for name, param in lp.policy.parameters.items():
            assert all(v.ref.strip() for v in param.values), f"{lp.id}.{name}"
