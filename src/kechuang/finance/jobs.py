"""The ``finance.match`` job kind: the bureau page's matching of every open need of the
region against every published product runs in the job worker, with progress."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from kechuang.auth.actor import Actor
from kechuang.finance import service
from kechuang.jobs.service import Progress, register_kind

KIND = "finance.match"


def run_job(
    session: Session, actor: Actor, params: dict[str, Any], progress: Progress
) -> dict[str, Any]:
    """params: none (the actor's region, today)."""
    s = service.do_match(session, actor, progress=progress)
    return {
        "run_id": s.run_id,
        "needs": s.needs,
        "products": s.products,
        "pairs": s.pairs,
        "url": "/finance",
    }


register_kind(KIND, run_job)
