"""A call for applications opens: program_open messages to the enterprises in scope that
the call's policy finds eligible — mutes respected, idempotent, audited — from the service
and from ``kechuang push program-open``."""

from __future__ import annotations

from datetime import date

import numpy as np
import pytest
from pydantic import ValidationError
from sqlalchemy import Engine, select
from typer.testing import CliRunner

from kechuang.auth.actor import Actor
from kechuang.db import unit_of_work
from kechuang.kit.errors import InvalidInput
from kechuang.models import AuditEvent, Enterprise
from kechuang.models.push import PushMessage, PushMute
from kechuang.policy import repository as policy_repo
from kechuang.policy.service import do_run_policies, latest_covering_runs
from kechuang.push.schemas import OpenProgram, rules
from kechuang.push.service import do_push_program_open
from tests.ingest.helpers import user_actor
from tests.policy.rundata import AS_OF, U5, import_all

CALL = OpenProgram(program_id="rd-voucher-2025", title="2025 年研发创新券", policy_id="tech_sme",
                   period=2025, link="/programs/rd-voucher-2025", closes_on=date(2025, 6, 30))


@pytest.fixture
def ran(engine: Engine) -> Engine:
    import_all(engine)
    with unit_of_work(engine) as s:  # both counties
        do_run_policies(s, Actor.command_line(), ["tech_sme", "hte"], AS_OF)
    return engine


def _fitting(engine: Engine, actor: Actor, policy_id: str) -> set[int]:
    """Eligible by the latest covering run, among the actor's enterprises (computed here
    from the stored results, independently of the push code)."""
    with unit_of_work(engine) as s:
        run = latest_covering_runs(s, actor)[policy_id]
        res = policy_repo.read_results(s, run.id, ["verdict"])
        visible = policy_repo.visible_ids(s, actor)
    ok = res["verdict"].isin(rules().eligible_verdicts) & np.isin(res["enterprise_id"], visible)
    return set(res.loc[ok, "enterprise_id"].astype(int))


def _messages(engine: Engine) -> dict[int, PushMessage]:
    with unit_of_work(engine) as s:
        rows = s.scalars(select(PushMessage).where(PushMessage.kind == "program_open")).all()
        return {m.enterprise_id: m for m in rows}


def test_eligible_enterprises_in_scope_get_one_message_each(ran: Engine) -> None:
    admin = user_actor(ran, "admin")  # 张家港's bureau
    expected = _fitting(ran, admin, "tech_sme")
    assert expected  # the fixture data have eligible enterprises
    with unit_of_work(ran) as s:
        u5 = s.scalar(select(Enterprise.id).where(Enterprise.uscc == U5))
        summary = do_push_program_open(s, admin, CALL)
    assert summary.inserted == len(expected) and summary.muted == 0
    got = _messages(ran)
    assert set(got) == expected and u5 not in got  # 常熟's enterprise is not the bureau's
    m = next(iter(got.values()))
    assert (m.policy_id, m.period, m.source, m.link) == ("rd-voucher-2025", 2025, "program",
                                                          "/programs/rd-voucher-2025")
    assert "2025 年研发创新券" in m.title and "截止日期 2025-06-30" in m.body
    assert "科技型中小企业" in m.body and len(m.sms_text) <= rules().sms_max_chars
    # announcing the same call again adds nothing; one audit row per announcement
    with unit_of_work(ran) as s:
        assert do_push_program_open(s, admin, CALL).inserted == 0
        audits = s.scalars(select(AuditEvent).where(
            AuditEvent.action == "push.program_open")).all()
    assert len(audits) == 2 and audits[0].object_id == "rd-voucher-2025"


def test_muting_the_policy_or_the_call_stops_the_message(ran: Engine) -> None:
    admin = user_actor(ran, "admin")
    fitting = sorted(_fitting(ran, admin, "tech_sme"))
    assert len(fitting) >= 2
    with unit_of_work(ran) as s:
        s.add(PushMute(enterprise_id=fitting[0], policy_id="tech_sme"))
        s.add(PushMute(enterprise_id=fitting[1], policy_id="rd-voucher-2025"))
    with unit_of_work(ran) as s:
        summary = do_push_program_open(s, admin, CALL)
    assert summary.muted == 2
    assert set(_messages(ran)) == set(fitting[2:])


def test_refusals_name_the_problem(ran: Engine) -> None:
    admin = user_actor(ran, "admin")
    with unit_of_work(ran) as s:
        with pytest.raises(InvalidInput, match="未知政策"):
            do_push_program_open(s, admin, CALL.model_copy(update={"policy_id": "nope"}))
        with pytest.raises(InvalidInput, match="与政策编号相同"):
            do_push_program_open(s, admin, CALL.model_copy(update={"program_id": "hte"}))
        with pytest.raises(InvalidInput, match="尚无覆盖本辖区的计算结果"):
            do_push_program_open(s, admin, CALL.model_copy(update={"policy_id": "srdi_sme"}))
    for bad in ({"program_id": "有空格 的编号"}, {"link": "https://example.com/x"},
                {"period": 1999}, {"title": ""}):
        with pytest.raises(ValidationError):
            OpenProgram.model_validate({**CALL.model_dump(), **bad})


def test_cli_program_open(ran: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    from kechuang.cli import app
    from kechuang.config import get_settings
    from kechuang.db import dispose_engines

    monkeypatch.setenv("KECHUANG_DATABASE_URL", ran.url.render_as_string(hide_password=False))
    get_settings.cache_clear()
    dispose_engines()
    args = ["push", "program-open", "--program", "rd-voucher-2025", "--title", "研发创新券",
            "--policy", "tech_sme", "--period", "2025", "--link", "/programs/rd-voucher-2025"]
    try:
        ok = CliRunner().invoke(app, [*args, "--closes-on", "2025-06-30"])
        assert ok.exit_code == 0, ok.output
        # the command line covers every region: 常熟's eligible enterprises too
        expected = _fitting(ran, Actor.command_line(), "tech_sme")
        assert f"新增消息 {len(expected)} 条" in ok.output
        assert set(_messages(ran)) == expected
        again = CliRunner().invoke(app, [*args])
        assert again.exit_code == 0 and "新增消息 0 条" in again.output
        bad = CliRunner().invoke(app, [*args, "--closes-on", "2025-13-01"])
        assert bad.exit_code == 1 and "--closes-on" in bad.output
    finally:
        get_settings.cache_clear()
        dispose_engines()


def test_an_enterprise_can_mute_a_call_it_was_told_about(ran: Engine) -> None:
    from kechuang.push.service import do_mute

    ent = user_actor(ran, "ent1")
    admin = user_actor(ran, "admin")
    with unit_of_work(ran) as s:
        do_push_program_open(s, admin, CALL)
    assert ent.enterprise_id in _messages(ran)  # U1 is eligible for tech_sme
    with unit_of_work(ran) as s:
        # the call's id is mutable for an enterprise that got a message about it
        assert do_mute(s, ent, "rd-voucher-2025") is True
        with pytest.raises(InvalidInput, match="未知政策"):
            do_mute(s, ent, "some-other-call")  # never told about it: refused
