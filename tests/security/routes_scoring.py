"""Matrix rows of the scoring package: runs, rankings, explanations and starting a run are
for the bureau (scope is then checked per enterprise). ``run_id`` comes from the other
packages' samples (every route copes with any run id: 404 when it is not visible)."""

from __future__ import annotations

BUREAU = {"bureau_admin", "bureau_staff"}

ROUTES: dict[str, set[str]] = {
    "GET /scoring": BUREAU,
    "POST /scoring/runs": BUREAU,
    "GET /scoring/runs/{run_id}": BUREAU,
    "GET /scoring/runs/{run_id}/enterprises/{uscc}": BUREAU,
    "GET /api/v1/scoring/systems": BUREAU,
    "GET /api/v1/scoring/runs": BUREAU,
    "GET /api/v1/scoring/runs/{run_id}": BUREAU,
    "GET /api/v1/scoring/runs/{run_id}/results": BUREAU,
    "GET /api/v1/scoring/runs/{run_id}/enterprises/{uscc}": BUREAU,
}
