"""File-in/file-out index computation (``kechuang index compute``), without the database.

Reads a CSV or XLSX table (one row per unit, or per unit and year with a ``year`` column),
runs the engine on in-process DuckDB and writes the scores (and optionally the trace) as CSV
with formula-injection neutralisation.
"""

from __future__ import annotations

import math
import tempfile
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import ibis
import pandas as pd

from kechuang.kit.errors import InvalidInput
from kechuang.kit.safe_export import write_csv as safe_write_csv
from kechuang.scoring import engine
from kechuang.scoring.system import System

_TRUE = {"true", "yes", "是", "y", "t"}
_FALSE = {"false", "no", "否", "n", "f"}


def data_columns(path: str | Path) -> list[str]:
    """The column names of a batch data file (its header row only), so a formula in file
    mode may name the file's own columns without declaring them."""
    p = Path(path)
    suffix = p.suffix.lower()
    if suffix not in (".csv", ".xlsx", ".xlsm"):
        raise InvalidInput(f"数据文件 {p.name} 应为 .csv 或 .xlsx", "data must be csv/xlsx")
    try:
        if suffix == ".csv":
            head = pd.read_csv(p, nrows=0, encoding="utf-8-sig")
        else:
            head = pd.read_excel(p, nrows=0, engine="openpyxl")
    except FileNotFoundError:
        raise InvalidInput(f"找不到数据文件 {p}", f"data file {p} not found") from None
    except (UnicodeDecodeError, pd.errors.ParserError, ValueError) as exc:
        raise InvalidInput(f"无法读取数据文件 {p.name}：{exc}", str(exc)) from None
    return [str(c).strip() for c in head.columns]


def read_data(path: str | Path, system: System) -> pd.DataFrame:
    """Read the batch data file; numbers are checked, errors name row and column."""
    p = Path(path)
    uid = system.spec.unit.id
    text_cols = {uid, *system.cohort_columns(), *(c for c in [system.spec.unit.name] if c)}
    converters = {c: str for c in text_cols}
    try:
        if p.suffix.lower() == ".csv":
            df = pd.read_csv(p, dtype=converters, keep_default_na=True, encoding="utf-8-sig")
            first_row = 2
        elif p.suffix.lower() in (".xlsx", ".xlsm"):
            df = pd.read_excel(p, dtype=converters, engine="openpyxl")
            first_row = 2
        else:
            raise InvalidInput(f"数据文件 {p.name} 应为 .csv 或 .xlsx", "data must be csv/xlsx")
    except FileNotFoundError:
        raise InvalidInput(f"找不到数据文件 {p}", f"data file {p} not found") from None
    except (UnicodeDecodeError, pd.errors.ParserError, ValueError) as exc:
        if isinstance(exc, InvalidInput):
            raise
        raise InvalidInput(f"无法读取数据文件 {p.name}：{exc}", str(exc)) from None
    df.columns = [str(c).strip() for c in df.columns]
    missing = sorted(({uid} | system.inputs() | system.cohort_columns()) - set(df.columns))
    if missing:
        raise InvalidInput(f"{p.name}：缺少列 {'、'.join(missing)}", f"missing columns {missing}")
    empty_ids = df[uid].isna() | (df[uid].astype(str).str.strip() == "")
    if empty_ids.any():
        row = int(empty_ids.to_numpy().nonzero()[0][0]) + first_row
        raise InvalidInput(f"{p.name} 第{row}行，列“{uid}”：单位标识为空", "empty unit id")
    df[uid] = df[uid].astype(str).str.strip()
    numeric = sorted(system.inputs() | ({system.spec.unit.year} & set(df.columns)))
    for col in numeric:
        s = df[col]
        if s.dtype == object:
            lowered = s.astype(str).str.strip().str.lower()
            s = s.where(~lowered.isin(_TRUE), 1).where(~lowered.isin(_FALSE), 0)
            s = s.where(lowered.isin(_TRUE | _FALSE) | s.notna(), None)
        values = pd.to_numeric(s, errors="coerce")
        bad = values.isna() & s.notna() & (s.astype(str).str.strip() != "")
        if bad.any():
            i = int(bad.to_numpy().nonzero()[0][0])
            raise InvalidInput(
                f"{p.name} 第{i + first_row}行，列“{col}”：“{df[col].iloc[i]}” 不是数字",
                f"row {i + first_row}, column {col}: not a number",
            )
        df[col] = values.astype("float64") if col != system.spec.unit.year else values
    return df


def _cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, float):
        if math.isnan(value):
            return ""
        return repr(value)
    try:
        if pd.isna(value):
            return ""
    except (TypeError, ValueError):
        pass
    return value


def write_csv(df: pd.DataFrame, path: str | Path) -> None:
    """Write a frame as UTF-8 CSV; text cells that a spreadsheet would run are neutralised."""
    safe_write_csv(path, list(df.columns),
                   ([_cell(v) for v in row] for row in df.itertuples(index=False, name=None)))


@dataclass
class BatchOutcome:
    units: int
    year: int | None
    notes: list[str]


def spark_connection() -> Any:
    """A local Spark session (all cores, no UI, catalogue in a temporary directory) wrapped
    as an Ibis backend. Intermediate stages are cached DataFrames, never catalogue tables."""
    from pyspark.sql import SparkSession  # the optional ``spark`` extra

    warehouse = tempfile.mkdtemp(prefix="kechuang-spark-")
    session = (
        SparkSession.builder.master("local[*]").appName("kechuang-index")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.warehouse.dir", warehouse)
        .config("spark.sql.shuffle.partitions", "4")
        .config("spark.sql.session.timeZone", "UTC")
        .getOrCreate()
    )
    session.sparkContext.setLogLevel("ERROR")
    return ibis.pyspark.connect(session)


def compute_files(system: System, data_path: str | Path, out: str | Path,
                  trace: str | Path | None = None, year: int | None = None,
                  engine_name: str = "duckdb") -> BatchOutcome:
    """Run one batch computation; ``engine_name`` is ``duckdb`` (default) or ``spark``."""
    df = read_data(data_path, system)
    if engine_name == "spark":
        con = spark_connection()
        table = con.create_view(f"batch_data_{uuid.uuid4().hex[:8]}", ibis.memtable(df),
                                overwrite=True)
    else:
        con = ibis.duckdb.connect()
        table = con.create_table("batch_data", df)
    result = engine.compute(system, table, year=year, con=con)
    scores = result.scores.execute()
    trace_df = result.trace.execute() if trace is not None else None
    write_csv(scores, out)
    if trace is not None and trace_df is not None:
        write_csv(trace_df, trace)
    return BatchOutcome(units=len(scores), year=result.year, notes=result.notes)
