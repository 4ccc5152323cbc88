"""Precise push reacts to finished runs inside the run's own unit of work (kit.events):
a rollback of the run rolls back its messages too."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from kechuang.auth.actor import Actor
from kechuang.kit.events import subscribe
from kechuang.push.service import do_push_after_runs, do_push_after_scoring


@subscribe("policy.runs_completed")
def on_policy_runs(session: Session, actor: Actor, run_ids: list[int], **_: Any) -> None:
    do_push_after_runs(session, actor, list(run_ids))


@subscribe("scoring.run_completed")
@subscribe("scoring.run_published")
def on_scoring_run(session: Session, actor: Actor, run: Any, **_: Any) -> None:
    do_push_after_scoring(session, actor, run)
