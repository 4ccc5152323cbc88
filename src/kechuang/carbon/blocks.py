"""The stored form of a carbon evaluation's grades: one compressed Parquet table per month
and run of consecutive enterprises (:class:`kechuang.models.monitoring.CarbonGradeBlock`).

Why blocks and not a row per enterprise-month: an evaluation of 100,000 enterprises over
twelve months is 1.2 million grades; inserting them as rows cost more than reading the facts
and grading together (about 13 s of the run), while a dozen compressed blocks per month are
written in a fraction of a second, and every page reads whole months (the bureau's overview)
or one enterprise's twelve small blocks (its own page). Same design as the policy results
(:mod:`kechuang.policy.blocks`).
"""

from __future__ import annotations

import io
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

#: enterprises per stored block (one enterprise's page decodes one block per month)
BLOCK_ROWS = 16_384

#: the stored columns and their Arrow types (nullable: a month that cannot be graded keeps
#: its row with empty evaluation columns)
TYPES: dict[str, pa.DataType] = {
    "enterprise_id": pa.int64(),
    "class_code": pa.string(),
    "region_code": pa.string(),
    "intensity": pa.float64(),
    "carbon_level": pa.string(),
    "benchmark": pa.float64(),
    "benchmark_level": pa.string(),
    "ratio": pa.float64(),
    "grade": pa.int16(),
    "industry_rank": pa.int32(),
    "industry_count": pa.int32(),
    "region_rank": pa.int32(),
    "region_count": pa.int32(),
    "alert": pa.string(),
}
DICTIONARY = ["class_code", "region_code", "carbon_level", "benchmark_level", "alert"]


def _array(values: pd.Series, typ: pa.DataType) -> pa.Array:
    if isinstance(values.dtype, pd.CategoricalDtype):  # codes → their text
        values = values.astype(object)
    return pa.array(values, type=typ, from_pandas=True)  # NaN / <NA> / None → null


def split(evaluation_id: int, frame: pd.DataFrame) -> list[dict[str, Any]]:
    """The block rows of one evaluation: ``frame`` holds :data:`TYPES` plus ``period``;
    sorted by (period, enterprise id) and cut every :data:`BLOCK_ROWS` enterprises."""
    periods = frame["period"].to_numpy(dtype=np.int64)
    ids = frame["enterprise_id"].to_numpy(dtype=np.int64)
    order = np.lexsort((ids, periods))
    periods, ids = periods[order], ids[order]
    graded = frame["grade"].notna().to_numpy()[order]
    table = pa.Table.from_arrays([_array(frame[c], t) for c, t in TYPES.items()],
                                 names=list(TYPES)).take(pa.array(order))
    blocks = []
    bounds = np.flatnonzero(np.diff(periods)) + 1
    for start_p, end_p in zip(np.r_[0, bounds], np.r_[bounds, len(periods)], strict=True):
        for start in range(int(start_p), int(end_p), BLOCK_ROWS):
            end = min(start + BLOCK_ROWS, int(end_p))
            blocks.append({"evaluation_id": evaluation_id, "period": int(periods[start]),
                           "first_enterprise_id": int(ids[start]),
                           "last_enterprise_id": int(ids[end - 1]), "rows": end - start,
                           "graded": int(graded[start:end].sum()),
                           "data": encode(table.slice(start, end - start))})
    return blocks


def encode(table: pa.Table) -> bytes:
    sink = io.BytesIO()
    pq.write_table(table, sink, compression="zstd", use_dictionary=DICTIONARY,
                   write_statistics=False)
    return sink.getvalue()


def decode(blobs: list[tuple[int, bytes]], columns: list[str] | None = None) -> pd.DataFrame:
    """The rows of several blocks as one frame with a ``period`` column (nullable integers
    stay nullable: ``grade`` and the ranks are ``Int64``, missing floats are NaN)."""
    frames = []
    for period, data in blobs:
        table = pq.read_table(io.BytesIO(data), columns=columns)
        frame = table.to_pandas(types_mapper={pa.int16(): pd.Int64Dtype(),
                                              pa.int32(): pd.Int64Dtype()}.get)
        frame.insert(0, "period", np.int64(period))
        frames.append(frame)
    if not frames:
        cols = ["period", *(columns or list(TYPES))]
        return pd.DataFrame({c: pd.Series(dtype=object) for c in cols})
    return pd.concat(frames, ignore_index=True)
