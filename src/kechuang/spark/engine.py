"""Pure computation of the Parquet export: rows of the database in, Arrow tables out (no
database, no files). The schemas are the contract the Spark runs read (docs/spark.md).

Values are exact: ``value_exact`` is ``decimal128(24, 6)``, built straight from the scaled
integer the repository reads (``value × 10^6``), so no value passes through a float on its
way out; ``value`` is the same number as ``float64``, computed the way
:func:`kechuang.facts.service.read_facts` computes it (the scaled integer divided by 10^6),
so a run over the Parquet files sees the floats an in-process run sees.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pyarrow as pa


def exact_type(scale: int) -> pa.DataType:
    """The exact type of ``value_exact``: the database's NUMERIC(24, scale)."""
    return pa.decimal128(24, scale)


def fact_schema(scale: int) -> pa.Schema:
    """The schema of the fact and attribute parts (``scale``: the database's
    ``kechuang.db.DECIMAL_SCALE``, passed in so the engine stays free of the database)."""
    return pa.schema([
        ("fact_id", pa.int64()),
        ("enterprise_id", pa.int64()),
        ("uscc", pa.string()),
        ("metric", pa.string()),
        ("period", pa.int32()),
        ("year", pa.int32()),
        ("value", pa.float64()),
        ("value_exact", exact_type(scale)),
        ("value_text", pa.string()),
        ("batch_id", pa.int64()),
        ("export_seq", pa.int32()),
    ])


ENTERPRISE_SCHEMA = pa.schema([
    ("enterprise_id", pa.int64()),
    ("uscc", pa.string()),
    ("name", pa.string()),
    ("region_code", pa.string()),
    ("region_path", pa.string()),
    ("province_code", pa.string()),
    ("city_code", pa.string()),
    ("county_code", pa.string()),
    ("industry_code", pa.string()),
    ("industry_section", pa.string()),
    ("founded_on", pa.date32()),
    ("size_class", pa.string()),
    ("hte_expires_on", pa.date32()),
    ("tech_sme_year", pa.int32()),
    ("srdi_level", pa.string()),
    ("rd_institution_level", pa.string()),
    ("in_key_tech_field", pa.bool_()),
    ("seriously_dishonest", pa.bool_()),
    ("abnormal_operation", pa.bool_()),
    ("major_incident_last_year", pa.bool_()),
])


def year_of(period: np.ndarray) -> np.ndarray:
    """The partition year of a period: ``2023`` → 2023, ``202305`` → 2023, ``0`` → 0."""
    p = period.astype(np.int64)
    return np.where(p >= 100000, p // 100, p).astype(np.int32)


def exact_decimals(scaled: np.ndarray, valid: np.ndarray, scale: int) -> pa.Array:
    """``decimal128(24, 6)`` from the exact scaled integers (two's-complement 128-bit, built
    from the 64-bit values and their sign, no per-value Python objects)."""
    n = len(scaled)
    words = np.empty((n, 2), dtype=np.int64)
    words[:, 0] = scaled
    words[:, 1] = np.where(scaled < 0, -1, 0)
    validity = (None if bool(valid.all())
                else pa.array(valid, type=pa.bool_()).buffers()[1])
    return pa.Array.from_buffers(exact_type(scale), n, [validity, pa.py_buffer(words.tobytes())],
                                 null_count=int(n - valid.sum()))


def facts_table(rows: Sequence[Any], codes: dict[int, str], export_seq: int,
                scale: int) -> pa.Table:
    """One chunk of fact rows (``repository.stream_facts``, values scaled by
    ``10^scale``) as a :func:`fact_schema` table."""
    fid, eid, uscc, mid, period, scaled, text, batch = zip(*rows, strict=True)
    exact = pa.array(scaled, type=pa.int64())  # None → null, converted in C
    valid = exact.is_valid().to_numpy(zero_copy_only=False)
    ints = exact.fill_null(0).to_numpy()
    per = np.array(period, dtype=np.int64)
    mids = np.array(mid, dtype=np.int64)
    uniq, inverse = np.unique(mids, return_inverse=True)
    metric = pa.DictionaryArray.from_arrays(
        pa.array(inverse.astype(np.int32)),
        pa.array([codes.get(int(m), str(m)) for m in uniq], type=pa.string())).cast(pa.string())
    floats = np.where(valid, ints / float(10 ** scale), np.nan)
    return pa.table({
        "fact_id": pa.array(np.array(fid, dtype=np.int64)),
        "enterprise_id": pa.array(np.array(eid, dtype=np.int64)),
        "uscc": pa.array(uscc, type=pa.string()),
        "metric": metric,
        "period": pa.array(per.astype(np.int32)),
        "year": pa.array(year_of(per)),
        "value": pa.array(floats, mask=~valid),
        "value_exact": exact_decimals(ints, valid, scale),
        "value_text": pa.array(text, type=pa.string()),
        "batch_id": pa.array(np.array(batch, dtype=np.int64)),
        "export_seq": pa.array(np.full(len(fid), export_seq, dtype=np.int32)),
    }, schema=fact_schema(scale))


def _ancestor(paths: list[str | None], depth: int) -> list[str | None]:
    """The code at ``depth`` (1 = province) of each region path ``/32/3205/320582/…/``."""
    out: list[str | None] = []
    for path in paths:
        parts = path.strip("/").split("/") if path else []
        out.append(parts[depth - 1] if len(parts) >= depth else None)
    return out


def enterprises_table(rows: Sequence[Any]) -> pa.Table:
    """One chunk of enterprise rows (``repository.stream_enterprises``) as an
    :data:`ENTERPRISE_SCHEMA` table, with the region cohorts a scoring run derives
    (province, city, county from the region path)."""
    cols = [list(c) for c in zip(*rows, strict=True)]
    names = ["enterprise_id", "uscc", "name", "region_code", "region_path", "industry_code",
             "industry_section", "founded_on", "size_class", "hte_expires_on", "tech_sme_year",
             "srdi_level", "rd_institution_level", "in_key_tech_field", "seriously_dishonest",
             "abnormal_operation", "major_incident_last_year"]
    data: dict[str, Any] = dict(zip(names, cols, strict=True))
    paths = data["region_path"]
    for name, depth in (("province_code", 1), ("city_code", 2), ("county_code", 3)):
        data[name] = _ancestor(paths, depth)
    for flag in ("in_key_tech_field", "seriously_dishonest", "abnormal_operation",
                 "major_incident_last_year"):
        data[flag] = [None if v is None else bool(v) for v in data[flag]]
    return pa.table({f.name: pa.array(data[f.name], type=f.type) for f in ENTERPRISE_SCHEMA},
                    schema=ENTERPRISE_SCHEMA)
