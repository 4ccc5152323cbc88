"""Payment lists: worked examples computed by hand, and properties for random inputs."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kechuang.kit.errors import InvalidInput
from kechuang.lists.engine import Candidate, compute, round_to_cents
from kechuang.lists.schemes import Scheme

D = Decimal


def prop(budget: str, threshold: float, cap: str | None = None, redistribute: bool = True,
         basis: str = "excess") -> Scheme:
    return Scheme(id="t", name="t", kind="proportional", budget=D(budget), threshold=threshold,
                  cap=None if cap is None else D(cap), redistribute=redistribute, basis=basis)


def cands(*points: float, veto: dict[int, str] | None = None) -> list[Candidate]:
    veto = veto or {}
    return [Candidate(enterprise_id=i + 1, points=p, veto=veto.get(i + 1))
            for i, p in enumerate(points)]


def amounts(alloc) -> dict[int, Decimal]:  # type: ignore[no-untyped-def]
    return {p.enterprise_id: p.amount for p in alloc.payments}


def test_proportional_to_points_above_the_threshold_by_hand():
    # excess 20 and 10 of a budget of 100: 66.666… and 33.333…; floors 66.66 + 33.33 leave
    # one 分, which goes to the larger remainder (.67 > .33)
    alloc = compute(prop("100", 10), cands(30, 20, 10, 5))
    assert amounts(alloc) == {1: D("66.67"), 2: D("33.33")}
    assert alloc.total == D("100.00") and alloc.unallocated == D("0.00")
    assert alloc.eligible == 4


def test_basis_points_pays_in_proportion_to_the_points_of_those_above():
    alloc = compute(prop("90", 10, basis="points"), cands(30, 15, 10))
    assert amounts(alloc) == {1: D("60.00"), 2: D("30.00")}


def test_the_cap_frees_money_for_the_others_when_redistributing():
    # shares 50/30/20 of 100; the cap 40 frees 10, split 30:20 → 36 and 24
    alloc = compute(prop("100", 0, cap="40"), cands(50, 30, 20))
    assert amounts(alloc) == {1: D("40.00"), 2: D("36.00"), 3: D("24.00")}
    assert alloc.total == D("100.00")


def test_without_redistribution_what_the_cap_frees_stays_unallocated():
    alloc = compute(prop("100", 0, cap="40", redistribute=False), cands(50, 30, 20))
    assert amounts(alloc) == {1: D("40.00"), 2: D("30.00"), 3: D("20.00")}
    assert alloc.unallocated == D("10.00")


def test_redistribution_cascades_and_stops_when_everyone_is_capped():
    # 60/25/15 of 100, cap 35: first capped → 65 left over 25:15 → 40.625 > 35, capped too
    # → 30 left for the third
    alloc = compute(prop("100", 0, cap="35"), cands(60, 25, 15))
    assert amounts(alloc) == {1: D("35.00"), 2: D("35.00"), 3: D("30.00")}
    everyone = compute(prop("100", 0, cap="10"), cands(3, 2, 1))
    assert amounts(everyone) == {1: D("10.00"), 2: D("10.00"), 3: D("10.00")}
    assert everyone.unallocated == D("70.00")


def test_a_vetoed_enterprise_is_never_paid_even_with_the_most_points():
    alloc = compute(prop("100", 0), cands(99, 10, 10, veto={1: "严重失信"}))
    assert 1 not in amounts(alloc)
    assert amounts(alloc) == {2: D("50.00"), 3: D("50.00")}
    tiers = Scheme(id="t", name="t", kind="tiers",
                   tiers=[{"tier": "lead", "amount": 100}])  # type: ignore[list-item]
    lead = [Candidate(1, 99, tier="lead", veto="严重失信"), Candidate(2, 50, tier="lead")]
    assert amounts(compute(tiers, lead)) == {2: D("100.00")}


def test_equal_points_get_equal_amounts_even_if_a_cent_stays_unallocated():
    alloc = compute(prop("0.01", 0), cands(5, 5))
    assert amounts(alloc) == {} and alloc.unallocated == D("0.01")
    three = compute(prop("1.00", 0), cands(1, 1, 1))
    assert set(amounts(three).values()) == {D("0.33")} and three.unallocated == D("0.01")


def test_tiers_first_matching_rule_with_stage_and_rank_rules():
    scheme = Scheme.model_validate({
        "id": "t", "name": "t", "kind": "tiers", "rank_basis": "stage",
        "tiers": [{"ranks": [1, 1], "stage": "成长", "amount": "500.50"},
                  {"tier": "lead", "amount": 200}, {"tier": "race", "amount": 100}]})
    cs = [Candidate(1, 90, stage_rank=1, stage="成长", tier="lead"),
          Candidate(2, 80, stage_rank=2, stage="成长", tier="lead"),
          Candidate(3, 70, stage_rank=1, stage="初创", tier="race"),
          Candidate(4, 60, stage_rank=2, stage="初创", tier=None)]
    alloc = compute(scheme, cs)
    assert amounts(alloc) == {1: D("500.50"), 2: D("200.00"), 3: D("100.00")}
    assert [p.rule for p in alloc.payments] == ["成长/ranks:1-1", "tier:lead", "tier:race"]
    assert alloc.total == D("800.50") and alloc.budget is None and alloc.unallocated is None


def test_tiers_over_budget_are_refused_or_scaled():
    rules = [{"tier": "lead", "amount": 300}, {"tier": "race", "amount": 100}]
    cs = [Candidate(1, 9, tier="lead"), Candidate(2, 8, tier="race"),
          Candidate(3, 7, tier="race")]
    refuse = Scheme.model_validate({"id": "t", "name": "t", "kind": "tiers", "budget": 400,
                                    "tiers": rules})
    with pytest.raises(InvalidInput, match="超过预算"):
        compute(refuse, cs)
    scale = Scheme.model_validate({"id": "t", "name": "t", "kind": "tiers", "budget": 400,
                                   "over_budget": "scale", "tiers": rules})
    # 500 due, 400 available: × 0.8 → 240, 80, 80
    assert amounts(compute(scale, cs)) == {1: D("240.00"), 2: D("80.00"), 3: D("80.00")}


def test_round_to_cents_never_exceeds_the_floor_of_the_exact_sum():
    exact = [Fraction(1, 3)] * 3 + [Fraction(201, 2)]
    out = round_to_cents(exact)
    assert sum(out) <= 101 and out[-1] in (100, 101)


def _expected(points: list[float], budget: float, threshold: float, cap: float | None,
              redistribute: bool) -> list[float]:
    """Independent reference: water-filling by bisection on the rate λ (floats)."""
    w = [max(p - threshold, 0.0) for p in points]
    if sum(w) == 0:
        return [0.0] * len(w)
    if cap is None:
        return [budget * x / sum(w) for x in w]
    if not redistribute:
        return [min(cap, budget * x / sum(w)) for x in w]
    if cap * sum(1 for x in w if x > 0) <= budget:
        return [cap if x > 0 else 0.0 for x in w]
    lo, hi = 0.0, budget / min(x for x in w if x > 0) + 1
    for _ in range(200):
        mid = (lo + hi) / 2
        if sum(min(cap, mid * x) for x in w) > budget:
            hi = mid
        else:
            lo = mid
    return [min(cap, lo * x) for x in w]


points_st = st.lists(st.integers(0, 2000).map(lambda v: v / 4), min_size=1, max_size=25)


@settings(max_examples=300, deadline=None)
@given(points=points_st, budget_cents=st.integers(0, 10**9),
       threshold=st.integers(0, 400).map(lambda v: v / 4),
       cap_cents=st.one_of(st.none(), st.integers(1, 10**8)), redistribute=st.booleans())
def test_properties_of_proportional_payments(points, budget_cents, threshold, cap_cents,
                                             redistribute):
    budget = D(budget_cents) / 100
    cap = None if cap_cents is None else D(cap_cents) / 100
    scheme = prop(str(budget), threshold, None if cap is None else str(cap), redistribute)
    alloc = compute(scheme, cands(*points))
    got = amounts(alloc)
    paid = [got.get(i + 1, D(0)) for i in range(len(points))]
    # the total never exceeds the budget, and is the sum of the amounts, in whole 分
    assert alloc.total == sum(paid, D(0)) <= budget
    assert all(a == a.quantize(D("0.01")) and a >= 0 for a in paid)
    # no amount above the cap; nothing at or below the threshold
    if cap is not None:
        assert all(a <= cap for a in paid)
    assert all(a == 0 for a, p in zip(paid, points, strict=True) if p <= threshold)
    # monotone in points
    for a, p in zip(paid, points, strict=True):
        for b, q in zip(paid, points, strict=True):
            if p > q:
                assert a >= b, (p, a, q, b)
            if p == q:
                assert a == b
    # within a 分 of the exact share (independent reference by bisection)
    ref = _expected(points, float(budget), threshold, None if cap is None else float(cap),
                    redistribute)
    tol = 0.0100001 + 1e-9 * float(budget)
    for a, e in zip(paid, ref, strict=True):
        assert abs(float(a) - e) <= tol, (a, e)
