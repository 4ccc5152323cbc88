"""Access-control gaps of issue 17 item 2: a department's dry run shows only values it may
read (the reproduction: ``tax`` saw the statistics bureau's "old: 999"), and the read is
audited; town staff cannot analyse the county's scoring run, label a dispatch run with the
county, or read other towns' requests in a run's explanations."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from kechuang.auth.actor import Actor
from kechuang.db import unit_of_work
from kechuang.dispatch import service as dispatch
from kechuang.ingest.repository import HIDDEN_VALUE
from kechuang.kit.errors import Forbidden, NotFound
from kechuang.models import AuditEvent, Enterprise, Region
from kechuang.models.dispatch import DispatchRun
from kechuang.models.matching import ServiceRequest
from kechuang.robustness import service as robustness
from tests.ingest.helpers import TAX_HEADER, U1, csv_bytes, run_import, user_actor
from tests.robustness.util import persist_run
from tests.support.seed import HOME_COUNTY, HOME_PARK, HOME_TOWN, uscc

STATS_HEADER = ["统一社会信用代码", "年度", "营业收入（万元）"]


def test_a_department_dry_run_hides_other_departments_values(engine):
    stats = run_import(engine, csv_bytes([STATS_HEADER, [U1, 2023, "999"]]),
                       "stats")
    assert stats.ok, stats.problems
    tax = user_actor(engine, "tax")
    mine = run_import(engine, csv_bytes([TAX_HEADER, [U1, 2022, "50", "", ""]]), actor=tax)
    assert mine.ok, mine.problems
    rows = [TAX_HEADER, [U1, 2023, "1300", "", ""], [U1, 2022, "60", "", ""]]
    r = run_import(engine, csv_bytes(rows), actor=tax, dry_run=True)
    assert r.ok, r.problems
    by_key = {(c.uscc, c.period): c for c in r.changes}
    assert "999" not in repr(r.changes) and "777" not in repr(r.changes)
    assert by_key[(U1, 2023)].old == HIDDEN_VALUE  # the statistics bureau's value
    assert by_key[(U1, 2022)].old == "50"  # tax's own value
    with unit_of_work(engine) as s:
        (row,) = s.scalars(select(AuditEvent).where(AuditEvent.action == "import.dry_run_read"))
        assert row.actor == "tax"
        assert row.after["values_shown"] == 1 and row.after["values_hidden"] >= 1


def test_the_bureau_still_sees_old_values_of_its_region(engine):
    run_import(engine, csv_bytes([STATS_HEADER, [U1, 2023, "999"]]), "stats")
    staff = user_actor(engine, "staff")
    r = run_import(engine, csv_bytes([TAX_HEADER, [U1, 2023, "1300", "", ""]]), actor=staff,
                   dry_run=True)
    assert [c.old for c in r.changes] == ["999"]


def _town_staff(engine) -> Actor:  # type: ignore[no-untyped-def]
    """A bureau staff account of one town (杨舍镇) of the county."""
    with unit_of_work(engine) as s:
        path = s.scalar(select(Region.path).where(Region.code == HOME_TOWN))
    return Actor(username="town", role="bureau_staff", region_code=HOME_TOWN, region_path=path,
                 user_id=None, display_name="town")


def test_town_staff_cannot_analyse_the_county_run(engine):
    town = _town_staff(engine)
    with unit_of_work(engine) as s:
        run = persist_run(s, region_code=HOME_COUNTY)
        county = user_actor(engine, "staff")
        assert robustness.get_run_to_analyse(s, county, run.id).id == run.id
        with pytest.raises((Forbidden, NotFound)):
            robustness.get_run_to_analyse(s, town, run.id)
        with pytest.raises((Forbidden, NotFound)):
            robustness.do_robustness(s, town, run.id, replications=1)


def test_town_staff_cannot_label_a_dispatch_run_with_the_county(engine):
    town = _town_staff(engine)
    with unit_of_work(engine) as s, pytest.raises(Forbidden):
        dispatch.do_dispatch(s, town, region_code=HOME_COUNTY)


def test_dispatch_explanations_show_only_the_towns_own_requests(engine):
    town = _town_staff(engine)
    with unit_of_work(engine) as s:
        mine = s.scalar(select(Enterprise).where(Enterprise.uscc == U1))  # in 杨舍镇
        other = s.scalar(select(Enterprise).where(Enterprise.uscc == uscc(2)))  # the park
        r1 = ServiceRequest(enterprise_id=mine.id, title="锂电池", region_code=HOME_TOWN)
        r2 = ServiceRequest(enterprise_id=other.id, title="机密需求", region_code=HOME_PARK)
        s.add_all([r1, r2])
        s.flush()
        run = DispatchRun(region_code=HOME_COUNTY, requests=2, commissioners=0,
                          seats_needed=2, seats_filled=0, total_fit=0.0, weights={},
                          proof={"method": "t", "dual_bound": 0.0, "gap": 0.0,
                                 "integral": True},
                          explanations=[
                              {"kind": "no_supply", "task_ids": [str(r.id)], "demand": 1,
                               "supply": 0, "missing": 1, "message_zh": f"需求 {r.title}",
                               "message_en": f"request {r.title}"} for r in (r1, r2)],
                          actor="seed")
        s.add(run)
        s.flush()
        run_id = run.id
    with unit_of_work(engine) as s:
        shown, rows = dispatch.run_detail(s, town, run_id)
        assert [e["message_zh"] for e in shown.explanations] == ["需求 锂电池"]
        assert [r.request.id for r in rows] == [r1.id]
        assert "机密需求" not in repr(dispatch.run_as_dict(shown, rows))
    with unit_of_work(engine) as s:  # nothing was written back
        assert len(s.get(DispatchRun, run_id).explanations) == 2


def test_a_dry_run_does_not_tell_whether_an_out_of_scope_enterprise_exists(engine):
    """Town staff naming an enterprise of another town gets the very answer it would get
    for a credit code nobody registered (issue 17, item 2)."""
    from kechuang.kit.uscc import make_uscc

    with unit_of_work(engine) as s:
        elsewhere = s.scalar(select(Enterprise.uscc).where(
            Enterprise.region_code != HOME_TOWN).order_by(Enterprise.id))
    nobody = make_uscc("91320582999999999")
    town = _town_staff(engine)
    answers = []
    for code in (elsewhere, nobody):
        r = run_import(engine, csv_bytes([TAX_HEADER, [code, 2023, "1", "", ""]]),
                       actor=town, dry_run=True)
        assert not r.ok and len(r.problems) == 1
        answers.append((r.message, r.problems[0].reason.replace(code, "<code>")))
    assert answers[0] == answers[1]
    assert "不在您的辖区内" in answers[0][1]
