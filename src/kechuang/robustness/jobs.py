"""The ``robustness`` job kind: an analysis started from the web page or the API runs in the
job worker with progress (spec/architecture.md, "Long work runs as jobs")."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from kechuang.auth.actor import Actor
from kechuang.jobs.service import Progress, register_kind
from kechuang.robustness.service import do_robustness

KIND = "robustness"


def run_job(session: Session, actor: Actor, params: dict[str, Any],
            progress: Progress) -> dict[str, Any]:
    """params: ``run_id``, optional ``replications`` and ``seed``."""
    def opt(key: str) -> int | None:
        v = params.get(key)
        return int(v) if v not in (None, "") else None

    rr = do_robustness(session, actor, int(params["run_id"]), replications=opt("replications"),
                       seed=opt("seed"), progress=progress, job_id=params.get("_job_id"))
    return {"analysis_id": rr.id, "unstable": rr.unstable, "replications": rr.replications,
            "url": f"/robustness/{rr.id}"}


register_kind(KIND, run_job)
