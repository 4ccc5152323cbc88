"""What a job does before a run on a Spark cluster (docs/spark.md, "Runs on a cluster"):
bring the Parquet export up to date and connect to the cluster. Shared by the job kinds of
scoring and policy runs (``engine: spark`` in their parameters)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from kechuang.auth.actor import Actor
from kechuang.db import unit_of_work
from kechuang.spark import service
from kechuang.spark.cluster import Cluster, connect


def cluster_and_lake(session: Session, actor: Actor, params: dict[str, Any]
                     ) -> tuple[Cluster | None, Path | None]:
    """For ``engine: spark`` (with ``spark_master`` or ``spark_remote``, optional
    ``spark_conf`` and ``lake``): the export brought up to date (recorded when it changed)
    and the cluster; otherwise (None, None), the in-process engine."""
    if params.get("engine") != "spark":
        return None, None
    lake = Path(params.get("lake") or service.default_lake())
    # the export reads one snapshot of its own and commits (SQLite cannot turn that read
    # transaction into the run's write transaction once the job's progress wrote)
    bind = session.get_bind()
    db = bind if isinstance(bind, Engine) else None
    with unit_of_work(db) as export_session:
        export = service.refresh_lake(export_session, actor, lake)
    if export.mode != "unchanged":
        with unit_of_work(db) as record_session:
            service.do_record_export(record_session, actor, export)
    cluster = connect(master=params.get("spark_master"), remote=params.get("spark_remote"),
                      conf=params.get("spark_conf") or None)
    return cluster, lake
