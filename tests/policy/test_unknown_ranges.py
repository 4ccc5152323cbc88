"""An unknown input neither decides too much nor too little (issue 11, item 1): a score item
of unknown input spans its whole range, which decides a verdict when the pass mark lies
outside it and leaves 数据不足 — naming the missing value — when it does not; 0 divided by
an unknown is 0."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd

from kechuang.policy.engine import evaluate
from kechuang.policy.loader import load_policy_file

POLICY = """
id: unknown_ranges
name: 测试：未知输入的得分区间
document: {number: 测试文件, title: 测试, article: 第一条}
effective_from: 2020-01-01
target: 测试
scores:
  - id: total
    label: 总分
    sum:
      - id: staff
        label: 科技人员占比
        bands:
          value: tech_staff / employees
          table:
            - {min: 0.10, points: 20}
          else: 0
      - id: rd
        label: 研发费用占成本比例
        bands:
          value: rd_expense / total_costs
          table:
            - {min: 0.10, points: 50}
          else: 0
      - id: ip
        label: 知识产权
        cases:
          - {when: class2_ip >= 1, points: 30}
        else: 0
verdict_score:
  points: total
  pass_mark: 60
conditions:
  all:
    - id: unknown_ranges.score
      label: 综合评分不低于 60 分
      clause: 第二条
      checks:
        - value: points.total
          op: ">="
          threshold: 60
          format: pts
          gap: 综合评分 {value}
"""


def _evaluate(tmp_path: Path, rows: list[dict[str, object]]) -> pd.DataFrame:
    path = tmp_path / "unknown_ranges.yaml"
    path.write_text(POLICY, encoding="utf-8")
    frame = pd.DataFrame([{"year": 2023, **r} for r in rows])
    return evaluate(load_policy_file(path), frame, date(2024, 3, 1)).table().set_index("uscc")


def test_a_range_decides_when_it_can_and_names_the_missing_value_when_it_cannot(
        tmp_path: Path) -> None:
    t = _evaluate(tmp_path, [
        # staff unknown (0–20) + R&D 50 + IP 30: at least 80 → eligible without the count
        {"uscc": "A", "employees": 100, "tech_staff": None, "rd_expense": 20,
         "total_costs": 100, "class2_ip": 1},
        # staff unknown (0–20) + no R&D + no IP: at most 20 → ineligible, decided
        {"uscc": "B", "employees": 100, "tech_staff": None, "rd_expense": 0,
         "total_costs": None, "class2_ip": 0},
        # staff unknown (0–20) + R&D 50 + no IP: 50–70 straddles 60 → 数据不足, named
        {"uscc": "C", "employees": 100, "tech_staff": None, "rd_expense": 20,
         "total_costs": 100, "class2_ip": 0},
        # costs unknown with R&D above 0: the R&D item spans 0–50 → 数据不足, named
        {"uscc": "D", "employees": 100, "tech_staff": 30, "rd_expense": 20,
         "total_costs": None, "class2_ip": 1},
    ])
    assert t.loc["A", "verdict"] == "eligible"
    assert (float(t.loc["A", "score_min"]), float(t.loc["A", "score_max"])) == (80, 100)
    assert t.loc["B", "verdict"] == "ineligible"  # 0 / unknown costs = 0: R&D 0 points
    assert float(t.loc["B", "score_max"]) == 20
    assert t.loc["C", "verdict"] == "insufficient_data"  # never "borderline"
    assert t.loc["C", "missing"] == "tech_staff(2023)"
    assert (float(t.loc["C", "score_min"]), float(t.loc["C", "score_max"])) == (50, 70)
    assert t.loc["D", "verdict"] == "insufficient_data"
    assert t.loc["D", "missing"] == "total_costs(2023)"
    assert not np.isnan(float(t.loc["D", "score_min"]))
