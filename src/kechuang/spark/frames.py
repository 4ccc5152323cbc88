"""The Parquet export read on a Spark cluster (docs/spark.md, "Runs on a cluster").

:func:`yearly_grid` builds, as a Spark DataFrame, the same table
:func:`kechuang.facts.read_facts` builds in process for the numeric inputs of a run: one row
per enterprise of the export and year, ordered by enterprise id then year, one column per
yearly metric (float64, missing = null) and per numeric or yes/no attribute (yes/no as
1/0, as the scoring run's ``engine_frame`` reads them), with the zeros ``read_facts`` infers
from a department's coverage (``facts/rules/absent.yaml``, passed in as data from
:func:`kechuang.facts.service.absent_coverage`) and the enterprise's cohort columns. The
export's read rule applies: only the files the manifest lists, and per (enterprise_id,
metric, period) the row of the highest ``export_seq``.

:func:`block_digests` digests the columns of such a table block by block where the rows
lie (a pandas function per block of rows on the executors), so a run hashes its input
without bringing it to the driver. :func:`collect_arrays` brings a few columns back as
NumPy arrays (narrow selections, never the wide table at once).

pyspark is the optional ``spark`` extra: it is imported inside the functions that need it.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from kechuang.kit.errors import InvalidInput
from kechuang.registry.catalogue import metrics_by_code
from kechuang.spark import lake as lake_files

FACT_DDL = ("fact_id long, enterprise_id long, uscc string, metric string, period int, "
            "year int, value double, value_exact decimal(24,6), value_text string, "
            "batch_id long, export_seq int")
COHORT_COLUMNS = ("region_code", "industry_section", "province_code", "city_code",
                  "county_code")


def manifest_of(lake: Path) -> dict[str, Any]:
    manifest = lake_files.load_manifest(lake)
    if manifest is None:
        raise InvalidInput(f"--lake {lake}：不是 kechuang 的导出目录（没有 {lake_files.MANIFEST}）",
                           f"--lake {lake}: no {lake_files.MANIFEST}")
    return manifest


def current(spark: Any, lake: Path, manifest: dict[str, Any], kind: str) -> Any:
    """The current rows of the export's ``kind`` (facts or attributes) as a DataFrame."""
    from pyspark.sql import Window  # the optional ``spark`` extra
    from pyspark.sql import functions as F

    files = [str(lake / f) for f in manifest["files"][kind]]
    if not files:
        return spark.createDataFrame([], FACT_DDL)
    df = spark.read.schema(FACT_DDL).parquet(*files)
    latest = F.max("export_seq").over(Window.partitionBy("enterprise_id", "metric", "period"))
    return df.withColumn("_latest", latest).filter(F.col("export_seq") == F.col("_latest")
                                                   ).drop("_latest")


def _covered(region: Any, held: list[str | None]) -> Any:
    """The enterprises whose region lies in one of the batches' regions (as
    ``facts.service._covered``: codes nest by prefix; a batch without a region covers
    everyone)."""
    from pyspark.sql import functions as F  # the optional ``spark`` extra

    if any(r is None for r in held):
        return F.lit(True)
    prefixes = sorted({r for r in held if r})
    if not prefixes:
        return F.lit(False)
    text = F.coalesce(region, F.lit(""))
    cond = text.startswith(prefixes[0])
    for p in prefixes[1:]:
        cond = cond | text.startswith(p)
    return cond


