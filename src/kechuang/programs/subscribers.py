"""Programs reacts to other capabilities through kit.events, inside their unit of work:
an expert-review decision moves the applications on; the demo county gets its programs."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy.orm import Session

from kechuang.auth.actor import Actor
from kechuang.kit.events import subscribe
from kechuang.kit.seams import ReviewDecision
from kechuang.programs import demo, service


@subscribe("review.decision_recorded")
def on_review_decision(session: Session, actor: Actor, decision: ReviewDecision,
                       **_: Any) -> None:
    service.do_apply_review_decision(session, actor, decision)


@subscribe("demo.county_loaded")
def on_demo_county(session: Session, seed: int, county_code: str, today: date,
                   years: list[int], summary: dict[str, Any], **_: Any) -> None:
    summary["programs"] = demo.load_demo(session, seed=seed, county_code=county_code,
                                         today=today)
