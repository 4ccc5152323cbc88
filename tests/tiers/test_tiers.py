"""Tiers from policy results with known verdicts, the leading tier by points rank, yearly
snapshots, transitions counted independently, the cultivation pool with gaps."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from kechuang.auth.actor import Actor
from kechuang.db import unit_of_work
from kechuang.models import AuditEvent, ScoreResult, ScoringRun
from kechuang.models.push import TierSnapshot
from kechuang.tiers import service
from kechuang.tiers.schemas import LeadingRule, TierRules, rules
from tests.ingest.helpers import user_actor
from tests.push.helpers import enterprise_ids, make_run

CLI = Actor.command_line()

#: year → policy → {seed enterprise number: verdict}
VERDICTS = {
    2023: {"tech_sme": {1: "eligible", 2: "eligible", 3: "likely", 4: "ineligible",
                        5: "insufficient_data", 6: "eligible"},
           "innovative_sme": {1: "eligible", 2: "ineligible", 6: "eligible"},
           "srdi_sme": {1: "eligible"},
           "hte": {6: "borderline"}},
    2024: {"tech_sme": {1: "eligible", 2: "eligible", 3: "eligible", 4: "eligible"},
           "innovative_sme": {2: "eligible", 4: "borderline"},
           "hte": {1: "eligible", 5: "eligible"}},
}
#: 2024 published scoring: seed number → (points, list rank; None = vetoed)
POINTS = {1: (90.0, 1), 3: (85.0, 2), 2: (80.0, 3), 4: (75.0, None), 5: (70.0, 4),
          6: (60.0, 5)}
LEVEL = {"tech_sme": 1, "innovative_sme": 2, "srdi_sme": 3, "hte": 4}
REACHED = {"eligible", "likely"}
TOP_N = 2


def _rules() -> TierRules:
    base = rules()
    tiers = list(base.tiers)
    tiers[4] = tiers[4].model_copy(
        update={"scoring": LeadingRule(top_n=TOP_N, top_share=0, pool_factor=2)})
    return base.model_copy(update={"tiers": tiers})


def _expected(year: int, require_lower: bool = False) -> dict[int, int]:
    """The tiers worked out by hand from the tables above."""
    reached: dict[int, set[int]] = {n: set() for n in range(1, 7)}
    for policy, verdicts in VERDICTS[year].items():
        for n, v in verdicts.items():
            if v in REACHED:
                reached[n].add(LEVEL[policy])
    if year == 2024:
        for n, (_pts, rank) in POINTS.items():
            if rank is not None and rank <= TOP_N:
                reached[n].add(5)
    if require_lower:
        out = {}
        for n, levels in reached.items():
            k = 0
            while k + 1 in levels:
                k += 1
            out[n] = k
        return out
    return {n: max(levels, default=0) for n, levels in reached.items()}


def _build(session: Session) -> dict[int, int]:
    e = enterprise_ids(session)
    for year, policies in VERDICTS.items():
        for policy, verdicts in policies.items():
            scores = {e[4]: (55.0, 70.0)} if policy == "innovative_sme" and year == 2024 else None
            make_run(session, policy, {e[n]: v for n, v in verdicts.items()}, eval_year=year,
                     scores=scores, pass_mark=60.0 if scores else None)
    run = ScoringRun(system_id="zjg", system_version="2.0", system_name="张家港创新积分",
                     system_hash="0" * 64, system_source="test", year=2024, parameters={},
                     input_hash="0" * 64, indicators=[], groups=[], notes=[], treatment={},
                     published=True, published_at=datetime.now(UTC), actor="test")
    session.add(run)
    session.flush()
    for n, (pts, rank) in POINTS.items():
        session.add(ScoreResult(run_id=run.id, enterprise_id=e[n], points=pts, rank=rank,
                                list_rank=rank, groups={}))
    session.flush()
    return e


@pytest.fixture
def built(engine: Engine) -> dict[int, int]:
    with unit_of_work(engine) as s:
        return _build(s)


def test_expected_tables_are_what_the_docs_say() -> None:
    # the hand tables encode the documented choices: highest tier counts without the lower
    # ones (5 is HTE without being a tech SME; 3 is leading with only tech SME)
    assert _expected(2023) == {1: 3, 2: 1, 3: 1, 4: 0, 5: 0, 6: 2}
    assert _expected(2024) == {1: 5, 2: 2, 3: 5, 4: 1, 5: 4, 6: 0}


@pytest.mark.parametrize("require_lower", [False, True])
def test_levels_match_the_hand_computed_tiers(engine: Engine, built: dict[int, int],
                                              require_lower: bool) -> None:
    rs = _rules().model_copy(update={"require_lower": require_lower})
    with unit_of_work(engine) as s:
        for year in (2023, 2024):
            lv = service.compute_levels(s, CLI, year, rs)
            got = dict(zip(lv.frame["enterprise_id"], lv.frame["level"], strict=True))
            assert got == {built[n]: k for n, k in _expected(year, require_lower).items()}
            if year == 2024:
                assert lv.cutoff_rank == TOP_N and lv.cutoff_points == 85.0


def test_snapshots_and_transitions_counted_independently(engine: Engine,
                                                         built: dict[int, int]) -> None:
    rs = _rules()
    with unit_of_work(engine) as s:
        a = service.do_snapshot(s, CLI, 2023, rs)
        b = service.do_snapshot(s, CLI, 2024, rs)
        # a second snapshot of 2024 supersedes the first
        b2 = service.do_snapshot(s, CLI, 2024, rs)
    assert a.counts == {rs.tier_id(k): v
                        for k, v in sorted(Counter(_expected(2023).values()).items())}
    assert b.counts == b2.counts
    expected = Counter((_expected(2023)[n], _expected(2024)[n]) for n in range(1, 7))
    with unit_of_work(engine) as s:
        got = service.transitions(s, CLI, 2023, 2024)
        assert {(t.from_level, t.to_level): t.count for t in got} == dict(expected)
        assert {(t.from_tier, t.to_tier) for t in got} >= {("srdi_sme", "leading"),
                                                           ("innovative_sme", "none")}
        latest = service.latest_snapshot(s, CLI, 2024)
        assert latest is not None and latest.id == b2.run_id
        rows = s.scalar(select(func.count()).select_from(TierSnapshot)
                        .where(TierSnapshot.run_id == b2.run_id))
        assert rows == 6
        audits = s.scalar(select(func.count()).select_from(AuditEvent)
                          .where(AuditEvent.action == "tiers.snapshot"))
        assert audits == 3
        # the sankey: every link is a transition, values sum to the enterprises
        option = service.sankey_option(got, 2023, 2024)
        links = option["series"][0]["links"]
        assert sum(link["value"] for link in links) == 6
        assert {"source": "2023 专精特新中小企业", "target": "2024 领军企业",
                "value": 1} in links


def test_scope_the_other_county_sees_only_its_own(engine: Engine,
                                                  built: dict[int, int]) -> None:
    rs = _rules()
    with unit_of_work(engine) as s:
        service.do_snapshot(s, CLI, 2023, rs)
        service.do_snapshot(s, CLI, 2024, rs)
    staff = user_actor(engine, "staff")
    other = user_actor(engine, "other_admin")
    with unit_of_work(engine) as s:
        home = service.transitions(s, staff, 2023, 2024)
        away = service.transitions(s, other, 2023, 2024)
    assert sum(t.count for t in home) == 4 and sum(t.count for t in away) == 2
    assert {(t.from_level, t.to_level) for t in away} == {(0, 4), (2, 0)}


def test_pool_one_tier_below_with_gaps(engine: Engine, built: dict[int, int]) -> None:
    rs = _rules()
    with unit_of_work(engine) as s:
        innov = service.pool(s, CLI, "innovative_sme", 2024, rule_set=rs)
        assert [r.enterprise_id for r in innov] == [built[4]]
        assert innov[0].current_tier == "tech_sme"
        assert "55 分–70 分" in innov[0].gap and "60 分" in innov[0].gap
        lead = service.pool(s, CLI, "leading", 2024, rule_set=rs)
        # HTE enterprise 5 ranks 4th: within 2 × the cut-off of 2; 85 − 70 = 15 points short
        assert [r.enterprise_id for r in lead] == [built[5]]
        assert "第 4 位" in lead[0].gap and "还差约 15 分" in lead[0].gap
        assert service.pool(s, CLI, "leading", 2024, q="不存在的企业", rule_set=rs) == []
        assert service.pool(s, CLI, "tech_sme", 2024, rule_set=rs) == []


def test_pool_from_the_snapshot_equals_the_live_computation(engine: Engine,
                                                            built: dict[int, int]) -> None:
    rs = _rules()
    with unit_of_work(engine) as s:
        live = {t: service.pool(s, CLI, t, 2024, rule_set=rs) for t in ("innovative_sme",
                                                                        "leading")}
        service.do_snapshot(s, CLI, 2024, rs)
        stored = {t: service.pool(s, CLI, t, 2024, rule_set=rs) for t in live}
    assert stored == live
    assert [r.enterprise_id for r in stored["leading"]] == [built[5]]
    assert [r.enterprise_id for r in stored["innovative_sme"]] == [built[4]]


def test_a_held_qualification_puts_the_enterprise_in_its_tier(engine: Engine,
                                                               built: dict[int, int]) -> None:
    """Issue 11, item 1: an HTE certificate in force, an SRDI level, a tech-SME register entry
    of the year count whatever a policy run says about a new application — and only while
    they are in force."""
    from datetime import date

    from kechuang.models import Enterprise

    with unit_of_work(engine) as s:
        s.get(Enterprise, built[4]).hte_expires_on = date(2024, 12, 31)  # type: ignore[union-attr]
        s.get(Enterprise, built[6]).srdi_level = "province"  # type: ignore[union-attr]
        s.get(Enterprise, built[5]).tech_sme_year = 2023  # type: ignore[union-attr]
    rs = _rules()
    with unit_of_work(engine) as s:
        got = {year: dict(zip(lv.frame["enterprise_id"], lv.frame["level"], strict=True))
               for year in (2023, 2024, 2025)
               for lv in [service.compute_levels(s, CLI, year, rs)]}
    # enterprise 4: no HTE verdict, but its certificate is in force to the end of 2024
    assert got[2023][built[4]] == 4 and got[2024][built[4]] == 4
    assert got[2025][built[4]] == 0  # expired before the end of 2025: no longer held
    # enterprise 6: SRDI level held (its policy verdicts alone gave 2 in 2023, 0 in 2024)
    assert got[2023][built[6]] == 3 and got[2024][built[6]] == 3
    # enterprise 5: registered as a tech SME for 2023 only (insufficient data in the run)
    assert got[2023][built[5]] == 1
    assert got[2024][built[5]] == _expected(2024)[5]
