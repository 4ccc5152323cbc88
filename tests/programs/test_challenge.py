"""揭榜挂帅 through the service on the real database: publish, bid, review seam, decide,
pay through the ledger — and every refusal (late, double, wrong role, bad amounts, bad
files) leaves nothing written."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select

from kechuang.db import unit_of_work
from kechuang.kit import events
from kechuang.kit.errors import Conflict, Forbidden, InvalidInput, NotFound
from kechuang.kit.seams import RankedSubject, ReviewDecision, ReviewRequest
from kechuang.ledger import service as ledger
from kechuang.models import AuditEvent
from kechuang.models.programs import ProgramApplication, ProgramAttachment
from kechuang.programs import service
from tests.programs.helpers import (
    PDF,
    PNG,
    actor,
    bid_values,
    counts,
    docx,
    make_call,
    make_program,
    proposal,
)


@pytest.fixture
def captured():
    got: list[ReviewRequest] = []

    def grab(session, actor, request, **_):  # type: ignore[no-untyped-def]
        got.append(request)

    events._load()
    events._handlers["programs.review_requested"].append(grab)
    yield got
    events._handlers["programs.review_requested"].remove(grab)


def open_call(engine, **extra):  # type: ignore[no-untyped-def]
    with unit_of_work(engine) as s:
        pid = make_program(s)
        cid = make_call(s, pid, **extra)
        service.do_call_action(s, actor(s, "staff"), cid, "open")
    return cid


def test_challenge_journey_publish_bid_review_decide_pay(engine, captured):
    cid = open_call(engine)
    with unit_of_work(engine) as s:
        a1 = service.do_submit(s, actor(s, "ent1"), cid, bid_values("900000"), proposal()).id
        a2 = service.do_submit(s, actor(s, "inst"), cid, bid_values("700000", "院所方案"),
                               [service.Upload("proposal", "plan.docx", docx())],
                               members=[{"org_type": "enterprise",
                                         "name": "张家港港城机械制造有限公司"}]).id
    with unit_of_work(engine) as s:
        att = s.scalar(select(ProgramAttachment).where(ProgramAttachment.application_id == a1))
        assert att.content_type == "application/pdf" and len(att.sha256) == 64
        assert att.size == len(PDF)
        inst_app = s.get(ProgramApplication, a2)
        assert [m["role"] for m in inst_app.members] == ["lead", "member"]
    closes = None
    with unit_of_work(engine) as s:
        call = service.get_call(s, actor(s, "staff"), cid)
        closes = call.closes_at
        with pytest.raises(Conflict, match="尚未到截止时间"):
            service.do_call_action(s, actor(s, "staff"), cid, "close")
    with unit_of_work(engine) as s:
        service.do_call_action(s, actor(s, "staff"), cid, "close", at=closes + timedelta(seconds=1))
        for a in (a1, a2):
            service.do_application_action(s, actor(s, "staff"), a, "check_pass")
        service.do_call_action(s, actor(s, "staff"), cid, "request_review",
                               at=closes + timedelta(days=1))
    assert len(captured) == 1
    req = captured[0]
    assert req.stage == "application" and {x.subject_id for x in req.subjects} == {a1, a2}
    assert req.budget == Decimal("1000000") and req.rubric_id == "default"
    inst_subject = next(x for x in req.subjects if x.subject_id == a2)
    assert {p.name for p in inst_subject.parties} >= {"张家港港城机械制造有限公司"}
    decision = ReviewDecision(call_id=cid, stage="application", round_id=7,
                              decided_at=datetime.now(UTC), summary="第一名中选", ranked=[
                                  RankedSubject(subject_id=a1, rank=1, score=Decimal("91.5"),
                                                funded=True, amount=Decimal("900000")),
                                  RankedSubject(subject_id=a2, rank=2, score=Decimal("80"),
                                                funded=False)])
    with unit_of_work(engine) as s:
        events.emit("review.decision_recorded", session=s, actor=actor(s, "staff"),
                    decision=decision)
    with unit_of_work(engine) as s:
        call = service.get_call(s, actor(s, "staff"), cid)
        assert call.state == "decided"
        won, lost = s.get(ProgramApplication, a1), s.get(ProgramApplication, a2)
        assert (won.state, won.awarded_amount, won.rank) == ("funded", Decimal("900000"), 1)
        assert lost.state == "not_funded" and lost.score == Decimal("80")
        # the public sees the winner
        assert [w.applicant_name for w in service.winners(s)] == [won.applicant_name]
        budget_key = service.program_by_code(s, "T-JB-2026").budget_key
        before = ledger.remaining(s, budget_key)
        p = service.do_pay_tranche(s, actor(s, "staff"), a1, 1)
        assert p.amount == Decimal("270000.00") and p.ledger_entry_id
        assert ledger.remaining(s, budget_key) == before - Decimal("270000")
        entries = ledger.entries_for(s, decision_ref=p.decision_ref)
        assert len(entries) == 1
    with unit_of_work(engine) as s, pytest.raises(Conflict, match="第 1 期已拨付"):
        service.do_pay_tranche(s, actor(s, "staff"), a1, 1)
    with unit_of_work(engine) as s, pytest.raises(Conflict, match="须先拨付第 2 期"):
        service.do_pay_tranche(s, actor(s, "staff"), a1, 3)  # in order, after acceptance
    actions = None
    with unit_of_work(engine) as s:
        actions = list(s.scalars(select(AuditEvent.action).where(
            AuditEvent.object_type.in_(("program_call", "program_application", "program_payment")))
            .order_by(AuditEvent.id)))
    assert actions[:3] == ["programs.call.create", "programs.call.open",
                           "programs.application.submit"]
    assert "programs.call.decide" in actions and actions[-1] == "programs.pay.tranche"


def refused(engine, exc_type, match, fn):  # type: ignore[no-untyped-def]
    with unit_of_work(engine) as s:
        before = counts(s)
    with pytest.raises(exc_type, match=match) as exc, unit_of_work(engine) as s:
        fn(s)
    with unit_of_work(engine) as s:
        assert counts(s) == before, "a refused action wrote something"
    return exc.value


def test_late_double_and_wrong_role_are_refused_and_write_nothing(engine):
    cid = open_call(engine)
    with unit_of_work(engine) as s:
        closes = service.get_call(s, actor(s, "staff"), cid).closes_at
    late = closes + timedelta(seconds=1)
    err = refused(engine, Conflict, "截止时间已过", lambda s: service.do_submit(
        s, actor(s, "ent1"), cid, bid_values(), proposal(), at=late))
    assert "未提交" in err.message_zh and "deadline" in err.message_en
    with unit_of_work(engine) as s:  # one second before the deadline is in time
        service.do_submit(s, actor(s, "ent1"), cid, bid_values(), proposal(),
                          at=closes - timedelta(seconds=1))
    refused(engine, Conflict, "不能重复提交", lambda s: service.do_submit(
        s, actor(s, "ent1"), cid, bid_values(), proposal()))
    err = refused(engine, Forbidden, "无权“截止揭榜”", lambda s: service.do_call_action(
        s, actor(s, "inst"), cid, "close", at=late))
    assert "揭榜中" in err.message_zh
    refused(engine, NotFound, "不存在或无权", lambda s: service.do_call_action(
        s, actor(s, "other_admin"), cid, "close", at=late))
    refused(engine, Forbidden, "只有企业或高校院所", lambda s: service.do_submit(
        s, actor(s, "staff"), cid, bid_values(), proposal()))


@pytest.mark.parametrize("values, files, match, field", [
    (bid_values("-5"), None, "不能为负数", "requested_amount"),
    (bid_values("12万"), None, "应为数字金额", "requested_amount"),
    (bid_values("1000000.01"), None, "超过榜单经费上限", "requested_amount"),
    ({**bid_values(), "title": ""}, None, "必填", "title"),
    (bid_values(), [], "必须上传", "proposal"),
    (bid_values(), [("proposal", "方案.pdf", PNG)], "实际内容为 PNG", "proposal"),
    (bid_values(), [("proposal", "方案.pdf", b"MZ\x90\x00" * 100)], "无法识别", "proposal"),
    (bid_values(), [("proposal", "方案.pdf", PDF + b"0" * (10 * 1024 * 1024))], "超过上限",
     "proposal"),
    (bid_values(), [("proposal", "a.pdf", PDF), ("credentials", "c.docx", docx())],
     "只接受 PDF、PNG、JPEG", "credentials"),
])
def test_bad_bids_name_the_field_and_write_nothing(engine, values, files, match, field):
    cid = open_call(engine)
    uploads = proposal() if files is None else [service.Upload(*f) for f in files]
    err = refused(engine, InvalidInput, match, lambda s: service.do_submit(
        s, actor(s, "ent1"), cid, values, uploads))
    assert err.details["field"] == field


def funded_application(engine, captured=None):  # type: ignore[no-untyped-def]
    cid = open_call(engine)
    with unit_of_work(engine) as s:
        aid = service.do_submit(s, actor(s, "ent1"), cid, bid_values("800000"), proposal()).id
        closes = service.get_call(s, actor(s, "staff"), cid).closes_at
    after = closes + timedelta(seconds=1)
    with unit_of_work(engine) as s:
        service.do_call_action(s, actor(s, "staff"), cid, "close", at=after)
        service.do_application_action(s, actor(s, "staff"), aid, "check_pass")
        service.do_call_action(s, actor(s, "staff"), cid, "request_review", at=after)
        service.do_decide_manually(s, actor(s, "staff"), cid, {aid: None})
    return cid, aid


def test_tranche_amounts_are_checked_against_what_is_left(engine):
    _, aid = funded_application(engine)
    for amount, match in [("-1", "不能为负数或零"), ("abc", "应为数字金额"),
                          ("800000.01", "超过该项目尚未拨付"), ("0.001", "最多两位小数")]:
        err = refused(engine, InvalidInput, match, lambda s, a=amount: service.do_pay_tranche(
            s, actor(s, "staff"), aid, 1, a))
        assert "金额" in err.message_zh
    with unit_of_work(engine) as s:
        assert service.do_pay_tranche(s, actor(s, "staff"), aid, 1, "500000").amount == \
            Decimal("500000")
        service.do_application_action(s, actor(s, "staff"), aid, "contract")
    err = refused(engine, InvalidInput, "超过该项目尚未拨付的 300000",
                  lambda s: service.do_pay_tranche(s, actor(s, "staff"), aid, 2, "300000.01"))
    assert err.details["field"] == "amount"
    # the split's default (40 % = 320,000) is more than the 300,000 left: refused too
    refused(engine, InvalidInput, "超过", lambda s: service.do_pay_tranche(
        s, actor(s, "staff"), aid, 2))
    with unit_of_work(engine) as s:
        assert service.do_pay_tranche(s, actor(s, "staff"), aid, 2, "300000").amount == \
            Decimal("300000")
    refused(engine, Conflict, "验收通过后", lambda s: service.do_pay_tranche(
        s, actor(s, "staff"), aid, 3, "0.01"))


def test_wrong_role_cannot_pay_and_enterprise_sees_only_its_payments(engine):
    _, aid = funded_application(engine)
    refused(engine, Forbidden, "只有科技局", lambda s: service.do_pay_tranche(
        s, actor(s, "ent1"), aid, 1))
    with unit_of_work(engine) as s:
        service.do_pay_tranche(s, actor(s, "staff"), aid, 1)
    with unit_of_work(engine) as s:
        assert [p.application_id for p in service.payments(s, actor(s, "ent1"))] == [aid]
        assert service.payments(s, actor(s, "inst")) == []
        assert service.payments(s, actor(s, "other_admin")) == []


def test_enterprise_proposes_a_challenge_from_its_own_demand(engine):
    from kechuang.matching.service import do_create_demand

    with unit_of_work(engine) as s:
        pid = make_program(s)
        demand = do_create_demand(s, actor(s, "ent1"), {
            "title": "高速冲压模具寿命提升", "description": "模具寿命不足十万次",
            "targets": "寿命 ≥ 50 万次", "budget_min": "200000", "budget_max": "500000",
            "visibility": "public"})
        did = demand.id
    from kechuang.programs.schemas import CallIn

    data = CallIn(code="T-JB-P1", title="模具寿命攻关", closes_on=datetime.now(UTC).date()
                  + timedelta(days=20), budget_cap=Decimal("400000"), cofunding=Decimal("200000"))
    with unit_of_work(engine) as s:
        call = service.do_propose_challenge(s, actor(s, "ent1"), pid, did, data)
        cid = call.id
        assert call.state == "proposed" and call.demand_id == did
        assert call.problem == "模具寿命不足十万次" and call.kpis[0]["name"] == "寿命 ≥ 50 万次"
    with unit_of_work(engine) as s:  # not yet public
        assert cid not in [c.id for c in service.calls(s, actor(s, "inst"))]
    refused(engine, Forbidden, "无权“通过出题”", lambda s: service.do_call_action(
        s, actor(s, "ent1"), cid, "approve"))
    with unit_of_work(engine) as s:
        service.do_call_action(s, actor(s, "staff"), cid, "approve")
        service.do_call_action(s, actor(s, "staff"), cid, "open")
    with unit_of_work(engine) as s:
        assert cid in [c.id for c in service.calls(s, actor(s, "inst"), states=["open"])]
    refused(engine, InvalidInput, "不是贵企业的需求", lambda s: service.do_propose_challenge(
        s, actor(s, "ent1"), pid, did + 999, data.model_copy(update={"code": "T-JB-P2"})))


def test_a_bureau_copy_of_a_type_changes_the_split(engine):
    from kechuang.kit.rules import RuleFileError
    from kechuang.programs.schemas import builtin_types

    text = service.type_yaml(builtin_types()["challenge"]).replace(
        "- '0.3'\n- '0.4'\n- '0.3'", "- '0.5'\n- '0.5'")
    assert "'0.5'" in text
    with unit_of_work(engine) as s:
        t = service.do_copy_type(s, actor(s, "admin"), source="challenge", code="zjg-challenge",
                                 yaml_text=text)
        assert t.definition["tranches"] == ["0.5", "0.5"]
        pid = make_program(s, kind="zjg-challenge", code="T-JB-COPY")
        cid = make_call(s, pid, code="T-JB-COPY-01")
        assert service.call_def(service.get_call(s, actor(s, "staff"), cid)).tranches == [
            Decimal("0.5"), Decimal("0.5")]
    bad = text.replace("kind: challenge", "kind: challenge\nkind: grant")
    with pytest.raises(RuleFileError, match="键重复"), unit_of_work(engine) as s:
        service.do_copy_type(s, actor(s, "admin"), source="challenge", code="zjg-x",
                             yaml_text=bad)
