"""The database path: the evaluation over the monthly facts is the file engine's result,
stored with its audit row; scope; the pages' read models; the alerts sent through push."""

from __future__ import annotations

import csv
from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import func, inspect, select, text

from kechuang.auth.actor import Actor
from kechuang.auth.service import actor_for_user
from kechuang.carbon import service
from kechuang.db import unit_of_work
from kechuang.kit.errors import Forbidden, NotFound
from kechuang.migrate import downgrade, upgrade
from kechuang.models import AuditEvent, Region, User
from kechuang.models.monitoring import CarbonEvaluation, CarbonGradeBlock
from kechuang.models.push import PushMessage
from tests.carbon.conftest import MONTHS
from tests.support.seed import uscc


def _actor(s, username: str) -> Actor:
    user = s.scalar(select(User).where(User.username == username))
    return actor_for_user(user, s.get(Region, user.region_code).path)


def test_database_evaluation_equals_the_file_contract(carbon_db, tmp_path: Path) -> None:
    with unit_of_work(carbon_db) as s:
        ev = service.do_evaluate(s, Actor.command_line())
        assert ev.enterprises == 5 and ev.periods == ["2025-01", "2025-03"]
        assert s.scalar(select(func.count()).select_from(AuditEvent).where(
            AuditEvent.action == "carbon.evaluate")) == 1
    # the same data through `kechuang carbon grade`
    industry = {1: "3973", 2: "2651", 3: "3421", 5: "1711", 6: "3581"}
    region = {1: "320582100", 2: "320582401", 3: "320582100", 5: "320581101", 6: "320581"}
    data = tmp_path / "m.csv"
    with data.open("w", encoding="utf-8", newline="") as f:
        w = csv.writer(f)
        w.writerow(["uscc", "name", "industry_code", "region_code", "period", "energy_tce",
                    "co2_t", "value_added_wan"])
        for n, rows in MONTHS.items():
            for p, co2, va in rows:
                w.writerow([uscc(n, "320581" if n >= 5 else "320582"), "x", industry[n],
                            region[n], f"{p // 100}-{p % 100:02d}", "1", co2, va])
    out = tmp_path / "g.csv"
    service.grade_file(data, out)
    expected = pd.read_csv(out, dtype=str, keep_default_na=False)
    with unit_of_work(carbon_db) as s:
        got = []
        for n in MONTHS:
            got += [g.model_dump() for g in service.enterprise_grades(
                s, Actor.command_line(), uscc(n, "320581" if n >= 5 else "320582"))]
    assert len(got) == len(expected) == 15
    by = {(g["uscc"], g["period"]): g for g in got}
    for r in expected.to_dict("records"):
        g = by[(r["uscc"], r["period"])]
        assert (str(g["grade"]) if g["grade"] is not None else "") == r["grade"]
        assert (g["benchmark_level"] or "") == r["benchmark_level"]
        assert (g["alert"]) == r["alert"]
        assert (str(g["industry_rank"]) if g["industry_rank"] else "") == r["industry_rank"]
        assert (str(g["region_count"]) if g["region_count"] else "") == r["region_count"]
        if r["ratio"]:
            assert g["ratio"] == pytest.approx(float(r["ratio"]), rel=1e-12)


def test_reevaluation_replaces_grades_and_scope_limits_reads(carbon_db) -> None:
    with unit_of_work(carbon_db) as s:
        service.do_evaluate(s, Actor.command_line())
        service.do_evaluate(s, Actor.command_line())
        assert s.scalar(select(func.count()).select_from(CarbonEvaluation)) == 2
        # only the latest evaluation keeps its grades: 15 enterprise-months in its blocks
        assert s.scalar(select(func.count(func.distinct(CarbonGradeBlock.evaluation_id)))) == 1
        assert s.scalar(select(func.sum(CarbonGradeBlock.rows))) == 15
        other = _actor(s, "other_admin")  # 常熟
        page = service.grades(s, other, period="2025-01")
        assert {g.uscc for g in page.items} == {uscc(5, "320581"), uscc(6, "320581")}
        ov = service.overview(s, _actor(s, "admin"))
        assert ov.period == "2025-03" and [x.period for x in ov.shares] == [
            "2025-01", "2025-02", "2025-03"]
        # March: enterprise 2 has no value added → 2 graded in 张家港
        assert ov.shares[-1].graded == 2
        assert {r.code for r in ov.by_region} == {"320582100"}
        with pytest.raises(NotFound):
            service.enterprise_grades(s, other, uscc(1))
        ent = _actor(s, "ent1")
        mine = service.enterprise_grades(s, ent, uscc(1))
        assert [g.period for g in mine] == ["2025-01", "2025-02", "2025-03"]
        with pytest.raises(NotFound):
            service.enterprise_grades(s, ent, uscc(3))
        with pytest.raises(Forbidden):
            service.do_evaluate(s, ent)


def test_town_evaluation_uses_only_the_town(carbon_db) -> None:
    with unit_of_work(carbon_db) as s:
        ev = service.do_evaluate(s, _actor(s, "admin"), region_code="320582100")
        assert ev.enterprises == 2
        with pytest.raises(Forbidden):
            service.do_evaluate(s, _actor(s, "other_admin"), region_code="320582100")


def test_notify_sends_the_months_alerts_through_push(carbon_db) -> None:
    with unit_of_work(carbon_db) as s:
        service.do_evaluate(s, Actor.command_line())
        r = service.do_notify_alerts(s, _actor(s, "admin"), period="2025-02")
    with unit_of_work(carbon_db) as s:
        rows = s.scalars(select(PushMessage).where(PushMessage.policy_id == "carbon")).all()
        assert [(m.kind, m.period, m.link) for m in rows] == [
            ("carbon_alert", 202502, f"/carbon/enterprise/{uscc(1)}")]
        assert "碳排放强度上升" in rows[0].title
        # announcing the same month again adds nothing
        again = service.do_notify_alerts(s, _actor(s, "admin"), period="2025-02")
    assert again.notified == 0 and again.already == 1
    assert r.notified == 1 and r.already == 0


def test_stored_grades_survive_the_block_migration_down_and_up(carbon_db) -> None:
    """Migration 0017 packs the grade rows into per-month blocks and unpacks them on the way
    down: a bureau upgrading keeps its latest evaluation's grades exactly."""
    with unit_of_work(carbon_db) as s:
        service.do_evaluate(s, Actor.command_line())
    admin = "admin"

    def pages() -> list[list[dict]]:
        with unit_of_work(carbon_db) as s:
            actor = _actor(s, admin)
            return [[g.model_dump() for g in service.grades(s, actor, period=p).items]
                    for p in ("2025-01", "2025-02", "2025-03")]

    before = pages()
    assert sum(len(p) for p in before) == 9  # the admin's county: 3 enterprises × 3 months
    downgrade(carbon_db, "0016")
    with carbon_db.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM carbon_grade")).scalar_one() == 15
        assert "carbon_grade_block" not in set(inspect(conn).get_table_names())
    upgrade(carbon_db)
    assert pages() == before
