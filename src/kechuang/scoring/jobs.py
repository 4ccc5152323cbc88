"""The ``scoring.run`` job kind: a scoring run started from the web page runs in the job
worker (spec/architecture.md, "Long work runs as jobs")."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from kechuang.auth.actor import Actor
from kechuang.jobs.service import Progress, register_kind
from kechuang.scoring.service import do_score_run
from kechuang.spark.jobs import cluster_and_lake

KIND = "scoring.run"


def run_job(session: Session, actor: Actor, params: dict[str, Any],
            progress: Progress) -> dict[str, Any]:
    """params: ``system_id``, optional ``year``, ``version``, ``parameters``; on a Spark
    cluster (docs/spark.md) ``engine: spark`` with ``spark_master`` or ``spark_remote``,
    optional ``spark_conf`` and ``lake`` (the export is brought up to date first)."""
    year = params.get("year")
    cluster, lake = cluster_and_lake(session, actor, params)
    run = do_score_run(session, actor, str(params["system_id"]),
                       int(year) if year not in (None, "") else None,
                       version=params.get("version") or None, progress=progress,
                       parameters=params.get("parameters"), job_id=params.get("_job_id"),
                       cluster=cluster, lake=lake)
    return {"run_id": run.id, "enterprises": run.enterprises, "vetoed": run.vetoed,
            "input_hash": run.input_hash, "url": f"/scoring/runs/{run.id}"}


register_kind(KIND, run_job)
