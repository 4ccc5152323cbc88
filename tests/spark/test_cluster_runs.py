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
from datetime import date
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from sqlalchemy import Engine, func, select

from kechuang.bootstrap import initialise
from kechuang.db import unit_of_work
from kechuang.jobs import service as jobs
from kechuang.kit.errors import InvalidInput
from kechuang.lists.service import do_publish_run
from kechuang.models import AuditEvent, Job, PolicyRun
from kechuang.policy.service import do_run_policies, read_results
from kechuang.scoring.batch import spark_connection
from kechuang.scoring.service import do_score_run
from kechuang.spark import service as spark_service
from kechuang.spark.cluster import ClusterError, LocalCluster, connect, stop_all
from tests.spark._compare import CLI, SMALL_COUNTY_CONF, SYSTEM, assert_same_run, count_runs

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
    engine = db_factory.engine(seeded=False)
    initialise(engine, demo=60, seed=11)
    jobs.set_background(engine, False)
    return engine


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
    as_of = date(2026, 6, 1)
    with unit_of_work(county) as s:
        scored = do_score_run(s, CLI, SYSTEM).id
    with unit_of_work(county) as s:
        do_publish_run(s, CLI, scored)
    with unit_of_work(county) as s:
        local = do_run_policies(s, CLI, None, as_of)
    with unit_of_work(county) as s:
        job_id = jobs.submit(s, CLI, "policy.run", {
            "as_of": as_of.isoformat(), "engine": "spark", "spark_master": cluster.master,
            "spark_conf": dict(SMALL_COUNTY_CONF), "lake": str(lake)}).id
    job = jobs.execute(county, job_id)
    assert job.status == "done", job.error
    remote = [int(r["run_id"]) for r in job.result["runs"]]
    assert (lake / "_points" / f"run-{scored}.parquet").exists()
    assert len(remote) == len(local) >= 9
    points_counts = {}
    with unit_of_work(county) as s:
        for a, b_id in zip(local, remote, strict=True):
            b = s.get(PolicyRun, b_id)
            assert b is not None and b.policy_id == a.policy_id
            assert (b.input_hash, b.enterprises, b.counts) == (
                a.input_hash, a.enterprises, a.counts), a.policy_id
            ra, rb = read_results(s, a.run_id), read_results(s, b_id)
            assert len(ra) == a.enterprises > 0
            pd.testing.assert_frame_equal(ra, rb, check_exact=True, obj=a.policy_id)
            if a.policy_id.startswith("points_"):
                points_counts[a.policy_id] = a.counts
            audit = s.scalars(select(AuditEvent).where(
                AuditEvent.action == "policy.run", AuditEvent.object_id == str(b_id))).one()
            assert audit.after["engine"] == "spark"
    # the points policies had points to read: not every verdict is "insufficient data"
    assert points_counts and all(set(c) != {"insufficient_data"}
                                 for c in points_counts.values()), points_counts


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
