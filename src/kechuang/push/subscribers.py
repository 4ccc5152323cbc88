"""Precise push reacts to finished runs inside the run's own unit of work (kit.events):
a rollback of the run rolls back its messages too. On the demo county, the batches of
earlier years count as reviewed and sent in their year; the latest year's wait for review."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from kechuang.auth.actor import Actor
from kechuang.auth.service import region_actor
from kechuang.kit.events import subscribe
from kechuang.push.service import (
    batches,
    do_push_after_runs,
    do_push_after_scoring,
    do_send_batch,
)


@subscribe("policy.runs_completed")
def on_policy_runs(session: Session, actor: Actor, run_ids: list[int], **_: Any) -> None:
    do_push_after_runs(session, actor, list(run_ids))


@subscribe("scoring.run_completed")
@subscribe("scoring.run_published")
def on_scoring_run(session: Session, actor: Actor, run: Any, **_: Any) -> None:
    do_push_after_scoring(session, actor, run)


@subscribe("demo.county_loaded")
def on_demo(session: Session, county_code: str, summary: dict[str, Any], **_: Any) -> None:
    county = region_actor(session, county_code)
    drafts = batches(session, county, "draft", 1000)
    latest = max((b.period for b in drafts), default=None)
    sent = [do_send_batch(session, county, b.id).id for b in drafts if b.period != latest]
    summary["push"] = {"sent_batches": len(sent), "drafts": len(drafts) - len(sent)}
