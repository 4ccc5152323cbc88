"""Every case of src/kechuang/review/rules/review.cases.yaml, the rule file and the rubrics
load, and the engine's conflict rules and repair behave as documented."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from kechuang.kit.rules import RuleFileError, loads, parse_yaml
from kechuang.review import engine, service
from kechuang.review.schemas import Rubric

CASES = parse_yaml((Path(service.HERE) / "rules" / "review.cases.yaml").read_text("utf-8"),
                   "review.cases.yaml")


def test_rules_and_rubric_load() -> None:
    r = service.rules()
    assert r.assignment.k >= 1 and r.source
    rb = service.rubric("default")
    assert abs(sum(c.weight for c in rb.criteria) - 1) < 1e-9


def test_rubric_weights_must_sum_to_one() -> None:
    text = ("id: x\ntitle: t\nvalid_from: 2024-01-01\nsource: 某文件第一条\ncriteria:\n"
            "  - {key: a, name: 甲, name_en: A, weight: 0.5, scale: {min: 0, max: 10}}\n")
    with pytest.raises(RuleFileError, match="权重之和"):
        loads(text, Rubric, "x.yaml")


@pytest.mark.parametrize("case", CASES["aggregation"], ids=lambda c: c["name"])
def test_aggregation_case(case: dict) -> None:  # type: ignore[type-arg]
    reviews = [(s, r, float(v)) for s, by in case["reviews"].items() for r, v in by.items()]
    out = engine.aggregate(reviews, normalise=case["normalise"], trim=case["trim"],
                           spread=case["spread"], min_reviews=case.get("min_reviews", 3))
    for s, v in case.get("expect", {}).items():
        assert out[s].score == pytest.approx(v, abs=1e-5)
    if "expect_order" in case:
        got = sorted(out, key=lambda s: -out[s].score)  # type: ignore[operator]
        assert got == case["expect_order"]
    if "flagged" in case:
        assert sorted(s for s in out if out[s].flagged) == sorted(case["flagged"])


@pytest.mark.parametrize("case", CASES["funding"], ids=lambda c: c["name"])
def test_funding_case(case: dict) -> None:  # type: ignore[type-arg]
    items = [(x["id"], float(x["score"]), Decimal(str(x["amount"]))) for x in case["ranked"]]
    rows, summary = engine.fund_in_order(items, Decimal(str(case["budget"])),
                                         case.get("fund_count"))
    assert sorted(r.subject_id for r in rows if r.funded) == sorted(case["funded"])
    for sid in case.get("tie_noted", []):
        assert "同分" in next(r.note for r in rows if r.subject_id == sid)
    assert summary


def test_unscored_subjects_are_ranked_last_and_not_funded() -> None:
    rows, _ = engine.fund_in_order([(1, None, Decimal(1)), (2, 50.0, Decimal(1))],
                                   Decimal(10), None)
    assert [(r.subject_id, r.funded) for r in rows] == [(2, True), (1, False)]


def test_conflict_rules() -> None:
    subj = [engine.SubjectFacts(1, ["华芯 微电子", "伙伴大学"], ["320582"], ["李四"])]
    experts = [
        engine.ExpertFacts(10, "张三", "华芯微电子", "320581", [], []),
        engine.ExpertFacts(11, "李四", "别处", "320581", [], []),
        engine.ExpertFacts(12, "王五", "别处", "320581", [], [("伙伴大学", 2024)]),
        engine.ExpertFacts(13, "赵六", "别处", "320581", [], [("伙伴大学", 2019)]),
        engine.ExpertFacts(14, "钱七", "别处", "320582", ["伙伴大学"], []),
    ]
    found = engine.find_conflicts(subj, experts, same_organisation=True, named_people=True,
                                  declared=True, collaboration_years=3, same_region=False,
                                  year=2026)
    rules = {(e, rule) for _, e, rule, _ in found}
    assert rules == {(10, "same_org"), (11, "named"), (12, "collaboration"), (14, "declared")}
    found = engine.find_conflicts(subj, experts, same_organisation=False, named_people=False,
                                  declared=False, collaboration_years=0, same_region=True,
                                  year=2026)
    assert {(e, rule) for _, e, rule, _ in found} == {(14, "same_region")}


def test_best_alternate_skips_assigned_conflicted_and_full() -> None:
    cands = [(1, 0.9), (2, 0.8), (3, 0.8), (4, 0.7), (5, 0.95)]
    pick = engine.best_alternate(cands, assigned={1}, conflicted={5}, free={2: 0, 3: 1, 4: 1})
    assert pick == (3, 0.8)
    assert engine.best_alternate(cands, {1, 2, 3, 4}, {5}, {}) is None


def test_weighted_total_missing_is_not_zero() -> None:
    crit = [("a", 0.5, 0.0, 10.0), ("b", 0.5, 0.0, 10.0)]
    assert engine.weighted_total(crit, {"a": 10, "b": 5}) == Decimal("75")
    with pytest.raises(Exception, match="缺失不等于 0"):
        engine.weighted_total(crit, {"a": 10})
