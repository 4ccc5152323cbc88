"""Fit of commissioners for requests: text relevance normalised per request, region and
industry boosts as data, candidate limits, and awkward input."""

from __future__ import annotations

import json

import pytest

from kechuang.dispatch.fit import (
    CommissionerText,
    FitWeights,
    RequestText,
    commissioner_index,
    fit_pairs,
)
from kechuang.kit.errors import InvalidInput

PEOPLE = [
    CommissionerText("bat", "锂离子电池 正极材料 隔膜", "苏州大学", "320582"),
    CommissionerText("bat2", "锂离子电池 电解液", "常州大学", "320581"),
    CommissionerText("water", "印染废水 水处理", "江南大学", "320205"),
    CommissionerText("pm", "PM2.5 大气污染", "南京大学", "320582"),
]


def by_pair(pairs):  # type: ignore[no-untyped-def]
    return {(p.task_id, p.person_id): p.fit for p in pairs}


def test_fit_is_normalised_text_plus_boosts_computed_independently():
    req = RequestText("r1", "锂离子电池", "正极材料的改进", "320582100", "电池制造")
    w = FitWeights(text=1.0, region_same=0.3, region_city=0.1, industry=0.2, min_text=0.0,
                   max_candidates=0)
    got = by_pair(fit_pairs([req], PEOPLE, w))
    index = commissioner_index(PEOPLE)
    raw = dict(zip(index.row_ids(), index.scores("锂离子电池\n正极材料的改进"), strict=True))
    best = max(raw.values())
    ind = dict(zip(index.row_ids(), index.scores("电池制造"), strict=True))
    for pid, region in (("bat", "320582"), ("bat2", "320581")):
        same = region == "320582"  # the request's town 320582100 lies in county 320582
        expected = (raw[pid] / best + (0.3 if same else 0.1)
                    + (0.2 if ind[pid] > 0 else 0.0))
        assert got[("r1", pid)] == pytest.approx(expected, abs=1e-6)
    assert got[("r1", "bat")] > got[("r1", "bat2")]
    assert ("r1", "water") not in got  # shares no term: never a candidate


def test_min_text_and_max_candidates_limit_the_pairs():
    req = RequestText("r", "锂离子电池 废水 PM2.5", "")
    all_pairs = fit_pairs([req], PEOPLE, FitWeights(min_text=0.0, max_candidates=0))
    assert len(all_pairs) == 4
    two = fit_pairs([req], PEOPLE, FitWeights(min_text=0.0, max_candidates=2))
    assert len(two) == 2
    best_two = sorted(all_pairs, key=lambda p: (-p.fit, p.person_id))[:2]
    assert {p.person_id for p in two} == {p.person_id for p in best_two}


def test_full_width_and_mixed_scripts_match_and_empty_or_huge_text_is_safe():
    reqs = [RequestText("fw", "ＰＭ２．５污染治理", ""),  # full-width letters and digits
            RequestText("empty", "", ""),
            RequestText("huge", "锂离子电池", "隔膜" * 20_000)]  # longer than a query may be
    got = by_pair(fit_pairs(reqs, PEOPLE, FitWeights(min_text=0.5)))
    assert ("fw", "pm") in got
    assert not any(t == "empty" for t, _ in got)
    assert ("huge", "bat") in got


def test_weights_load_from_json_and_refuse_typos(tmp_path):
    good = tmp_path / "w.json"
    good.write_text(json.dumps({"region_same": 0.5, "max_candidates": 10}), encoding="utf-8")
    w = FitWeights.load(good)
    assert w.region_same == 0.5 and w.max_candidates == 10 and w.text == 1.0
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"regoin_same": 0.5}), encoding="utf-8")
    with pytest.raises(InvalidInput, match="未知的权重 regoin_same"):
        FitWeights.load(bad)
    neg = tmp_path / "neg.json"
    neg.write_text(json.dumps({"text": -1}), encoding="utf-8")
    with pytest.raises(InvalidInput, match="非负数"):
        FitWeights.load(neg)
