"""Reactions of kechuang.carbon to other packages' events: the demo county gets monthly
value added beside its energy and CO₂ facts, and a first carbon evaluation."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy.orm import Session

from kechuang.auth.actor import Actor
from kechuang.carbon import service
from kechuang.facts import service as facts_service
from kechuang.kit import events
from kechuang.kit.errors import InvalidInput


@events.subscribe("demo.county_loaded")
def demo_value_added(*, session: Session, seed: int, county_code: str, today: date,
                     years: list[int], summary: dict[str, Any]) -> None:
    facts = facts_service.add_demo_value_added(session, county_code=county_code, seed=seed,
                                      department="stats")
    out: dict[str, Any] = {"value_added_facts": facts}
    if facts:
        try:
            ev = service.do_evaluate(session, Actor.command_line(), region_code=county_code)
        except InvalidInput:
            pass
        else:
            out.update(evaluation=ev.id, graded=ev.graded, alerts=ev.alerts)
    summary["carbon"] = out
