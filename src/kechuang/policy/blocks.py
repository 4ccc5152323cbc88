"""The stored form of a run's results: Parquet tables of consecutive enterprises.

A run's result frame has one row per enterprise and these columns (see
:class:`kechuang.models.PolicyResultBlock`): the fixed ones of :data:`BASE_TYPES`, then
``failed:<leaf>`` (bool) for every leaf and ``lo:<id>``/``hi:<id>`` (float64) for every leaf
and estimate. It is cut into blocks of :data:`BLOCK_ROWS` enterprises, each written as one
zstd-compressed Parquet table; :func:`stored_result` turns one row back into the lists and
the value map the pages show.

Values follow the ``policy eval`` output: a number when ``lo == hi``, ``[lo, hi]`` for a
range, ``"inf"``/``"-inf"`` for ±∞ (``x / 0``), ``None`` when an input is missing.
"""

from __future__ import annotations

import io
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

#: enterprises per stored block: one enterprise's page decodes one block per policy
BLOCK_ROWS = 8_192
#: old result rows converted at a time by migration 0009 (bounded memory; a multiple of
#: the block size, so converted blocks are full)
CONVERT_ROWS = 16 * BLOCK_ROWS

FAILED = "failed:"
LO = "lo:"
HI = "hi:"

BASE_TYPES: dict[str, pa.DataType] = {
    "enterprise_id": pa.int64(),
    "verdict": pa.string(),
    "n_failed": pa.int16(),
    "score": pa.float64(),
    "score_min": pa.float64(),
    "score_max": pa.float64(),
    "input_hash": pa.int64(),
    "missing": pa.string(),
}


@dataclass
class StoredResult:
    """One enterprise's stored result in one run."""

    enterprise_id: int
    verdict: str
    score: float | None
    score_min: float | None
    score_max: float | None
    input_hash: int
    failed: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    values: dict[str, Any] = field(default_factory=dict)


def to_table(columns: Mapping[str, Any]) -> pa.Table:
    """The result columns as an Arrow table with fixed types (NaN scores become nulls)."""
    fields = []
    arrays = []
    for name, values in columns.items():
        if name in BASE_TYPES:
            typ = BASE_TYPES[name]
        elif name.startswith(FAILED):
            typ = pa.bool_()
        else:
            typ = pa.float64()
        from_pandas = name in ("score", "score_min", "score_max")  # NaN → null
        arrays.append(pa.array(values, type=typ, from_pandas=from_pandas))
        fields.append(pa.field(name, typ))
    return pa.Table.from_arrays(arrays, schema=pa.schema(fields))


def split(run_id: int, columns: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The ``policy_result_block`` rows of one run's results (any order of enterprises):
    sorted by enterprise id and cut every :data:`BLOCK_ROWS` enterprises."""
    ids = np.asarray(columns["enterprise_id"], dtype=np.int64)
    order = np.argsort(ids, kind="stable")
    table = to_table({name: np.asarray(columns[name])[order] for name in columns})
    ids = ids[order]
    blocks = []
    for start in range(0, len(ids), BLOCK_ROWS):
        end = min(start + BLOCK_ROWS, len(ids))
        blocks.append({"run_id": run_id, "first_enterprise_id": int(ids[start]),
                       "last_enterprise_id": int(ids[end - 1]), "rows": end - start,
                       "data": encode(table.slice(start, end - start))})
    return blocks


def encode(table: pa.Table) -> bytes:
    sink = io.BytesIO()
    pq.write_table(table, sink, compression="zstd", use_dictionary=["verdict", "missing"],
                   write_statistics=False)
    return sink.getvalue()


def decode(data: bytes, columns: list[str] | None = None) -> pa.Table:
    return pq.read_table(io.BytesIO(data), columns=columns)


def _number(x: float) -> Any:
    if math.isinf(x):
        return "inf" if x > 0 else "-inf"
    return x


def stored_result(row: dict[str, Any]) -> StoredResult:
    """A result from one row of a decoded block (``Table.to_pylist()`` form)."""
    failed = [name[len(FAILED):] for name, v in row.items()
              if name.startswith(FAILED) and v]
    values: dict[str, Any] = {}
    for name, lo in row.items():
        if not name.startswith(LO):
            continue
        key = name[len(LO):]
        hi = row.get(HI + key)
        if lo is None or hi is None or math.isnan(lo) or math.isnan(hi):
            values[key] = None
        elif lo == hi:
            values[key] = _number(lo)
        else:
            values[key] = [_number(lo), _number(hi)]
    missing = row.get("missing") or ""
    return StoredResult(
        enterprise_id=int(row["enterprise_id"]), verdict=str(row["verdict"]),
        score=row.get("score"), score_min=row.get("score_min"),
        score_max=row.get("score_max"), input_hash=int(row["input_hash"]),
        failed=failed, missing=[m for m in missing.split(";") if m], values=values,
    )
