"""赛马 with stage gates and the pre-research fund, through the service on the real
database, with the review seam driven by the events both sides share."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from kechuang.db import unit_of_work
from kechuang.kit import events
from kechuang.kit.errors import Conflict, Forbidden, InvalidInput, NotFound
from kechuang.kit.seams import RankedSubject, ReviewDecision
from kechuang.matching.service import do_create_demand  # noqa: F401  (a real demand below)
from kechuang.models.programs import ProgramApplication
from kechuang.programs import service
from kechuang.programs.schemas import CallIn
from tests.programs.helpers import (
    actor,
    bid_values,
    counts,
    make_call,
    make_program,
    proposal,
)
from tests.programs.test_challenge import captured, refused  # noqa: F401  (fixture)
from tests.support.seed import uscc


def _second_enterprise_account(engine):  # type: ignore[no-untyped-def]
    from sqlalchemy import select

    from kechuang.auth.actor import Actor
    from kechuang.auth.service import do_create_user
    from kechuang.models import Enterprise
    from tests.support.seed import PASSWORD

    with unit_of_work(engine) as s:
        ent = s.scalar(select(Enterprise).where(Enterprise.uscc == uscc(2)))
        do_create_user(s, Actor.command_line(), username="ent2", password=PASSWORD,
                       role="enterprise", region_code=ent.region_code, display_name="ent2",
                       enterprise_id=ent.id)


def test_horse_race_funds_three_then_only_the_best_continue(engine, captured):  # noqa: F811
    _second_enterprise_account(engine)
    with unit_of_work(engine) as s:
        pid = make_program(s, kind="horse_race", code="T-SM-2026", budget="6000000")
        cid = make_call(s, pid, code="T-SM-2026-01", cap="1200000", fund_count=3)
        service.do_call_action(s, actor(s, "staff"), cid, "open")
    apps = {}
    with unit_of_work(engine) as s:
        for user in ("ent1", "ent2", "inst"):
            apps[user] = service.do_submit(s, actor(s, user), cid, bid_values("1200000"),
                                           proposal()).id
        closes = service.get_call(s, actor(s, "staff"), cid).closes_at
    after = closes + timedelta(seconds=1)
    with unit_of_work(engine) as s:
        service.do_call_action(s, actor(s, "staff"), cid, "close", at=after)
        for a in apps.values():
            service.do_application_action(s, actor(s, "staff"), a, "check_pass")
        service.do_call_action(s, actor(s, "staff"), cid, "request_review", at=after)
    assert captured[-1].fund_count == 3
    ranked = [RankedSubject(subject_id=apps[u], rank=i + 1, score=Decimal(90 - i), funded=True)
              for i, u in enumerate(("ent1", "ent2", "inst"))]
    with unit_of_work(engine) as s:
        events.emit("review.decision_recorded", session=s, actor=actor(s, "staff"),
                    decision=ReviewDecision(call_id=cid, stage="application", round_id=1,
                                            decided_at=datetime.now(UTC), ranked=ranked))
    with unit_of_work(engine) as s:
        for a in apps.values():
            assert s.get(ProgramApplication, a).state == "funded"
            assert service.do_pay_tranche(s, actor(s, "staff"), a, 1).amount == Decimal("360000")
    # tranche 2 waits for gate 1
    refused(engine, Conflict, "通过第 1 关口后", lambda s: service.do_pay_tranche(
        s, actor(s, "staff"), apps["ent1"], 2))
    refused(engine, Conflict, "尚无里程碑报告", lambda s: service.do_call_action(
        s, actor(s, "staff"), cid, "open_gate"))
    refused(engine, NotFound, "不存在或无权查看", lambda s: service.do_submit_milestone(
        s, actor(s, "ent1"), apps["ent2"], "不是我的"))
    with unit_of_work(engine) as s:
        for u, a in apps.items():
            service.do_submit_milestone(s, actor(s, u), a, f"{u} 第一阶段样件完成")
    refused(engine, Conflict, "不能重复提交", lambda s: service.do_submit_milestone(
        s, actor(s, "ent1"), apps["ent1"], "again"))
    with unit_of_work(engine) as s:
        service.do_call_action(s, actor(s, "staff"), cid, "open_gate")
    gate_req = captured[-1]
    assert gate_req.stage == "gate:1" and gate_req.fund_count == 2
    assert len(gate_req.subjects) == 3
    # the gate's review: inst best, ent1 second, ent2 third → ent2 stops (2 continue)
    gate = ReviewDecision(call_id=cid, stage="gate:1", round_id=2, decided_at=datetime.now(UTC),
                          ranked=[RankedSubject(subject_id=apps["inst"], rank=1, score=Decimal(95),
                                                funded=True),
                                  RankedSubject(subject_id=apps["ent1"], rank=2, score=Decimal(88),
                                                funded=True),
                                  RankedSubject(subject_id=apps["ent2"], rank=3, score=Decimal(70),
                                                funded=False)])
    with unit_of_work(engine) as s:
        events.emit("review.decision_recorded", session=s, actor=actor(s, "staff"),
                    decision=gate)
    with unit_of_work(engine) as s:
        call = service.get_call(s, actor(s, "staff"), cid)
        assert (call.state, call.current_gate) == ("decided", 1)
        states = {u: s.get(ProgramApplication, a).state for u, a in apps.items()}
        assert states == {"ent1": "funded", "ent2": "terminated", "inst": "funded"}
        outcomes = {m.application_id: m.outcome for m in service.milestones(s, call)}
        assert outcomes[apps["ent2"]] == "stop" and outcomes[apps["inst"]] == "continue"
        assert service.do_pay_tranche(s, actor(s, "staff"), apps["inst"], 2).amount == \
            Decimal("480000")
        assert {w.applicant_name for w in service.winners(s)} == {
            s.get(ProgramApplication, apps["inst"]).applicant_name,
            s.get(ProgramApplication, apps["ent1"]).applicant_name}
    refused(engine, Conflict, "不能拨付经费", lambda s: service.do_pay_tranche(
        s, actor(s, "staff"), apps["ent2"], 2))
    refused(engine, Conflict, "尚有关口未评审", lambda s: service.do_call_action(
        s, actor(s, "staff"), cid, "finish"))
    # a gate decision for the wrong gate is refused
    with pytest.raises(Conflict, match="当前应评审第 2 关口"), unit_of_work(engine) as s:
        service.do_apply_review_decision(s, actor(s, "staff"), gate)


def test_pre_research_fund_front_and_back_phase(engine):
    with unit_of_work(engine) as s:
        pid = make_program(s, kind="pre_research", code="T-YY-2026", budget="1000000")
        cid = service.do_create_call(s, actor(s, "staff"), pid, CallIn(
            code="T-YY-2026-01", title="2026年度产学研预研资金",
            closes_on=datetime.now(UTC).date() + timedelta(days=10))).id
        service.do_call_action(s, actor(s, "staff"), cid, "open")
    values = {"title": "废旧地膜回收装备", "institute_name": "苏州科技大学张家港研究院",
              "contract_amount": "800000", "field": "高端装备"}
    contract = [service.Upload("contract", "合同.pdf", b"%PDF-1.7\n%%EOF\n")]
    refused(engine, InvalidInput, "请以企业账户提交", lambda s: service.do_submit(
        s, actor(s, "inst"), cid, values, contract))
    err = refused(engine, InvalidInput, "没有名为", lambda s: service.do_submit(
        s, actor(s, "ent1"), cid, {**values, "institute_name": "不存在大学"}, contract))
    assert err.details["field"] == "institute_name"
    refused(engine, InvalidInput, "应为 高端装备", lambda s: service.do_submit(
        s, actor(s, "ent1"), cid, {**values, "field": "房地产"}, contract))
    with unit_of_work(engine) as s:
        app = service.do_submit(s, actor(s, "ent1"), cid, values, contract)
        aid = app.id
        assert app.requested_amount == Decimal("100000")  # 20 % of 800,000 capped at 100,000
        closes = service.get_call(s, actor(s, "staff"), cid).closes_at
    after = closes + timedelta(seconds=1)
    with unit_of_work(engine) as s:
        service.do_call_action(s, actor(s, "staff"), cid, "close", at=after)
        service.do_application_action(s, actor(s, "staff"), aid, "check_pass")
        service.do_call_action(s, actor(s, "staff"), cid, "request_review", at=after)
        service.do_decide_manually(s, actor(s, "staff"), cid, {aid: None})
    refused(engine, Conflict, "尚未研发后期立项", lambda s: service.do_pay_back(
        s, actor(s, "staff"), aid))
    with unit_of_work(engine) as s:
        p = service.do_pay_front(s, actor(s, "staff"), aid)
        assert (p.amount, p.payee_type, p.kind) == (Decimal("100000"), "institute", "pre_payment")
    refused(engine, Conflict, "已支付", lambda s: service.do_pay_front(s, actor(s, "staff"), aid))
    refused(engine, Forbidden, "无权“报送后续研发投入”", lambda s: service.do_report_followup(
        s, actor(s, "inst"), aid, "3000000"))
    refused(engine, InvalidInput, "后续研发投入（followup_rd）：金额不能为负数或零", lambda s:
            service.do_report_followup(s, actor(s, "ent1"), aid, "-3"))
    with unit_of_work(engine) as s:
        service.do_report_followup(s, actor(s, "ent1"), aid, "3000000")
        service.do_approve_back(s, actor(s, "staff"), aid)
        p = service.do_pay_back(s, actor(s, "staff"), aid)
        assert (p.amount, p.payee_type) == (Decimal("200000"), "enterprise")  # capped
    with unit_of_work(engine) as s:
        rows = service.pre_research_stats(s, actor(s, "staff"))
        total = rows[-1]
        assert total.year is None
        assert (total.applications, total.institutes, total.enterprises, total.front_approved,
                total.back_approved) == (1, 1, 1, 1, 1)
        assert total.disbursed == Decimal("300000") and total.rd_leveraged == Decimal("3000000")
        assert service.pre_research_stats(s, actor(s, "other_admin"))[-1].applications == 0


def _in_review(engine, pid, code):  # type: ignore[no-untyped-def]
    with unit_of_work(engine) as s:
        cid = make_call(s, pid, code=code, cap="300000")
        service.do_call_action(s, actor(s, "staff"), cid, "open")
        aid = service.do_submit(s, actor(s, "ent1"), cid, bid_values("300000"), proposal()).id
        closes = service.get_call(s, actor(s, "staff"), cid).closes_at
    after = closes + timedelta(seconds=1)
    with unit_of_work(engine) as s:
        service.do_call_action(s, actor(s, "staff"), cid, "close", at=after)
        service.do_application_action(s, actor(s, "staff"), aid, "check_pass")
        service.do_call_action(s, actor(s, "staff"), cid, "request_review", at=after)
    return cid, aid


def test_the_budget_guard_refuses_funding_beyond_the_program_budget(engine):
    with unit_of_work(engine) as s:
        pid = make_program(s, code="T-JB-SMALL", budget="500000")
    first, a1 = _in_review(engine, pid, "T-JB-SMALL-01")
    second, a2 = _in_review(engine, pid, "T-JB-SMALL-02")
    with unit_of_work(engine) as s:
        service.do_decide_manually(s, actor(s, "staff"), first, {a1: None})
    with unit_of_work(engine) as s:
        before = counts(s)
    with pytest.raises(Conflict, match="预算余额不足"), unit_of_work(engine) as s:
        service.do_decide_manually(s, actor(s, "staff"), second, {a2: None})
    with unit_of_work(engine) as s:
        assert counts(s) == before
        assert s.get(ProgramApplication, a2).state == "in_review"
    with unit_of_work(engine) as s:  # within what is left it goes through
        service.do_decide_manually(s, actor(s, "staff"), second, {a2: Decimal("200000")})
        assert s.get(ProgramApplication, a2).awarded_amount == Decimal("200000")


def test_a_failure_after_the_ledger_entry_leaves_neither_entry_nor_payment(engine, monkeypatch):
    """A crash between the ledger entry and the payment row (here: the audit write) rolls
    the whole payment back: no ledger entry, no payment, the tranche still payable."""
    with unit_of_work(engine) as s:
        pid = make_program(s, code="T-JB-CRASH")
    cid, aid = _in_review(engine, pid, "T-JB-CRASH-01")
    with unit_of_work(engine) as s:
        service.do_decide_manually(s, actor(s, "staff"), cid, {aid: None})
    with unit_of_work(engine) as s:
        before = counts(s)
    real = service.audit.record

    def boom(session, actor, action, *a, **kw):  # type: ignore[no-untyped-def]
        if action.startswith("programs.pay."):
            raise RuntimeError("killed mid-way")
        return real(session, actor, action, *a, **kw)

    monkeypatch.setattr(service.audit, "record", boom)
    with pytest.raises(RuntimeError), unit_of_work(engine) as s:
        service.do_pay_tranche(s, actor(s, "staff"), aid, 1)
    monkeypatch.setattr(service.audit, "record", real)
    with unit_of_work(engine) as s:
        assert counts(s) == before
        assert service.do_pay_tranche(s, actor(s, "staff"), aid, 1).amount == Decimal("90000")
