"""Reward-scheme files: the shipped ones load; every mistake names file, line and key."""

from __future__ import annotations

from decimal import Decimal

import pytest

from kechuang.lists.schemes import SchemeFileError, parse_scheme, shipped_schemes

GOOD = """\
id: test
name: 测试方案
kind: proportional
budget: 1000000
threshold: 60
cap: 100000
"""


def test_shipped_schemes_load_with_exact_amounts():
    schemes = shipped_schemes()
    assert {"tiers-wenzhou", "ranks-top10", "points-dividend"} <= set(schemes)
    tiers = schemes["tiers-wenzhou"].scheme
    assert [r.amount for r in tiers.tiers or []] == [Decimal(200000), Decimal(100000),
                                                     Decimal(50000)]
    assert schemes["points-dividend"].scheme.cap == Decimal(1000000)
    assert len(schemes["points-dividend"].sha256) == 64


def test_a_good_file_parses_and_its_hash_follows_the_text():
    a = parse_scheme(GOOD, "a.yaml")
    b = parse_scheme(GOOD.replace("60", "61"), "a.yaml")
    assert a.scheme.threshold == 60 and a.scheme.redistribute is True
    assert a.sha256 != b.sha256


@pytest.mark.parametrize(("text", "where", "why"), [
    (GOOD + "budgett: 5\n", "第7行，键“budgett”", "未知的键"),
    (GOOD.replace("cap: 100000", "cap: 100000.001"), "第6行，键“cap”", "精确到分"),
    (GOOD.replace("threshold: 60\n", ""), "a.yaml", "threshold"),
    (GOOD.replace("kind: proportional", "kind: lottery"), "第3行，键“kind”", "lottery"),
    (GOOD + "budget: 5\n", "第7行", "重复"),
    ("id: t\nname: x\nkind: tiers\ntiers:\n  - {tier: lead, ranks: [1, 3], amount: 5}\n",
     "第5行，键“tiers.0”", "tier（榜单）或 ranks"),
    ("id: t\nname: x\nkind: tiers\ntiers:\n  - {ranks: [1, 5], amount: 5}\n"
     "  - {ranks: [5, 9], amount: 3}\n", "第6行，键“tiers.1.ranks”", "重叠"),
    ("id: t\nname: x\nkind: tiers\ntiers:\n  - {ranks: [3, 1], amount: 5}\n",
     "第5行", "名次范围"),
    ("id: t\nname: x\nkind: tiers\ntiers:\n  - {tier: lead, amount: -5}\n",
     "第5行，键“tiers.0.amount”", "不能为负"),
    ("id: t\nname: [x\n", "第", "YAML 语法错误"),
])
def test_mistakes_name_file_line_and_key(text, where, why):
    with pytest.raises(SchemeFileError) as info:
        parse_scheme(text, "a.yaml")
    message = info.value.message_zh
    assert message.startswith("a.yaml"), message
    assert where in message, message
    assert why in message, message
