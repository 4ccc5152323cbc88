"""Database mode: a persisted, audited dispatch run in the actor's region; confirm and
re-dispatch; capacity already in use is respected by the next run."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from kechuang.db import unit_of_work
from kechuang.dispatch import service
from kechuang.kit.errors import Conflict, InvalidInput, NotFound
from kechuang.models import AuditEvent
from kechuang.models.dispatch import DispatchAlternate, DispatchAssignment, DispatchRun
from kechuang.models.matching import ServiceRequest


def _status(engine, rid):  # type: ignore[no-untyped-def]
    with unit_of_work(engine) as s:
        return s.get(ServiceRequest, rid).status


def test_run_assigns_optimally_within_scope_and_constraints(engine, scene, admin_actor):
    with unit_of_work(engine) as s:
        summary = service.do_dispatch(s, admin_actor)
    c, r = scene.c, scene.r
    with unit_of_work(engine) as s:
        run = s.get(DispatchRun, summary.run_id)
        assigns = s.scalars(select(DispatchAssignment)
                            .where(DispatchAssignment.run_id == run.id)).all()
        got = {(a.request_id, a.commissioner_id) for a in assigns}
        # only 张家港's four requests (常熟's request and commissioner are out of scope)
        assert run.requests == 4 and run.commissioners == 7
        assert (r["cs"], c["cs"]) not in got and all(a.request_id != r["cs"] for a in assigns)
        # the expected optimum: each request to its specialist; the chip request's only
        # specialist declared a conflict, the zero-capacity generalist is never used
        assert (r["bat"], c["bat"]) in got
        assert (r["mech"], c["mech"]) in got
        assert (r["soft"], c["soft"]) in got
        assert all(a.commissioner_id not in (c["zero"], c["inhouse"]) for a in assigns)
        assert (r["chip"], c["chip"]) not in got
        assert run.proof["optimal"] is True and run.proof["integral"] is True
        # a team of two for the software request, but only one software commissioner
        assert run.seats_needed == 5
        assert run.seats_filled == len(assigns)
        kinds = {e["kind"] for e in run.explanations}
        assert kinds, "unserved seats must be explained"
        assert any(str(r["soft"]) in e["task_ids"] for e in run.explanations)
        # statuses, alternates and audit rows
        assert s.get(ServiceRequest, r["cs"]).status == "open"
        for a in assigns:
            assert s.get(ServiceRequest, a.request_id).status == "assigned"
        n_audit = s.scalar(select(func.count()).select_from(AuditEvent)
                           .where(AuditEvent.action.in_(["dispatch.run", "dispatch.assign"])))
        assert n_audit == 1 + len(assigns)
        alts = s.scalars(select(DispatchAlternate).where(DispatchAlternate.run_id == run.id)).all()
        assert all(x.commissioner_id not in (c["zero"], c["inhouse"]) for x in alts)
        assert all((x.request_id, x.commissioner_id) not in got for x in alts)


def test_unserved_requests_are_explained_in_chinese(engine, scene, admin_actor):
    # the chip request's specialist declared a conflict and the only other chip expert has
    # capacity 0; the software request needs two but one software expert exists
    with unit_of_work(engine) as s:
        summary = service.do_dispatch(s, admin_actor)
    chip = [e for e in summary.explanations if f"#{scene.r['chip']} " in e]
    assert chip == [f"需求 #{scene.r['chip']} 的候选特派员或有利益冲突，或容量为 0"]
    soft = [e for e in summary.explanations if f"#{scene.r['soft']} " in e]
    assert len(soft) == 1 and "共需 2 名特派员" in soft[0] and "差 1 名" in soft[0]
    assert summary.seats_filled == summary.seats_needed - 2


def test_next_run_respects_capacity_in_use(engine, scene, admin_actor):
    with unit_of_work(engine) as s:
        service.do_dispatch(s, admin_actor)
    # a new battery request: 陈电池 (capacity 1) is busy with the first one
    with unit_of_work(engine) as s:
        first = s.get(ServiceRequest, scene.r["bat"])
        s.add(ServiceRequest(enterprise_id=first.enterprise_id, title="锂离子电池电解液",
                             description="正极材料", region_code=first.region_code))
    with unit_of_work(engine) as s:
        summary = service.do_dispatch(s, admin_actor)
        assigns = s.scalars(select(DispatchAssignment)
                            .where(DispatchAssignment.run_id == summary.run_id)).all()
        assert all(a.commissioner_id != scene.c["bat"] for a in assigns)
        assert summary.requests == 2  # the new one and the still-open chip request


def test_no_open_request_is_a_clear_error(engine, admin_actor):
    with unit_of_work(engine) as s, pytest.raises(InvalidInput, match="没有待分派"):
        service.do_dispatch(s, admin_actor)


def test_confirm_and_redispatch(engine, scene, admin_actor):
    with unit_of_work(engine) as s:
        run_id = service.do_dispatch(s, admin_actor).run_id
    with unit_of_work(engine) as s:
        a = s.scalar(select(DispatchAssignment).where(DispatchAssignment.run_id == run_id,
                                                      DispatchAssignment.request_id
                                                      == scene.r["mech"]))
        alts = s.scalars(select(DispatchAlternate).where(
            DispatchAlternate.run_id == run_id,
            DispatchAlternate.request_id == scene.r["mech"])).all()
        assert alts, "the mechanics request should have alternates"
        a_id, best_alt = a.id, alts[0].commissioner_id
    with unit_of_work(engine) as s:
        new = service.do_redispatch(s, admin_actor, a_id)
        new_id = new.id
        assert new.commissioner_id == best_alt and new.replaces_id == a_id
    with unit_of_work(engine) as s:
        assert s.get(DispatchAssignment, a_id).status == "replaced"
        with pytest.raises(Conflict):
            service.do_redispatch(s, admin_actor, a_id)
    with unit_of_work(engine) as s:
        service.do_confirm(s, admin_actor, new_id)
    assert _status(engine, scene.r["mech"]) == "in_service"
    with unit_of_work(engine) as s:
        with pytest.raises(Conflict):
            service.do_confirm(s, admin_actor, new_id)
        actions = s.scalars(select(AuditEvent.action).where(
            AuditEvent.object_id == str(scene.r["mech"]))).all()
        assert {"dispatch.assign", "dispatch.redispatch", "dispatch.confirm"} <= set(actions)


def test_other_county_cannot_see_or_touch_the_run(engine, scene, admin_actor, other_actor):
    with unit_of_work(engine) as s:
        run_id = service.do_dispatch(s, admin_actor).run_id
    with unit_of_work(engine) as s:
        a_id = s.scalar(select(DispatchAssignment.id).where(DispatchAssignment.run_id == run_id))
        with pytest.raises(NotFound):
            service.run_detail(s, other_actor, run_id)
        with pytest.raises(NotFound):
            service.do_confirm(s, other_actor, a_id)
    # 常熟's own run sees only 常熟's request and commissioner
    with unit_of_work(engine) as s:
        summary = service.do_dispatch(s, other_actor)
        assert (summary.requests, summary.commissioners, summary.seats_filled) == (1, 1, 1)


def test_concurrent_runs_do_not_double_book(engine, scene, admin_actor):
    """PostgreSQL: the second run waits for the first one's commissioner locks, then finds
    its requests taken and saves nothing (SQLite serialises writers by itself)."""
    import threading

    from kechuang.db import is_sqlite

    if is_sqlite(engine):
        pytest.skip("row locks are a PostgreSQL matter; SQLite has one writer at a time")
    outcome: dict[str, object] = {}
    first_done = threading.Event()

    def second() -> None:
        try:
            with unit_of_work(engine) as s:
                outcome["run"] = service.do_dispatch(s, admin_actor).run_id
        except Conflict as exc:
            outcome["error"] = exc.message_zh
        outcome["after_first"] = first_done.is_set()

    with unit_of_work(engine) as s:
        service.do_dispatch(s, admin_actor)
        t = threading.Thread(target=second)
        t.start()
        t.join(timeout=3)
        assert t.is_alive(), "the second run should wait for the first one's locks"
        first_done.set()
    t.join(timeout=60)
    assert outcome.get("after_first") is True
    assert "error" in outcome and "状态被他人修改" in str(outcome["error"])
    with unit_of_work(engine) as s:
        assert s.scalar(select(func.count()).select_from(DispatchRun)) == 1
