"""The profile read from real scoring runs: standing, radar against the industry computed
independently from the stored arrays, the trend over two years of runs, strongest and
weakest indicators by cohort percentile, provenance, scope."""

from __future__ import annotations

import math

import numpy as np
import pytest
from sqlalchemy import select

from kechuang.db import unit_of_work
from kechuang.kit.errors import NotFound
from kechuang.models import AuditEvent, ScoreColumn, ScoreResult
from kechuang.profile import service
from kechuang.scoring.catalogue import load_system
from tests.ingest.helpers import user_actor
from tests.profile.conftest import County
from tests.profile.data import HOME, SECTION
from tests.support.seed import uscc

U2 = uscc(2)


def _arrays(county: County, run_id: int) -> dict[str, np.ndarray]:
    """The run's stored columns, decoded here from the documented format."""
    with unit_of_work(county.engine) as s:
        rows = s.execute(select(ScoreColumn.name, ScoreColumn.dtype, ScoreColumn.data)
                         .where(ScoreColumn.run_id == run_id)).all()
    return {n: np.frombuffer(bytes(b), dtype="<i8" if t == "int64" else "<f8")
            for n, t, b in rows}


def _profile(county: County, username: str, code: str, system: str | None = None):
    with unit_of_work(county.engine) as s:
        return service.profile(s, user_actor(county.engine, username), code, system)


def test_standing_is_the_runs_result(county: County) -> None:
    p = _profile(county, "staff", U2)
    run_id = county.runs[2024]
    assert p.run is not None and p.run.id == run_id and p.run.year == 2024
    with unit_of_work(county.engine) as s:
        r = s.scalar(select(ScoreResult).where(ScoreResult.run_id == run_id,
                                               ScoreResult.enterprise_id == _eid(s, U2)))
        all_points = [x for x in s.scalars(select(ScoreResult.points)
                                           .where(ScoreResult.run_id == run_id))
                      if x is not None]
    st = p.standing
    assert st is not None and r is not None
    assert st.points == pytest.approx(r.points)
    assert st.rank == r.rank
    # the rank is the place among everyone scored: 1 + how many have more points
    assert st.rank == 1 + sum(1 for x in all_points if x > r.points)
    assert st.of == len(all_points) == len(HOME)
    # the industry denominator counts the same GB/T 4754 section
    assert st.of_industry == sum(1 for n in HOME if SECTION[HOME[n]] == SECTION[HOME[2]])
    assert st.percentile == pytest.approx(
        100 * sum(1 for x in all_points if x <= r.points) / len(all_points))


def _eid(s, code: str) -> int:  # type: ignore[no-untyped-def]
    from kechuang.models import Enterprise

    return int(s.scalar(select(Enterprise.id).where(Enterprise.uscc == code)))


def test_radar_against_industry_median_and_top_decile(county: County) -> None:
    p = _profile(county, "staff", U2)
    run_id = county.runs[2024]
    arrays = _arrays(county, run_id)
    with unit_of_work(county.engine) as s:
        sections = dict(s.execute(select(ScoreResult.enterprise_id,
                                         ScoreResult.industry_section)
                                  .where(ScoreResult.run_id == run_id)).all())
        me = _eid(s, U2)
    ids = arrays["enterprise_id"]
    section = sections[me]
    assert section == SECTION[HOME[2]] == p.radar.section
    in_section = np.array([sections[int(i)] == section for i in ids])
    dims = load_system("zjg-points", p.run.system_version).groups["total"].children
    assert [d.code for d in p.radar.dimensions] == list(dims)
    pos = int(np.flatnonzero(ids == me)[0])
    for d in p.radar.dimensions:
        col = arrays[f"score:{d.code}"]
        members = col[in_section]
        members = members[~np.isnan(members)]
        assert d.value == pytest.approx(col[pos])
        assert d.median == pytest.approx(float(np.median(members)))
        # top decile: the 90th percentile, linear interpolation between order statistics
        ordered = np.sort(members)
        h = 0.9 * (len(ordered) - 1)
        lo = int(math.floor(h))
        expected = ordered[lo] + (h - lo) * (ordered[min(lo + 1, len(ordered) - 1)]
                                             - ordered[lo])
        assert d.p90 == pytest.approx(expected)
    assert p.radar.members == int(in_section.sum())


def test_trend_over_two_years_of_runs_with_gaps(county: County) -> None:
    p = _profile(county, "staff", U2)
    assert [t.year for t in p.trend] == [2020, 2021, 2022, 2023, 2024]
    gaps = [t for t in p.trend if t.year < 2023]
    assert all(t.run_id is None and t.points is None and t.rank is None for t in gaps)
    with unit_of_work(county.engine) as s:
        me = _eid(s, U2)
        for t in p.trend[3:]:
            assert t.run_id == county.runs[t.year]
            r = s.scalar(select(ScoreResult).where(ScoreResult.run_id == t.run_id,
                                                   ScoreResult.enterprise_id == me))
            assert r is not None
            assert t.points == pytest.approx(r.points) and t.rank == r.rank
            assert t.of == len(HOME)


