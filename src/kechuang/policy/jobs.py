"""The ``policy.run`` job kind: an eligibility run started from the web page runs in the job
worker with progress (spec/architecture.md, "Long work runs as jobs") — all policies over a
county of 100,000 enterprises, with precise push and tier snapshots, take tens of seconds."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy.orm import Session

from kechuang.auth.actor import Actor
from kechuang.jobs.service import Progress, register_kind
from kechuang.policy.service import do_run_policies
from kechuang.spark.jobs import cluster_and_lake

KIND = "policy.run"


def run_job(session: Session, actor: Actor, params: dict[str, Any],
            progress: Progress) -> dict[str, Any]:
    """params: ``as_of`` (ISO date), optional ``policy_ids``; on a Spark cluster
    (docs/spark.md) ``engine: spark`` with ``spark_master`` or ``spark_remote``, optional
    ``spark_conf`` and ``lake`` (the export is brought up to date first)."""
    cluster, lake = cluster_and_lake(session, actor, params)
    summaries = do_run_policies(session, actor, params.get("policy_ids") or None,
                                date.fromisoformat(str(params["as_of"])), progress,
                                cluster=cluster, lake=lake)
    return {"runs": [{"run_id": s.run_id, "policy_id": s.policy_id, "counts": s.counts}
                     for s in summaries],
            "enterprises": summaries[0].enterprises if summaries else 0,
            "url": f"/policies?done={len(summaries)}"}


register_kind(KIND, run_job)
