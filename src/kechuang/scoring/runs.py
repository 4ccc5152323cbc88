"""Scoring runs over the database: the input frame, cohort columns, input hash and places.

Everything here works on whole columns (pandas/NumPy), never per enterprise:

- :func:`derive_cohorts` adds the cohort columns the shipped systems group by, from the
  database and from the rules in ``scoring/data/cohorts.yaml`` (data, not Python numbers):
  ``industry_section`` (GB/T 4754 letter via the ``industry`` table), ``stage``
  (初创/成长/稳定 by revenue bands) and the region columns ``region_code``,
  ``county_code``, ``city_code``, ``province_code`` (via the ``region`` tree).
- :func:`engine_frame` keeps only the columns the system reads, as numbers (flags 1/0).
- :func:`input_hash` is a sha256 over the system file's hash, the run parameters and every
  value of the engine's input (column by column, each column digested in blocks of rows so
  a cluster can digest its partitions where they lie), so the same inputs give the same
  hash and any changed fact changes it.
- :func:`places` ranks overall, within industry section, within region and within stage,
  computes percentiles and the percentile (or fixed-count) lists per stage, with veto.

Missing points (documented in docs/scoring/runs.md): an enterprise whose total could not be
computed (no indicator with a value after imputation) has ``points`` NULL, no rank, no
percentile and is never on a list — a published list never holds NaN.
"""

from __future__ import annotations

import copy
import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy.orm import Session

from kechuang.kit import rules
from kechuang.kit.errors import InvalidInput
from kechuang.scoring import expressions as ex
from kechuang.scoring import repository as repo
from kechuang.scoring.engine import tier_index
from kechuang.scoring.system import (  # noqa: F401 - the list cut-offs, re-exported
    LISTS_FILE,
    CohortRules,
    ListCase,
    ListRules,
    ListTier,
    System,
    default_lists,
    list_rules,
)

COHORTS_FILE = Path(__file__).parent / "data" / "cohorts.yaml"
#: years of facts a run reads: the run year and the four before it
YEARS_BACK = 4
DERIVED_COLUMNS = ("industry_section", "stage", "region_code", "county_code", "city_code",
                   "province_code")


@cache
def cohort_rules() -> dict[str, Any]:
    """The shipped cohort rules (``cohorts.yaml``)."""
    return rules.load(COHORTS_FILE, CohortRules).model_dump(
        include={"stage", "industry_section", "regions"})


def default_parameters() -> dict[str, Any]:
    return {"stage": copy.deepcopy(cohort_rules()["stage"]), "lists": default_lists()}


def validate_lists(lists: dict[str, Any]) -> dict[str, Any]:
    """Check list cut-offs given as run parameters; clear messages, in Chinese."""
    by = lists.get("by", "percentile")
    if by not in ("percentile", "count"):
        raise InvalidInput(f"榜单参数 by 应为 percentile 或 count，实为 “{by}”",
                           "lists.by must be percentile or count")
    per = lists.get("per", "stage")
    if per not in ("stage", None, "all"):
        raise InvalidInput(f"榜单参数 per 应为 stage 或 all，实为 “{per}”",
                           "lists.per must be stage or all")
    tiers = lists.get("tiers") or []
    last = 0.0
    for i, t in enumerate(tiers):
        if not isinstance(t, dict) or "code" not in t or "upto" not in t:
            raise InvalidInput(f"榜单第 {i + 1} 档缺少 code 或 upto", "tier lacks code/upto")
        try:
            upto = float(t["upto"])
        except (TypeError, ValueError):
            raise InvalidInput(f"榜单 {t['code']} 的 upto 应为数字：{t['upto']}",
                               "tier upto must be a number") from None
        if by == "percentile" and not 0 < upto <= 1:
            raise InvalidInput(f"榜单 {t['code']} 的 upto 应在 (0, 1] 之间（比例），实为 {upto}",
                               "percentile tier upto must be in (0, 1]")
        if by == "count" and (upto < 1 or not upto.is_integer()):
            raise InvalidInput(f"榜单 {t['code']} 的 upto 应为正整数（名次），实为 {upto}",
                               "count tier upto must be a positive integer")
        if upto <= last:
            raise InvalidInput(f"榜单各档的 upto 应逐档递增（第 {i + 1} 档 {upto} ≤ {last}）",
                               "tier cut-offs must increase")
        last = upto
    return {"by": by, "per": "stage" if per == "stage" else "all", "tiers": tiers}


# --------------------------------------------------------------------------- cohorts
def stage_of(revenue: np.ndarray, rule: dict[str, Any]) -> np.ndarray:
    """The stage code of each revenue (lower bounds inclusive); missing → ``rule.missing``."""
    out = np.full(len(revenue), rule.get("missing"), dtype=object)
    have = ~np.isnan(revenue)
    for band in rule["bands"]:
        sel = have.copy()
        if band.get("from") is not None:
            sel &= revenue >= float(band["from"])
        if band.get("below") is not None:
            sel &= revenue < float(band["below"])
        out[sel] = band["code"]
    return out


