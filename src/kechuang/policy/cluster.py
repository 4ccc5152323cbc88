"""Eligibility runs on a Spark cluster (docs/spark.md, "Runs on a cluster"; issue 15).

The policy engine is NumPy over whole columns (:mod:`kechuang.policy.engine`), and every
verdict depends on one enterprise's rows only. So a run on a cluster cuts the enterprises of
the Parquet export into slices of consecutive ids (:data:`SLICE_ENTERPRISES`) and, on the
executors, one slice at a time:

1. builds the slice's input table from the export's rows with
   :func:`kechuang.facts.service.frame_from_export` — the table ``read_facts`` builds from
   the database, with the same inferred zeros (the coverage comes in as data) — and adds
   the points of the published scoring run (``_points/run-N.parquet`` beside the export,
   written from the database once per run: runs are immutable);
2. evaluates every policy with :func:`kechuang.policy.runs.evaluate_policies`, the same
   function the in-process run calls on its chunks;
3. returns each policy's result columns and the slice's per-enterprise input hashes as
   Arrow IPC bytes, one row per (slice, policy).

The driver fetches the slices one partition at a time (``toLocalIterator``) and writes them
as an in-process run writes its chunks, so it never holds more than a partition's results;
the run hash is computed over all enterprises' input hashes, as in process. Same data, same
policies, same as-of date: same input hashes, run hashes and result rows on both engines.
"""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Callable, Iterator
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from sqlalchemy.orm import Session

from kechuang.auth.actor import Actor
from kechuang.facts import service as facts_service
from kechuang.facts.service import AbsentCoverage
from kechuang.models import ScoringRun
from kechuang.policy.engine import evaluation_year
from kechuang.policy.loader import LoadedPolicy
from kechuang.policy.points import points_table, with_points
from kechuang.policy.runs import ChunkResult, evaluate_policies, input_codes, input_years
from kechuang.registry.catalogue import metrics_by_code
from kechuang.scoring import service as scoring_service
from kechuang.spark import frames
from kechuang.spark import service as spark_service
from kechuang.spark.cluster import Cluster, cluster_errors

Progress = Callable[[str, int, int], None]

#: enterprises evaluated together on an executor (a slice's input table and results are a
#: few hundred MB at most; the driver holds one partition's results at a time)
SLICE_ENTERPRISES = 100_000
#: enterprises of the points run read from the database at a time
POINTS_CHUNK = 200_000
HASHES = -1  # the ``part`` of a slice's input hashes (policies are 0, 1, …)
OUT_SCHEMA = "slice long, part int, payload binary, meta string"
ENTERPRISE_COLUMNS = ("enterprise_id", "uscc", "founded_on", "industry_code", "region_code")


def _ipc(columns: dict[str, Any]) -> bytes:
    sink = pa.BufferOutputStream()
    table = pa.table({k: pa.array(v) for k, v in columns.items()})
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    return bytes(sink.getvalue().to_pybytes())


def _from_ipc(payload: bytes) -> dict[str, np.ndarray]:
    table = pa.ipc.open_stream(pa.py_buffer(payload)).read_all()
    out = {}
    for name in table.column_names:
        col = table.column(name)
        if pa.types.is_string(col.type) or pa.types.is_large_string(col.type):
            out[name] = np.array(col.to_pylist(), dtype=object)
        elif pa.types.is_floating(col.type):
            out[name] = col.to_numpy(zero_copy_only=False).astype(np.float64)
        else:
            out[name] = col.to_numpy(zero_copy_only=False)
    return out


def _reader(parts: dict[int, tuple[bytes, str]]) -> Callable[[int], dict[str, np.ndarray]]:
    def columns(i: int) -> dict[str, np.ndarray]:
        return _from_ipc(parts[i][0])
    return columns


