"""The what-if panel: the numbers equal an independent engine computation on the modified
data, raising a positive-direction input never lowers the points (in a constructed case),
eligibility flips exactly at the HTE R&D threshold, bad input gets a clear Chinese message,
scope holds, and nothing is written."""

from __future__ import annotations

from datetime import date

import pandas as pd
import pytest
from sqlalchemy import func, select

from kechuang.db import unit_of_work
from kechuang.kit.errors import InvalidInput, NotFound
from kechuang.models import AuditEvent, Fact, ScoreResult, ScoringRun
from kechuang.profile import whatif
from kechuang.profile.schemas import parse_form, parse_request
from kechuang.scoring.catalogue import load_system
from tests.ingest.helpers import user_actor
from tests.profile.conftest import County
from tests.profile.data import HTE_N, engine_table
from tests.scoring.util import run as run_engine
from tests.support.seed import uscc

U2 = uscc(2)
TODAY = date(2026, 11, 22)  # evaluation year 2025 ≠ the run's 2024: as of 2025-12-31


def _whatif(county: County, username: str, code: str, changes: list[dict]):  # type: ignore[no-untyped-def]
    with unit_of_work(county.engine) as s:
        return whatif.what_if(s, user_actor(county.engine, username), code,
                              parse_request({"changes": changes}), today=TODAY)


def _counts(county: County) -> tuple[int, ...]:
    with unit_of_work(county.engine) as s:
        return tuple(int(s.scalar(select(func.count()).select_from(m)) or 0)
                     for m in (ScoringRun, ScoreResult, Fact, AuditEvent))


def _reference(county: County, changes: dict[tuple[int, int, str], float]) -> pd.Series:
    system = load_system("zjg-points", "2.0")
    scores, _trace, _r = run_engine(system, engine_table(county.values, changes), year=2024)
    return scores["total"]


def test_raising_inputs_equals_independent_engine_and_never_lowers_points(
        county: County) -> None:
    v = county.values[(2, 2024)]
    written = _counts(county)
    out = _whatif(county, "staff", U2, [{"metric": "rd_staff", "delta": 3},
                                        {"metric": "rd_expense", "delta": "200"}])
    assert _counts(county) == written  # a what-if is a read
    base = _reference(county, {})
    new = _reference(county, {(2, 2024, "rd_staff"): v["rd_staff"] + 3,
                              (2, 2024, "rd_expense"): v["rd_expense"] + 200})
    assert out.before.points == pytest.approx(base[U2], rel=1e-12)
    assert out.after.points == pytest.approx(new[U2], rel=1e-12)
    assert out.stored_points == pytest.approx(base[U2], rel=1e-12)
    assert out.before.rank == 1 + int((base > base[U2]).sum())
    assert out.after.rank == 1 + int((new > new[U2]).sum())
    assert out.delta_points == pytest.approx(new[U2] - base[U2])
    # R&D staff and expense have direction +1 in every indicator reading them
    assert out.after.points > out.before.points
    assert [(c.metric, c.before, c.after) for c in out.changes] == [
        ("rd_staff", v["rd_staff"], v["rd_staff"] + 3),
        ("rd_expense", v["rd_expense"], v["rd_expense"] + 200)]
    assert out.population == len(base)


def test_no_change_gives_the_stored_result(county: County) -> None:
    out = _whatif(county, "staff", U2, [])
    assert out.after == out.before and out.delta_points == 0
    with unit_of_work(county.engine) as s:
        r = s.scalar(select(ScoreResult).where(ScoreResult.run_id == out.run_id,
                                               ScoreResult.points == out.before.points))
        assert r is not None and r.rank == out.before.rank
        assert r.list_tier == out.before.list_tier and r.percentile == pytest.approx(
            out.before.percentile)


