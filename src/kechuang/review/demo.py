"""Demo records of expert review (called from ``demo.county_loaded``): one round of ten
applications from the county's enterprises, reviewers assigned by the engine, about two
thirds of the reviews submitted, due date three days ago so the overdue list has rows.
Deterministic from the seed. The decision is left to the bureau (recording it hands the
round to programs, whose demo has no matching call)."""

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
    rng = np.random.default_rng(seed + 12)
    admin = Actor.command_line()
    pool = [e for e in repository.pool(session, admin)
            if e.region_code.startswith(county_code[:4]) and (e.fields or e.keywords)]
    ents = repository.demo_enterprises(session, county_code, 10)
    if len(pool) < 6 or len(ents) < 3:
        return {"rounds": 0}
    subjects = []
    for i, (eid, name, region) in enumerate(ents):
        picks = rng.choice(len(pool), 2, replace=False)
        words = list(dict.fromkeys(w for j in picks for w in pool[int(j)].fields))[:3]
        subjects.append(ReviewSubject(
            subject_id=i + 1, title=f"{name}：{words[0]}关键技术攻关",
            text=" ".join(words), requested_amount=Decimal(int(rng.integers(20, 81))) * 10000,
            parties=[ReviewParty(org_type="enterprise", org_id=eid, name=name,
                                 region_code=region)]))
    due = datetime.combine(today - timedelta(days=3), time(9, 0), tzinfo=UTC)
    r = service.do_open_round(session, admin, ReviewRequest(
        call_id=DEMO_CALL_ID, call_code=f"DEMO-{today.year}-REVIEW",
        call_title=f"{today.year} 年度产学研预研项目评审（演示）", region_code=county_code,
        rubric_id="default", budget=Decimal(2_000_000), due=due, subjects=subjects))
    summary = service.do_assign_round(session, admin, r.id)
    done = 0
    for a in repository.assignments(session, r.id):
        if rng.random() < 0.67:
            base = float(rng.integers(55, 95))
            scores = {c.key: float(np.clip(base + rng.normal(0, 6), 0, 100))
                      for c in service.rubric("default").criteria}
            who = Actor(username=f"demo-expert-{a.expert_id}", role="expert",
                        region_code=county_code, region_path="/", expert_id=a.expert_id)
            service.do_submit_review(session, who, a.id, {k: round(v, 1)
                                                          for k, v in scores.items()},
                                     "演示评审意见")
            done += 1
    return {"rounds": 1, "subjects": len(subjects), "status": summary["status"],
            "reviews": done}
