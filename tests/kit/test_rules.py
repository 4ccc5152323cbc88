"""The one rule loader (kechuang.kit.rules): file, line and dotted key in every message;
duplicate keys refused, also next to ``<<`` merge keys; dated values."""

from __future__ import annotations

from datetime import date

import pytest
from pydantic import BaseModel, ConfigDict, Field

from kechuang.kit import rules


class Band(BaseModel):
    model_config = ConfigDict(extra="forbid")

    method: str = Field(pattern=r"^(minmax|bands)$")
    upto: float


class Doc(rules.RuleHeader):
    bands: list[Band]
    parameters: dict[str, list[rules.DatedValue]] = {}


GOOD = """\
id: demo.rules
title: 示例
valid_from: 2020-01-01
source: 示例文件 第一条
bands:
  - {method: minmax, upto: 0.05}
  - {method: bands, upto: 0.10}
parameters:
  cap:
    - {from: 2020-01-01, value: 80, source: 示例文件 第二条}
    - {from: 2023-01-01, value: 100, source: 示例文件 修订}
"""


def test_a_good_file_and_dated_values() -> None:
    doc = rules.loads(GOOD, Doc, "demo.yaml")
    assert doc.valid_from == date(2020, 1, 1)
    assert rules.value_at(doc.parameters["cap"], date(2022, 12, 31)) == 80
    assert rules.value_at(doc.parameters["cap"], date(2023, 1, 1)) == 100
    with pytest.raises(rules.InvalidInput, match="早于"):
        rules.value_at(doc.parameters["cap"], date(2019, 12, 31))


@pytest.mark.parametrize(("text", "expected"), [
    (GOOD.replace("upto: 0.10", "upto: 一成"), "demo.yaml 第7行，键“bands.1.upto”：应为数字"),
    (GOOD.replace("title: 示例\n", "title: 示例\ntitle: 又一个\n"),
     "demo.yaml 第3行，键“title”：键重复"),
    (GOOD.replace("method: bands", "method: bandz"), "demo.yaml 第7行，键“bands.1.method”"),
    (GOOD + "colour: red\n", "demo.yaml 第12行，键“colour”：未知的键"),
    (GOOD.replace("valid_from: 2020-01-01", "valid_from: 2020-13-01"), "键“valid_from”：应为日期"),
    (GOOD.replace("source: 示例文件 第一条\n", ""), "键“source”：缺少必填的键"),
    ("id: [x\n", "demo.yaml 第2行：YAML 语法错误"),
])
def test_every_mistake_names_file_line_and_key(text: str, expected: str) -> None:
    with pytest.raises(rules.RuleFileError) as info:
        rules.loads(text, Doc, "demo.yaml")
    assert expected in info.value.message_zh, info.value.message_zh


def test_merge_keys_may_be_overridden_but_keys_not_repeated() -> None:
    data = rules.parse_yaml("a: &x {p: 1, q: 2}\nb:\n  <<: *x\n  q: 3\n", "m.yaml")
    assert data["b"] == {"p": 1, "q": 3}
    with pytest.raises(rules.RuleFileError, match="第4行，键“q”：键重复"):
        rules.parse_yaml("b:\n  <<: {p: 1}\n  q: 1\n  q: 2\n", "m.yaml")


def test_plain_mappings_get_dotted_keys_too() -> None:
    with pytest.raises(rules.RuleFileError, match="键“bands.0.upto”"):
        rules.validate({"id": "x", "title": "t", "valid_from": "2020-01-01",
                        "source": "某文件 第一条", "bands": [{"method": "minmax", "upto": "?"}]},
                       Doc, "plain")
