"""Reactions of expert review to other packages' events (listed in
``kechuang.kit.events.SUBSCRIBER_MODULES``)."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy.orm import Session

from kechuang.auth.actor import Actor
from kechuang.kit.events import subscribe
from kechuang.kit.seams import ReviewRequest
from kechuang.review import demo, service


@subscribe("programs.review_requested")
def open_round(session: Session, actor: Actor, request: ReviewRequest, **_: Any) -> None:
    """A call's applications reached review: open the round (idempotent) and assign
    reviewers at once when the pool allows (an infeasible pool leaves the round open with
    its explanation for the bureau)."""
    r = service.do_open_round(session, actor, request)
    if r.status == "open":
        service.do_assign_round(session, Actor.command_line(), r.id)


@subscribe("demo.county_loaded")
def demo_round(session: Session, seed: int, county_code: str, today: date,
               summary: dict[str, Any], **_: Any) -> None:
    """A demo review round: the county's first applications-like subjects (from its
    enterprises), reviewers assigned by the engine, about two thirds of the reviews in.
    Deterministic from ``seed``."""
    summary["review"] = demo.load_demo(session, seed=seed, county_code=county_code,
                                       today=today)
