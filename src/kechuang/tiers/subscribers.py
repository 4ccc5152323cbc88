"""Tier snapshots follow the runs: after eligibility runs, the tiers of their evaluation
years are snapshotted again for the acting scope; after a published scoring run, the
tiers of its year (the leading tier reads points ranks) — inside the run's transaction."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from kechuang.auth.actor import Actor
from kechuang.kit.events import subscribe
from kechuang.policy import service as policy_service
from kechuang.tiers import repository as repo
from kechuang.tiers.service import do_snapshot


@subscribe("policy.runs_completed")
def on_policy_runs(session: Session, actor: Actor, run_ids: list[int], **_: Any) -> None:
    years = policy_service.eval_years(session, run_ids)
    for year in years:
        do_snapshot(session, actor, int(year))


@subscribe("scoring.run_completed")
@subscribe("scoring.run_published")
def on_scoring_run(session: Session, actor: Actor, run: Any, **_: Any) -> None:
    if getattr(run, "published", False) and int(run.year) in repo.policy_years(session):
        do_snapshot(session, actor, int(run.year))
