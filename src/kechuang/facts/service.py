"""The bulk reader of current facts: one wide row per (enterprise, year), for analytics.

Policy runs (and, later, scoring runs) evaluate over every enterprise in the actor's scope
at once, so this reads all current facts of a range of years in a few SQL statements —
the pivot into one column per metric is NumPy scatter into preallocated arrays. The facts
travel as — one aggregated row per (metric, year), holding the enterprise ids and the values as two
comma-separated strings built by the database (``group_concat`` / ``string_agg``) and
parsed by NumPy in C — so millions of facts never become millions of Python objects, and
nothing loops over enterprises.

Precision: numbers come back as ``float64``. The database keeps exact decimals (NUMERIC on
PostgreSQL, integers scaled by 10^DECIMAL_SCALE on SQLite) and anything shown as money is
read through the ORM as ``Decimal``; analytics (ratios, bands, points) work in float64,
which is exact for every integer count and within 1e-16 relative for amounts. Both
backends give the same float: PostgreSQL casts NUMERIC to the nearest double, SQLite
divides the exact scaled integer (< 2^53) by 10^6, which IEEE rounds to the nearest double.

Attributes (period 0) are repeated on each row: dates as ISO strings, flags as booleans
(``True``/``False``, or missing), enums and codes as text, numbers as floats. The list
flags ``seriously_dishonest``, ``abnormal_operation`` and ``major_incident_last_year``
follow the platform's rule for the enterprise columns they feed
(``kechuang.ingest.attributes.DERIVED``, kind ``flag``): an enterprise with no current fact
is not on the list, so ``False``. The master fields ``founded_on``, ``industry_code`` and
``region_code`` come from the enterprise table (which mirrors their facts).

Missing versus zero (``rules/absent.yaml``): a count a department reports only when above
zero reads as 0, and a register-only qualification as ``none``, for the enterprises and
years a committed batch of that department covered; elsewhere it stays missing. The cells so
filled are kept in ``frame.attrs["inferred"]`` (read with :func:`inferred_mask`), so pages
can say which values are inferred.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict
from sqlalchemy import Select
from sqlalchemy.orm import Session

from kechuang.auth.actor import Actor
from kechuang.db import DECIMAL_SCALE, is_sqlite
from kechuang.facts import repository as repo
from kechuang.ingest.attributes import DERIVED
from kechuang.kit import rules
from kechuang.kit.rules import RuleHeader
from kechuang.registry.catalogue import MetricDef, metrics_by_code

ABSENT_FILE = Path(__file__).with_name("rules") / "absent.yaml"


class _ZeroRule(BaseModel):
    model_config = ConfigDict(extra="forbid")
    metric: str
    reason: str


class _NoneRule(_ZeroRule):
    value: str


class AbsentRules(RuleHeader):
    """What an absent value means, per metric (``rules/absent.yaml``)."""

    zero_when_absent: list[_ZeroRule]
    none_when_absent: list[_NoneRule]


@lru_cache(maxsize=1)
def absent_rules() -> AbsentRules:
    loaded = rules.load(ABSENT_FILE, AbsentRules)
    catalogue = metrics_by_code()
    for r in (*loaded.zero_when_absent, *loaded.none_when_absent):
        if r.metric not in catalogue:
            raise ValueError(f"{ABSENT_FILE.name}: unknown metric {r.metric}")
    return loaded


#: attribute metrics that are lists: no fact means "not on the list"
FLAG_METRICS = frozenset(code for code, kind in DERIVED.values() if kind == "flag")
#: master fields read from the enterprise table rather than from facts
MASTER_FIELDS = ("founded_on", "industry_code", "region_code")
_SKIP_ATTRS = frozenset({"name", *MASTER_FIELDS})


@dataclass(frozen=True)
class FactColumns:
    """Which catalogue metrics become columns, and how."""

    yearly: list[MetricDef]
    attributes: list[MetricDef]


def fact_columns(codes: Iterable[str] | None = None) -> FactColumns:
    """Yearly and attribute metrics of the catalogue (optionally only ``codes``)."""
    wanted = set(codes) if codes is not None else None
    metrics = [m for m in metrics_by_code().values()
               if wanted is None or m.code in wanted]
    yearly = [m for m in metrics if m.period_type == "year"]
    attrs = [m for m in metrics if m.period_type == "attr" and m.code not in _SKIP_ATTRS]
    return FactColumns(yearly, attrs)


def _member(ent_ids: np.ndarray, eids: np.ndarray) -> np.ndarray | None:
    """Mask of ``eids`` that are in scope (None: all are, the exact ``IN`` was used)."""
    if not repo.dense(ent_ids):
        return None
    pos = np.minimum(np.searchsorted(ent_ids, eids), len(ent_ids) - 1)
    keep = ent_ids[pos] == eids
    return None if bool(keep.all()) else keep


def _parse(text_: str | None, dtype: type) -> np.ndarray:
    if not text_:
        return np.array([], dtype=dtype)
    return np.fromstring(text_, dtype=dtype, sep=",")


def read_facts(session: Session, actor: Actor, years: Iterable[int],
               codes: Iterable[str] | None = None,
               enterprise_ids: Iterable[int] | None = None, *,
               id_range: tuple[int, int] | None = None) -> pd.DataFrame:
    """Current facts of every enterprise in ``actor``'s scope for ``years``, wide.

    Columns: ``enterprise_id``, ``uscc``, ``year``, one per yearly metric (float64), the
    master fields and one per attribute metric (repeated on each year's row). Every
    enterprise in scope gets a row for each year, with missing values where there is no
    fact, so that "no data" stays visible as missing rather than silently absent. Rows are
    ordered by enterprise id, then year. ``enterprise_ids`` narrows the scope further (one
    enterprise's page). ``id_range`` (inclusive bounds of enterprise ids) narrows it to a
    slice of enterprises, for callers that work in chunks to bound memory: the range is
    read as a range scan of the covering index ``ix_fact_read``.
    """
    years = sorted({int(y) for y in years})
    ny = len(years)
    cols = fact_columns(codes)
    sqlite = is_sqlite(session)
    ids = repo.metric_ids(session)
    visible = repo.visible_predicate(actor, enterprise_ids, id_range)
    scope = repo.scope_ids(visible)

    ent_rows = repo.master_rows(session, visible)
    ent_ids = np.array([r[0] for r in ent_rows], dtype=np.int64)
    n = len(ent_ids)
    out: dict[str, object] = {
        "enterprise_id": np.repeat(ent_ids, ny),
        "uscc": np.repeat(np.array([r[1] for r in ent_rows], dtype=object), ny),
        "year": np.tile(np.array(years, dtype=np.int64), n),
    }
    yearly = [m for m in cols.yearly if m.code in ids]
    arrays = {m.code: np.full(n * ny, np.nan) for m in cols.yearly}
    if yearly and n and ny:
        by_id = {int(ids[m.code]): m.code for m in yearly}
        scale = float(10**DECIMAL_SCALE) if sqlite else 1.0
        groups = repo.yearly_groups(session, sqlite, years, list(by_id), ent_ids, scope)
        for metric_id, period, id_text, value_text in groups:
            eids = _parse(id_text, np.int64)
            values = _parse(value_text, np.float64)
            if len(eids) != len(values):  # cannot happen: both skip no row (no NULLs)
                raise RuntimeError("fact ids and values do not align")
            keep = _member(ent_ids, eids)
            if keep is not None:
                eids, values = eids[keep], values[keep]
            pos = np.searchsorted(ent_ids, eids)
            arrays[by_id[int(metric_id)]][pos * ny + years.index(int(period))] = (
                values / scale if sqlite else values)
    out.update(arrays)
    master = {
        "founded_on": np.array([None if r[2] is None else r[2].isoformat() for r in ent_rows],
                               dtype=object),
        "industry_code": np.array([r[3] for r in ent_rows], dtype=object),
        "region_code": np.array([r[4] for r in ent_rows], dtype=object),
    }
    for name, values in master.items():
        out[name] = np.repeat(values, ny)
    for code, values in _read_attributes(session, cols.attributes, ids, scope, ent_ids,
                                         sqlite).items():
        out[code] = np.repeat(values, ny)
    inferred = _fill_absent(session, out, cols, years, np.repeat(
        np.array([r[4] or "" for r in ent_rows], dtype=object), ny))
    # text columns stay Python objects: letting pandas infer its Arrow string dtype costs a
    # conversion per column here and another back to objects in every consumer
    frame = pd.DataFrame({name: pd.Series(values, dtype=object, copy=False)
                          if getattr(values, "dtype", None) is np.dtype(object) else values
                          for name, values in out.items()})
    # packed bytes, not arrays: pandas compares attrs with == when it concatenates frames
    frame.attrs["inferred"] = {code: np.packbits(mask).tobytes()
                               for code, mask in inferred.items() if mask.any()}
    return frame


def inferred_mask(frame: pd.DataFrame, code: str) -> np.ndarray:
    """Rows of a :func:`read_facts` frame (as read, before any filtering) whose ``code``
    value was inferred from its absence (rules/absent.yaml)."""
    packed = frame.attrs.get("inferred", {}).get(code)
    if packed is None:
        return np.zeros(len(frame), dtype=bool)
    return np.unpackbits(np.frombuffer(packed, dtype=np.uint8), count=len(frame)).astype(bool)


def inferred_cells(session: Session, actor: Actor, enterprise_id: int,
                   years: Iterable[int]) -> list[tuple[str, int, float, str]]:
    """(metric, year, value, reason) of one enterprise's yearly values that are inferred
    from their absence (rules/absent.yaml): its page shows them marked as inferred."""
    reasons = {r.metric: r.reason for r in absent_rules().zero_when_absent}
    years = sorted(set(years))
    if not years:
        return []
    frame = read_facts(session, actor, years, list(reasons), [enterprise_id])
    out = []
    for code, reason in reasons.items():
        if code not in frame.columns:
            continue
        for i in np.flatnonzero(inferred_mask(frame, code)):
            out.append((code, int(frame["year"].iat[i]), float(frame[code].iat[i]), reason))
    return out


def _covered(regions: np.ndarray, batch_regions: list[str | None]) -> np.ndarray:
    """Which rows' enterprise regions lie in one of the batches' regions (codes nest by
    prefix: 320582 holds 320582100; a batch without a region covers everyone)."""
    if any(r is None for r in batch_regions):
        return np.ones(len(regions), dtype=bool)
    prefixes = tuple(sorted(set(r for r in batch_regions if r)))
    if not prefixes:
        return np.zeros(len(regions), dtype=bool)
    text = pd.Series(regions, dtype=object).fillna("")
    return text.str.startswith(prefixes).to_numpy(dtype=bool)


def _fill_absent(session: Session, out: dict[str, Any], cols: FactColumns, years: list[int],
                 regions: np.ndarray) -> dict[str, np.ndarray]:
    """Zero (or ``none``) where a department that reports a metric only when present covered
    the enterprise and period; the filled cells, per metric (module docstring)."""
    wanted = absent_rules()
    catalogue = metrics_by_code()
    zero = {r.metric for r in wanted.zero_when_absent}
    none = {r.metric: r.value for r in wanted.none_when_absent}
    yearly = [m.code for m in cols.yearly if m.code in zero and m.code in out]
    attrs = [m.code for m in cols.attributes if m.code in none and m.code in out]
    if not (yearly or attrs) or not len(regions):
        return {}
    departments = sorted({d for code in (*yearly, *attrs) for d in catalogue[code].sources})
    batches = repo.covering_batches(session, departments)
    year_col = np.asarray(out["year"])
    inferred: dict[str, np.ndarray] = {}
    for code in yearly:
        mask = np.zeros(len(regions), dtype=bool)
        for year in years:
            held = [region for dept, region, periods in batches
                    if dept in catalogue[code].sources and year in periods]
            if held:
                rows = year_col == year
                mask[rows] = _covered(regions[rows], held)
        values = out[code]
        fill = mask & np.isnan(values)
        values[fill] = 0.0
        inferred[code] = fill
    for code in attrs:
        held = [region for dept, region, periods in batches
                if dept in catalogue[code].sources and 0 in periods]
        if not held:
            continue
        values = out[code]
        fill = _covered(regions, held) & pd.isna(pd.Series(values, dtype=object)).to_numpy()
        values[fill] = none[code]
        inferred[code] = fill
    return inferred


def _read_attributes(session: Session, attrs: list[MetricDef], ids: dict[str, int],
                     scope: Select[Any], ent_ids: np.ndarray,
                     sqlite: bool) -> dict[str, np.ndarray]:
    """Attribute facts (period 0), one value per enterprise (aligned with ``ent_ids``),
    typed by the catalogue."""
    n = len(ent_ids)
    out: dict[str, np.ndarray] = {}
    for m in attrs:
        if m.value_type in ("number", "integer"):
            out[m.code] = np.full(n, np.nan)
        else:
            out[m.code] = np.full(n, False if m.code in FLAG_METRICS else None, dtype=object)
    present = [m for m in attrs if m.code in ids]
    if not present or not n:
        return out
    by_id = {int(ids[m.code]): m for m in present}
    rows = repo.attribute_rows(session, sqlite, list(by_id), ent_ids, scope)
    if not rows:
        return out
    eid, mid, num, txt = (list(c) for c in zip(*rows, strict=True))
    eid_a = np.array(eid, dtype=np.int64)
    mid_a = np.array(mid, dtype=np.int64)
    keep = _member(ent_ids, eid_a)
    if keep is not None:
        eid_a, mid_a = eid_a[keep], mid_a[keep]
        num = [v for v, k in zip(num, keep, strict=True) if k]
        txt = [v for v, k in zip(txt, keep, strict=True) if k]
    pos = np.searchsorted(ent_ids, eid_a)
    num_s = pd.Series(num, dtype=object)
    txt_s = pd.Series(txt, dtype=object)
    for metric_id, m in by_id.items():
        sel = mid_a == metric_id
        if not sel.any():
            continue
        where = pos[sel]
        if m.value_type in ("number", "integer"):
            values = pd.to_numeric(num_s[sel], errors="coerce").to_numpy(dtype=np.float64)
            out[m.code][where] = values / float(10**DECIMAL_SCALE) if sqlite else values
        elif m.value_type == "bool":
            low = txt_s[sel].map(lambda v: None if v is None else str(v).strip().lower())
            out[m.code][where] = low.map(_TRUTH).astype(object).where(
                low.map(_TRUTH).notna(), None).to_numpy()
        elif m.value_type == "date":
            out[m.code][where] = txt_s[sel].map(
                lambda v: None if v is None else str(v)[:10]).to_numpy()
        else:
            out[m.code][where] = txt_s[sel].to_numpy()
    return out


_TRUTH = {"true": True, "1": True, "yes": True, "是": True,
          "false": False, "0": False, "no": False, "否": False}


# ------------------------------------------------------------------ one enterprise, counts
def with_provenance(session: Session, enterprise_id: int, *, current: bool) -> list[Any]:
    """Facts of one enterprise with their metric, batch and department: the current ones,
    or (``current=False``) the superseded history."""
    return repo.with_provenance(session, enterprise_id, current=current)


def latest_year(session: Session, actor: Actor) -> int | None:
    """The latest year with any current yearly fact of an enterprise in ``actor``'s scope."""
    return repo.latest_year(session, actor)


def year_has_facts(session: Session, actor: Actor, year: int) -> bool:
    """Whether any enterprise in ``actor``'s scope has a current fact of ``year``."""
    return repo.year_has_facts(session, actor, year)


def as_of(session: Session, enterprise_id: int, metrics: list[str], years: list[int],
          at: datetime) -> list[Any]:
    """Facts of one enterprise as they were current at ``at`` (see the repository)."""
    return repo.as_of(session, enterprise_id, metrics, years, at)


def positive_value_ids(metric_id: int | None, year: int) -> Select[Any]:
    """A sub-select of the enterprises with a current value > 0 of a metric in a year, for
    another package's repository to filter by."""
    return repo.positive_value_ids(metric_id, year)


def current_count(session: Session) -> int:
    """How many current facts the database holds (the home page's figure)."""
    return repo.current_count(session)


def read_monthly(session: Session, actor: Actor, monthly_metrics: dict[str, str],
                 region_path: str | None = None, *, names: bool = True) -> pd.DataFrame:
    """One row per (enterprise, month) visible to ``actor`` (within ``region_path``) that has
    any of ``monthly_metrics`` (column name → metric code): enterprise_id, uscc, name,
    class_code, region_code, period (YYYYMM) and one float column per metric (NaN when the
    fact is missing — never zero). ``names=False``: without uscc and name."""
    return repo.monthly_frame(session, actor, monthly_metrics, region_path, names=names)


def add_demo_value_added(session: Session, *, county_code: str, seed: int,
                         department: str) -> int:
    """Demo only: monthly value added derived from monthly output (see the repository)."""
    return repo.add_demo_value_added(session, county_code=county_code, seed=seed,
                                     department=department)


# --- Parquet export (issue 15) ---
@dataclass(frozen=True)
class AbsentCoverage:
    """What :func:`read_facts` infers from absence, as data a reader of the Parquet export
    applies itself (the export holds raw facts only): per zero-when-absent yearly metric and
    year, the regions of the committed batches that covered it (``None`` in the list: a
    batch without a region, covering everyone; an enterprise is covered when its region
    code starts with one of them); per none-when-absent attribute, its value and regions."""

    zero: dict[str, dict[int, list[str | None]]]
    none: dict[str, tuple[str, list[str | None]]]


def absent_coverage(session: Session, codes: Iterable[str], years: Iterable[int]
                    ) -> AbsentCoverage:
    """The coverage :func:`_fill_absent` applies for ``codes`` over ``years``
    (``rules/absent.yaml``, the committed batches of the reporting departments)."""
    wanted = absent_rules()
    catalogue = metrics_by_code()
    codes = set(codes)
    zero = [r.metric for r in wanted.zero_when_absent if r.metric in codes
            and catalogue[r.metric].period_type == "year"]
    none = {r.metric: r.value for r in wanted.none_when_absent if r.metric in codes}
    departments = sorted({d for code in (*zero, *none) for d in catalogue[code].sources})
    batches = repo.covering_batches(session, departments) if departments else []
    out_zero: dict[str, dict[int, list[str | None]]] = {}
    for code in zero:
        per_year = {int(y): [region for dept, region, periods in batches
                             if dept in catalogue[code].sources and int(y) in periods]
                    for y in years}
        out_zero[code] = {y: held for y, held in per_year.items() if held}
    out_none = {code: (value, [region for dept, region, periods in batches
                               if dept in catalogue[code].sources and 0 in periods])
                for code, value in none.items()}
    return AbsentCoverage(out_zero, {k: v for k, v in out_none.items() if v[1]})


def truth_values() -> dict[str, bool]:
    """How a yes/no attribute's text reads (lower-cased, stripped): what
    :func:`read_facts` applies to flag and boolean attributes."""
    return dict(_TRUTH)


def frame_from_export(enterprises: pd.DataFrame, rows: pd.DataFrame, years: Iterable[int],
                      codes: Iterable[str], coverage: AbsentCoverage) -> pd.DataFrame:
    """The :func:`read_facts` table of some enterprises, built from rows of the Parquet
    export instead of the database (a run on a Spark cluster builds it on the executors,
    a slice of enterprises at a time): the same columns, dtypes, order and inferred values,
    so the per-enterprise input hashes of a policy run are the same on both engines.

    ``enterprises``: ``enterprise_id``, ``uscc``, ``founded_on``, ``industry_code``,
    ``region_code`` (the export's ``enterprises.parquet``); ``rows``: the current facts and
    attribute facts of those enterprises (``enterprise_id``, ``metric``, ``period``,
    ``value``, ``value_text``; the export's read rule already applied); ``coverage``: what
    :func:`absent_coverage` returns for ``codes`` and ``years``."""
    years = sorted({int(y) for y in years})
    ny = len(years)
    cols = fact_columns(codes)
    ents = enterprises.sort_values("enterprise_id", kind="stable")
    ent_ids = ents["enterprise_id"].to_numpy(dtype=np.int64)
    n = len(ent_ids)
    regions = ents["region_code"].fillna("").to_numpy(dtype=object)
    out: dict[str, Any] = {
        "enterprise_id": np.repeat(ent_ids, ny),
        "uscc": np.repeat(ents["uscc"].to_numpy(dtype=object), ny),
        "year": np.tile(np.array(years, dtype=np.int64), n),
    }
    if n and len(rows):  # only the rows of these enterprises
        row_ids = rows["enterprise_id"].to_numpy(dtype=np.int64)
        at = np.minimum(np.searchsorted(ent_ids, row_ids), n - 1)
        rows = rows[ent_ids[at] == row_ids]
    else:
        rows = rows.iloc[:0]
    period = rows["period"].to_numpy(dtype=np.int64)
    pos_all = np.searchsorted(ent_ids, rows["enterprise_id"].to_numpy(dtype=np.int64))
    value = rows["value"].to_numpy(dtype=np.float64, na_value=np.nan)
    text = rows["value_text"].to_numpy(dtype=object)
    # the rows of each metric, found in one pass over the rows
    by_metric = pd.Series(np.arange(len(rows))).groupby(
        rows["metric"].to_numpy(dtype=object), sort=False).indices if len(rows) else {}
    no_rows = np.array([], dtype=np.int64)
    year_array = np.array(years, dtype=np.int64)
    for m in cols.yearly:
        values = np.full(n * ny, np.nan)
        idx = by_metric.get(m.code, no_rows)
        idx = idx[np.isin(period[idx], year_array) & ~np.isnan(value[idx])]
        slot = np.searchsorted(year_array, period[idx])
        values[pos_all[idx] * ny + slot] = value[idx]
        out[m.code] = values
    founded = pd.Series(ents["founded_on"].to_numpy(dtype=object), dtype=object)
    founded_text = founded.astype(str).str[:10].where(founded.notna(), None)
    out["founded_on"] = np.repeat(founded_text.to_numpy(dtype=object), ny)
    out["industry_code"] = np.repeat(ents["industry_code"].to_numpy(dtype=object), ny)
    out["region_code"] = np.repeat(ents["region_code"].to_numpy(dtype=object), ny)
    for m in cols.attributes:
        idx = by_metric.get(m.code, no_rows)
        idx = idx[period[idx] == 0]
        where = pos_all[idx]
        if m.value_type in ("number", "integer"):
            values = np.full(n, np.nan)
            values[where] = value[idx]
        else:
            values = np.full(n, False if m.code in FLAG_METRICS else None, dtype=object)
            raw = pd.Series(text[idx], dtype=object)
            if m.value_type == "bool":
                read = raw.str.strip().str.lower().map(_TRUTH)
            elif m.value_type == "date":
                read = raw.str[:10]
            else:
                read = raw
            values[where] = read.astype(object).where(read.notna(), None).to_numpy()
        out[m.code] = np.repeat(values, ny)
    row_regions = np.repeat(regions, ny)
    year_col = out["year"]
    for code, per_year in coverage.zero.items():
        if code not in out:
            continue
        mask = np.zeros(n * ny, dtype=bool)
        for year, held in per_year.items():
            rows_of_year = year_col == int(year)
            if rows_of_year.any():
                mask[rows_of_year] = _covered(row_regions[rows_of_year], held)
        out[code][mask & np.isnan(out[code])] = 0.0
    for code, (filled, held) in coverage.none.items():
        if code not in out:
            continue
        values = out[code]
        fill = _covered(row_regions, held) & pd.isna(pd.Series(values, dtype=object)).to_numpy()
        values[fill] = filled
    return pd.DataFrame({name: pd.Series(values, dtype=object, copy=False)
                         if getattr(values, "dtype", None) is np.dtype(object) else values
                         for name, values in out.items()})
