"""Products need the bureau's approval and a valid condition tree; needs are editable
until the month closes; reminders reach only those who have not answered; outcomes make
loans; a default is compensated through the ledger and recoveries flow back."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from kechuang.db import unit_of_work
from kechuang.finance import service
from kechuang.finance.schemas import DefaultIn, NeedIn, OutcomeIn, RecoveryIn
from kechuang.kit.errors import Conflict, InvalidInput, NotFound
from kechuang.models import AuditEvent, Enterprise
from kechuang.models.finance import FinanceLoan, FinanceNeed, FinanceProduct, FinanceReminder
from tests.finance.conftest import actor, enterprise_actor, product
from tests.support.seed import uscc


def test_bad_tree_is_refused_with_line_and_nothing_written(engine, scene):
    bad = "all:\n  - id: x\n    label: 收入\n    checks:\n      - value: no_such_metric > 1\n"
    with unit_of_work(engine) as s:
        before = s.scalar(select(func.count()).select_from(FinanceProduct))
        with pytest.raises(InvalidInput) as err:
            service.do_create_product(s, actor(s, "bank"), product("坏产品", tree=bad))
        assert "no_such_metric" in err.value.message_zh and "行" in err.value.message_zh
        assert s.scalar(select(func.count()).select_from(FinanceProduct)) == before


def test_pending_product_is_not_matched_until_approved(engine, scene):
    with unit_of_work(engine) as s:
        p = service.do_create_product(s, actor(s, "bank"), product("新产品", lo=1, hi=100000))
        run = service.do_match(s, actor(s, "admin"))
        out = service.need_matches(s, actor(s, "admin"), scene.needs[3])
        assert p.id not in {m.product_id for m in out.matches} and run.products == 3
        service.do_review_product(s, actor(s, "admin"), p.id, approve=True)
        service.do_match(s, actor(s, "admin"))
        out = service.need_matches(s, actor(s, "admin"), scene.needs[3])
        assert out.matches[0].product_id == p.id  # the only one covering 5,000 万元
        assert "额度匹配 100%" in out.matches[0].reason


def test_pledge_needs_patents_and_ranking_has_reasons(engine, scene):
    with unit_of_work(engine) as s:
        service.do_match(s, actor(s, "admin"))
        with_patents = service.need_matches(s, actor(s, "admin"), scene.needs[1])
        without = service.need_matches(s, actor(s, "admin"), scene.needs[2])
        assert scene.products["pledge"] in {m.product_id for m in with_patents.matches}
        assert scene.products["pledge"] not in {m.product_id for m in without.matches}
        assert all(m.reason for m in with_patents.matches)
        assert [m.rank for m in with_patents.matches] == sorted(
            m.rank for m in with_patents.matches
        )


def test_need_editable_until_the_month_closes(engine, scene):
    with unit_of_work(engine) as s:
        ent = enterprise_actor(s, 1)
        service.do_submit_need(s, ent, NeedIn(amount_wan=400, term_months=12, purpose="改为四百万"))
        assert s.get(FinanceNeed, scene.needs[1]).amount_wan == Decimal(400)
        service.do_close_month(s, actor(s, "admin"), scene.month_id)
        with pytest.raises(Conflict):
            service.do_submit_need(
                s, ent, NeedIn(amount_wan=500, term_months=12, purpose="再改一次")
            )


def test_reminders_only_for_those_who_have_not_answered(engine, scene):
    with unit_of_work(engine) as s:
        for n in (1, 2, 4):  # technology enterprises; 1 (and 2, 3) answered
            s.scalar(select(Enterprise).where(Enterprise.uscc == uscc(n))).tech_sme_year = 2024
        s.flush()
        added = service.do_remind(s, actor(s, "admin"), scene.month_id)
        ids = set(s.scalars(select(FinanceReminder.enterprise_id)))
        four = s.scalar(select(Enterprise.id).where(Enterprise.uscc == uscc(4)))
        assert ids == {four} and added == 1  # 3 answered too (needs[3]); 常熟's are out of scope
        assert service.do_remind(s, actor(s, "admin"), scene.month_id) == 0


def test_outcome_loan_default_compensation_and_recovery(engine, scene):
    today = service.today()
    with unit_of_work(engine) as s:
        admin = actor(s, "admin")
        service.do_match(s, admin)
        service.do_record_outcome(
            s,
            admin,
            scene.needs[1],
            OutcomeIn(
                result="granted",
                bank_id=scene.bank1,
                product_id=scene.products["credit"],
                amount_wan=Decimal(300),
                rate_pct=Decimal("3.7"),
                decided_on=today,
            ),
        )
        service.do_record_outcome(
            s,
            admin,
            scene.needs[2],
            OutcomeIn(result="declined", decided_on=today, reason="现金流不足"),
        )
        assert s.get(FinanceNeed, scene.needs[1]).status == "met"
        assert s.get(FinanceNeed, scene.needs[2]).status == "declined"
        loan = s.scalar(select(FinanceLoan))
        # no pool opened yet: the ledger refuses and nothing is kept
        with pytest.raises(NotFound), s.begin_nested():
            service.do_record_default(
                s, admin, loan.id, DefaultIn(default_wan=Decimal(100), defaulted_on=today)
            )
        s.expire_all()
        assert s.get(FinanceLoan, loan.id).status == "active"
        service.do_open_pool(s, admin, year=today.year, amount_yuan=Decimal(10_000_000))
        comp = service.do_record_default(
            s, admin, loan.id, DefaultIn(default_wan=Decimal(100), defaulted_on=today)
        )
        share = service.rules(today).pool.share
        assert comp.amount_yuan == Decimal(1_000_000) * share
        key = service.pool_key("320582", today.year)
        assert (
            service.pool_remaining(s, "320582", today.year)
            == Decimal(10_000_000) - comp.amount_yuan
        )
        service.do_record_recovery(s, admin, loan.id, RecoveryIn(amount_yuan=Decimal(100_000)))
        assert (
            service.pool_remaining(s, "320582", today.year)
            == Decimal(10_000_000) - comp.amount_yuan + 100_000
        )
        with pytest.raises(InvalidInput):
            service.do_record_recovery(s, admin, loan.id, RecoveryIn(amount_yuan=comp.amount_yuan))
        actions = set(s.scalars(select(AuditEvent.action)))
        assert {
            "finance.outcome",
            "finance.loan_default",
            "finance.recovery",
            "ledger.pay",
            "ledger.receive",
        } <= actions
        assert key.startswith("finance:risk_pool:")


def test_assessment_from_recorded_loans(engine, scene):
    today = service.today()
    with unit_of_work(engine) as s:
        admin = actor(s, "admin")
        service.do_record_outcome(
            s,
            admin,
            scene.needs[1],
            OutcomeIn(
                result="granted",
                bank_id=scene.bank1,
                product_id=scene.products["pledge"],
                amount_wan=Decimal(300),
                rate_pct=Decimal("4"),
                decided_on=today,
                first_time=True,
            ),
        )
        service.do_record_outcome(
            s,
            admin,
            scene.needs[2],
            OutcomeIn(
                result="granted",
                bank_id=scene.bank2,
                product_id=scene.products["hte"],
                amount_wan=Decimal(80),
                rate_pct=Decimal("3.5"),
                decided_on=today,
            ),
        )
        a = service.assessment(s, admin, today.year)
        by = {b.key: b for b in a["banks"]}
        assert by["张家港农村商业银行"].credit_share == 0 and by["张家港第二银行"].credit_share == 1
        assert by["张家港农村商业银行"].first_time_share == 1
        assert by["张家港农村商业银行"].growth is None  # no loans the year before: missing
        assert {b.rank for b in a["banks"]} == {1, 2}
        other = service.assessment(s, actor(s, "other_admin"), today.year)
        assert other["banks"] == []  # 常熟 sees none of 张家港's loans


def test_quarter_export_is_formula_safe(engine, scene):
    import io

    import openpyxl

    today = service.today()
    q = today.year * 10 + (today.month - 1) // 3 + 1
    with unit_of_work(engine) as s:
        ent = enterprise_actor(s, 2)
        service.do_submit_need(
            s, ent, NeedIn(amount_wan=80, term_months=24, purpose='=HYPERLINK("http://x")')
        )
        data = service.quarter_xlsx(s, actor(s, "admin"), q)
    wb = openpyxl.load_workbook(io.BytesIO(data))
    values = [c.value for ws in wb for row in ws.iter_rows() for c in row]
    assert not any(isinstance(v, str) and v.startswith("=") for v in values)
    assert any(isinstance(v, str) and "HYPERLINK" in v for v in values)
    _ = (date, timedelta)


def test_without_a_points_line_the_enterprise_sees_which_conditions_are_unmet(app, scene):
    """No published points list in the test county: no 积分贷 line, and the page says why
    with the points_loan policy's own gap sentences instead of a bare "no suggestion"."""
    from fastapi.testclient import TestClient

    from tests.conftest import login

    ent = TestClient(app)
    login(ent, "ent1")
    page = ent.get("/finance/me").text
    assert "credit-gaps" in page, page[page.find("积分贷"):page.find("积分贷") + 600]
    gaps = page.split('data-testid="credit-gaps"')[1].split("</ul>")[0]
    assert "缺少数据" in gaps and "积分" in gaps  # no published list: the points are missing
