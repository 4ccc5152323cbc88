"""The inbox (own messages only; opened when shown; 我要申请; mute/unmute), the bureau's
funnel (SQL counts checked against the rows), grants, the formula-safe export and its CLI,
audit rows for every state change."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime

import openpyxl
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select
from typer.testing import CliRunner

from kechuang.auth.actor import Actor
from kechuang.cli import app as cli_app
from kechuang.db import unit_of_work
from kechuang.models import AuditEvent, Enterprise
from kechuang.models.push import PushMessage, PushMute
from kechuang.push import service
from tests.conftest import login
from tests.push.helpers import enterprise_ids, make_run


@pytest.fixture
def pushed(engine: Engine) -> dict[int, int]:
    """Newly-eligible messages for every seeded enterprise in two policies; enterprise 2's
    name starts with "=" (a formula, to prove the export neutralises it)."""
    with unit_of_work(engine) as s:
        e = enterprise_ids(s)
        s.get(Enterprise, e[2]).name = "=HYPERLINK(\"http://x\")公司"  # type: ignore[union-attr]
        runs = [make_run(s, pid, {e[n]: "eligible" for n in range(1, 7)})
                for pid in ("tech_sme", "innovative_sme")]
        for summary in service.do_push_after_runs(s, Actor.command_line(), runs):
            assert summary.batch_id is not None
            service.do_send_batch(s, Actor.command_line(), summary.batch_id)
    return e


def _audits(engine: Engine, action: str) -> int:
    with unit_of_work(engine) as s:
        return int(s.scalar(select(func.count()).select_from(AuditEvent)
                            .where(AuditEvent.action == action)) or 0)


def test_inbox_shows_own_messages_and_records_opening(app, engine, pushed) -> None:
    client = TestClient(app)
    login(client, "ent1")
    page = client.get("/push/inbox")
    assert page.status_code == 200
    assert page.text.count('data-kind="newly_eligible"') == 2
    assert page.text.count('data-testid="unread"') == 2
    with unit_of_work(engine) as s:
        mine = s.scalars(select(PushMessage).where(PushMessage.enterprise_id == pushed[1])).all()
        assert len(mine) == 2 and all(m.opened_at is not None for m in mine)
        others = s.scalar(select(func.count()).select_from(PushMessage)
                          .where(PushMessage.enterprise_id != pushed[1],
                                 PushMessage.opened_at.is_not(None)))
        assert others == 0
    # shown again: no longer unread, and no second "opened" audit row
    again = client.get("/push/inbox")
    assert 'data-testid="unread"' not in again.text
    assert _audits(engine, "push.opened") == 1
    api = client.get("/api/v1/push/messages").json()
    assert {m["policy_id"] for m in api} == {"tech_sme", "innovative_sme"}


def test_apply_mute_unmute_and_other_enterprises_messages(app, engine, pushed) -> None:
    client = TestClient(app)
    csrf = login(client, "ent1")
    with unit_of_work(engine) as s:
        own = s.scalar(select(PushMessage.id).where(PushMessage.enterprise_id == pushed[1],
                                                    PushMessage.policy_id == "tech_sme"))
        foreign = s.scalar(select(PushMessage.id).where(PushMessage.enterprise_id == pushed[2]))
    r = client.post(f"/push/messages/{own}/apply", headers={"X-CSRF-Token": csrf,
                                                            "HX-Request": "true"})
    assert r.status_code == 200 and 'data-testid="applied"' in r.text
    assert client.post(f"/push/messages/{foreign}/apply",
                       headers={"X-CSRF-Token": csrf}).status_code == 404
    with unit_of_work(engine) as s:
        msg = s.get(PushMessage, own)
        assert msg is not None and msg.applied_at is not None and msg.opened_at is not None
        other = s.get(PushMessage, foreign)
        assert other is not None and other.applied_at is None
    r = client.post("/push/mutes", data={"policy_id": "tech_sme", "csrf_token": csrf},
                    follow_redirects=False)
    assert r.status_code == 303
    assert client.post("/push/mutes", data={"policy_id": "nope", "csrf_token": csrf}
                       ).status_code == 422
    page = client.get("/push/inbox").text
    assert 'data-muted="tech_sme"' in page
    # muted: a new period's run brings nothing about tech_sme to enterprise 1
    with unit_of_work(engine) as s:
        run = make_run(s, "tech_sme", {pushed[1]: "eligible", pushed[3]: "eligible"},
                       eval_year=2025)
        service.do_push_after_runs(s, Actor.command_line(), [run])
        got = set(s.scalars(select(PushMessage.enterprise_id)
                            .where(PushMessage.period == 2025)))
    assert got == set()  # 3 was already eligible in the previous run; 1 is muted
    r = client.post("/push/mutes/tech_sme/delete", data={"csrf_token": csrf},
                    follow_redirects=False)
    assert r.status_code == 303
    with unit_of_work(engine) as s:
        assert s.scalar(select(func.count()).select_from(PushMute)) == 0
        run = make_run(s, "tech_sme", {pushed[1]: "ineligible"}, eval_year=2026)
        run2 = make_run(s, "tech_sme", {pushed[1]: "eligible"}, eval_year=2027)
        service.do_push_after_runs(s, Actor.command_line(), [run, run2])
        got = set(s.scalars(select(PushMessage.enterprise_id)
                            .where(PushMessage.period == 2027)))
    assert got == {pushed[1]}
    for action in ("push.applied", "push.mute", "push.unmute"):
        assert _audits(engine, action) == 1, action


def test_funnel_counts_grants_and_scope(app, engine, pushed) -> None:
    ent = TestClient(app)
    csrf_e = login(ent, "ent1")
    ent.get("/push/inbox")  # opens enterprise 1's two messages
    with unit_of_work(engine) as s:
        own = s.scalar(select(PushMessage.id).where(PushMessage.enterprise_id == pushed[1],
                                                    PushMessage.policy_id == "tech_sme"))
    ent.post(f"/push/messages/{own}/apply", headers={"X-CSRF-Token": csrf_e})
    bureau = TestClient(app)
    csrf = login(bureau, "staff")
    r = bureau.post(f"/push/messages/{own}/grant", headers={"X-CSRF-Token": csrf},
                    follow_redirects=False)
    assert r.status_code == 303
    # a message in the other county is outside staff's scope
    with unit_of_work(engine) as s:
        away = s.scalar(select(PushMessage.id).where(PushMessage.enterprise_id == pushed[5]))
    assert bureau.post(f"/push/messages/{away}/grant",
                       headers={"X-CSRF-Token": csrf}).status_code == 404
    # expected figures, counted from the rows themselves (home county: enterprises 1–4)
    with unit_of_work(engine) as s:
        rows = s.scalars(select(PushMessage).where(
            PushMessage.enterprise_id.in_([pushed[n] for n in (1, 2, 3, 4)]))).all()
    expected: dict[tuple[str, str], list[int]] = {}
    for m in rows:
        c = expected.setdefault((m.policy_id, m.kind), [0, 0, 0, 0])
        for i, ts in enumerate((m.created_at, m.opened_at, m.applied_at, m.granted_at)):
            c[i] += ts is not None
    api = bureau.get("/api/v1/push/funnel").json()
    got = {(r["policy_id"], r["kind"]): [r["pushed"], r["opened"], r["applied"], r["granted"]]
           for r in api}
    assert got == expected
    assert got[("tech_sme", "newly_eligible")] == [4, 1, 1, 1]
    tech = next(r for r in api if r["policy_id"] == "tech_sme")
    assert tech["open_rate"] == pytest.approx(1 / 4) and tech["grant_rate"] == pytest.approx(1 / 4)
    page = bureau.get("/push")
    assert page.status_code == 200 and "data-push-funnel=" in page.text
    assert "/static/push-funnel.js" in page.text
    assert bureau.get("/push/messages?kind=expiring").text.count("data-message=") == 0
    assert _audits(engine, "push.granted") == 1
    other = TestClient(app)
    login(other, "other_admin")
    away_rows = other.get("/api/v1/push/funnel").json()
    assert sum(r["pushed"] for r in away_rows) == 4  # enterprises 5 and 6, two policies


def test_export_is_formula_safe_marks_exported_and_cli(app, engine, pushed, tmp_path,
                                                      monkeypatch) -> None:
    client = TestClient(app)
    csrf = login(client, "staff")
    r = client.post("/push/export", data={"fmt": "xlsx", "csrf_token": csrf})
    assert r.status_code == 200 and r.headers["x-exported-count"] == "8"
    ws = openpyxl.load_workbook(io.BytesIO(r.content)).active
    rows = list(ws.iter_rows(values_only=True))
    assert rows[0][0] == "企业名称" and len(rows) == 9
    names = {row[0] for row in rows[1:]}
    assert "'=HYPERLINK(\"http://x\")公司" in names  # neutralised, not a formula
    assert all(len(row[5]) <= 70 for row in rows[1:])
    # exported once: the next export is empty
    again = client.post("/push/export", data={"fmt": "csv", "csrf_token": csrf})
    assert again.headers["x-exported-count"] == "0"
    with unit_of_work(engine) as s:
        marked = s.scalar(select(func.count()).select_from(PushMessage)
                          .where(PushMessage.exported_at.is_not(None)))
    assert marked == 8
    # the CLI (command-line actor: every region) exports the other county's four
    out = tmp_path / "pending.csv"
    from kechuang.config import get_settings
    from kechuang.db import dispose_engines

    monkeypatch.setenv("KECHUANG_DATABASE_URL", engine.url.render_as_string(hide_password=False))
    get_settings.cache_clear()
    dispose_engines()
    try:
        result = CliRunner().invoke(cli_app, ["push", "export", "--out", str(out), "--since",
                                              datetime.now(UTC).date().isoformat()])
        assert result.exit_code == 0, result.output
        bad = CliRunner().invoke(cli_app, ["push", "export", "--out", str(tmp_path / "x.pdf")])
        assert bad.exit_code == 1 and "只支持" in bad.output
    finally:
        get_settings.cache_clear()
        dispose_engines()
    data = list(csv.reader(io.StringIO(out.read_text(encoding="utf-8-sig"))))
    assert len(data) == 1 + 4 and "已导出 4 条" in result.output
    assert _audits(engine, "push.export") == 2  # the empty export marks nothing
