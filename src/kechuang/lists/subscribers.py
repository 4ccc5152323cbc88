"""Lists react to the demo county being loaded (kit.events): the county's innovation points
are scored with the county's own system and the list is published, as a bureau does once a
year — so the demo's pages that read the published points (profile, policies that need
points, 积分贷 lines, tiers, pushes) have them. It runs first among the demo subscribers
(``kit.events.SUBSCRIBER_MODULES``), inside the demo's own transaction."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from kechuang.auth.service import region_actor
from kechuang.kit.events import subscribe
from kechuang.lists.service import do_publish_run
from kechuang.scoring import service as scoring_service

#: the demo county's points system (Zhangjiagang's 企业创新积分, spec/scoring.md)
DEMO_SYSTEM = "zjg-points"


@subscribe("demo.county_loaded")
def on_demo(session: Session, county_code: str, years: list[int], summary: dict[str, Any],
            **_: Any) -> None:
    """Every demo year is scored and published, oldest first, as the bureau did each year,
    so an enterprise's five-year trend has five points and the latest list is current."""
    county = region_actor(session, county_code)
    runs = []
    for year in sorted(years):
        run = scoring_service.do_score_run(session, county, DEMO_SYSTEM, year)
        do_publish_run(session, county, run.id)
        runs.append(run)
    summary["points"] = {"run": runs[-1].id, "system": runs[-1].system_id,
                         "year": runs[-1].year, "years": [r.year for r in runs],
                         "published": True}
