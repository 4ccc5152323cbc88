"""Security-matrix rows of kechuang.carbon: the overview, exports and actions are the
bureau's; an enterprise sees its own carbon page (others' are 404 for it)."""

from __future__ import annotations

BUREAU = {"bureau_admin", "bureau_staff"}

ROUTES: dict[str, set[str]] = {
    "GET /carbon": BUREAU,
    "POST /carbon/evaluate": BUREAU,
    "POST /carbon/alerts/notify": BUREAU,
    "GET /carbon/export.csv": BUREAU,
    "GET /carbon/me": {"enterprise"},
    "GET /carbon/enterprise/{uscc}": BUREAU | {"enterprise"},
    "GET /api/v1/carbon/overview": BUREAU,
    "GET /api/v1/carbon/grades": BUREAU,
    "GET /api/v1/carbon/enterprises/{uscc}": BUREAU | {"enterprise"},
    "GET /api/v1/carbon/evaluations": BUREAU,
    "POST /api/v1/carbon/evaluations": BUREAU,
}
