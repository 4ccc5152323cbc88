"""Review rounds in the database: opened by ``programs.review_requested``, conflicts by the
rules, optimal assignment, late conflict repaired, reviews, ranking, decision event."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import Engine, func, select

from kechuang.auth.actor import Actor
from kechuang.db import unit_of_work
from kechuang.kit import events
from kechuang.kit.errors import Conflict, InvalidInput, NotFound
from kechuang.models import AuditEvent
from kechuang.models.review import ReviewAssignment, ReviewConflict, ReviewSubject
from kechuang.review import service
from tests.review.conftest import Scene, emit_request, expert_actor, request


def _active(s) -> list[ReviewAssignment]:  # type: ignore[no-untyped-def]
    return list(s.scalars(select(ReviewAssignment).where(ReviewAssignment.status == "active")
                          .order_by(ReviewAssignment.id)))


def _subject_rows(s) -> dict[int, int]:  # type: ignore[no-untyped-def]
    return {x.subject_id: x.id for x in s.scalars(select(ReviewSubject))}


def test_request_opens_and_assigns_without_conflicted_or_unavailable(
        engine: Engine, scene: Scene) -> None:
    rid = emit_request(engine, request())
    assert emit_request(engine, request()) == rid  # idempotent
    with unit_of_work(engine) as s:
        rows = _subject_rows(s)
        active = _active(s)
        r = service.get_round(s, Actor.command_line(), rid)
        assert r.status == "assigned" and r.assignment_summary["status"] == "optimal"
        per = {sid: {a.expert_id for a in active if a.subject_row_id == row}
               for sid, row in rows.items()}
        assert all(len(v) == 3 for v in per.values())
        # 孙内部 works for subject 11's applicant; 周封装 is named in subject 13
        assert scene.experts["inhouse"] not in per[11]
        assert scene.experts["chip2"] not in per[13]
        assert scene.experts["away"] not in set().union(*per.values())
        # load caps hold
        for key in ("chip", "chip2", "bat", "mat"):
            assert sum(1 for a in active if a.expert_id == scene.experts[key]) <= 2
        rules = {c.rule for c in s.scalars(select(ReviewConflict))}
        assert {"same_org", "named"} <= rules


def test_late_conflict_is_repaired_without_moving_others(engine: Engine, scene: Scene) -> None:
    rid = emit_request(engine, request())
    with unit_of_work(engine) as s:
        before = {(a.subject_row_id, a.expert_id) for a in _active(s)}
        target = _active(s)[0]
        expert = target.expert_id
        with pytest.raises(NotFound):
            service.do_declare_conflict(s, expert_actor(expert + 1000), target.id, "亲属任职")
        rep = service.do_declare_conflict(s, expert_actor(expert), target.id, "亲属在申请单位任职")
    with unit_of_work(engine) as s:
        after = {(a.subject_row_id, a.expert_id) for a in _active(s)}
        removed = before - after
        added = after - before
        assert removed == {(target.subject_row_id, expert)}
        if rep.replacement_id is not None:
            assert len(added) == 1
            (subj, new_expert), = added
            assert subj == target.subject_row_id and new_expert != expert
        assert s.scalar(select(func.count()).select_from(ReviewConflict).where(
            ReviewConflict.rule == "declared", ReviewConflict.expert_id == expert)) == 1
        assert s.scalar(select(func.count()).select_from(AuditEvent).where(
            AuditEvent.action == "review.conflict_declared")) == 1
        service.get_round(s, Actor.command_line(), rid)


def _review_all(engine: Engine, totals: dict[int, float]) -> None:
    """Every active assignment gets the same score on every criterion."""
    with unit_of_work(engine) as s:
        rows = {v: k for k, v in _subject_rows(s).items()}
        for a in _active(s):
            v = totals[rows[a.subject_row_id]]
            service.do_submit_review(s, expert_actor(a.expert_id), a.id,
                                     {"innovation": v, "feasibility": v, "benefit": v,
                                      "team": v}, "意见")


def test_reviews_ranking_and_decision_event(engine: Engine, scene: Scene,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    rid = emit_request(engine, request(budget="95"))
    _review_all(engine, {11: 90, 12: 80, 13: 70})
    seen = []

    def _capture(session, actor, decision, **_):  # type: ignore[no-untyped-def]
        seen.append(decision)

    # the programs package's own subscriber needs its call; here only the hand-over counts
    events._load()
    monkeypatch.setitem(events._handlers, "review.decision_recorded", [_capture])
    if True:
        with unit_of_work(engine) as s:
            r, rows, summary = service.ranking(s, Actor.command_line(), rid)
            assert [x.subject_id for x in rows] == [11, 12, 13]
            # 50 + 40 fit in 95; 13 asks 30 > 5 left: the cut-off
            assert [x.funded for x in rows] == [True, True, False]
            assert "截止线" in summary
            d = service.do_record_decision(s, Actor.command_line(), rid)
            assert d.round_id == rid and [x.funded for x in d.ranked] == [True, True, False]
        assert len(seen) == 1 and seen[0].ranked[0].amount == Decimal("50")
        with unit_of_work(engine) as s, pytest.raises(Conflict):
            service.do_record_decision(s, Actor.command_line(), rid)
        with unit_of_work(engine) as s:
            assert s.scalar(select(func.count()).select_from(AuditEvent).where(
                AuditEvent.action == "review.decision_recorded")) == 1


def test_review_is_checked_against_the_rubric(engine: Engine, scene: Scene) -> None:
    emit_request(engine, request())
    with unit_of_work(engine) as s:
        a = _active(s)[0]
        who = expert_actor(a.expert_id)
        with pytest.raises(InvalidInput):
            service.do_submit_review(s, who, a.id, {"innovation": 90})  # missing criteria
        with pytest.raises(InvalidInput):
            service.do_submit_review(s, who, a.id, {"innovation": 190, "feasibility": 1,
                                                    "benefit": 1, "team": 1})
        total = service.do_submit_review(s, who, a.id, {"innovation": 100, "feasibility": 50,
                                                        "benefit": 0, "team": 100})
        assert total == Decimal("60")  # 0.3·100 + 0.3·50 + 0.25·0 + 0.15·100
        with pytest.raises(Conflict):
            service.do_submit_review(s, who, a.id, {"innovation": 1, "feasibility": 1,
                                                    "benefit": 1, "team": 1})


def test_experts_see_only_their_assignments_and_reads_are_audited(
        engine: Engine, scene: Scene) -> None:
    emit_request(engine, request())
    with unit_of_work(engine) as s:
        a = _active(s)[0]
        mine = service.my_assignments(s, expert_actor(a.expert_id))
        assert mine and all(x[0].expert_id == a.expert_id for x in mine)
        other = next(x for x in _active(s) if x.expert_id != a.expert_id)
        with pytest.raises(NotFound):
            service.read_for_expert(s, expert_actor(a.expert_id), other.id)
        service.read_for_expert(s, expert_actor(a.expert_id), a.id)
    with unit_of_work(engine) as s:
        assert s.scalar(select(func.count()).select_from(AuditEvent).where(
            AuditEvent.action == "review.application_read")) == 1


def test_overdue_list(engine: Engine, scene: Scene) -> None:
    rid = emit_request(engine, request(due_days=-1))
    with unit_of_work(engine) as s:
        late = service.overdue(s, Actor.command_line())
        assert len(late) == 9 and all(r.id == rid for _, _, r, _ in late)
        a = _active(s)[0]
        service.do_submit_review(s, expert_actor(a.expert_id), a.id,
                                 {"innovation": 1, "feasibility": 1, "benefit": 1, "team": 1})
        assert len(service.overdue(s, Actor.command_line())) == 8


def test_infeasible_round_explains_and_writes_no_assignment(engine: Engine,
                                                            scene: Scene) -> None:
    from kechuang.kit.seams import ReviewSubject as Subj  # noqa: PLC0415

    many = [Subj(subject_id=100 + i, title=f"集成电路 {i}", text="集成电路")
            for i in range(8)]
    rid = emit_request(engine, request(call_id=777, subjects=many))
    with unit_of_work(engine) as s:
        r = service.get_round(s, Actor.command_line(), rid)
        assert r.status == "open"
        summary = r.assignment_summary
        assert summary["status"] == "infeasible"
        assert summary["unserved"] and summary["unserved"][0]["constraint"] == "capacity"
        assert "#100" in summary["unserved"][0]["message_zh"]
        assert not _active(s)


def test_round_outside_scope_is_not_found(engine: Engine, scene: Scene) -> None:
    rid = emit_request(engine, request())
    other = Actor(username="x", role="bureau_admin", region_code="320581",
                  region_path="/320000/320500/320581/")
    with unit_of_work(engine) as s, pytest.raises(NotFound):
        service.get_round(s, other, rid)
