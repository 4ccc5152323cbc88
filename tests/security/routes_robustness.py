"""Matrix rows of the robustness package: every page and API call is the bureau's."""

from __future__ import annotations

from sqlalchemy.orm import Session

BUREAU = {"bureau_admin", "bureau_staff"}

ROUTES: dict[str, set[str]] = {
    "GET /robustness": BUREAU,
    "GET /robustness/runs/{scoring_run_id}": BUREAU,
    "POST /robustness/runs/{scoring_run_id}": BUREAU,
    "GET /robustness/{analysis_id}": BUREAU,
    "GET /robustness/{analysis_id}/rows": BUREAU,
    "GET /api/v1/robustness/runs/{scoring_run_id}": BUREAU,
    "POST /api/v1/robustness/runs/{scoring_run_id}": BUREAU,
    "GET /api/v1/robustness/{analysis_id}": BUREAU,
    "GET /api/v1/robustness/{analysis_id}/results": BUREAU,
}


def samples(session: Session) -> dict[str, str]:
    """A scoring run of 张家港's enterprises with one analysis of it."""
    from kechuang.auth.actor import Actor
    from kechuang.robustness.service import do_robustness
    from tests.robustness.util import persist_run

    run = persist_run(session)
    rr = do_robustness(session, Actor.command_line(), run.id, replications=24, seed=1)
    return {"scoring_run_id": str(run.id), "analysis_id": str(rr.id)}