def evaluate_slice(enterprises: pd.DataFrame, rows: pd.DataFrame, policies: list[LoadedPolicy],
                   as_of: date, codes: frozenset[str], coverage: AbsentCoverage,
                   slice_id: int) -> pd.DataFrame:
    """What an executor does with one slice (module docstring): ``enterprises`` are the
    slice's rows of ``enterprises.parquet`` with the points columns joined (``_scored`` true
    where the points run holds the enterprise), ``rows`` the slice's current facts."""
    if not len(enterprises):
        return pd.DataFrame({"slice": pd.Series([], dtype="int64"),
                             "part": pd.Series([], dtype="int32"),
                             "payload": pd.Series([], dtype=object),
                             "meta": pd.Series([], dtype=object)})
    data = facts_service.frame_from_export(enterprises[list(ENTERPRISE_COLUMNS)], rows,
                                           input_years(as_of), codes, coverage)
    scored = enterprises[enterprises["_scored"].fillna(False).astype(bool)]
    points = pd.DataFrame({
        "enterprise_id": scored["enterprise_id"].to_numpy(dtype=np.int64),
        "points": scored["points"].to_numpy(dtype=np.float64, na_value=np.nan),
        "points_rank": scored["points_rank"].to_numpy(dtype=np.float64, na_value=np.nan),
        "points_percentile": scored["points_percentile"].to_numpy(dtype=np.float64,
                                                                  na_value=np.nan),
        "points_tier": scored["points_tier"].astype(object).to_numpy(),
        "points_veto": scored["points_veto"].astype(object).to_numpy(),
    })
    data = with_points(data, points)
    outcomes, enterprise_ids, hashes = evaluate_policies(data, policies, as_of)
    slices, parts, payloads, metas = [], [], [], []
    for i, out in enumerate(outcomes):
        slices.append(slice_id)
        parts.append(i)
        payloads.append(_ipc(out.result_columns(enterprise_ids, hashes)))
        metas.append(json.dumps({"counts": out.counts, "pass_mark": out.evaluation.pass_mark}))
    slices.append(slice_id)
    parts.append(HASHES)
    payloads.append(_ipc({"uscc": hashes.index.to_numpy(dtype=object),
                          "hash": hashes.to_numpy(dtype=np.int64)}))
    metas.append("{}")
    return pd.DataFrame({"slice": np.array(slices, dtype=np.int64),
                         "part": np.array(parts, dtype=np.int32),
                         "payload": payloads, "meta": metas})


def write_points(session: Session, run: ScoringRun | None, lake: Path) -> Path | None:
    """The points of the published scoring run ``run`` as ``lake/_points/run-N.parquet``
    (:func:`kechuang.policy.points.points_table` columns), written once per run from the
    database, ``POINTS_CHUNK`` enterprises at a time, and moved into place when complete."""
    if run is None:
        return None
    target = lake / "_points" / f"run-{run.id}.parquet"
    if target.exists():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(f".{target.name}.{uuid.uuid4().hex[:8]}")
    schema = pa.schema([("enterprise_id", pa.int64()), ("points", pa.float64()),
                        ("points_rank", pa.float64()), ("points_percentile", pa.float64()),
                        ("points_tier", pa.string()), ("points_veto", pa.bool_())])
    bounds = scoring_service.points_id_bounds(session, run.id) or (0, -1)
    with pq.ParquetWriter(partial, schema) as writer:
        for start in range(bounds[0], bounds[1] + 1, POINTS_CHUNK):
            rows = scoring_service.points_between(session, run.id, start,
                                                  start + POINTS_CHUNK - 1)
            table = points_table(rows)
            writer.write_table(pa.Table.from_pandas(table, schema=schema,
                                                    preserve_index=False))
    os.replace(partial, target)
    return target


