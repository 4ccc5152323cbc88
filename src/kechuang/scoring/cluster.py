"""A scoring run's engine on a Spark cluster (docs/spark.md, "Runs on a cluster").

The same steps as the in-process run (``scoring.service._in_process``), over the Parquet
export instead of the database and on Spark instead of DuckDB:

1. the input grid (:func:`kechuang.spark.frames.yearly_grid`: the current facts of the
   export, the zeros ``read_facts`` infers from the database's batch coverage, the cohort
   columns of the export) and the development stage by the run's stage rule;
2. the input hash, digested block by block on the executors
   (:func:`kechuang.scoring.runs.input_hash` defines the blocks), equal to the in-process
   run's hash on the same data;
3. :func:`kechuang.scoring.engine.compute`, the same Ibis definitions, on the ibis pyspark
   backend (over a classic or a Spark Connect session); the wide result is cached (over
   Connect: checkpointed) on the cluster and counted before anything is written;
4. the result's columns come back a few at a time (``EngineOutput.columns``), so the driver
   never holds the wide result.

:func:`score_lake` does steps 1–3 without the database (benchmarks): give it the coverage
the zeros are inferred from (or none).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy.orm import Session

from kechuang.auth.actor import Actor
from kechuang.facts import service as facts_service
from kechuang.facts.service import AbsentCoverage
from kechuang.kit.errors import InvalidInput
from kechuang.scoring import engine
from kechuang.scoring import runs as R
from kechuang.scoring.system import System
from kechuang.spark import frames
from kechuang.spark import service as spark_service
from kechuang.spark.cluster import Cluster, cluster_errors

Progress = Callable[[str, int, int], None]
STEPS = 6
#: bytes of result columns the driver fetches from the cluster at a time (8 bytes a value)
FETCH_BYTES = 256 * 1024 * 1024


def _stage(revenue: Any, rule: dict[str, Any]) -> Any:
    """:func:`kechuang.scoring.runs.stage_of` as a Spark column: later bands win, as there;
    missing revenue → ``rule.missing``."""
    from pyspark.sql import functions as F  # the optional ``spark`` extra

    out = F.lit(rule.get("missing")).cast("string")
    have = revenue.isNotNull() & ~F.isnan(revenue)
    for band in rule["bands"]:
        sel = have
        if band.get("from") is not None:
            sel = sel & (revenue >= float(band["from"]))
        if band.get("below") is not None:
            sel = sel & (revenue < float(band["below"]))
        out = F.when(sel, F.lit(str(band["code"]))).otherwise(out)
    return out


@dataclass
class LakeRun:
    """The engine's side of a run over a lake: the wide result on the cluster and what the
    writing needs."""

    ids: np.ndarray
    stage: np.ndarray
    section: np.ndarray
    region: np.ndarray
    input_hash: str
    rows: int
    notes: list[str]
    treatment: dict[str, Any]
    wide: Any  # a cached Spark DataFrame, one row per enterprise

    def columns(self, uid: str, order: list[str]) -> Callable[[list[str]], dict[str, np.ndarray]]:
        """The result's columns by name, aligned with ``ids``. Columns are fetched in
        ``order`` (the order the writing asks for them), as many at a time as fit in
        :data:`FETCH_BYTES`, each handed out once: the driver holds a few columns, never
        the wide result, and a small run takes a few round trips, not one per column."""
        pending: dict[str, np.ndarray] = {}
        per_fetch = max(1, FETCH_BYTES // (8 * max(len(self.ids), 1)))

        def get(names: list[str]) -> dict[str, np.ndarray]:
            wanted = [n for n in names if n not in pending]
            if wanted:
                rest = [n for n in order if n not in pending and n not in wanted]
                batch = [*wanted, *rest][:max(per_fetch, len(wanted))]
                got = frames.collect_arrays(self.wide, uid, batch)
                key = got.pop(uid).astype(np.int64)
                if len(key) != len(self.ids) or not (key == self.ids).all():
                    raise RuntimeError("cluster output does not match the enterprises read")
                pending.update(got)
                order[:] = [n for n in order if n not in got]
            return {n: pending.pop(n) for n in names}
        return get


def score_lake(system: System, lake: Path, year: int, cluster: Cluster, *,
               params: dict[str, Any] | None = None, coverage: AbsentCoverage | None = None,
               step: Progress | None = None) -> LakeRun:
    """Score the enterprises of the export in ``lake`` for ``year`` on ``cluster`` without
    the database: the input grid, the input hash, the engine. ``params`` are a run's
    parameters (default: the shipped stage and list rules, for ``year``); ``coverage`` the
    batches zeros are inferred from (default: none, so absent stays missing)."""
    step = step or (lambda _label, _done, _total: None)
    if params is None:
        params = {**R.default_parameters(), "year": year,
                  "years": list(range(year - R.YEARS_BACK, year + 1))}
    coverage = coverage or AbsentCoverage({}, {})
    uid, ycol = system.spec.unit.id, system.spec.unit.year
    inputs = sorted(system.inputs())
    cohorts = sorted(system.cohort_columns())
    metric = str(params["stage"].get("metric", "revenue"))
    codes = sorted(set(inputs) | {metric})
    years = [int(y) for y in params["years"]]
    with cluster_errors(cluster.where):
        from pyspark.sql import functions as F  # the optional ``spark`` extra

        spark = cluster.session
        manifest = frames.manifest_of(lake)
        grid = frames.yearly_grid(spark, lake, manifest, years, codes, zero=coverage.zero,
                                  flags=facts_service.FLAG_METRICS,
                                  truth=facts_service.truth_values())
        rev = grid.filter(F.col("year") == year).select(
            "enterprise_id", _stage(F.col(metric), params["stage"]).alias("stage"))
        grid = grid.join(rev, "enterprise_id")
        missing = [c for c in [*inputs, *cohorts] if c not in grid.columns]
        if missing:
            raise InvalidInput(
                f"指标体系 {system.id} {system.version} 需要的数据列在导出中没有："
                f"{'、'.join(missing)}", f"columns not in the export: {', '.join(missing)}")
        # computed once and kept on the executors, without its lineage (the engine's plans
        # build on it: a deep lineage under them costs the driver memory and time)
        grid = frames.with_blocks(spark, grid, years, R.HASH_BLOCK_ROWS).localCheckpoint()
        rows = grid.count()
        if rows == 0:
            raise InvalidInput("导出中没有任何企业，无法评分", "no enterprise in the export")

        step("输入哈希 hashing the input", 2, STEPS)
        hashed = grid.select("_block", "_pos", F.col("uscc").alias(uid),
                             F.col("year").cast("long").alias(ycol), *inputs, *cohorts)
        kinds = {uid: "object", ycol: "int64", **{c: "float64" for c in inputs},
                 **{c: "object" for c in cohorts}}
        blocks = frames.block_digests(hashed, kinds, R.block_digest)
        digest = R.combine_digests(system.sha256, params, rows,
                                   {n: R.column_digest(b) for n, b in blocks.items()})
        cur = frames.collect_arrays(
            grid.filter(F.col("year") == year), "enterprise_id",
            ["stage", "industry_section", "region_code"])

        step("计算 computing", 2, STEPS)
        engine_input = grid.select(F.col("enterprise_id").alias(uid),
                                   F.col("year").cast("long").alias(ycol), *inputs, *cohorts)
        view = f"kc_run_{uuid.uuid4().hex[:12]}"
        engine_input.createOrReplaceTempView(view)
        result = engine.compute(system, cluster.con.table(view), year=year, con=cluster.con)
        assert result.wide is not None
        expr = result.wide.select(*R.wide_columns(system))
        wide = cluster.con.raw_sql(cluster.con.compile(expr))
        # classic: the analysed plan holds the engine's cached stages themselves. Spark
        # Connect: the query stays SQL text, analysed again at every use, over the temporary
        # views of those stages (and ``view``), which Ibis drops once the engine's
        # expressions are gone — keep the rows, not the query
        wide = wide.localCheckpoint() if cluster.remote else wide.cache()
        n = wide.count()  # everything computed before the first write
        ids = cur["enterprise_id"].astype(np.int64)
        if n != len(ids):
            raise RuntimeError("cluster output does not match the enterprises read")
        grid.unpersist()
        cluster.session.catalog.dropTempView(view)
    return LakeRun(ids=ids, stage=cur["stage"], section=cur["industry_section"],
                   region=cur["region_code"], input_hash=digest, rows=rows,
                   notes=list(result.notes), treatment=dict(result.treatment), wide=wide)


def engine_output(session: Session, actor: Actor, system: System, params: dict[str, Any],
                  year: int, cluster: Cluster, lake: Path, codes: list[str],
                  step: Progress) -> R.EngineOutput:
    """The engine's output of a database run computed on ``cluster`` over ``lake``: the
    export must hold the current facts of ``actor``'s scope
    (:func:`kechuang.spark.service.check_current`)."""
    spark_service.check_current(session, actor, lake)
    coverage = facts_service.absent_coverage(session, codes, params["years"])
    run = score_lake(system, lake, year, cluster, params=params, coverage=coverage,
                     step=step)
    uid = system.spec.unit.id
    get = run.columns(uid, [c for c in R.wide_columns(system) if c != uid])

    def columns(names: list[str]) -> dict[str, np.ndarray]:
        with cluster_errors(cluster.where):
            return get(names)

    return R.EngineOutput(ids=run.ids, stage=run.stage, section=run.section,
                          region=run.region, input_hash=run.input_hash, notes=run.notes,
                          treatment=run.treatment, columns=columns,
                          engine={"engine": "spark", "cluster": cluster.where,
                                  "lake": str(lake)})
