"""Runs on a real Spark cluster (issue 15, items 2 and 3): a standalone master and a worker
started as separate processes from the pyspark package; a scoring run through them over the
Parquet export equals the in-process (DuckDB) run on the same demo county — same input hash,
same results and trace to 1e-9 —, a policy run of every built-in policy (the points ones
reading the published run) equals the in-process policy run exactly (same input and run
hashes, same stored results), and a failing cluster leaves a failed job and no run.

Needs the JVM: marked ``jvm`` (``-m "not jvm"`` skips it) and run only with
``KECHUANG_TEST_SPARK=1``. One cluster for the module; a small county.
"""

from __future__ import annotations

import importlib
import json
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from sqlalchemy import Engine, func, select

from kechuang.db import unit_of_work
from kechuang.jobs import service as jobs
from kechuang.kit.errors import InvalidInput
from kechuang.models import AuditEvent, Job
from kechuang.scoring.batch import spark_connection
from kechuang.scoring.service import do_score_run
from kechuang.spark import service as spark_service
from kechuang.spark.cluster import ClusterError, LocalCluster, connect, stop_all
from tests.spark._compare import (
    CLI,
    SMALL_COUNTY_CONF,
    SYSTEM,
    assert_policy_run_on_cluster,
    assert_same_run,
    count_runs,
    demo_county,
)

pytestmark = [
    pytest.mark.jvm,
    # one worker runs the whole module (under -n 2 --dist loadgroup): its cluster and
    # county are built once, not once per worker
    pytest.mark.xdist_group("jvm-standalone"),
    pytest.mark.skipif(os.environ.get("KECHUANG_TEST_SPARK") != "1",
                       reason="a standalone Spark cluster (JVM, minutes) runs with "
                              "KECHUANG_TEST_SPARK=1"),
]


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalCluster]:
    local = LocalCluster(workers=1, cores=2, memory="2g",
                         workdir=tmp_path_factory.mktemp("spark-cluster"))
    local.start()
    try:
        yield local
    finally:
        stop_all()
        local.stop()


@pytest.fixture(scope="module")
def county(db_factory: Any) -> Engine:
    return demo_county(db_factory)


@pytest.fixture(scope="module")
def lake(county: Engine, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("lake") / "export"
    with unit_of_work(county) as s:
        spark_service.refresh_lake(s, CLI, out)
    return out


def test_scoring_run_on_the_cluster_equals_the_in_process_run(
        county: Engine, cluster: LocalCluster, tmp_path: Path) -> None:
    """Through the job kind, as the command and the page run it: the export is made first
    (no lake yet), the run is computed on the cluster and written like any run."""
    out = tmp_path / "fresh-lake"
    with unit_of_work(county) as s:
        local = do_score_run(s, CLI, SYSTEM).id
    with unit_of_work(county) as s:
        job_id = jobs.submit(s, CLI, "scoring.run", {
            "system_id": SYSTEM, "engine": "spark", "spark_master": cluster.master,
            "spark_conf": dict(SMALL_COUNTY_CONF),
            "lake": str(out)}).id
    job = jobs.execute(county, job_id)
    assert job.status == "done", job.error
    assert (out / "_manifest.json").exists()
    remote = int(job.result["run_id"])
    assert_same_run(county, local, remote)
    with unit_of_work(county) as s:
        audit = s.scalars(select(AuditEvent).where(AuditEvent.action == "scoring.run",
                                                   AuditEvent.object_id == str(remote))).one()
        assert audit.after["engine"] == "spark"
        assert audit.after["cluster"] == cluster.master


def test_policy_run_on_the_cluster_equals_the_in_process_run(
        county: Engine, cluster: LocalCluster, lake: Path) -> None:
    """Every built-in policy, through the job kind as ``kechuang policy run --engine spark``
    runs it, with a published points run (so the points policies read points on the
    executors) and the zeros inferred from a department's coverage."""
    assert_policy_run_on_cluster(county, {"spark_master": cluster.master}, lake)


def test_unreachable_master_fails_the_job_and_writes_no_run(county: Engine,
                                                           lake: Path) -> None:
    before = count_runs(county)
    with unit_of_work(county) as s:
        job_id = jobs.submit(s, CLI, "scoring.run", {
            "system_id": SYSTEM, "engine": "spark", "spark_master": "spark://127.0.0.1:9",
            "lake": str(lake)}).id
    job = jobs.execute(county, job_id)
    assert job.status == "failed"
    assert "无法连接 Spark 主节点" in (job.error or "")
    assert count_runs(county) == before


def test_failing_executor_raises_cluster_error_and_writes_no_run(
        county: Engine, cluster: LocalCluster, lake: Path, tmp_path: Path) -> None:
    broken = tmp_path / "broken"
    shutil.copytree(lake, broken)
    manifest = json.loads((broken / "_manifest.json").read_text(encoding="utf-8"))
    for rel in manifest["files"]["facts"]:
        (broken / rel).write_bytes(b"not parquet")  # every task reading facts fails
    before = count_runs(county)
    spark = connect(master=cluster.master, conf=dict(SMALL_COUNTY_CONF))
    with pytest.raises(ClusterError) as err, unit_of_work(county) as s:
        do_score_run(s, CLI, SYSTEM, cluster=spark, lake=broken)
    assert "Spark 集群" in err.value.message_zh and "未写入任何结果" in err.value.message_zh
    assert count_runs(county) == before
    with unit_of_work(county) as s:
        assert s.scalar(select(func.count()).select_from(Job).where(
            Job.status == "running")) == 0


def test_a_stale_lake_is_refused(county: Engine, cluster: LocalCluster, lake: Path,
                                 tmp_path: Path) -> None:
    stale = tmp_path / "stale"
    shutil.copytree(lake, stale)
    manifest = json.loads((stale / "_manifest.json").read_text(encoding="utf-8"))
    manifest["batches"] = manifest["batches"][:-1]
    (stale / "_manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    spark = connect(master=cluster.master, conf=dict(SMALL_COUNTY_CONF))
    with pytest.raises(InvalidInput) as err, unit_of_work(county) as s:
        do_score_run(s, CLI, SYSTEM, cluster=spark, lake=stale)
    assert "导出不是最新的" in err.value.message_zh


def test_a_local_session_of_this_process_does_not_stand_in_for_the_cluster(
        cluster: LocalCluster) -> None:
    """``kechuang index compute --engine spark`` starts a local session in the process; a
    run on a cluster afterwards must get a session on the cluster (``getOrCreate`` would
    hand back the local one, whose Python workers cannot import kechuang)."""
    stop_all()
    local = spark_connection()
    assert str(local._session.sparkContext.master).startswith("local")
    spark = connect(master=cluster.master, conf=dict(SMALL_COUNTY_CONF))
    assert spark.session.sparkContext.master == cluster.master
    rows = spark.session.range(1).mapInPandas(
        lambda frames: (pd.DataFrame({"module": [importlib.import_module("kechuang").__name__]})
                        for _ in frames), "module string").collect()
    assert [r["module"] for r in rows] == ["kechuang"]
