"""Scoring runs over the database (issue 3, item 4): persisted, reproducible, ranked,
explained, with veto and lists, and clear errors on bad input (nothing written).

The database is a small demo county built by the real generator (``kechuang init --demo``);
ranks, percentiles and list tiers are recomputed here independently (pairwise counting
over plain arrays) and compared with what the run stored.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from sqlalchemy import Engine, func, select, text

from kechuang.auth.actor import Actor
from kechuang.auth.service import actor_for_user
from kechuang.bootstrap import initialise
from kechuang.db import unit_of_work
from kechuang.kit.errors import InvalidInput, NotFound
from kechuang.models import AuditEvent, Enterprise, Fact, Industry, Metric, Region, User
from kechuang.models.scoring import ScoreColumn, ScoreResult, ScoringRun
from kechuang.scoring import repository as repo
from kechuang.scoring.catalogue import load_system, register_file
from kechuang.scoring.service import do_score_run, explain

# the module-scoped fixtures are built once: one worker runs the module (-n 2 --dist loadgroup)
pytestmark = pytest.mark.xdist_group("scoring-test_runs")

N = 300
SEED = 424242
SYSTEMS = Path(__file__).resolve().parents[2] / "src" / "kechuang" / "scoring" / "systems"


@pytest.fixture(scope="module")
def demo(db_factory: Any) -> Engine:
    engine = db_factory.engine(seeded=False)
    initialise(engine, demo=N, seed=SEED)
    return engine


def user_actor(engine: Engine, username: str) -> Actor:
    with unit_of_work(engine) as s:
        user = s.scalar(select(User).where(User.username == username))
        assert user is not None
        path = s.scalar(select(Region.path).where(Region.code == user.region_code))
        return actor_for_user(user, path or "/")


def other_county_admin() -> Actor:
    return Actor(username="changshu", role="bureau_admin", region_code="320581",
                 region_path="/32/3205/320581/")


def score(engine: Engine, actor: Actor, system: str = "torch", year: int | None = None,
          **kw: Any) -> int:
    with unit_of_work(engine) as s:
        return do_score_run(s, actor, system, year, **kw).id


def results(engine: Engine, run_id: int) -> dict[str, np.ndarray]:
    with unit_of_work(engine) as s:
        rows = s.execute(select(
            ScoreResult.enterprise_id, ScoreResult.points, ScoreResult.rank,
            ScoreResult.list_rank, ScoreResult.percentile, ScoreResult.rank_industry,
            ScoreResult.rank_region, ScoreResult.rank_cohort, ScoreResult.industry_section,
            ScoreResult.region_code, ScoreResult.stage, ScoreResult.list_tier,
            ScoreResult.veto, ScoreResult.prev_points, ScoreResult.prev_rank)
            .where(ScoreResult.run_id == run_id).order_by(ScoreResult.enterprise_id)).all()
    names = ["enterprise_id", "points", "rank", "list_rank", "percentile", "rank_industry",
             "rank_region", "rank_cohort", "industry_section", "region_code", "stage",
             "list_tier", "veto", "prev_points", "prev_rank"]
    cols = list(zip(*rows, strict=True))
    out = {}
    for name, col in zip(names, cols, strict=True):
        if name in ("industry_section", "region_code", "stage", "list_tier", "veto"):
            out[name] = np.array(col, dtype=object)
        else:
            out[name] = np.array([np.nan if v is None else v for v in col], dtype=float)
    return out


def competition_rank(points: np.ndarray, keys: np.ndarray | None = None,
                     mask: np.ndarray | None = None) -> np.ndarray:
    """1 + the number of enterprises (in the same key, within mask) with more points."""
    ok = ~np.isnan(points) if mask is None else (~np.isnan(points) & mask)
    n = len(points)
    same = np.ones((n, n), dtype=bool) if keys is None else (keys[:, None] == keys[None, :])
    better = (points[None, :] > points[:, None]) & ok[None, :] & same
    rank = 1 + better.sum(axis=1)
    if keys is not None:
        ok = ok & np.array([k is not None for k in keys])
    return np.where(ok, rank, np.nan)


# --------------------------------------------------------------------------- persisted
def test_a_run_persists_results_trace_audit_and_the_system_identity(demo: Engine) -> None:
    admin = user_actor(demo, "admin")
    run_id = score(demo, admin, "torch")
    system = load_system("torch")
    with unit_of_work(demo) as s:
        run = s.get(ScoringRun, run_id)
        assert run is not None
        visible = s.scalar(select(func.count()).select_from(Enterprise)
                           .where(Enterprise.region_code.like("320582%")))
        latest = s.scalar(select(func.max(Fact.period)).where(Fact.period > 1900,
                                                              Fact.period < 3000))
        assert run.enterprises == visible == N
        assert run.year == latest
        assert run.system_id == "torch-points" and run.system_version == "1.0"
        assert run.system_hash == hashlib.sha256(
            (SYSTEMS / "torch.yaml").read_bytes()).hexdigest()
        assert run.region_code == "320582"
        assert run.parameters["years"] == list(range(latest - 4, latest + 1))
        assert run.parameters["lists"]["tiers"][0] == {
            "code": "lead", "name": "领跑榜", "en": "Lead list", "upto": 0.05}
        assert len(run.input_hash) == 64
        assert s.scalar(select(func.count()).select_from(ScoreResult)
                        .where(ScoreResult.run_id == run_id)) == N
        names = set(s.scalars(select(ScoreColumn.name).where(ScoreColumn.run_id == run_id)))
        audit = s.scalars(select(AuditEvent).where(AuditEvent.action == "scoring.run",
                                                   AuditEvent.object_id == str(run_id))).all()
        assert len(audit) == 1 and audit[0].after["input_hash"] == run.input_hash
    for code in system.indicators:
        for stage in ("raw", "imputed", "treated", "normalised", "weight", "contribution"):
            assert f"{stage}:{code}" in names
    assert {f"score:{g}" for g in system.groups} <= names
    with unit_of_work(demo) as s:
        cols = repo.run_columns(s, run_id, ["enterprise_id", "score:total",
                                            *[f"contribution:{c}" for c in system.indicators]])
        ids = cols["enterprise_id"]
        assert (np.diff(ids) > 0).all() and len(ids) == N
        # the total is the sum of the indicators' contributions (effective weight × value)
        total = np.nansum(np.vstack([cols[f"contribution:{c}"] for c in system.indicators]),
                          axis=0)
        np.testing.assert_allclose(total, cols["score:total"], rtol=1e-9, atol=1e-9)
    stored = results(demo, run_id)
    np.testing.assert_array_equal(stored["enterprise_id"], ids)
    np.testing.assert_allclose(stored["points"], cols["score:total"], rtol=0, atol=0)


def test_same_inputs_give_identical_numbers_and_hash(demo: Engine) -> None:
    admin = user_actor(demo, "admin")
    a, b = score(demo, admin, "zjg-2.0"), score(demo, admin, "zjg-2.0")
    with unit_of_work(demo) as s:
        ra, rb = s.get(ScoringRun, a), s.get(ScoringRun, b)
        assert ra is not None and rb is not None
        assert ra.input_hash == rb.input_hash
        names = list(s.scalars(select(ScoreColumn.name).where(ScoreColumn.run_id == a)))
        ca, cb = repo.run_columns(s, a, names), repo.run_columns(s, b, names)
    for name in names:
        np.testing.assert_array_equal(ca[name], cb[name], err_msg=name)
    x, y = results(demo, a), results(demo, b)
    for key in ("points", "rank", "list_rank", "percentile", "rank_cohort"):
        np.testing.assert_array_equal(x[key], y[key])
    assert list(x["list_tier"]) == list(y["list_tier"])


def test_other_parameters_change_the_hash(demo: Engine) -> None:
    admin = user_actor(demo, "admin")
    a = score(demo, admin, "zjg-2.0")
    b = score(demo, admin, "zjg-2.0", parameters={"lists": {
        "by": "count", "tiers": [{"code": "lead", "name": "领跑榜", "upto": 3}]}})
    with unit_of_work(demo) as s:
        assert s.get(ScoringRun, a).input_hash != s.get(ScoringRun, b).input_hash  # type: ignore[union-attr]


# --------------------------------------------------------------------------- ranked
def test_ranks_percentiles_and_lists_match_an_independent_count(demo: Engine) -> None:
    admin = user_actor(demo, "admin")
    r = results(demo, score(demo, admin, "torch"))
    pts = r["points"]
    assert not np.isnan(pts).any()  # torch imputes zero: everyone has points
    np.testing.assert_array_equal(r["rank"], competition_rank(pts))
    np.testing.assert_array_equal(r["rank_industry"],
                                  competition_rank(pts, r["industry_section"]))
    np.testing.assert_array_equal(r["rank_region"], competition_rank(pts, r["region_code"]))
    np.testing.assert_array_equal(r["rank_cohort"], competition_rank(pts, r["stage"]))
    at_or_below = (pts[None, :] <= pts[:, None]).sum(axis=1)
    np.testing.assert_allclose(r["percentile"], at_or_below / len(pts) * 100)
    vetoed = np.array([v is not None for v in r["veto"]])
    np.testing.assert_array_equal(r["list_rank"], competition_rank(pts, mask=~vetoed))
    tiers = np.full(len(pts), None, dtype=object)
    for stage in set(r["stage"]):
        in_stage = (r["stage"] == stage) & ~vetoed
        m = in_stage.sum()
        pos = competition_rank(pts, mask=in_stage)
        share = pos / m
        for code, upto in (("advance", 0.20), ("race", 0.10), ("lead", 0.05)):
            tiers[in_stage & (share <= upto)] = code
    assert list(r["list_tier"]) == list(tiers)
    assert {"lead", "race", "advance"} <= set(r["list_tier"])
    assert (r["list_tier"][vetoed] == None).all()  # noqa: E711


def test_stage_and_section_come_from_the_database_and_the_bands(demo: Engine) -> None:
    admin = user_actor(demo, "admin")
    run_id = score(demo, admin, "torch")
    r = results(demo, run_id)
    with unit_of_work(demo) as s:
        year = s.get(ScoringRun, run_id).year  # type: ignore[union-attr]
        ents = dict(s.execute(select(Enterprise.id, Enterprise.industry_code)).all())
        sections = dict(s.execute(select(Industry.code, Industry.section)).all())
        rev_id = s.scalar(select(Metric.id).where(Metric.code == "revenue"))
        revenue = {eid: float(v) for eid, v in s.execute(
            select(Fact.enterprise_id, Fact.value_num).where(
                Fact.metric_id == rev_id, Fact.period == year, Fact.is_current.is_(True)))}
    for eid, section, stage in zip(r["enterprise_id"], r["industry_section"], r["stage"],
                                   strict=True):
        code = ents[int(eid)]
        assert section == (sections[code] if code else None)
        rev = revenue.get(int(eid))
        want = ("初创" if rev is None or rev < 2000 else "成长" if rev < 40000 else "稳定")
        assert stage == want, (eid, rev, stage)
    assert len(set(r["stage"])) >= 2


def test_lists_by_fixed_count_per_stage(demo: Engine) -> None:
    admin = user_actor(demo, "admin")
    r = results(demo, score(demo, admin, "torch", parameters={"lists": {
        "by": "count", "per": "stage",
        "tiers": [{"code": "lead", "name": "领跑榜", "upto": 2},
                  {"code": "race", "name": "竞跑榜", "upto": 5}]}}))
    vetoed = np.array([v is not None for v in r["veto"]])
    for stage in set(r["stage"]):
        in_stage = (r["stage"] == stage) & ~vetoed
        pos = competition_rank(r["points"], mask=in_stage)
        assert set(r["list_tier"][in_stage & (pos <= 2)]) <= {"lead"}
        assert set(r["list_tier"][in_stage & (pos > 2) & (pos <= 5)]) <= {"race"}
        assert (r["list_tier"][in_stage & (pos > 5)] == None).all()  # noqa: E711
        assert (r["list_tier"] == "lead")[in_stage].sum() >= min(2, in_stage.sum())


def test_change_since_last_year_uses_the_previous_years_run(demo: Engine) -> None:
    admin = user_actor(demo, "admin")
    with unit_of_work(demo) as s:
        latest = s.scalar(select(func.max(Fact.period)).where(Fact.period > 1900,
                                                              Fact.period < 3000))
    assert latest is not None
    before = results(demo, score(demo, admin, "zjg-1.0", latest - 1))
    now_id = score(demo, admin, "zjg-1.0", latest)
    now = results(demo, now_id)
    np.testing.assert_array_equal(now["prev_points"], before["points"])
    np.testing.assert_array_equal(now["prev_rank"], before["rank"])
    with unit_of_work(demo) as s:
        assert s.get(ScoringRun, now_id).parameters["previous_run_id"] == now_id - 1  # type: ignore[union-attr]


# --------------------------------------------------------------------------- veto, no NaN
def _system_file(tmp_path: Path, name: str, body: str) -> Path:
    p = tmp_path / f"{name}.yaml"
    p.write_text(body, encoding="utf-8")
    return p


VETO_SYSTEM = """
id: test-veto
name: 测试否决
version: "1.0"
effective_from: 2020-01-01
groups: [industry_section]
defaults:
  impute: {method: zero}
  treat: {method: none}
  normalise: {method: minmax, range: [0, 100]}
  aggregate: {method: arithmetic_mean}
