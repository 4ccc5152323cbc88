"""The ``scoring.run`` job kind: a scoring run started from the web page runs in the job
worker (spec/architecture.md, "Long work runs as jobs")."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from kechuang.auth.actor import Actor
from kechuang.db import unit_of_work
from kechuang.jobs.service import Progress, register_kind
from kechuang.scoring.service import do_score_run
from kechuang.spark import service as spark_service
from kechuang.spark.cluster import connect

KIND = "scoring.run"


def run_job(session: Session, actor: Actor, params: dict[str, Any],
            progress: Progress) -> dict[str, Any]:
    """params: ``system_id``, optional ``year``, ``version``, ``parameters``; on a Spark
    cluster (docs/spark.md) ``engine: spark`` with ``spark_master`` or ``spark_remote``,
    optional ``spark_conf`` and ``lake`` (the export is brought up to date first)."""
    year = params.get("year")
    cluster, lake = None, None
    if params.get("engine") == "spark":
        lake = Path(params.get("lake") or spark_service.default_lake())
        # the export reads one snapshot of its own and commits (SQLite cannot turn that
        # read transaction into the run's write transaction once the job's progress wrote)
        bind = session.get_bind()
        db = bind if isinstance(bind, Engine) else None
        with unit_of_work(db) as export_session:
            export = spark_service.refresh_lake(export_session, actor, lake)
        if export.mode != "unchanged":
            with unit_of_work(db) as record_session:
                spark_service.do_record_export(record_session, actor, export)
        cluster = connect(master=params.get("spark_master"), remote=params.get("spark_remote"),
                          conf=params.get("spark_conf") or None)
    run = do_score_run(session, actor, str(params["system_id"]),
                       int(year) if year not in (None, "") else None,
                       version=params.get("version") or None, progress=progress,
                       parameters=params.get("parameters"), job_id=params.get("_job_id"),
                       cluster=cluster, lake=lake)
    return {"run_id": run.id, "enterprises": run.enterprises, "vetoed": run.vetoed,
            "input_hash": run.input_hash, "url": f"/scoring/runs/{run.id}"}


register_kind(KIND, run_job)
