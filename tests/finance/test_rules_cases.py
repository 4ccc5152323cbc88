"""Every case of ``finance/data/finance.cases.yaml`` (a clerk adds one by copying a case):
matching ranks, risk-pool compensation, small-count suppression, the annual assessment."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import numpy as np
import pytest

from kechuang.finance import engine
from kechuang.finance.parameters import load_cases, rules_at
from kechuang.kit.rules import RuleFileError

CASES = load_cases()


@pytest.mark.parametrize("case", CASES["match"], ids=lambda c: c["name"])
def test_match_case(case):
    r = rules_at(case["as_of"])
    n = case["need"]
    needs = engine.Needs(
        np.array([1]),
        np.array([float(n["amount_wan"])]),
        np.array([n["term_months"]]),
        np.array(["patent" in n["collateral"] and n["patents_offered"] > 0]),
        np.array(["guarantee" in n["collateral"]]),
        np.array([np.nan if n["points_percentile"] is None else float(n["points_percentile"])]),
    )
    ps = case["products"]
    prods = engine.Products(
        np.arange(1, len(ps) + 1),
        np.ones(len(ps), dtype=np.int64),
        np.array([p["kind"] for p in ps], dtype=object),
        np.array([float(p["amount_min_wan"]) for p in ps]),
        np.array([float(p["amount_max_wan"]) for p in ps]),
        np.array([float(p["term_min_months"]) for p in ps]),
        np.array([float(p["term_max_months"]) for p in ps]),
        np.full(len(ps), 3.5),
    )
    verdicts = np.array([[engine.VERDICT_CODE[p["verdict"]] for p in ps]], dtype=np.int8)
    ranked = engine.rank(needs, prods, verdicts, r.match)
    got = [ps[int(j)]["code"] for j in ranked.product[np.argsort(ranked.rank)]]
    assert got == case["ranked"], case["name"]
    for code, score in (case.get("score") or {}).items():
        j = [p["code"] for p in ps].index(code)
        assert ranked.score[list(ranked.product).index(j)] == pytest.approx(score)


@pytest.mark.parametrize("case", CASES["risk"], ids=lambda c: c["name"])
def test_risk_case(case):
    pool = rules_at(case["date"]).pool
    got = engine.compensation(
        kind=case["kind"],
        pool_eligible=case["pool_eligible"],
        default_yuan=Decimal(case["default_yuan"]),
        paid_this_year_yuan=Decimal(case["paid_this_year_yuan"]),
        pool=pool,
    )
    assert got == Decimal(case["expected_yuan"])


@pytest.mark.parametrize("case", CASES["disclosure"], ids=lambda c: c["name"])
def test_disclosure_case(case):
    assert engine.shown_count(case["count"], rules_at(case["date"]).min_count) == case["shown"]


@pytest.mark.parametrize("case", CASES["assessment"], ids=lambda c: c["name"])
def test_assessment_case(case):
    rows = [
        engine.LoanRow(
            bank=x["bank"],
            product=None,
            kind=x["kind"],
            amount_wan=Decimal(str(x["amount_wan"])),
            rate_pct=Decimal(str(x["rate_pct"])),
            first_time=x["first_time"],
            year=x["year"],
        )
        for x in case["loans"]
    ]
    ranked = engine.rank_banks(
        engine.figures(rows, case["year"]), rules_at(date(case["year"], 12, 31)).assessment_weights
    )
    by = {f.key: f for f in ranked}
    for bank, exp in case["expected"].items():
        f = by[bank]
        assert f.loans == exp["loans"] and f.rank == exp["rank"]
        assert f.amount_wan == Decimal(exp["amount_wan"])
        for k in ("credit_share", "first_time_share", "growth", "avg_rate_pct"):
            want = exp[k]
            assert getattr(f, k) == (None if want is None else Decimal(want)), (bank, k)


def test_rule_file_errors_name_line_and_key(tmp_path):
    from kechuang.finance.parameters import RULES_PATH

    text = RULES_PATH.read_text(encoding="utf-8").replace("per_need:", "per_need:\n  per_need:", 1)
    bad = tmp_path / "finance.yaml"
    bad.write_text(text, encoding="utf-8")
    with pytest.raises(RuleFileError) as err:
        rules_at(date(2024, 1, 1), bad)
    assert "finance.yaml" in err.value.message_zh and "行" in err.value.message_zh


def test_seed_credit_share_figure():
    """Chifeng: 86.19 of 127.07 亿元 are credit loans — 67.83 %."""
    rows = [
        engine.LoanRow("A", None, "credit", Decimal("86.19"), Decimal(4), False, 2024),
        engine.LoanRow("A", None, "guarantee", Decimal("40.88"), Decimal(4), False, 2024),
    ]
    assert engine.figures(rows, 2024)["A"].credit_share == Decimal("0.6783")