def _ancestor(path: str | None, depth: int) -> str | None:
    """The code at ``depth`` (1 = province) of a region path ``/32/3205/320582/…/``."""
    if not path:
        return None
    parts = path.strip("/").split("/")
    return parts[depth - 1] if len(parts) >= depth else None


def _lookup(values: np.ndarray, table: dict[Any, Any]) -> np.ndarray:
    """``table[v]`` for each value (None when absent or missing), one dict lookup per
    distinct value (factorize is C)."""
    codes, uniques = pd.factorize(pd.Series(values, dtype=object), use_na_sentinel=True)
    mapped = np.array([table.get(u) for u in uniques] + [None], dtype=object)
    return mapped[np.where(codes >= 0, codes, len(uniques))]


def derive_cohorts(session: Session, data: pd.DataFrame, year: int,
                   stage_rule: dict[str, Any], *, inplace: bool = False) -> pd.DataFrame:
    """Add the cohort columns to a :func:`kechuang.facts.read_facts` frame (all rows of an
    enterprise get the values of the run year). Works per distinct value, not per row.
    ``inplace`` adds them to ``data`` itself (no copy of a national-scale frame)."""
    sections = repo.industry_sections(session)
    paths = repo.region_paths(session)
    ids = data["enterprise_id"].to_numpy(dtype=np.int64)
    this = data["year"].to_numpy() == year
    ent = ids[this]
    if len(ent) and not (np.diff(ent) > 0).all():
        raise ValueError("derive_cohorts needs rows ordered by enterprise id")
    row_of = np.searchsorted(ent, ids)  # each row's enterprise among the run-year rows
    if len(ent) and not (ent[np.minimum(row_of, len(ent) - 1)] == ids).all():
        raise ValueError("derive_cohorts needs a run-year row for every enterprise")
    metric = stage_rule.get("metric", "revenue")
    if metric not in data.columns:
        raise InvalidInput(f"发展阶段分段依据的指标 “{metric}” 不在数据中",
                           f"stage metric {metric} missing")
    per_ent: dict[str, np.ndarray] = {}
    per_ent["industry_section"] = _lookup(
        data["industry_code"].to_numpy(dtype=object)[this], sections)
    regions = data["region_code"].to_numpy(dtype=object)[this]
    per_ent["region_code"] = pd.Series(regions, dtype=object).where(
        pd.notna(regions), None).to_numpy(dtype=object)
    for name, depth in (("province_code", 1), ("city_code", 2), ("county_code", 3)):
        table = {code: _ancestor(path, depth) for code, path in paths.items()}
        per_ent[name] = _lookup(regions, table)
    revenue = data[metric].to_numpy(dtype=np.float64)[this]
    per_ent["stage"] = stage_of(revenue, stage_rule)
    if not inplace:
        return data.assign(**{k: v[row_of] for k, v in per_ent.items()})
    for k, v in per_ent.items():
        data[k] = v[row_of]
    return data


def engine_frame(data: pd.DataFrame, system: System) -> pd.DataFrame:
    """The columns the system reads: unit id, year, inputs as float64, cohorts as text."""
    uid, ycol = system.spec.unit.id, system.spec.unit.year
    inputs = sorted(system.inputs())
    cohorts = sorted(system.cohort_columns())
    missing = [c for c in [*inputs, *cohorts] if c not in data.columns]
    if missing:
        raise InvalidInput(
            f"指标体系 {system.id} {system.version} 需要的数据列在数据库中没有："
            f"{'、'.join(missing)}（既不是指标目录中的指标，也不是派生的分组列 "
            f"{'、'.join(DERIVED_COLUMNS)}）",
            f"columns not in the database: {', '.join(missing)}")
    cols: dict[str, Any] = {uid: data["uscc"].to_numpy(dtype=object),
                            ycol: data["year"].to_numpy(dtype=np.int64)}
    for name in inputs:
        s = data[name]
        if s.dtype == object or s.dtype == bool:
            kind = pd.api.types.infer_dtype(s, skipna=True)
            if kind not in ("boolean", "empty", "integer", "floating", "mixed-integer-float"):
                raise InvalidInput(f"公式引用的 “{name}” 不是数值（文本或日期），不能参与计算",
                                   f"{name} is not numeric")
            if kind in ("boolean", "empty"):
                cols[name] = s.map({True: 1.0, False: 0.0}).to_numpy(dtype=np.float64)
            else:
                cols[name] = pd.to_numeric(s).to_numpy(dtype=np.float64)
        else:
            cols[name] = s.to_numpy(dtype=np.float64)
    for name in cohorts:
        cols[name] = data[name].astype(object).to_numpy()
    return pd.DataFrame(cols)


