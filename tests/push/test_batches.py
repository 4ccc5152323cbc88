"""Pushes are reviewed before they go out (issue 11, item 2): a policy run writes a draft
batch that reaches no inbox; a bureau account previews it (who, which message, why), drops
and edits items and sends the rest in one audited action; a decided batch cannot change;
another county's batch is invisible."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select

from kechuang.auth.actor import Actor
from kechuang.db import unit_of_work
from kechuang.models import AuditEvent
from kechuang.models.push import PushBatch, PushMessage
from kechuang.push import service
from tests.conftest import login
from tests.push.helpers import enterprise_ids, make_run

CLI = Actor.command_line()


def _draft(engine: Engine, region: str | None = "320582") -> tuple[int, dict[int, int]]:
    """A draft batch of tech_sme newly-eligible messages to enterprises 1–4 (home county)."""
    with unit_of_work(engine) as s:
        e = enterprise_ids(s)
        run = make_run(s, "innovative_sme", {e[n]: "eligible" for n in range(1, 5)},
                       region_code=region)
        summary = service.do_push_after_runs(s, CLI, [run])[0]
        assert summary.batch_id is not None and summary.inserted == 4
        ids = {n: s.scalar(select(PushMessage.id).where(PushMessage.enterprise_id == e[n]))
               for n in range(1, 5)}
    return summary.batch_id, ids  # type: ignore[return-value]


def test_a_draft_reaches_no_inbox_until_a_reviewer_sends_it(app, engine) -> None:
    batch_id, ids = _draft(engine)
    ent = TestClient(app)
    login(ent, "ent1")
    assert 'data-kind="newly_eligible"' not in ent.get("/push/inbox").text
    assert ent.get("/api/v1/push/messages").json() == []
    staff = TestClient(app)
    csrf = login(staff, "staff")
    # the funnel counts nothing yet, the review page lists the batch as waiting
    assert staff.get("/api/v1/push/funnel").json() == []
    page = staff.get("/push/batches").text
    assert f'data-batch="{batch_id}" data-status="draft"' in page
    detail = staff.get(f"/push/batches/{batch_id}")
    assert detail.status_code == 200 and detail.text.count("data-message=") == 4
    # drop enterprise 2's message, edit enterprise 1's, send in one action
    r = staff.post(f"/push/batches/{batch_id}/send", follow_redirects=False, data={
        "csrf_token": csrf, "drop": str(ids[2]), f"body_{ids[1]}": "请于 4 月 30 日前提交材料。",
        f"body_{ids[3]}": "  ", f"body_{ids[2]}": "ignored: dropped"}, )
    # an emptied text is refused, nothing changes
    assert r.status_code == 422 and "不能为空" in r.text
    with unit_of_work(engine) as s:
        assert set(s.scalars(select(PushMessage.status))) == {"draft"}
    r = staff.post(f"/push/batches/{batch_id}/send", follow_redirects=False, data={
        "csrf_token": csrf, "drop": str(ids[2]), f"body_{ids[1]}": "请于 4 月 30 日前提交材料。"})
    assert r.status_code == 303
    with unit_of_work(engine) as s:
        status = dict(s.execute(select(PushMessage.id, PushMessage.status)).all())
        assert status == {ids[1]: "sent", ids[2]: "dropped", ids[3]: "sent", ids[4]: "sent"}
        assert s.get(PushMessage, ids[1]).body == "请于 4 月 30 日前提交材料。"  # type: ignore[union-attr]
        batch = s.get(PushBatch, batch_id)
        assert batch is not None and batch.status == "sent"
        assert batch.decision == {"sent": 3, "dropped": 1, "edited": 1}
        audits = s.scalars(select(AuditEvent).where(AuditEvent.action == "push.batch_sent")).all()
        assert len(audits) == 1 and audits[0].after["dropped_ids"] == [ids[2]]
        assert audits[0].after["edited_ids"] == [ids[1]]
    inbox = ent.get("/api/v1/push/messages").json()
    assert [m["body"] for m in inbox] == ["请于 4 月 30 日前提交材料。"]
    # a decided batch cannot change
    again = staff.post(f"/api/v1/push/batches/{batch_id}/send", json={},
                       headers={"X-CSRF-Token": csrf})
    assert again.status_code == 409 and "已发送" in again.text
    funnel = staff.get("/api/v1/push/funnel").json()
    assert sum(r["pushed"] for r in funnel) == 3


def test_discard_needs_a_reason_and_sends_nothing(app, engine) -> None:
    batch_id, _ = _draft(engine)
    staff = TestClient(app)
    csrf = login(staff, "staff")
    r = staff.post(f"/api/v1/push/batches/{batch_id}/discard", json={"reason": ""},
                   headers={"X-CSRF-Token": csrf})
    assert r.status_code == 422
    r = staff.post(f"/api/v1/push/batches/{batch_id}/discard",
                   json={"reason": "数据待核实"}, headers={"X-CSRF-Token": csrf})
    assert r.status_code == 200 and r.json()["status"] == "discarded"
    with unit_of_work(engine) as s:
        assert set(s.scalars(select(PushMessage.status))) == {"dropped"}
        assert s.scalar(select(func.count()).select_from(AuditEvent).where(
            AuditEvent.action == "push.batch_discarded")) == 1
        # the same run again writes nothing new: dropped is a decision for that year
        e = enterprise_ids(s)
        run = make_run(s, "innovative_sme", {e[1]: "eligible"}, region_code="320582",
                       eval_year=2024)
        assert service.do_push_after_runs(s, CLI, [run])[0].batch_id is None


def test_another_countys_batch_is_invisible_and_unknown_ids_are_refused(app, engine) -> None:
    batch_id, ids = _draft(engine, region="320581")
    other = TestClient(app)
    csrf = login(other, "staff")  # 张家港 staff; the batch is 常熟's
    assert other.get(f"/push/batches/{batch_id}").status_code == 404
    assert other.post(f"/api/v1/push/batches/{batch_id}/send", json={},
                      headers={"X-CSRF-Token": csrf}).status_code == 404
    admin = TestClient(app)
    csrf = login(admin, "other_admin")
    r = admin.post(f"/api/v1/push/batches/{batch_id}/send", json={"drop": [999999]},
                   headers={"X-CSRF-Token": csrf})
    assert r.status_code == 422 and "999999" in r.text
    with unit_of_work(engine) as s:
        assert set(s.scalars(select(PushMessage.status))) == {"draft"}
