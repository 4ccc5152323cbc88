"""Points dividends: turning a run's points and places into a payment list (pure functions;
:mod:`kechuang.lists.service` feeds them from the database).

Rules (documented in docs/lists.md, proved by tests/lists/test_dividends.py):

- Only enterprises that were scored and are not vetoed are candidates; a vetoed
  enterprise is never paid (the service never hands one in, and :func:`compute` drops any
  candidate with a veto as a second line of defence).
- Exact arithmetic: points (float64) are exact dyadic rationals, brought to one common
  denominator as integers; shares are exact rationals over one denominator, and only
  the final amounts are rounded to 分 (0.01 yuan).
- **Rounding (floor + largest remainder, ties alike)**: every exact amount is floored to
  分; the 分 that flooring freed (``floor(Σ exact) − Σ floored``) are handed out one each in
  order of the largest remainder (then the larger exact amount). Candidates with the same
  exact amount are treated alike: when the 分 left cannot cover the whole group, handing
  out stops there and the rest stays unallocated. So the total never exceeds the budget,
  no amount exceeds its cap or its exact share by a 分 or more, and amounts are monotone
  in points.
- **Proportional with cap**: shares are ``budget × wᵢ / Σw`` where ``wᵢ = points −
  threshold`` (``basis: excess``) or ``points`` (``basis: points``) for points strictly
  above the threshold, else 0. With ``redistribute: true`` a capped enterprise gets the
  cap and what the cap freed is split again among the others in the same proportion
  (water-filling) until nobody exceeds the cap; when everyone is capped the rest of the
  budget stays unallocated. With ``redistribute: false`` the freed money stays unallocated.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from typing import NamedTuple

from kechuang.kit.errors import InvalidInput
from kechuang.lists.schemes import Scheme, SchemeCase, TierRule


class Candidate(NamedTuple):
    enterprise_id: int
    points: float
    list_rank: int | None = None
    stage_rank: int | None = None
    stage: str | None = None
    tier: str | None = None
    veto: str | None = None


class Payment(NamedTuple):
    enterprise_id: int
    amount: Decimal
    rule: str  # which tier/rule, or "proportional"


@dataclass(frozen=True)
class Allocation:
    payments: list[Payment]  # amount > 0 only, in candidate order
    total: Decimal
    budget: Decimal | None
    unallocated: Decimal | None
    eligible: int


def _cents(amount: Decimal) -> int:
    return int((amount * 100).to_integral_value())


def _yuan(cents: int) -> Decimal:
    return (Decimal(cents) / 100).quantize(Decimal("0.01"))


def _round(floors: list[int], rems: list[int], den: int) -> list[int]:
    """Amounts ``floorᵢ + remᵢ/den`` 分 (0 ≤ remᵢ < den) → whole 分 by largest remainder,
    equal amounts alike (module docstring)."""
    out = list(floors)
    spare = sum(rems) // den
    if spare <= 0:
        return out
    groups: dict[tuple[int, int], list[int]] = {}
    for i, r in enumerate(rems):
        if r:
            groups.setdefault((r, floors[i]), []).append(i)
    for key in sorted(groups, reverse=True):  # largest remainder, then larger amount
        members = groups[key]
        if len(members) > spare:
            break
        for i in members:
            out[i] += 1
        spare -= len(members)
    return out


def round_to_cents(exact: Sequence[Fraction]) -> list[int]:
    """Exact amounts in 分 → whole 分 by floor + largest remainder, equal amounts alike
    (module docstring). Σ result ≤ floor(Σ exact); each result ≤ ceil(its exact amount)."""
    den = 1
    for x in exact:
        den = math.lcm(den, x.denominator)
    nums = [x.numerator * (den // x.denominator) for x in exact]
    return _round([n // den for n in nums], [n % den for n in nums], den)


def allocate(weights: Sequence[int], budget_cents: int, cap_cents: int | None,
             redistribute: bool) -> list[int]:
    """Whole-分 amounts of ``budget_cents`` split in proportion to integer ``weights`` (≥ 0),
    each at most ``cap_cents``; with ``redistribute`` what the cap frees goes to the others
    (water-filling). Integer arithmetic throughout: an uncapped share is
    ``remaining × wᵢ / Σw`` over the final active set, so all remainders share the
    denominator ``Σw`` and compare exactly."""
    n = len(weights)
    active = [i for i, w in enumerate(weights) if w > 0]
    capped: set[int] = set()
    remaining = budget_cents
    if cap_cents is not None and redistribute:
        while active:
            total = sum(weights[i] for i in active)
            # rate × wᵢ > cap  ⇔  remaining × wᵢ > cap × total
            over = [i for i in active if remaining * weights[i] > cap_cents * total]
            if not over:
                break
            # everyone over the cap stays over after re-distribution (the rate only grows)
            capped.update(over)
            remaining -= cap_cents * len(over)
            active = [i for i in active if i not in capped]
    floors = [0] * n
    rems = [0] * n
    total = sum(weights[i] for i in active)
    for i in capped:
        assert cap_cents is not None
        floors[i] = cap_cents
    if total == 0:
        return floors
    for i in active:
        num = remaining * weights[i]
        if cap_cents is not None and not redistribute and num > cap_cents * total:
            floors[i] = cap_cents
        else:
            floors[i], rems[i] = divmod(num, total)
    return _round(floors, rems, total)


def _eligible(scheme: Scheme, candidates: Sequence[Candidate]) -> list[Candidate]:
    out = []
    for c in candidates:
        if c.veto is not None or c.points is None or math.isnan(c.points):
            continue
        if scheme.stages is not None and c.stage not in scheme.stages:
            continue
        if scheme.listed_only and c.tier is None:
            continue
        out.append(c)
    return out


def _rule_matches(rule: TierRule, c: Candidate, basis: str) -> bool:
    if rule.stage is not None and c.stage != rule.stage:
        return False
    if rule.tier is not None:
        return c.tier == rule.tier
    assert rule.ranks is not None
    place = c.list_rank if basis == "list" else c.stage_rank
    return place is not None and rule.ranks[0] <= place <= rule.ranks[1]


def rule_label(rule: TierRule) -> str:
    if rule.label:
        return rule.label
    what = f"tier:{rule.tier}" if rule.tier is not None else \
        f"ranks:{rule.ranks[0]}-{rule.ranks[1]}"  # type: ignore[index]
    return f"{rule.stage}/{what}" if rule.stage else what


def compute(scheme: Scheme, candidates: Sequence[Candidate]) -> Allocation:
    """The payment list of ``scheme`` over ``candidates`` (module docstring for the rules)."""
    eligible = _eligible(scheme, candidates)
    budget_cents = None if scheme.budget is None else _cents(scheme.budget)
    if scheme.kind == "tiers":
        amounts, labels = _tier_amounts(scheme, eligible)
        total = sum(amounts)
        if budget_cents is not None and total > budget_cents:
            if scheme.over_budget == "refuse":
                raise InvalidInput(
                    f"奖励方案 {scheme.id} 的应付总额 {_yuan(total)} 元超过预算 "
                    f"{scheme.budget} 元（over_budget: refuse）；请调整档次金额或改用 "
                    "over_budget: scale 按比例压缩",
                    f"Scheme {scheme.id} would pay {_yuan(total)} over the budget "
                    f"{scheme.budget}")
            amounts = allocate(amounts, budget_cents, None, False)
    else:
        assert scheme.threshold is not None and budget_cents is not None
        cap_cents = None if scheme.cap is None else _cents(scheme.cap)
        amounts = allocate(_weights(scheme, eligible), budget_cents, cap_cents,
                           scheme.redistribute)
        labels = ["proportional"] * len(eligible)
    payments = [Payment(c.enterprise_id, _yuan(a), labels[i])
                for i, (c, a) in enumerate(zip(eligible, amounts, strict=True)) if a > 0]
    total_cents = sum(amounts)
    return Allocation(
        payments=payments,
        total=_yuan(total_cents),
        budget=scheme.budget,
        unallocated=None if budget_cents is None else _yuan(budget_cents - total_cents),
        eligible=len(eligible),
    )


def _weights(scheme: Scheme, eligible: Sequence[Candidate]) -> list[int]:
    """Exact integer weights: points (float64) and the threshold are dyadic rationals, so
    one common power-of-two denominator turns ``points − threshold`` into integers."""
    assert scheme.threshold is not None
    tn, td = float(scheme.threshold).as_integer_ratio()
    ratios = [float(c.points).as_integer_ratio() for c in eligible]
    den = td
    for _, d in ratios:
        den = math.lcm(den, d)
    t = tn * (den // td)
    out = []
    for n, d in ratios:
        p = n * (den // d)
        out.append(0 if p <= t else (p - t if scheme.basis == "excess" else p))
    return out


def _tier_amounts(scheme: Scheme, eligible: Sequence[Candidate]) -> tuple[list[int], list[str]]:
    amounts: list[int] = []
    labels: list[str] = []
    for c in eligible:
        for rule in scheme.tiers or []:
            if _rule_matches(rule, c, scheme.rank_basis):
                amounts.append(_cents(rule.amount))
                labels.append(rule_label(rule))
                break
        else:
            amounts.append(0)
            labels.append("")
    return amounts, labels


def run_case(scheme: Scheme, case: SchemeCase) -> list[str]:
    """One YAML case of a scheme (``lists/schemes/*.cases.yaml``): the differences between
    what the case expects and what :func:`compute` pays, in Chinese (empty = passes)."""
    cands = [Candidate(c.id, c.points, c.list_rank, c.stage_rank, c.stage, c.tier, c.veto)
             for c in case.candidates]
    try:
        alloc = compute(scheme, cands)
    except InvalidInput as exc:
        if case.refused is None or case.refused not in exc.message_zh:
            return [f"意外拒绝：{exc.message_zh}"]
        return []
    if case.refused is not None:
        return [f"应拒绝（{case.refused}），实际未拒绝"]
    assert case.expect is not None
    out: list[str] = []
    got = {p.enterprise_id: p.amount for p in alloc.payments}
    if got != case.expect.payments:
        out.append(f"金额应为 {case.expect.payments}，实为 {got}")
    if case.expect.total is not None and alloc.total != case.expect.total:
        out.append(f"总额应为 {case.expect.total}，实为 {alloc.total}")
    if case.expect.unallocated is not None and alloc.unallocated != case.expect.unallocated:
        out.append(f"未分配应为 {case.expect.unallocated}，实为 {alloc.unallocated}")
    return out