def test_hte_eligibility_flips_exactly_at_the_rd_threshold(county: County) -> None:
    code = uscc(HTE_N)
    # 49 + 49 + 49 = 147 of 3,000万: 4.9%; +3 in 2024 makes exactly 5% (revenue ≤ 5,000万)
    short = _whatif(county, "staff", code, [{"metric": "rd_expense", "delta": "2.99"}])
    exact = _whatif(county, "staff", code, [{"metric": "rd_expense", "delta": 3}])
    assert exact.policies_as_of == "2025-12-31"
    hte_short = next(p for p in short.policies if p.policy_id == "hte")
    hte = next(p for p in exact.policies if p.policy_id == "hte")
    assert hte.before == "ineligible" and hte.failed_before == ["hte.rd_ratio"]
    assert hte_short.after == "ineligible" and "hte.rd_ratio" in hte_short.failed_after
    assert any("研发费用占比" in g for g in hte_short.gaps_after)
    assert hte.after in ("likely", "borderline", "eligible") and hte.failed_after == []
    assert hte.changed and not any("研发费用占比" in g for g in hte.gaps_after)


def test_the_enterprise_itself_may_ask_others_are_404(county: County) -> None:
    own = _whatif(county, "ent1", uscc(1), [{"metric": "rd_staff", "delta": 1}])
    assert own.uscc == uscc(1) and own.population > 1
    with pytest.raises(NotFound):
        _whatif(county, "ent1", U2, [{"metric": "rd_staff", "delta": 1}])
    with pytest.raises(NotFound):
        _whatif(county, "other_admin", U2, [{"metric": "rd_staff", "delta": 1}])


@pytest.mark.parametrize(("changes", "message"), [
    ([{"metric": "rd_stuff", "delta": 3}], "未知的指标 “rd_stuff”"),
    ([{"metric": "rd_staff", "delta": "三个"}], "应为数字"),
    ([{"metric": "rd_staff", "delta": 1.5}], "应为整数"),
    ([{"metric": "rd_staff"}], "delta（增减量）或 value（新值）之一"),
    ([{"metric": "founded_on", "value": 1}], "不是按年度填报的数值"),
    ([{"metric": "rd_staff", "delta": 1}, {"metric": "rd_staff", "delta": 2}], "出现了两次"),
])
def test_bad_input_is_refused_in_chinese(changes: list[dict], message: str) -> None:  # type: ignore[type-arg]
    with pytest.raises(InvalidInput) as err:
        parse_request({"changes": changes})
    assert message in err.value.message_zh


def test_form_fields_and_impossible_values(county: County) -> None:
    q = parse_form({"delta.rd_staff": "+3", "delta.rd_expense": "1,200", "delta.revenue": "",
                    "system_id": "zjg-points", "csrf_token": "x"})
    assert [(c.metric, float(c.delta)) for c in q.changes] == [("rd_staff", 3.0),
                                                                ("rd_expense", 1200.0)]
    with pytest.raises(InvalidInput) as err:
        parse_form({"delta.rd_staff": "abc"})
    assert "研发人员数（rd_staff）" in err.value.message_zh and "应为数字" in err.value.message_zh
    v = county.values[(2, 2024)]["rd_staff"]
    with pytest.raises(InvalidInput) as err:
        _whatif(county, "staff", U2, [{"metric": "rd_staff", "delta": -(v + 1)}])
    assert "不能低于 0人" in err.value.message_zh


def test_base_follows_the_current_data_when_facts_changed_since_the_run(county: County
                                                                        ) -> None:
    from kechuang.auth.actor import Actor
    from kechuang.ingest.service import do_import
    from tests.ingest.helpers import csv_bytes

    # another enterprise's R&D expense is corrected after the run
    other = uscc(11)
    new_rd = county.values[(11, 2024)]["rd_expense"] * 3
    rows = [["统一社会信用代码", "年度", "研发费用（万元）"], [other, 2024, f"{new_rd:.2f}"]]
    with unit_of_work(county.engine) as s:
        assert do_import(s, Actor.command_line(), csv_bytes(rows), "fix.csv", "tax").ok
    out = _whatif(county, "staff", U2, [{"metric": "rd_staff", "delta": 3}])
    v = county.values[(2, 2024)]
    base = _reference(county, {(11, 2024, "rd_expense"): round(new_rd, 2)})
    new = _reference(county, {(11, 2024, "rd_expense"): round(new_rd, 2),
                              (2, 2024, "rd_staff"): v["rd_staff"] + 3})
    assert out.before.points == pytest.approx(base[U2], rel=1e-12)
    assert out.after.points == pytest.approx(new[U2], rel=1e-12)
    assert out.stored_points != pytest.approx(out.before.points)
    assert any("推演以当前数据为基准" in n for n in out.notes)
