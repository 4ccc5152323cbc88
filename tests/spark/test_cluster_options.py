"""The options of a run on a Spark cluster, checked before anything runs (no JVM needed):
an unknown engine, no or two cluster addresses, a malformed --spark-conf or --spark-remote,
a master or Connect server that does not listen, and the composable input hash both
engines share."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import Engine, func, select
from typer.testing import CliRunner

from kechuang.auth.actor import Actor
from kechuang.cli import app
from kechuang.db import unit_of_work
from kechuang.jobs import service as jobs
from kechuang.kit.errors import InvalidInput
from kechuang.models import PolicyResultBlock, PolicyRun
from kechuang.scoring import runs as R
from kechuang.spark.cluster import ClusterError, connect, free_port

runner = CliRunner()


@pytest.mark.parametrize(("args", "message"), [
    (["--engine", "flink"], "未知的引擎"),
    (["--engine", "spark"], "--spark-master"),
    (["--engine", "spark", "--spark-master", "local[1]", "--spark-remote", "sc://h:1"],
     "之一"),
    (["--engine", "spark", "--spark-master", "local[1]", "--spark-conf", "novalue"],
     "KEY=VALUE"),
])
def test_bad_cluster_options_fail_in_chinese(args: list[str], message: str) -> None:
    result = runner.invoke(app, ["score", "--system", "torch-points", *args])
    assert result.exit_code == 1, result.output
    assert message in result.output


@pytest.mark.parametrize(("args", "message"), [
    (["--engine", "flink"], "未知的引擎"),
    (["--engine", "spark"], "--spark-master"),
    (["--engine", "spark", "--spark-remote", "http://h:1"], "sc://"),
    (["--engine", "spark", "--spark-master", "local[1]", "--spark-conf", "=x"], "KEY=VALUE"),
])
def test_bad_cluster_options_of_a_policy_run_fail_in_chinese(args: list[str],
                                                             message: str) -> None:
    result = runner.invoke(app, ["policy", "run", "--as-of", "2026-06-01", *args])
    assert result.exit_code == 1, result.output
    assert message in result.output


def test_a_master_that_does_not_listen_is_a_cluster_error() -> None:
    with pytest.raises(ClusterError) as err:
        connect(master="spark://127.0.0.1:9")
    assert "无法连接 Spark 主节点" in err.value.message_zh


def test_a_connect_server_that_does_not_listen_is_a_cluster_error() -> None:
    """Checked before the Connect client starts (it would retry for minutes)."""
    with pytest.raises(ClusterError) as err:
        connect(remote=f"sc://127.0.0.1:{free_port()}")
    assert "无法连接 Spark Connect 服务" in err.value.message_zh
    assert "SPARK_CONNECT_MODE_ENABLED" not in os.environ  # a classic session can follow


def test_a_malformed_remote_fails_in_chinese() -> None:
    with pytest.raises(InvalidInput) as err:
        connect(remote="spark://127.0.0.1:7077")
    assert "sc://" in err.value.message_zh


def test_input_hash_is_the_combination_of_block_digests() -> None:
    """What a cluster computes (a digest per block of rows, combined on the driver) is the
    in-process hash, also across block boundaries and for text columns."""
    n = R.HASH_BLOCK_ROWS + 5
    rng = np.random.default_rng(3)
    frame = pd.DataFrame({
        "uscc": np.array([f"U{i % 7}" for i in range(n)], dtype=object),
        "year": np.arange(n, dtype=np.int64),
        "x": np.where(rng.random(n) < 0.1, np.nan, rng.random(n)),
    })
    params = {"year": 2024}
    columns = {}
    for name in frame.columns:
        values = frame[name].to_numpy()
        blocks = [R.block_digest(values[:R.HASH_BLOCK_ROWS]),
                  R.block_digest(values[R.HASH_BLOCK_ROWS:])]
        columns[name] = R.column_digest(blocks)
    assert R.combine_digests("sys", params, n, columns) == R.input_hash("sys", params, frame)
    changed = frame.copy()
    changed.loc[n - 1, "x"] = 0.5
    assert R.input_hash("sys", params, changed) != R.input_hash("sys", params, frame)


def test_a_policy_run_on_an_unreachable_master_fails_the_job_and_writes_no_run(
        engine: Engine, tmp_path: Path) -> None:
    """The ``policy.run`` job brings the export up to date, then cannot reach the master:
    the job is failed with the Chinese reason, and no policy run (nor result) is written."""
    jobs.set_background(engine, False)
    with unit_of_work(engine) as s:
        before = (s.scalar(select(func.count()).select_from(PolicyRun)),
                  s.scalar(select(func.count()).select_from(PolicyResultBlock)))
        job_id = jobs.submit(s, Actor.command_line(), "policy.run", {
            "as_of": "2026-06-01", "engine": "spark", "spark_master": "spark://127.0.0.1:9",
            "lake": str(tmp_path / "lake")}).id
    job = jobs.execute(engine, job_id)
    assert job.status == "failed"
    assert "无法连接 Spark 主节点" in (job.error or "")
    with unit_of_work(engine) as s:
        assert (s.scalar(select(func.count()).select_from(PolicyRun)),
                s.scalar(select(func.count()).select_from(PolicyResultBlock))) == before
    assert (tmp_path / "lake" / "_manifest.json").exists()  # the export was made first
