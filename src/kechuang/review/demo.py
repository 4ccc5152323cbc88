"""Demo records of expert review (called from ``demo.county_loaded``, after programs'): the
round of the demo challenge that programs sent to review, about two thirds of the reviews
submitted, due date three days ago so the overdue list has rows. Deterministic from the
seed. The decision is left to the bureau: recording it hands the ranking back to the
challenge, which funds the winner."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

import numpy as np
from sqlalchemy.orm import Session

from kechuang.auth.actor import Actor
from kechuang.kit.seams import ReviewParty, ReviewRequest, ReviewSubject
from kechuang.review import repository, service

DEMO_CALL_ID = 990_001


def load_demo(session: Session, *, seed: int, county_code: str, today: date) -> dict[str, Any]:
    """Review the demo's challenge in expert review (programs' demo sent it; the round and
    its reviewers were assigned then); without it (no program demo), a stand-alone round of
    the county's enterprises. About two thirds of the reviews are submitted and the rest are
    three days overdue."""
    rng = np.random.default_rng(seed + 12)
    admin = Actor.command_line()
    r = repository.latest_open_round(session, county_code)
    if r is None:
        r = _standalone_round(session, rng, admin, county_code, today)
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


def _standalone_round(session: Session, rng: np.random.Generator, admin: Actor,
                      county_code: str, today: date) -> Any:
    pool = [e for e in repository.pool(session, admin)
            if e.region_code.startswith(county_code[:4]) and (e.fields or e.keywords)]
    ents = repository.demo_enterprises(session, county_code, 10)
    if len(pool) < 6 or len(ents) < 3:
        return None
    subjects = []
    for i, (eid, name, region) in enumerate(ents):
        picks = rng.choice(len(pool), 2, replace=False)
        words = list(dict.fromkeys(w for j in picks for w in pool[int(j)].fields))[:3]
        subjects.append(ReviewSubject(
            subject_id=i + 1, title=f"{name}：{words[0]}关键技术攻关",
            text=" ".join(words), requested_amount=Decimal(int(rng.integers(20, 81))) * 10000,
            parties=[ReviewParty(org_type="enterprise", org_id=eid, name=name,
                                 region_code=region)]))
    return service.do_open_round(session, admin, ReviewRequest(
        call_id=DEMO_CALL_ID, call_code=f"DEMO-{today.year}-REVIEW",
        call_title=f"{today.year} 年度产学研预研项目评审（演示）", region_code=county_code,
        rubric_id="default", budget=Decimal(2_000_000), due=None, subjects=subjects))