# --------------------------------------------------------------------------- engines
def wide_columns(system: System) -> list[str]:
    """The columns of the engine's wide result a run stores (unit id first)."""
    return [system.spec.unit.id, *[f"{p}__{i}" for i in system.indicators
                                   for p in ("raw", "imp", "trt", "nrm", "w")],
            *[f"score__{c}" for c in system.order if c in system.groups],
            *[f"{g}_rank" for g in system.groups],
            *[f"veto__{v.code}" for v in system.spec.veto]]


@dataclass
class EngineOutput:
    """What an engine (DuckDB in process, or a Spark cluster) hands to the one function that
    writes a run (``scoring.service.write_run``): the enterprises in id order, their cohort
    values in the run year, the input hash, the engine's notes and treatment, and the wide
    result's columns by name (``columns(names)``, aligned with ``ids``, a few at a time so
    a cluster's result never comes back whole)."""

    ids: np.ndarray
    stage: np.ndarray
    section: np.ndarray
    region: np.ndarray
    input_hash: str
    notes: list[str]
    treatment: dict[str, Any]
    columns: Callable[[list[str]], dict[str, np.ndarray]]
    engine: dict[str, Any] = field(default_factory=dict)


# --------------------------------------------------------------------------- hash
def _column_bytes(values: np.ndarray) -> bytes:
    if values.dtype.kind == "f":
        v = np.ascontiguousarray(values, dtype="<f8").copy()
        v[np.isnan(v)] = np.nan  # one canonical NaN
        return v.tobytes()
    if values.dtype.kind in "iu":
        return np.ascontiguousarray(values, dtype="<i8").tobytes()
    # text: the code of each value among the distinct values, and the distinct values
    codes, uniques = pd.factorize(pd.Series(values, dtype=object), use_na_sentinel=True)
    text = "\x1f".join(str(u) for u in uniques).encode()
    return np.ascontiguousarray(codes, dtype="<i8").tobytes() + b"\x1e" + text


#: rows per block of the input hash: a column is digested block by block, so that a run
#: whose rows arrive in pieces (a Spark cluster, partition by partition) hashes the same bytes
HASH_BLOCK_ROWS = 1 << 18


def block_digest(values: np.ndarray) -> bytes:
    """The sha256 of one block of one column (:func:`input_hash`)."""
    return hashlib.sha256(_column_bytes(values)).digest()


def column_digest(block_digests: list[bytes]) -> bytes:
    """The digest of a whole column from its blocks' digests, in row order."""
    return hashlib.sha256(b"".join(block_digests)).digest()


def combine_digests(system_hash: str, parameters: dict[str, Any], rows: int,
                    columns: dict[str, bytes]) -> str:
    """The input hash from the column digests (:func:`input_hash`)."""
    digest = hashlib.sha256()
    digest.update(system_hash.encode())
    digest.update(json.dumps(parameters, sort_keys=True, ensure_ascii=False,
                             default=str).encode())
    digest.update(str(rows).encode())
    for name in sorted(columns):
        digest.update(b"\x00" + name.encode() + b"\x00")
        digest.update(columns[name])
    return digest.hexdigest()


def input_hash(system_hash: str, parameters: dict[str, Any], frame: pd.DataFrame) -> str:
    """sha256 over the system file hash, the parameters (canonical JSON), the number of rows
    and, per input column in name order, the column's digest. Rows are in the run's
    enterprise-then-year order. A column's digest is the sha256 of the sha256s of its blocks
    of :data:`HASH_BLOCK_ROWS` rows; a block's bytes are its values (float64 little-endian
    with one canonical NaN, int64, or for text the code of each value among the block's
    distinct values in order of appearance, then those values). Blocks make the hash
    composable: a run computed on a Spark cluster digests each block where it lies and
    gets the same hash as the in-process run, without the whole frame in one place."""
    n = len(frame)
    columns = {}
    for name in frame.columns:
        values = frame[name].to_numpy()
        columns[name] = column_digest([block_digest(values[lo:lo + HASH_BLOCK_ROWS])
                                       for lo in range(0, max(n, 1), HASH_BLOCK_ROWS)])
    return combine_digests(system_hash, parameters, n, columns)


