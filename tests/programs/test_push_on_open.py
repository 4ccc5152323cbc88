"""Opening a public call with an eligibility policy pushes it to the enterprises that policy
finds eligible (kechuang.push.service.do_push_program_open); without a run covering the
region the call still opens, and the audit row says why nothing was pushed."""

from __future__ import annotations

from sqlalchemy import select

from kechuang.auth.actor import Actor
from kechuang.db import unit_of_work
from kechuang.models import AuditEvent
from kechuang.models.push import PushMessage
from kechuang.policy.service import do_run_policies
from kechuang.programs import service
from tests.policy.rundata import AS_OF, import_all
from tests.programs.helpers import actor, make_call, make_program


def _open(engine, code):  # type: ignore[no-untyped-def]
    with unit_of_work(engine) as s:
        pid = make_program(s, code=f"P-{code}")
        cid = make_call(s, pid, code=code, policy_id="tech_sme")
        out = service.do_call_action(s, actor(s, "staff"), cid, "open")
    return cid, out


def test_open_without_a_policy_run_still_opens_and_says_why(engine):
    cid, out = _open(engine, "T-PUSH-0")
    assert out.state == "open" and out.notes and out.notes[0].startswith("未推送")
    with unit_of_work(engine) as s:
        after = s.scalars(select(AuditEvent.after).where(
            AuditEvent.action == "programs.call.open")).all()
        assert after[-1]["notes"] == out.notes


def test_open_pushes_to_the_eligible_enterprises(engine):
    import_all(engine)
    with unit_of_work(engine) as s:
        do_run_policies(s, Actor.command_line(), ["tech_sme"], AS_OF)
    cid, out = _open(engine, "T-PUSH-1")
    assert out.notes and out.notes[0].startswith("已推送")
    with unit_of_work(engine) as s:
        msgs = s.scalars(select(PushMessage).where(PushMessage.policy_id == "T-PUSH-1")).all()
    assert msgs and {m.link for m in msgs} == {f"/programs/calls/{cid}"}
    assert int(out.notes[0].split()[1]) == len(msgs)
