"""The demo's eligibility assessments: the bureau assessed its county last year and this
year, so the tiers have a year to compare with and the bureau's workbench shows the change
(subscribes to ``demo.county_loaded``; after the published points lists, which the
points-based policies read)."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy.orm import Session

from kechuang.auth.service import region_actor
from kechuang.kit.events import subscribe
from kechuang.policy.service import do_run_policies


@subscribe("demo.county_loaded")
def on_demo(session: Session, county_code: str, today: date, summary: dict[str, Any],
            **_: Any) -> None:
    county = region_actor(session, county_code)
    a_year_ago = date(today.year - 1, today.month, min(today.day, 28))
    runs = []
    for as_of in (a_year_ago, today):  # oldest first: the latest run of a policy is this year's
        runs += [r.run_id for r in do_run_policies(session, county, None, as_of=as_of)]
    summary["policy"] = {"runs": len(runs), "as_of": [a_year_ago.isoformat(),
                                                      today.isoformat()]}