veto:
  - {code: small_revenue, name: 营收过低, condition: "revenue < 800"}
tree:
  - code: total
    name: 总分
    children:
      - {code: rd, name: 研发费用, formula: rd_expense}
      - {code: staff, name: 研发人员, formula: rd_staff}
"""

SPARSE_SYSTEM = """
id: test-sparse
name: 测试缺失
version: "1.0"
effective_from: 2020-01-01
defaults:
  impute: {method: none}
  treat: {method: none}
  normalise: {method: minmax, range: [0, 100]}
  aggregate: {method: arithmetic_mean}
tree:
  - code: total
    name: 总分
    children:
      # the R&D survey covers R&D-active enterprises only: the others stay unknown
      - {code: rd, name: 研发人员, formula: rd_staff}
"""


def test_veto_keeps_points_and_rank_but_no_list_place(demo: Engine, tmp_path: Path) -> None:
    register_file(_system_file(tmp_path, "test-veto", VETO_SYSTEM))
    admin = user_actor(demo, "admin")
    run_id = score(demo, admin, "test-veto")
    r = results(demo, run_id)
    vetoed = np.array([v == "small_revenue" for v in r["veto"]])
    assert 0 < vetoed.sum() < len(vetoed)
    assert not np.isnan(r["points"][vetoed]).any()
    assert not np.isnan(r["rank"][vetoed]).any()
    assert np.isnan(r["list_rank"][vetoed]).all()
    assert (r["list_tier"][vetoed] == None).all()  # noqa: E711
    with unit_of_work(demo) as s:
        assert s.get(ScoringRun, run_id).vetoed == int(vetoed.sum())  # type: ignore[union-attr]
        exp = explain(s, admin, run_id, s.scalar(select(Enterprise.uscc).where(
            Enterprise.id == int(r["enterprise_id"][vetoed][0]))))
    assert exp.veto == [{"code": "small_revenue", "name": "营收过低"}]
    assert exp.list_tier is None and exp.rank is not None


def test_no_points_means_no_rank_no_percentile_no_list(demo: Engine, tmp_path: Path) -> None:
    register_file(_system_file(tmp_path, "test-sparse", SPARSE_SYSTEM))
    admin = user_actor(demo, "admin")
    r = results(demo, score(demo, admin, "test-sparse"))
    missing = np.isnan(r["points"])
    assert 0 < missing.sum() < len(missing)
    for key in ("rank", "list_rank", "percentile", "rank_industry", "rank_region",
                "rank_cohort"):
        assert np.isnan(r[key][missing]).all(), key
    assert (r["list_tier"][missing] == None).all()  # noqa: E711
    listed = np.array([t is not None for t in r["list_tier"]])
    assert listed.any() and not np.isnan(r["points"][listed]).any()


# --------------------------------------------------------------------------- explained
def test_explain_shows_each_stage_and_the_facts_with_their_batches(demo: Engine) -> None:
    admin = user_actor(demo, "admin")
    run_id = score(demo, admin, "torch")
    with unit_of_work(demo) as s:
        run = s.get(ScoringRun, run_id)
        assert run is not None
        eid, u = s.execute(select(Enterprise.id, Enterprise.uscc).join(
            ScoreResult, ScoreResult.enterprise_id == Enterprise.id).where(
            ScoreResult.run_id == run_id, ScoreResult.rank == 1)).first()  # type: ignore[misc]
        exp = explain(s, admin, run_id, u)
        facts = {(code, int(p)): (float(v), int(b)) for code, p, v, b in s.execute(
            select(Metric.code, Fact.period, Fact.value_num, Fact.batch_id)
            .join(Metric, Metric.id == Fact.metric_id)
            .where(Fact.enterprise_id == eid, Fact.is_current.is_(True),
                   Fact.value_num.is_not(None)))}
    assert exp.rank == 1 and exp.uscc == u and exp.percentile == 100.0
    by = {i.code: i for i in exp.indicators}
    rd = by["rd_expense_amount"]
    assert rd.path == ["创新积分", "技术创新"] and rd.formula == "rd_expense"
    assert rd.raw == facts[("rd_expense", run.year)][0]
    assert [(f.metric, f.year, f.batch_id) for f in rd.facts] == [
        ("rd_expense", run.year, facts[("rd_expense", run.year)][1])]
    assert rd.facts[0].department == "tax" and rd.facts[0].filename
    growth = by["revenue_growth"]  # growth(revenue, years=3) reads three years
    assert sorted(f.year for f in growth.facts) == [run.year - 2, run.year - 1, run.year]
    assert sum(i.contribution or 0 for i in exp.indicators) == pytest.approx(exp.points)
    assert [g.code for g in exp.groups][:3] == ["total", "tech", "growth"]
    assert exp.groups[0].score == pytest.approx(exp.points)
    d = exp.as_dict()
    assert d["indicators"][0]["facts"][0]["imported_at"]


def test_explain_is_scope_checked(demo: Engine) -> None:
    admin = user_actor(demo, "admin")
    run_id = score(demo, admin, "zjg-1.0")
    with unit_of_work(demo) as s:
        u = s.scalar(select(Enterprise.uscc).limit(1))
        assert u is not None
        with pytest.raises(NotFound):
            explain(s, other_county_admin(), run_id, u)
        town = user_actor(demo, "staff_yangshe")  # a town's staff: the county run covers it
        outside = s.scalar(select(Enterprise.uscc).where(
            Enterprise.region_code != town.region_code))
        assert outside is not None
        with pytest.raises(NotFound):
            explain(s, town, run_id, outside)


def test_latest_run_and_runs_of_are_scoped(demo: Engine) -> None:
    admin = user_actor(demo, "admin")
    run_id = score(demo, admin, "zjg-2.0")
    with unit_of_work(demo) as s:
        latest = repo.latest_run(s, admin, "zjg-points")
        assert latest is not None and latest.id == run_id
        assert repo.latest_run(s, other_county_admin(), "zjg-points") is None
        published = repo.latest_run(s, admin, "zjg-points", published_only=True)
        assert published is not None and published.id != run_id  # the demo's published list
        assert published.published and not s.get(ScoringRun, run_id).published
        town = user_actor(demo, "staff_yangshe")
        got = repo.latest_run(s, town, "zjg-points")
        assert got is not None and got.id == run_id
        ids = [r.id for r in repo.runs_of(s, admin, "zjg-points")]
        assert ids == sorted(ids, reverse=True) and run_id in ids
        assert repo.runs_of(s, other_county_admin(), "zjg-points") == []


# --------------------------------------------------------------------------- bad input
def _count_runs(engine: Engine) -> tuple[int, int, int]:
    with engine.connect() as c:
        return tuple(c.execute(text(f"SELECT count(*) FROM {t}")).scalar_one()  # type: ignore[return-value]
                     for t in ("scoring_run", "score_result", "score_column"))


def test_bad_input_gives_clear_messages_and_writes_nothing(demo: Engine,
                                                           tmp_path: Path) -> None:
    admin = user_actor(demo, "admin")
    before = _count_runs(demo)
    with pytest.raises(NotFound, match="未知的指标体系"):
        score(demo, admin, "no-such-system")
    with pytest.raises(InvalidInput, match="1999 年没有任何数据"):
        score(demo, admin, "torch", 1999)
    with pytest.raises(InvalidInput, match="没有任何企业"):
        score(demo, other_county_admin(), "torch")
    with pytest.raises(InvalidInput, match="没有版本"):
        score(demo, admin, "zjg-points", version="9.9")
    with pytest.raises(InvalidInput, match="upto"):
        score(demo, admin, "torch", parameters={"lists": {"tiers": [{"code": "x",
                                                                     "upto": 5}]}})
    bad = _system_file(tmp_path, "test-unknown", SPARSE_SYSTEM.replace(
        "rd_staff", "rd_stafff").replace("test-sparse", "test-unknown"))
    with pytest.raises(InvalidInput, match="rd_stafff"):
        register_file(bad)
    assert _count_runs(demo) == before


def test_a_crash_mid_run_leaves_nothing(demo: Engine) -> None:
    """The run writes in the caller's transaction: a failure after the rows were flushed
    (here: a failing progress callback at the last step) rolls everything back."""
    admin = user_actor(demo, "admin")
    before = _count_runs(demo)

    def progress(label: str, done: int, total: int) -> None:
        if done == total:
            raise RuntimeError("killed")

    with pytest.raises(RuntimeError):
        score(demo, admin, "zjg-1.0", progress=progress)
    assert _count_runs(demo) == before


# --------------------------------------------------------------------------- changed fact
def test_changing_one_fact_changes_the_hash_and_explain_keeps_the_old_batch(
        db_factory: Any) -> None:
    from kechuang.ingest.service import do_import
    from tests.ingest.helpers import csv_bytes

    engine = db_factory.engine(seeded=False)
    initialise(engine, demo=60, seed=99)
    admin = user_actor(engine, "admin")
    first = score(engine, admin, "zjg-2.0")
    with unit_of_work(engine) as s:
        run = s.get(ScoringRun, first)
        assert run is not None
        year = run.year
        eid, u = s.execute(select(Enterprise.id, Enterprise.uscc)
                           .order_by(Enterprise.id)).first()  # type: ignore[misc]
        old = explain(s, admin, first, u)
    old_rev = next(i for i in old.indicators if i.code == "revenue")
    assert old_rev.raw is not None
    new_value = round(old_rev.raw + 1234.5, 2)
    with unit_of_work(engine) as s:
        res = do_import(s, Actor.command_line(), csv_bytes([
            ["统一社会信用代码", "年度", "营业收入（万元）"], [u, year, str(new_value)]]),
            "更正.csv", "tax")
        assert res.ok, res
    second = score(engine, admin, "zjg-2.0")
    with unit_of_work(engine) as s:
        r1, r2 = s.get(ScoringRun, first), s.get(ScoringRun, second)
        assert r1 is not None and r2 is not None
        assert r1.input_hash != r2.input_hash
        new = explain(s, admin, second, u)
        again = explain(s, admin, first, u)  # the old run still shows the facts of its time
    new_rev = next(i for i in new.indicators if i.code == "revenue")
    assert new_rev.raw == pytest.approx(new_value)
    assert new_rev.facts[0].filename == "更正.csv"
    old_again = next(i for i in again.indicators if i.code == "revenue")
    assert old_again.raw == old_rev.raw
    assert [f.batch_id for f in old_again.facts] == [f.batch_id for f in old_rev.facts]
    assert old_again.facts[0].filename != "更正.csv"