def evaluate_lake(policies: list[LoadedPolicy], as_of: date, lake: Path, cluster: Cluster, *,
                  coverage: AbsentCoverage, points: Path | None,
                  step: Progress | None = None) -> Iterator[ChunkResult]:
    """Evaluate ``policies`` over the enterprises of the export in ``lake`` on ``cluster``
    (module docstring); the slices as the driver receives them, in no particular order
    (they cover disjoint ranges of enterprise ids)."""
    step = step or (lambda _label, _done, _total: None)
    codes = input_codes(policies)
    years = input_years(as_of)
    catalogue = metrics_by_code()
    wanted = [c for c in codes if c in catalogue]
    yearly = [c for c in wanted if catalogue[c].period_type == "year"]
    attrs = [c for c in wanted if catalogue[c].period_type != "year"]
    last_day = date(evaluation_year(as_of), 12, 31)
    with cluster_errors(cluster.where):
        from pyspark.sql import functions as F  # the optional ``spark`` extra

        spark = cluster.session
        manifest = frames.manifest_of(lake)
        ents = spark.read.parquet(str(lake / manifest["files"]["enterprises"])).select(
            *ENTERPRISE_COLUMNS)
        # an enterprise founded after the evaluation year is not evaluated for it (as in
        # process: policy.repository.visible_ids(founded_by=…))
        ents = ents.filter(F.col("founded_on").isNull() | (F.col("founded_on") <= F.lit(last_day)))
        if points is not None:
            ents = ents.join(spark.read.parquet(str(points)).withColumn("_scored", F.lit(True)),
                             "enterprise_id", "left")
        else:
            for name, kind in (("points", "double"), ("points_rank", "double"),
                               ("points_percentile", "double"), ("points_tier", "string"),
                               ("points_veto", "boolean"), ("_scored", "boolean")):
                ents = ents.withColumn(name, F.lit(None).cast(kind))
        bounds = ents.agg(F.count("*").alias("n"), F.min("enterprise_id").alias("lo"),
                          F.max("enterprise_id").alias("hi")).collect()[0]
        n = int(bounds["n"])
        if n == 0:
            return
        lo, hi = int(bounds["lo"]), int(bounds["hi"])
        slices = -(-n // SLICE_ENTERPRISES)
        width = max(1, -(-(hi - lo + 1) // slices))
        slice_of = F.floor((F.col("enterprise_id") - F.lit(lo)) / F.lit(width)).cast("long")
        facts = frames.current(spark, lake, manifest, "facts").filter(
            F.col("metric").isin(yearly) & F.col("period").isin(years))
        attributes = frames.current(spark, lake, manifest, "attributes").filter(
            F.col("metric").isin(attrs))
        rows = facts.unionByName(attributes).select(
            "enterprise_id", "metric", "period", "value", "value_text")
        ents = ents.withColumn("_slice", slice_of)
        rows = rows.withColumn("_slice", slice_of)

        def per_slice(key: tuple[Any, ...], left: pd.DataFrame, right: pd.DataFrame
                      ) -> pd.DataFrame:
            return evaluate_slice(left, right, policies, as_of, codes, coverage, int(key[0]))

        result = (ents.groupBy("_slice").cogroup(rows.groupBy("_slice"))
                  .applyInPandas(per_slice, OUT_SCHEMA))
        step("集群计算 evaluating on the cluster", 0, slices)
        pending: dict[int, dict[int, tuple[bytes, str]]] = {}
        done = 0
        for row in result.toLocalIterator(prefetchPartitions=False):
            got = pending.setdefault(int(row["slice"]), {})
            got[int(row["part"])] = (bytes(row["payload"]), str(row["meta"]))
            if len(got) < len(policies) + 1:
                continue
            del pending[int(row["slice"])]
            counts, marks = [], []
            for i in range(len(policies)):
                info = json.loads(got[i][1])
                counts.append({str(k): int(v) for k, v in info["counts"].items()})
                marks.append(info["pass_mark"])
            hashed = _from_ipc(got[HASHES][0])
            done += 1
            step("集群计算 evaluating on the cluster", done, slices)
            yield ChunkResult(_reader(got), counts, marks,
                              pd.Series(hashed["hash"].astype(np.int64),
                                        index=pd.Index(hashed["uscc"], dtype=object)))
        if pending:
            raise RuntimeError("the cluster returned incomplete slices")


def chunks_on_cluster(session: Session, actor: Actor, policies: list[LoadedPolicy],
                      as_of: date, points_run: ScoringRun | None, cluster: Cluster,
                      lake: Path, step: Progress) -> Iterator[ChunkResult]:
    """The slices of a database run computed on ``cluster`` over ``lake``, which must hold
    the current facts of ``actor``'s scope (checked now, before anything runs)."""
    spark_service.check_current(session, actor, lake)
    coverage = facts_service.absent_coverage(session, input_codes(policies),
                                             input_years(as_of))
    points = write_points(session, points_run, lake)
    return evaluate_lake(policies, as_of, lake, cluster, coverage=coverage, points=points,
                         step=step)
