"""Push after a published scoring run: entering the leading tier (points rank within the
cut-off of tiers/rules.yaml) against the previous published run of the same system and
scope, near the cut-off with the points missing; unpublished runs push nothing; re-runs
insert nothing twice; the event subscriber is wired."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from kechuang.auth.actor import Actor
from kechuang.db import unit_of_work
from kechuang.kit import events
from kechuang.models import ScoreResult, ScoringRun
from kechuang.models.push import PushMessage
from kechuang.push.service import do_push_after_scoring
from kechuang.tiers.schemas import rules as tier_rules
from tests.push.helpers import enterprise_ids

CLI = Actor.command_line()


def _scoring(session: Session, year: int, ranks: dict[int, tuple[float, int | None]],
             published: bool = True) -> ScoringRun:
    run = ScoringRun(system_id="zjg", system_version="2.0", system_name="张家港创新积分",
                     system_hash="0" * 64, system_source="test", year=year, parameters={},
                     input_hash="0" * 64, indicators=[], groups=[], notes=[], treatment={},
                     published=published, published_at=datetime.now(UTC), actor="test")
    session.add(run)
    session.flush()
    for eid, (pts, rank) in ranks.items():
        session.add(ScoreResult(run_id=run.id, enterprise_id=eid, points=pts, rank=rank,
                                list_rank=rank, groups={}))
    session.flush()
    return run


def test_leading_entries_and_near_ones(engine: Engine) -> None:
    lead = next(t.scoring for t in tier_rules().tiers if t.scoring is not None)
    assert lead.cutoff(6) == lead.top_n  # a few enterprises: the top N decides
    with unit_of_work(engine) as s:
        e = enterprise_ids(s)
        n = lead.top_n
        # ranks 1.. for six enterprises; the cut-off is far below: every one is inside
        first = _scoring(s, 2023, {e[k]: (100.0 - k, k) for k in range(1, 7)})
        events.emit("scoring.run_completed", session=s, actor=CLI, run=first)
        # publishing later announces the run again: nothing is duplicated
        events.emit("scoring.run_published", session=s, actor=CLI, run=first)
        got = dict(s.execute(select(PushMessage.enterprise_id, PushMessage.kind)
                             .where(PushMessage.policy_id == "leading")).all())
        assert got == {e[k]: "newly_eligible" for k in range(1, 7)}
        # next year: enterprise 6 drops just below the cut-off (near), 5 is vetoed
        ranks: dict[int, tuple[float, int | None]] = {e[k]: (100.0 - k, k) for k in range(1, 5)}
        ranks[e[5]] = (99.0, None)
        ranks[e[6]] = (50.0, n + 1)
        second = _scoring(s, 2024, ranks)
        summary = do_push_after_scoring(s, CLI, second)
        assert summary is not None and summary.counts == {"near_eligible": 1}
        near = s.scalar(select(PushMessage).where(PushMessage.period == 2024))
        assert near is not None and near.enterprise_id == e[6] and near.source == "scoring"
        # the cut-off's points: the lowest inside (enterprise 4, 96) − 50 = 46
        assert f"第 {n + 1} 位" in near.body and "还差约 46 分" in near.body
        unpublished = _scoring(s, 2025, {e[1]: (1.0, 1)}, published=False)
        assert do_push_after_scoring(s, CLI, unpublished) is None
