"""The tier rules file is dated and sourced, read by the one rule loader, and its YAML
cases (the 领军企业 cut-off and the ladder) pass."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from kechuang.kit import rules
from kechuang.tiers.schemas import RULES_PATH, TierRules, load_rules

CASES = rules.parse_yaml(RULES_PATH.with_name("rules.cases.yaml").read_text(encoding="utf-8"),
                         "rules.cases.yaml")


def test_the_rules_are_dated_and_sourced() -> None:
    r = load_rules()
    assert r.id == "tiers.rules" and r.valid_from and "63号" in r.source


@pytest.mark.parametrize("case", CASES["leading"], ids=[c["name"][:30] for c in CASES["leading"]])
def test_leading_cut_off(case) -> None:
    leading = load_rules().by_id("leading").scoring
    assert leading is not None
    assert leading.cutoff(case["scored"]) == case["cutoff"]
    assert math.floor(case["cutoff"] * leading.pool_factor) == case["pool"]


def test_the_ladder() -> None:
    r = load_rules()
    assert [(t.level, t.id) for t in r.tiers] == [(c["level"], c["id"]) for c in CASES["ladder"]]


def test_a_repeated_key_is_refused_with_its_line(tmp_path: Path) -> None:
    text = RULES_PATH.read_text(encoding="utf-8")
    bad = tmp_path / "rules.yaml"
    bad.write_text(text + "require_lower: true\n", encoding="utf-8")
    with pytest.raises(rules.RuleFileError, match="键“require_lower”：键重复"):
        load_rules(bad)
    assert isinstance(load_rules(), TierRules)
