"""The ``dispatch.run`` job kind: the dispatch page's run (fit of every open request with
every commissioner, then the optimal assignment) runs in the job worker
(spec/architecture.md, "Long work runs as jobs"): seconds for a county of 2,000 requests."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from kechuang.auth.actor import Actor
from kechuang.dispatch.service import do_dispatch
from kechuang.jobs.service import Progress, register_kind

KIND = "dispatch.run"


def run_job(session: Session, actor: Actor, params: dict[str, Any],
            progress: Progress) -> dict[str, Any]:
    """params: ``alternates`` (alternates kept per assignment)."""
    progress("指派计算 dispatching", 0, 1)
    summary = do_dispatch(session, actor, alternates=int(params["alternates"]))
    progress("完成 done", 1, 1)
    return {"run_id": summary.run_id, "url": f"/dispatch/runs/{summary.run_id}"}


register_kind(KIND, run_job)
