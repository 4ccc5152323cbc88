"""Matrix rows of the jobs package: the job list is the bureau's; one job's page, its
progress partial and its JSON are open to any logged-in account, which then sees only jobs
submitted within its region scope (or its own) — others get 404."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

LOGGED_IN = {"bureau_admin", "bureau_staff", "department", "enterprise", "institute", "expert",
             "bank"}
BUREAU = {"bureau_admin", "bureau_staff"}

ROUTES: dict[str, set[str]] = {
    "GET /jobs": BUREAU,
    "GET /jobs/{job_id}": LOGGED_IN,
    "GET /jobs/{job_id}/progress": LOGGED_IN,
    "GET /api/v1/jobs/{job_id}": LOGGED_IN,
}


def samples(session: Session) -> dict[str, str]:
    """A finished job submitted by 张家港's staff."""
    from kechuang.models import User
    from kechuang.models.jobs import Job

    staff = session.scalar(select(User).where(User.username == "staff"))
    assert staff is not None
    job = Job(kind="scoring.run", params={"system_id": "torch-points"}, status="done",
              progress_done=6, progress_total=6, progress_label="完成 done",
              result={"run_id": 1}, region_code="320582", created_by=staff.id,
              actor="staff", actor_info={})
    session.add(job)
    session.flush()
    return {"job_id": str(job.id)}