# --------------------------------------------------------------------------- formula years
def formula_reads(node: ex.Node, offset: frozenset[int] = frozenset({0})
                  ) -> dict[str, set[int]]:
    """Which data names a formula reads and how many years back (0 = the run year)."""
    out: dict[str, set[int]] = {}

    def add(other: dict[str, set[int]]) -> None:
        for k, v in other.items():
            out.setdefault(k, set()).update(v)

    if isinstance(node, ex.Name):
        return {node.name: set(offset)}
    if isinstance(node, ex.Unary):
        return formula_reads(node.operand, offset)
    if isinstance(node, ex.Binary):
        add(formula_reads(node.left, offset))
        add(formula_reads(node.right, offset))
        return out
    if isinstance(node, ex.Call):
        shift: set[int] = {0}
        if node.func == "lag":
            shift = {ex.lag_of(node)}
        elif node.func in ex.DEFAULT_YEARS:
            shift = set(range(ex.years_of(node)))
        inner = frozenset(o + s for o in offset for s in shift)
        args = node.args[:1] if node.func == "lag" else node.args
        for a in args:
            add(formula_reads(a, inner))
        return out
    return out


# --------------------------------------------------------------------------- places
def _rank_desc(points: np.ndarray, keys: np.ndarray | None = None,
               mask: np.ndarray | None = None) -> np.ndarray:
    """1-based competition rank ("1224"), best points first; NaN where no points, no key
    or outside ``mask``."""
    ok = ~np.isnan(points)
    if mask is not None:
        ok &= mask
    s = pd.Series(np.where(ok, points, np.nan))
    if keys is None:
        r = s.rank(method="min", ascending=False)
    else:
        k = pd.Series(keys, dtype=object)
        ok &= k.notna().to_numpy()
        s = s.where(ok)
        r = s.groupby(k.fillna("").to_numpy(), sort=False).rank(method="min", ascending=False)
    return np.where(ok, r.to_numpy(dtype=np.float64), np.nan)


@dataclass
class Places:
    rank: np.ndarray
    list_rank: np.ndarray
    percentile: np.ndarray
    rank_industry: np.ndarray
    rank_region: np.ndarray
    rank_cohort: np.ndarray
    list_tier: np.ndarray  # object: tier code or None


def places(points: np.ndarray, vetoed: np.ndarray, industry: np.ndarray, region: np.ndarray,
           stage: np.ndarray, lists: dict[str, Any]) -> Places:
    """Ranks, percentiles and list tiers of one run (see the module docstring)."""
    points = np.asarray(points, dtype=np.float64)
    scored = ~np.isnan(points)
    n_scored = int(scored.sum())
    rank = _rank_desc(points)
    pct = pd.Series(np.where(scored, points, np.nan)).rank(method="max", ascending=True)
    percentile = np.where(scored, pct.to_numpy(dtype=np.float64) / max(n_scored, 1) * 100,
                          np.nan)
    eligible = scored & ~np.asarray(vetoed, dtype=bool)
    list_rank = _rank_desc(points, mask=eligible)
    per_stage = lists.get("per", "stage") == "stage"
    keys = stage if per_stage else np.full(len(points), "all", dtype=object)
    within = _rank_desc(points, keys, mask=eligible)
    k = pd.Series(keys, dtype=object).fillna("")
    counts = pd.Series(eligible).groupby(k.to_numpy()).transform("sum").to_numpy(dtype=float)
    measure = within / np.maximum(counts, 1) if lists.get("by", "percentile") == "percentile" \
        else within
    tiers = lists.get("tiers") or []
    codes = np.array([t["code"] for t in tiers] + [None], dtype=object)
    index = tier_index(np.where(np.isnan(measure), np.inf, measure),
                       np.array([float(t["upto"]) for t in tiers], dtype=np.float64))
    tier = codes[index]
    return Places(
        rank=rank, list_rank=list_rank, percentile=percentile,
        rank_industry=_rank_desc(points, industry), rank_region=_rank_desc(points, region),
        rank_cohort=_rank_desc(points, stage), list_tier=tier,
    )


def tier_names(lists: dict[str, Any]) -> dict[str, str]:
    return {t["code"]: t.get("name", t["code"]) for t in lists.get("tiers") or []}


def run_list_case(lists: ListRules, case: ListCase) -> list[str]:
    """One YAML case of the list cut-offs through :func:`places` (one cohort): the
    differences, in Chinese (empty = passes)."""
    n = len(case.points)
    vetoed = np.array(case.vetoed if case.vetoed is not None else [False] * n, dtype=bool)
    if len(vetoed) != n or len(case.tiers) != n:
        return [f"points、vetoed、tiers 的个数应相同（{n}、{len(vetoed)}、{len(case.tiers)}）"]
    same = np.full(n, "x", dtype=object)
    params = {"by": lists.by, "per": lists.per,
              "tiers": [t.model_dump(exclude_none=True) for t in lists.tiers]}
    got = places(np.array(case.points, dtype=np.float64), vetoed, same, same, same,
                 params).list_tier.tolist()
    return [] if got == case.tiers else [f"榜单应为 {case.tiers}，实为 {got}"]
