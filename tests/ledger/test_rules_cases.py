"""Every case of src/kechuang/ledger/rules_cases.yaml, posted through the real service."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import Engine

from kechuang.db import unit_of_work
from kechuang.kit import rules as rulefiles
from kechuang.kit.errors import KechuangError
from kechuang.ledger import service as ledger
from kechuang.ledger.schemas import CASES_PATH, RuleCase, RuleCases, rules
from tests.ledger.helpers import actor, open_budget

CASES = rulefiles.load(CASES_PATH, RuleCases).cases


def test_rules_file_loads_with_source() -> None:
    r = rules()
    assert r.source and {k.entry for k in r.kinds.values()} == {"payment", "receipt"}
    assert "voucher_settlement" in r.kinds and "dividend" in r.kinds


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_case(engine: Engine, case: RuleCase) -> None:
    with unit_of_work(engine) as s:
        open_budget(s, amount=case.budget)
        admin = actor(s, "admin")
        posted: list[int] = []
        for i, e in enumerate(case.entries):
            try:
                with s.begin_nested():
                    if e.type == "payment":
                        out = ledger.do_pay(s, admin, budget_key="program:T-1:2024",
                                            kind=e.kind or "grant", payee_type="enterprise",
                                            payee_id=1, payee_name="企业", amount=e.amount,  # type: ignore[arg-type]
                                            decision_ref="case", idempotency_key=f"c{i}")
                    elif e.type == "receipt":
                        out = ledger.do_receive(s, admin, budget_key="program:T-1:2024",
                                                kind=e.kind or "recovery", amount=e.amount,  # type: ignore[arg-type]
                                                decision_ref="case", idempotency_key=f"c{i}")
                    else:
                        assert e.of is not None
                        out = ledger.do_reverse(s, admin, entry_id=posted[e.of],
                                                reason="case", idempotency_key=f"c{i}")
                posted.append(out.id)
                assert e.error is None, f"entry {i} should have failed: {e.error}"
            except KechuangError as exc:
                assert e.error is not None, exc.message_zh
                assert e.error in exc.message_zh
        assert ledger.remaining(s, "program:T-1:2024") == Decimal(case.remaining)
