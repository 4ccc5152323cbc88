"""Demo records of expert review (called from ``demo.county_loaded``, after programs'): the
round of the demo challenge that programs sent to review, about two thirds of the reviews
submitted, due date three days ago so the overdue list has rows. Deterministic from the
seed. The decision is left to the bureau: recording it hands the ranking back to the
challenge, which funds the winner."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import numpy as np
from sqlalchemy.orm import Session

from kechuang.auth.actor import Actor
from kechuang.review import repository, service


def load_demo(session: Session, *, seed: int, county_code: str, today: date) -> dict[str, Any]:
    """Review the demo's challenge in expert review (programs' demo sent it; the round and
    its reviewers were assigned then); without it there is nothing to review. About two
    thirds of the reviews are submitted and the rest are three days overdue."""
    rng = np.random.default_rng(seed + 12)
    admin = Actor.command_line()
    r = repository.latest_open_round(session, county_code)
    if r is None:
        return {"rounds": 0}
    if r.status == "open":
        service.do_assign_round(session, admin, r.id)
    r.due = datetime.combine(today - timedelta(days=3), time(9, 0), tzinfo=UTC)
    done = 0
    for a in repository.assignments(session, r.id):
        if rng.random() < 0.67:
            base = float(rng.integers(55, 95))
            scores = {c.key: float(np.clip(base + rng.normal(0, 6), 0, 100))
                      for c in service.rubric(r.rubric_id).criteria}
            who = Actor(username=f"demo-expert-{a.expert_id}", role="expert",
                        region_code=county_code, region_path="/", expert_id=a.expert_id)
            service.do_submit_review(session, who, a.id, {k: round(v, 1)
                                                          for k, v in scores.items()},
                                     "演示评审意见")
            done += 1
    session.flush()
    return {"rounds": 1, "round": r.id, "call": r.call_id, "status": r.status,
            "reviews": done}

