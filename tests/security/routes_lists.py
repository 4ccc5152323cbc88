"""Matrix rows of the lists package: the public list page and its export are open to
everyone (published runs only); the bureau's preview, payment lists and statistics to the
bureau; publishing and withdrawing to the bureau administrator."""

from __future__ import annotations

from sqlalchemy.orm import Session

ALL = {"bureau_admin", "bureau_staff", "department", "enterprise", "institute", "expert", "bank",
       "public"}
BUREAU = {"bureau_admin", "bureau_staff"}
ADMIN = {"bureau_admin"}

ROUTES: dict[str, set[str]] = {
    "GET /lists": ALL,
    "GET /lists/published/{run_id}.xlsx": ALL,
    "GET /lists/manage": BUREAU,
    "GET /lists/stats": BUREAU,
    "GET /lists/{run_id}": BUREAU,
    "GET /lists/{run_id}/export.xlsx": BUREAU,
    "POST /lists/{run_id}/publish": ADMIN,
    "POST /lists/{run_id}/withdraw": ADMIN,
    "GET /lists/{run_id}/dividends": BUREAU,
    "POST /lists/{run_id}/dividends": BUREAU,
    "GET /lists/{run_id}/dividends.xlsx": BUREAU,
    "POST /lists/{run_id}/dividends.xlsx": BUREAU,
    "GET /api/v1/lists": ALL,
    "GET /api/v1/lists/stats": BUREAU,
    "GET /api/v1/lists/{run_id}": ALL,
    "POST /api/v1/lists/{run_id}/publish": ADMIN,
    "GET /api/v1/lists/{run_id}/dividends": BUREAU,
}


def samples(session: Session) -> dict[str, str]:
    """A published run of 张家港 with a vetoed and a listed enterprise (other packages may
    name ``run_id`` too; every lists route copes with any run id)."""
    from tests.lists.helpers import make_run

    run = make_run(session, [(1, 80.0, "成长", "lead", None), (2, 90.0, "成长", None, "严重失信"),
                             (3, 50.0, "成长", "race", None)], published=True)
    return {"run_id": str(run.id)}
