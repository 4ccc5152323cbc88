"""The ``matching.index.rebuild`` job kind: rebuilding the matcher's indexes from the
registries (jieba analysis of every record, dense vectors with the semantic extra) runs in
the job worker with progress (spec/architecture.md: index builds run as jobs)."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from kechuang.auth.actor import Actor
from kechuang.jobs.service import Progress, register_kind
from kechuang.kit import audit
from kechuang.matching.engine import engine_of, matcher_for

KIND = "matching.index.rebuild"


def run_job(session: Session, actor: Actor, params: dict[str, Any],
            progress: Progress) -> dict[str, Any]:
    """No params. The rebuilt index replaces this process's and is written as the snapshot
    other processes start from."""
    counts = matcher_for(engine_of(session)).rebuild(
        progress=lambda kind, done, total: progress(f"索引 {kind}", done, total))
    audit.record(session, actor, "matching.index.rebuild", "match_index", None, after=counts)
    return {"counts": counts,
            "url": (f"/matching/synonyms?rebuilt={counts['achievement']},{counts['demand']},"
                    f"{counts['expert']}")}


register_kind(KIND, run_job)
