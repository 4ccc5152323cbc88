"""The voucher rule file loads with its sources, and every case of rules_cases.yaml holds."""

from __future__ import annotations

from decimal import Decimal

import pytest

from kechuang.kit import rules as rulefiles
from kechuang.kit.errors import InvalidInput
from kechuang.kit.rules import RuleFileError
from kechuang.vouchers import engine
from kechuang.vouchers.schemas import CASES_PATH, VoucherCases, VoucherRules, rules

CASES = rulefiles.load(CASES_PATH, VoucherCases)


def test_rules_load_with_sources() -> None:
    r = rules()
    assert r.policy == "innovation_voucher" and r.eligible_verdicts == ["eligible"]
    for dated in (r.validity_days, r.cover_share, r.annual_budget):
        assert all(len(d.source) > 4 for d in dated)


@pytest.mark.parametrize("case", CASES.redemption, ids=[c.name for c in CASES.redemption])
def test_redemption_case(case) -> None:  # type: ignore[no-untyped-def]
    got = engine.redeem_amount(Decimal(case.invoice), Decimal(case.share), Decimal(case.face))
    assert got == Decimal(case.amount)


@pytest.mark.parametrize("case", CASES.parameters, ids=[c.name for c in CASES.parameters])
def test_parameter_case(case) -> None:  # type: ignore[no-untyped-def]
    p = engine.parameters(rules(), case.date)
    assert (p.validity_days, p.cover_share, p.annual_budget) == (
        case.validity_days, Decimal(case.cover_share), Decimal(case.annual_budget))


def test_face_value_comes_from_the_policy_run() -> None:
    assert engine.face_value({"amount": {"value": 10}}, rules()) == Decimal("100000")
    with pytest.raises(InvalidInput, match="额度"):
        engine.face_value({}, rules())


def test_a_bad_rule_file_names_line_and_key() -> None:
    text = (CASES_PATH.parent / "rules.yaml").read_text(encoding="utf-8")
    bad = text.replace('value: "0.5"', 'value: "五成"', 1).replace("value: 365", "value: 一年", 1)
    with pytest.raises(RuleFileError) as err:
        rulefiles.loads(bad, VoucherRules, "rules.yaml")
    assert "rules.yaml 第" in err.value.message_zh
    assert "validity_days.0.value" in err.value.message_zh


def test_codes_are_stable_and_unguessable() -> None:
    a = engine.voucher_code("secret-1", 2024, 7)
    assert a == engine.voucher_code("secret-1", 2024, 7)
    assert a != engine.voucher_code("secret-2", 2024, 7)
    assert a.startswith("CX2024-") and len(a) == 16
    assert engine.normalise_code(" cx2024-abcd-efgh ") == "CX2024-ABCD-EFGH"