def test_strongest_and_weakest_by_cohort_percentile(county: County) -> None:
    p = _profile(county, "staff", U2)
    run_id = county.runs[2024]
    arrays = _arrays(county, run_id)
    with unit_of_work(county.engine) as s:
        stages = dict(s.execute(select(ScoreResult.enterprise_id, ScoreResult.stage)
                                .where(ScoreResult.run_id == run_id)).all())
        me = _eid(s, U2)
    ids = [int(i) for i in arrays["enterprise_id"]]
    pos = ids.index(me)
    cohort = [k for k, i in enumerate(ids) if stages[i] == stages[me]]
    expected: dict[str, float] = {}
    for name, col in arrays.items():
        if not name.startswith("normalised:"):
            continue
        mine = col[pos]
        raw = arrays.get("raw:" + name.split(":", 1)[1])
        # a value the enterprise did not report (imputed or missing) has no percentile
        if math.isnan(mine) or (raw is not None and math.isnan(raw[pos])):
            continue
        vals = [col[k] for k in cohort if not math.isnan(col[k])]
        expected[name.split(":", 1)[1]] = 100 * sum(1 for v in vals if v <= mine) / len(vals)
    got = {i.code: i.percentile for i in p.indicators if i.percentile is not None}
    assert got == pytest.approx(expected)
    by_best = sorted(expected, key=lambda c: (-expected[c], c))
    assert [i.code for i in p.strongest] == by_best[:3]
    rest = [c for c in sorted(expected, key=lambda c: (expected[c], c)) if c not in by_best[:3]]
    assert [i.code for i in p.weakest] == rest[:3]
    assert min(i.percentile for i in p.strongest) >= max(i.percentile for i in p.weakest)


def test_provenance_names_department_batch_and_value(county: County) -> None:
    p = _profile(county, "staff", U2)
    rd = next(i for i in p.indicators if i.code == "rd_expense_amount")
    v = county.values[(2, 2024)]["rd_expense"]
    assert rd.raw == pytest.approx(v)
    fact = next(f for f in rd.facts if f.metric == "rd_expense" and f.period == 2024)
    assert fact.department == "tax" and fact.batch_id > 0 and fact.batch_filename == "tax.csv"
    assert float(fact.value.replace(",", "")) == pytest.approx(v)
    growth = next(i for i in p.indicators if i.code == "revenue_growth")
    # a three-year growth names the three years' facts behind it
    assert {f.period for f in growth.facts if f.metric == "revenue"} == {2022, 2023, 2024}


def test_enterprise_sees_itself_published_runs_only_and_others_404(county: County) -> None:
    own = _profile(county, "ent1", uscc(1))
    assert own.run is not None and own.run.id == county.runs[2024]
    with pytest.raises(NotFound):
        _profile(county, "ent1", U2)
    with pytest.raises(NotFound):
        _profile(county, "other_admin", U2)
    # an unpublished newer run is the bureau's draft: the enterprise keeps the published one
    from tests.profile.conftest import score

    draft = score(county.engine, 2024, publish=False)
    assert _profile(county, "ent1", uscc(1)).run.id == county.runs[2024]
    assert _profile(county, "staff", uscc(1)).run.id == draft


def test_veto_bureau_sees_the_item_enterprise_a_notice(county: County) -> None:
    from kechuang.auth.actor import Actor
    from kechuang.ingest.service import do_import
    from tests.ingest.helpers import csv_bytes
    from tests.profile.conftest import score

    rows = [["统一社会信用代码", "企业名称", "所属区域代码", "行业代码", "列入严重违法失信名单"],
            [uscc(1), "张家港华芯微电子有限公司", "320582100", "3973", "是"]]
    with unit_of_work(county.engine) as s:
        r = do_import(s, Actor.command_line(), csv_bytes(rows), "credit.csv", "market")
        assert r.ok, r.problems[:3]
    score(county.engine, 2024, system="torch-points")
    bureau = _profile(county, "staff", uscc(1), "torch-points")
    assert bureau.standing.veto and "严重违法失信" in bureau.standing.veto[0]
    assert bureau.standing.notice is None and bureau.standing.list_tier is None
    own = _profile(county, "ent1", uscc(1), "torch-points")
    assert own.standing.veto is None and "不列入公开积分榜单" in own.standing.notice
    # two systems have runs: the selector offers both
    assert {c.system_id for c in own.systems} == {"zjg-points", "torch-points"}


def test_bank_read_is_audited_and_sees_nothing(county: County) -> None:
    with pytest.raises(NotFound):
        _profile(county, "bank", U2)
    with unit_of_work(county.engine) as s:
        assert s.scalar(select(AuditEvent).where(AuditEvent.action == "enterprise.profile")) \
            is None  # a refused read names no enterprise