def yearly_grid(spark: Any, lake: Path, manifest: dict[str, Any], years: list[int],
                codes: list[str], *, zero: dict[str, dict[int, list[str | None]]],
                flags: frozenset[str], truth: dict[str, bool]) -> Any:
    """Enterprise × year rows with the numeric inputs ``codes`` (module docstring): columns
    ``enterprise_id``, ``uscc``, ``year``, the cohort columns of the export
    (:data:`COHORT_COLUMNS`) and one double per code. The facts package's reading rules
    come in as data (this package sits beside it): ``zero`` the coverage of the
    zero-when-absent metrics (``AbsentCoverage.zero``), ``flags`` the list attributes whose
    absence means "not on the list" (``FLAG_METRICS``), ``truth`` how yes/no text reads."""
    from pyspark.sql import functions as F  # the optional ``spark`` extra

    catalogue = metrics_by_code()
    unknown = [c for c in codes if c not in catalogue]
    if unknown:
        raise InvalidInput(f"指标目录中没有：{'、'.join(unknown)}",
                           f"not in the catalogue: {', '.join(unknown)}")
    yearly = [c for c in codes if catalogue[c].period_type == "year"]
    attrs = [c for c in codes if catalogue[c].period_type != "year"]
    for c in attrs:
        if catalogue[c].value_type not in ("number", "integer", "bool"):
            raise InvalidInput(f"“{c}” 不是数值（文本或日期），不能参与计算", f"{c} is not numeric")
    ents = spark.read.parquet(str(lake / manifest["files"]["enterprises"])).select(
        "enterprise_id", "uscc", *COHORT_COLUMNS)
    grid = ents.crossJoin(spark.createDataFrame([(int(y),) for y in years], "year long"))
    if yearly:
        facts = current(spark, lake, manifest, "facts").filter(
            F.col("metric").isin(yearly) & F.col("period").isin([int(y) for y in years]))
        wide = facts.groupBy("enterprise_id", F.col("period").cast("long").alias("year")).agg(
            *[F.max(F.when(F.col("metric") == c, F.col("value"))).alias(c) for c in yearly])
        grid = grid.join(wide, ["enterprise_id", "year"], "left")
    if attrs:
        yes = [k for k, v in truth.items() if v]
        no = [k for k, v in truth.items() if not v]
        text = F.lower(F.trim(F.col("value_text")))
        flag = F.when(text.isin(yes), F.lit(1.0)).when(text.isin(no), F.lit(0.0))
        rows = current(spark, lake, manifest, "attributes").filter(F.col("metric").isin(attrs))
        per = rows.groupBy("enterprise_id").agg(*[
            F.max(F.when(F.col("metric") == c, flag if catalogue[c].value_type == "bool"
                         else F.col("value"))).alias(c) for c in attrs])
        grid = grid.join(per, ["enterprise_id"], "left")
        for c in attrs:
            if c in flags:  # no fact: not on the list
                grid = grid.withColumn(c, F.coalesce(F.col(c), F.lit(0.0)))
    fills = {}
    for c in yearly:
        conds = [(F.col("year") == int(y)) & _covered(F.col("region_code"), regions)
                 for y, regions in (zero.get(c) or {}).items()]
        if conds:
            cond = conds[0]
            for more in conds[1:]:
                cond = cond | more
            fills[c] = F.when(F.col(c).isNull() & cond, F.lit(0.0)).otherwise(F.col(c))
    return grid.select(*[F.col(c) for c in grid.columns if c not in yearly + attrs],
                       *[fills.get(c, F.col(c)).cast("double").alias(c)
                         for c in yearly + attrs])


def with_blocks(spark: Any, grid: Any, years: list[int], block_rows: int) -> Any:
    """``grid`` with ``_pos`` (the row's position in enterprise-then-year order) and
    ``_block`` (``_pos // block_rows``). The grid holds every year of every enterprise."""
    from pyspark.sql import Window  # the optional ``spark`` extra
    from pyspark.sql import functions as F

    ids = grid.select("enterprise_id").distinct()
    ranked = ids.withColumn("_rank", F.row_number().over(Window.orderBy("enterprise_id")) - 1)
    out = grid.join(ranked, "enterprise_id").withColumn(
        "_pos", F.col("_rank") * len(years) + (F.col("year") - int(min(years))))
    return out.withColumn("_block", F.floor(F.col("_pos") / block_rows).cast("long")
                          ).drop("_rank")


def block_digests(frame: Any, columns: dict[str, str],
                  digest: Callable[[np.ndarray], bytes]) -> dict[str, list[bytes]]:
    """Per column (``name → pandas dtype``: ``float64``, ``int64`` or ``object``), the
    digests of its blocks in block order, computed on the executors. ``frame`` has
    ``_block`` and ``_pos`` (:func:`with_blocks`)."""
    names = list(columns)

    def per_block(pdf: pd.DataFrame) -> pd.DataFrame:
        pdf = pdf.sort_values("_pos", kind="stable")
        out = []
        for name in names:
            kind = columns[name]
            if kind == "object":
                values = pdf[name].astype(object).where(pdf[name].notna(), None).to_numpy()
            else:
                values = pdf[name].to_numpy(dtype=kind)
            out.append(digest(values))
        block = int(pdf["_block"].iloc[0])
        return pd.DataFrame({"block": [block] * len(names), "name": names, "digest": out})

    rows = (frame.select("_block", "_pos", *names).groupBy("_block")
            .applyInPandas(per_block, "block long, name string, digest binary").collect())
    got: dict[str, dict[int, bytes]] = {n: {} for n in names}
    for row in rows:
        got[row["name"]][int(row["block"])] = bytes(row["digest"])
    out: dict[str, list[bytes]] = {}
    for name, blocks in got.items():
        if sorted(blocks) != list(range(len(blocks))):
            raise RuntimeError(f"blocks of {name} are not contiguous")
        out[name] = [blocks[b] for b in range(len(blocks))]
    return out


def collect_arrays(frame: Any, key: str, names: list[str]) -> dict[str, np.ndarray]:
    """``key`` and ``names`` of ``frame`` as NumPy arrays ordered by ``key`` (Arrow
    transfer; only these columns travel)."""
    table = frame.select(key, *names).toArrow()
    order = np.argsort(table.column(key).to_numpy(), kind="stable")
    out = {}
    for name in [key, *names]:
        col = table.column(name)
        if str(col.type) in ("double", "float"):
            arr = col.cast("double").fill_null(np.nan).to_numpy(zero_copy_only=False)
        elif str(col.type) in ("int64", "int32"):
            if col.null_count:
                arr = col.cast("double").to_numpy(zero_copy_only=False)
            else:
                arr = col.to_numpy(zero_copy_only=False).astype(np.int64)
        else:
            arr = np.array(col.to_pylist(), dtype=object)
        out[name] = arr[order]
    return out
