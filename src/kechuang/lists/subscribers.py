"""Lists react to the demo county being loaded (kit.events): the county's innovation points
are scored with the county's own system and the list is published, as a bureau does once a
year — so the demo's pages that read the published points (profile, policies that need
points, 积分贷 lines, tiers, pushes) have them. It runs first among the demo subscribers
(``kit.events.SUBSCRIBER_MODULES``), inside the demo's own transaction."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from kechuang.auth.actor import Actor
from kechuang.kit.events import subscribe
from kechuang.lists import repository as repo
from kechuang.lists.service import do_publish_run
from kechuang.scoring import service as scoring_service

#: the demo county's points system (Zhangjiagang's 企业创新积分, spec/scoring.md)
DEMO_SYSTEM = "zjg-points"


@subscribe("demo.county_loaded")
def on_demo(session: Session, county_code: str, summary: dict[str, Any], **_: Any) -> None:
    county = Actor.command_line(county_code, repo.region_path(session, county_code))
    run = scoring_service.do_score_run(session, county, DEMO_SYSTEM)
    do_publish_run(session, county, run.id)
    summary["points"] = {"run": run.id, "system": run.system_id, "year": run.year,
                         "published": True}
